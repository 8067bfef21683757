"""Running the task queue in a test: what `manage.py db_worker` would do, in this process, until
nothing is ready (a task deferred to later stays queued: move its run_after to run it)."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django_tasks_db.management.commands import db_worker
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_tasks() -> int:
    """Run every ready task (and those they enqueue) once; returns how many ran."""
    before = DBTaskResult.objects.exclude(status="READY").count()
    # The worker closes old connections between tasks: a test's connection holds its transaction.
    with mock.patch.object(db_worker, "close_old_connections", return_value=None):
        _worker().run()
    return DBTaskResult.objects.exclude(status="READY").count() - before


def _worker() -> Worker:
    return Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )


def queued(name: str = "") -> list[DBTaskResult[Any, Any]]:
    """Tasks waiting (ready or deferred), optionally only those whose function is `name`."""
    waiting = DBTaskResult.objects.filter(status="READY").order_by("enqueued_at")
    return [t for t in waiting if not name or t.task_path.rsplit(".", 1)[-1] == name]
