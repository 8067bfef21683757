"""What the worker's schedule runs to keep the database as an office can live with for years
(chamber/schedule.py runs these; docs/operations.md):

    recover_tasks   every 10 min   a task left running by a worker that died (killed, power cut)
                                   TASK_STALE_MINUTES ago is made ready again, so a webhook or an
                                   e-mail is never stuck; a webhook attempt it had claimed but not
                                   recorded is released first (outbound.webhooks.release)
    housekeeping    daily at HOUSEKEEPING_AT (local, default 03:30)
                                   finished task results older than TASK_RESULTS_KEEP_DAYS are
                                   deleted (a mail task holds its addresses and body); collected
                                   questions' contacts QUESTION_CONTACT_DAYS after their hearing
                                   are erased (hearings.services.contacts_purge)

Every task the worker runs may run twice: a webhook delivery keeps its id (receivers drop a
repeat), an e-mail may arrive twice, reminders and poll closing are idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from hearings import services as hearing_services
from outbound import webhooks

log = logging.getLogger(__name__)

DELIVER = f"{webhooks.deliver.func.__module__}.{webhooks.deliver.func.__qualname__}"


def _arguments(row: DBTaskResult[Any, Any]) -> tuple[list[Any], dict[str, Any]]:
    args_kwargs = row.args_kwargs or {}
    return list(args_kwargs.get("args") or []), dict(args_kwargs.get("kwargs") or {})


def recover_stale() -> int:
    """Make ready again every task running since before TASK_STALE_MINUTES; how many."""
    cutoff = timezone.now() - timedelta(minutes=settings.TASK_STALE_MINUTES)
    recovered = 0
    for pk in DBTaskResult.objects.running().filter(started_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            row = DBTaskResult.objects.select_for_update().filter(pk=pk, status=TaskResultStatus.RUNNING).first()
            if row is None:  # finished meanwhile
                continue
            if row.task_path == DELIVER:
                args, kwargs = _arguments(row)
                delivery_id = kwargs.get("delivery_id", args[0] if args else None)
                attempt = kwargs.get("attempt", args[1] if len(args) > 1 else 1)
                if isinstance(delivery_id, str) and isinstance(attempt, int):
                    webhooks.release(delivery_id, attempt)
            DBTaskResult.objects.filter(pk=pk).update(status=TaskResultStatus.READY, started_at=None)
            recovered += 1
            log.warning("task %s (%s) was left running by a worker that stopped: ready again", pk, row.task_path)
    return recovered


def prune_results() -> int:
    """Delete finished task results older than TASK_RESULTS_KEEP_DAYS; how many."""
    cutoff = timezone.now() - timedelta(days=settings.TASK_RESULTS_KEEP_DAYS)
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


@task()
def recover_tasks() -> int:
    return recover_stale()


@task()
def housekeeping() -> dict[str, int]:
    return {"task_results": prune_results(), "contacts": hearing_services.contacts_purge()}
