"""The periodic schedule, run by the task worker (`manage.py db_worker`, chamber's override):
a thread beside the worker enqueues each job below when its slot comes due, and the worker
runs it like any task. No cron line.

    close_polls  every 30 s      window polls past their closing time close (voting)
    reminders    daily at REMINDERS_AT (local time, default 08:30)
                                 due soon / overdue / 回头看 reminders (assignments)
    recover_tasks  every 10 min  tasks left running by a worker that died run again
    housekeeping daily at HOUSEKEEPING_AT (default 03:30)
                                 old task results pruned, old contacts erased
                                 (both: chamber/housekeeping.py)

A slot names one due run ("2026-03-09" for the daily job, a 30-second step for the other).
Whoever enqueues a slot first claims it with a ScheduledRun row (unique per job and slot), in
the same transaction as the task, so two workers never enqueue one slot twice. A worker started
after a day's time whose run has not happened runs it at once; one started before that time
catches up yesterday's if it was missed (the reminders send each reminder once anyway).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from django_tasks import task

from assignments import services as assignment_services
from chamber import housekeeping
from chamber.models import ScheduledRun
from voting import services as voting_services

log = logging.getLogger(__name__)

# How often the thread looks at the clock; each job's own period is in its slot function.
TICK_SECONDS = 5.0
# Claimed slots older than this are deleted (they only need to outlive a slot).
KEEP = timedelta(days=2)


# ------------------------------------------------------------------------------- the jobs' tasks


@task()
def close_polls() -> int:
    """Close the window polls whose closing time has come (what `manage.py close_polls` does)."""
    return len(voting_services.close_due_polls())


@task()
def send_reminders() -> dict[str, int]:
    """The daily reminders (assignments.services.reminders_send)."""
    report = assignment_services.reminders_send()
    return {"due_soon": report.due_soon, "overdue": report.overdue, "review_due": report.review_due}


# ------------------------------------------------------------------------------- when a job is due


def every(seconds: int) -> Callable[[datetime], str]:
    """A slot every `seconds`, counted from the epoch: each step is due once."""

    def slot(now: datetime) -> str:
        return str(int(now.timestamp()) // seconds)

    return slot


def reminders_at() -> time:
    """settings.REMINDERS_AT ("HH:MM", local time)."""
    return time.fromisoformat(settings.REMINDERS_AT)


def housekeeping_at() -> time:
    """settings.HOUSEKEEPING_AT ("HH:MM", local time)."""
    return time.fromisoformat(settings.HOUSEKEEPING_AT)


def daily(at: Callable[[], time]) -> Callable[[datetime], str]:
    """A slot per local day, due at the time `at()` gives: before that time, the day before's."""

    def slot(now: datetime) -> str:
        local = timezone.localtime(now)
        day = local.date() if local.time() >= at() else local.date() - timedelta(days=1)
        return day.isoformat()

    return slot


@dataclass(frozen=True)
class Job:
    name: str
    slot: Callable[[datetime], str]  # the slot due at a moment (the latest one at or before it)
    enqueue: Callable[[], Any]


JOBS: tuple[Job, ...] = (
    Job("close_polls", every(30), close_polls.enqueue),
    Job("reminders", daily(reminders_at), send_reminders.enqueue),
    Job("recover_tasks", every(600), housekeeping.recover_tasks.enqueue),
    Job("housekeeping", daily(housekeeping_at), housekeeping.housekeeping.enqueue),
)


# ------------------------------------------------------------------------------- claiming and enqueuing


def claim(job: Job, slot: str) -> bool:
    """Enqueue `job` for `slot` unless some worker already did: the ScheduledRun row and the
    task are written in one transaction, so a slot is enqueued exactly once."""
    if ScheduledRun.objects.filter(job=job.name, slot=slot).exists():
        return False
    try:
        with transaction.atomic():
            ScheduledRun.objects.create(job=job.name, slot=slot)
            job.enqueue()
    except IntegrityError:  # another worker claimed it between the check and the write
        return False
    return True


def tick(now: datetime | None = None, *, jobs: tuple[Job, ...] = JOBS, seen: dict[str, str] | None = None) -> list[str]:
    """Enqueue every job whose current slot nobody has claimed; returns the names enqueued.
    `seen` (the thread's memory of the slots it has handled) spares the database a look per
    job per tick."""
    now = now or timezone.now()
    enqueued = []
    for job in jobs:
        slot = job.slot(now)
        if seen is not None and seen.get(job.name) == slot:
            continue
        if claim(job, slot):
            enqueued.append(job.name)
        if seen is not None:
            seen[job.name] = slot
    if enqueued:
        ScheduledRun.objects.filter(at__lt=now - KEEP).delete()
    return enqueued


class Scheduler(threading.Thread):
    """The thread the worker runs the schedule in: a daemon, so it never keeps the process
    alive, and stopped by `stop()` when the worker ends; its database connections are its own
    (per thread) and closed after every tick."""

    def __init__(self, *, interval: float = TICK_SECONDS, jobs: tuple[Job, ...] = JOBS) -> None:
        super().__init__(name="schedule", daemon=True)
        self.interval = interval
        self.jobs = jobs
        self.stopping = threading.Event()
        self.seen: dict[str, str] = {}

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    for name in tick(jobs=self.jobs, seen=self.seen):
                        log.info("schedule: enqueued %s", name)
                except Exception:
                    # A database hiccup: forget what was seen, so the next tick tries again.
                    self.seen.clear()
                    log.exception("schedule: tick failed")
                finally:
                    connections.close_all()  # this thread's own: most ticks need none
                self.stopping.wait(self.interval)
        finally:
            connections.close_all()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
