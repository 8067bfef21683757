"""Two real `manage.py db_worker` processes on the test database: the schedule enqueues the daily
reminders once between them, a worker runs them and the e-mail they queue, and SIGTERM ends each
worker, schedule thread included, promptly and cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from assignments.models import Assignment, Notice, Reminder
from chamber.models import ScheduledRun
from tests.assignments.helpers import create, make_case
from tests.integration.servers import ROOT, server_env

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(check: Any, timeout: float, what: str, procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            errors = "\n".join(
                (p.stderr.read().decode()[-2000:] if p.stderr and p.poll() is not None else "") for p in procs
            )
            raise AssertionError(f"not within {timeout} s: {what}\n{errors}")
        time.sleep(0.1)


def test_two_workers_run_the_daily_reminders_once_and_stop_on_sigterm() -> None:
    case = make_case()
    a = create(case)
    Assignment.objects.filter(pk=a.pk).update(due_date=timezone.localdate() - timedelta(days=2))
    env = server_env() | {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2", "--worker-id", f"w{n}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    try:
        wait_for(lambda: Reminder.objects.filter(assignment=a, kind="overdue").exists(), 60, "the reminder", procs)
        wait_for(
            lambda: DBTaskResult.objects.filter(task_path__endswith="send_email", status="SUCCESSFUL").count() >= 2,
            30,
            "the mails of the new assignment and of the reminder",
            procs,
        )
        # Both workers' schedules have looked by now (each ticks at its start): one claim, one run.
        wait_for(lambda: ScheduledRun.objects.filter(job="close_polls").exists(), 30, "a close_polls slot", procs)
        assert ScheduledRun.objects.filter(job="reminders").count() == 1
        assert DBTaskResult.objects.filter(task_path__endswith="send_reminders").count() == 1
        assert Notice.objects.filter(user=case.liaison, code="overdue").count() == 1
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes: list[int | None] = []
        for proc in procs:
            try:
                codes.append(proc.wait(timeout=15))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(None)
    assert codes == [0, 0]
