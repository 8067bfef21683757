"""E-mail through the task queue: `mail()` queues one message once the caller's transaction
commits; the worker sends it, retrying with backoff; a message that fails every attempt is a
failed task, listed for staff."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from outbound import retry

log = logging.getLogger(__name__)

SUBJECT = 150


def mail(subject: str, body: str, to: Sequence[str], headers: Mapping[str, str] | None = None) -> None:
    """Queue one message to `to` (nothing when empty), sent once the transaction commits.
    `headers`: extra header lines (e.g. List-Unsubscribe); a line break in a value is refused
    when the message is sent, never passed on."""
    addresses = sorted({address for address in to if address})
    if not addresses:
        return
    subject = subject.replace("\r", " ").replace("\n", " ")[:SUBJECT]
    extra = {name: value.replace("\r", " ").replace("\n", " ") for name, value in (headers or {}).items()}
    if extra:
        transaction.on_commit(lambda: send_email.enqueue(subject, body, addresses, headers=extra))
    else:
        transaction.on_commit(lambda: send_email.enqueue(subject, body, addresses))


def site_url(path: str) -> str:
    """An absolute link for a message read outside the site: SITE_URL (e.g. "https://wz.example.cn")
    before `path`; without it, the first of ALLOWED_HOSTS that names one host."""
    base = settings.SITE_URL.rstrip("/")
    if not base:
        hosts = [h for h in settings.ALLOWED_HOSTS if h and h != "*" and not h.startswith(".")]
        base = f"{'https' if settings.HTTPS else 'http'}://{hosts[0] if hosts else 'localhost'}"
    return base + path


@task()
def send_email(subject: str, body: str, to: list[str], attempt: int = 1, headers: dict[str, str] | None = None) -> int:
    try:
        return EmailMessage(subject, body, None, to, headers=headers or None).send()
    except Exception:
        if attempt >= retry.ATTEMPTS:
            raise
        log.warning("e-mail to %s failed (attempt %s); retrying", to, attempt, exc_info=True)
        later = send_email.using(run_after=timezone.now() + retry.delay(attempt))
        if headers:
            later.enqueue(subject, body, to, attempt + 1, headers=headers)
        else:
            later.enqueue(subject, body, to, attempt + 1)
        return 0
