"""The worker's periodic schedule (chamber/schedule.py): when each job is due, one enqueue per
slot whatever the number of workers, the jobs doing their work, and the thread living and dying
with `manage.py db_worker`."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone

from assignments.models import Assignment, Notice, Reminder
from chamber import schedule
from chamber.models import ScheduledRun
from tests.assignments.helpers import create, make_case
from tests.delivery import deliver
from tests.tasks import queued, run_tasks
from tests.voting.test_windows import prepare_window, window_world
from voting.models import Poll

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# ------------------------------------------------------------------------------- due


def test_manage_py_runs_the_chambers_db_worker() -> None:
    assert get_commands()["db_worker"] == "chamber"


def test_the_30_second_job_has_one_slot_per_30_seconds() -> None:
    slot = schedule.every(30)
    start = datetime(2026, 3, 9, 8, 0, 0, tzinfo=SHANGHAI)
    assert slot(start) == slot(start + timedelta(seconds=29))
    assert slot(start) != slot(start + timedelta(seconds=30))
    assert slot(start + timedelta(seconds=30)) == slot(start + timedelta(seconds=59))


def test_the_daily_job_is_due_at_reminders_at_local_time(settings: Any) -> None:
    settings.REMINDERS_AT = "08:30"
    slot = schedule.daily(schedule.reminders_at)
    assert slot(at("2026-03-09T08:29:59")) == "2026-03-08"  # before the time: yesterday's run
    assert slot(at("2026-03-09T08:30:00")) == "2026-03-09"
    assert slot(at("2026-03-09T23:59:59")) == "2026-03-09"
    # Local time, not UTC: 01:00 UTC is 09:00 in Shanghai.
    assert slot(datetime(2026, 3, 9, 1, 0, tzinfo=ZoneInfo("UTC"))) == "2026-03-09"
    settings.REMINDERS_AT = "18:00"
    assert slot(at("2026-03-09T09:00")) == "2026-03-08"


def test_a_bad_reminders_at_stops_the_worker_at_start(settings: Any) -> None:
    settings.REMINDERS_AT = "8h30"
    with pytest.raises(CommandError, match="REMINDERS_AT"):
        call_command("db_worker", "--batch")


def test_a_bad_housekeeping_at_stops_the_worker_at_start(settings: Any) -> None:
    settings.HOUSEKEEPING_AT = "25:00"
    with pytest.raises(CommandError, match="HOUSEKEEPING_AT"):
        call_command("db_worker", "--batch")


# ------------------------------------------------------------------------------- once per slot


@pytest.mark.django_db
def test_each_slot_is_enqueued_once_even_by_two_workers() -> None:
    now = at("2026-03-09T09:00:00")
    first: dict[str, str] = {}  # two workers' memories
    second: dict[str, str] = {}
    assert schedule.tick(now, seen=first) == ["close_polls", "reminders", "recover_tasks", "housekeeping"]
    assert schedule.tick(now, seen=second) == []  # the other worker: already claimed
    assert schedule.tick(now + timedelta(seconds=10), seen=second) == []
    assert len(queued("close_polls")) == 1 and len(queued("send_reminders")) == 1
    # The next 30 seconds: one more close_polls, whoever comes first; reminders wait for tomorrow.
    assert schedule.tick(now + timedelta(seconds=30), seen=second) == ["close_polls"]
    assert schedule.tick(now + timedelta(seconds=31), seen=first) == []
    assert schedule.tick(at("2026-03-10T08:30:00")) == ["close_polls", "reminders", "recover_tasks", "housekeeping"]
    assert len(queued("close_polls")) == 3 and len(queued("send_reminders")) == 2
    assert ScheduledRun.objects.filter(job="reminders").count() == 2


@pytest.mark.django_db
def test_a_slot_claimed_between_the_check_and_the_write_enqueues_nothing() -> None:
    job = schedule.JOBS[1]
    ScheduledRun.objects.create(job=job.name, slot="2026-03-09")
    with mock.patch.object(ScheduledRun.objects, "filter") as looked:
        looked.return_value.exists.return_value = False  # the race: the other worker's row lands now
        assert schedule.claim(job, "2026-03-09") is False
    assert queued() == []
    assert ScheduledRun.objects.count() == 1


@pytest.mark.django_db
def test_a_failing_enqueue_leaves_the_slot_unclaimed() -> None:
    def broken() -> None:
        raise RuntimeError("queue away")

    job = schedule.Job("broken", schedule.every(30), broken)
    with pytest.raises(RuntimeError):
        schedule.claim(job, "1")
    assert not ScheduledRun.objects.exists()  # the next tick tries again


@pytest.mark.django_db
def test_old_slots_are_pruned() -> None:
    old = ScheduledRun.objects.create(job="close_polls", slot="1")
    ScheduledRun.objects.filter(pk=old.pk).update(at=timezone.now() - schedule.KEEP - timedelta(minutes=1))
    schedule.tick()
    assert not ScheduledRun.objects.filter(pk=old.pk).exists()
    assert ScheduledRun.objects.count() == len(schedule.JOBS)


# ------------------------------------------------------------------------------- the jobs' work


@pytest.mark.django_db
def test_the_reminders_job_reminds_through_the_worker() -> None:
    case = make_case()
    a = create(case)
    deliver()
    mail.outbox.clear()
    Assignment.objects.filter(pk=a.pk).update(due_date=timezone.localdate() - timedelta(days=2))
    schedule.claim(schedule.JOBS[1], "today")
    assert not Notice.objects.filter(code="overdue").exists()  # queued, not run inline
    run_tasks()
    deliver()
    assert Reminder.objects.filter(assignment=a, kind="overdue").count() == 1
    assert Notice.objects.filter(user=case.liaison, code="overdue").exists()
    assert [m.to for m in mail.outbox] == [["liaison@example.cn"]]
    assert "超期" in mail.outbox[0].subject


@pytest.mark.django_db
def test_the_close_polls_job_closes_a_window_poll_past_its_time() -> None:
    world, staff, start = window_world()
    poll = prepare_window(world, staff, start)
    Poll.objects.filter(pk=poll.pk).update(
        opens_at=timezone.now() - timedelta(hours=2), closes_at=timezone.now() - timedelta(seconds=1)
    )
    schedule.claim(schedule.JOBS[0], "1")
    run_tasks()
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED


# ------------------------------------------------------------------------------- the thread and the command


@pytest.mark.django_db(transaction=True)
def test_the_thread_enqueues_due_jobs_and_stops_closing_its_connections() -> None:
    opened: list[int] = []
    real_close_all = connections.close_all

    def close_all() -> None:
        opened.append(threading.get_ident())
        real_close_all()

    scheduler = schedule.Scheduler(interval=0.05)
    with mock.patch.object(connections, "close_all", close_all):
        scheduler.start()
        deadline = time.monotonic() + 10
        while not ScheduledRun.objects.filter(job="reminders").exists():
            assert time.monotonic() < deadline, "the schedule enqueued nothing within 10 s"
            time.sleep(0.02)
        scheduler.stop()
    assert not scheduler.is_alive()
    assert scheduler.ident in opened  # the thread closed its own connections
    assert len(queued("send_reminders")) == 1


@pytest.fixture
def no_ticks() -> Any:
    """The command's own thread, without the database (the test's transaction holds it)."""
    with mock.patch.object(schedule, "tick", return_value=[]):
        yield


def _options_seen() -> tuple[list[bool], Any]:
    alive: list[bool] = []

    def run(worker: Any) -> None:
        alive.extend(t.name == "schedule" and t.is_alive() for t in threading.enumerate())

    return alive, run


@pytest.mark.usefixtures("no_ticks")
def test_the_worker_runs_the_schedule_beside_it_and_stops_it_when_it_ends() -> None:
    alive, run = _options_seen()
    with mock.patch("django_tasks_db.management.commands.db_worker.Worker.run", run):
        call_command("db_worker", "--no-reload", "--no-startup-delay", "--queue-name", "*")
    assert any(alive)
    assert not any(t.name == "schedule" for t in threading.enumerate())


@pytest.mark.usefixtures("no_ticks")
@pytest.mark.parametrize("flag", ["--batch", "--no-schedule"])
def test_batch_and_no_schedule_run_no_schedule(flag: str) -> None:
    alive, run = _options_seen()
    with mock.patch("django_tasks_db.management.commands.db_worker.Worker.run", run):
        call_command("db_worker", "--no-reload", flag)
    assert not any(alive)


@pytest.mark.usefixtures("no_ticks")
def test_a_signal_ending_the_worker_stops_the_schedule_too() -> None:
    def run(worker: Any) -> None:
        raise SystemExit(0)  # what Worker.shutdown does on SIGTERM while idle

    with (
        mock.patch("django_tasks_db.management.commands.db_worker.Worker.run", run),
        mock.patch.object(schedule.Scheduler, "stop", autospec=True, side_effect=schedule.Scheduler.stop) as stop,
        pytest.raises(SystemExit),
    ):
        call_command("db_worker", "--no-reload")
    assert stop.call_count == 1
    assert not any(t.name == "schedule" for t in threading.enumerate())
