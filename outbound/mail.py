"""E-mail through the task queue: `mail()` queues one message once the caller's transaction
commits; the worker sends it, retrying with backoff; a message that fails every attempt is a
failed task, listed for staff at /manage/webhooks/mail/ (`troubled`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

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


SEND_EMAIL_PATH = send_email.module_path


@dataclass(frozen=True)
class Troubled:
    """A message the worker could not send yet, as staff see it: no addresses and no body (a
    follower's address is theirs), the subject, how many recipients, the attempt, the error."""

    subject: str
    recipients: int
    attempt: int
    failed: bool  # every attempt spent; else a later attempt is queued
    at: datetime  # when it failed for good, or when the next attempt runs
    error: str


def troubled(limit: int = 100) -> list[Troubled]:
    """E-mail that failed every attempt, and e-mail waiting for a retry, newest first."""
    failed = DBTaskResult.objects.filter(task_path=SEND_EMAIL_PATH, status="FAILED").order_by("-finished_at")
    waiting = DBTaskResult.objects.filter(task_path=SEND_EMAIL_PATH, status="READY").order_by("-enqueued_at")
    rows = []
    for result in list(failed[:limit]) + list(waiting[: limit * 2]):
        args = result.args_kwargs.get("args", [])
        attempt = int(args[3]) if len(args) > 3 else int(result.args_kwargs.get("kwargs", {}).get("attempt", 1))
        is_failed = result.status == "FAILED"
        if not is_failed and attempt < 2:
            continue  # queued for its first attempt: nothing has gone wrong
        lines = [line for line in (result.traceback or "").strip().splitlines() if line.strip()]
        rows.append(
            Troubled(
                subject=str(args[0]) if args else "",
                recipients=len(args[2]) if len(args) > 2 else 0,
                attempt=attempt,
                failed=is_failed,
                at=(result.finished_at if is_failed else result.run_after) or result.enqueued_at,
                error=(lines[-1] if lines else "")[:500] if is_failed else "",
            )
        )
    rows.sort(key=lambda row: row.at, reverse=True)
    return rows[:limit]
