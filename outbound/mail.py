"""E-mail through the task queue: `mail()` queues one message once the caller's transaction
commits; the worker sends it, retrying with backoff; a message that fails every attempt is a
failed task, listed for staff."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from outbound import retry

log = logging.getLogger(__name__)

SUBJECT = 150


def mail(subject: str, body: str, to: Sequence[str]) -> None:
    """Queue one message to `to` (nothing when empty), sent once the transaction commits."""
    addresses = sorted({address for address in to if address})
    if not addresses:
        return
    subject = subject.replace("\n", " ")[:SUBJECT]
    transaction.on_commit(lambda: send_email.enqueue(subject, body, addresses))


@task()
def send_email(subject: str, body: str, to: list[str], attempt: int = 1) -> int:
    try:
        return send_mail(subject, body, None, to)
    except Exception:
        if attempt >= retry.ATTEMPTS:
            raise
        log.warning("e-mail to %s failed (attempt %s); retrying", to, attempt, exc_info=True)
        send_email.using(run_after=timezone.now() + retry.delay(attempt)).enqueue(subject, body, to, attempt + 1)
        return 0
