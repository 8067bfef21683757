"""Attacks on the operations of issue 20: the holidays the office keeps and the due dates they
move, the published audit head, backups, and the worker's housekeeping.

As a hostile user (anyone but office staff, a forged form, odd dates and floods of lines) and
as a careful reviewer (a reassignment with the remaining working days, recounting twice, a
deadline across the new year, a backup's file modes, a backup directory given relative to where
the administrator stands, a task still running, a task left running)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import uuid
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

import audit
from assignments import selectors, services, workdays
from assignments.models import Assignment, Notice, TimelineEntry, WorkdayOverride
from assignments.services import transitions
from audit.models import AuditEntry
from chamber import housekeeping
from core.errors import InvalidState
from deploy.backup import MANIFEST, MEDIA
from outbound.models import WebhookDelivery, WebhookEndpoint
from tests.assignments.helpers import (
    Case,
    advance,
    client_of,
    given_on,
    library_knows_up_to,
    make_case,
    make_staff_user,
)
from tests.operations.test_backup_restore import ROOT, Target, run, take_backup
from tests.operations.test_backup_restore import fresh as fresh  # an empty target, a fixture
from tests.operations.test_backup_restore import source as source  # the seeded database, a fixture

PAGE = "/manage/holidays/"


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _library_knows_up_to_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    """2027 is a year the calendar library does not know (whatever a later version knows)."""
    library_knows_up_to(2026, monkeypatch)


@pytest.fixture
def case(db: Any) -> Case:
    return make_case()


@pytest.fixture
def staff(db: Any) -> Any:
    return make_staff_user()


def everything(assignment: Assignment | None = None) -> tuple[Any, ...]:
    """What a refused attempt must leave as it was."""
    due = None
    if assignment is not None:
        assignment.refresh_from_db()
        due = (assignment.due_date, assignment.timeline.count())
    days = list(WorkdayOverride.objects.order_by("day").values_list("day", "kind"))
    return due, days, Notice.objects.count(), AuditEntry.objects.count(), len(mail.outbox)


# ------------------------------------------------------------------------------- the drift list


@pytest.mark.parametrize("note", ["", "改由本单位办理，期限不变"])
def test_a_reassignment_with_the_remaining_working_days_is_no_drift(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch, note: str
) -> None:
    """Given on Wed 20 Jan with 10 working days (due Wed 3 Feb); returned, and reassigned on Wed
    27 Jan with the 5 working days left: the same due date, now counted from the 27th. Without
    any holiday changed, it is no drift; recounting must not pull it back to 27 Jan."""
    a = given_on(case, date(2027, 1, 20), 10, monkeypatch)
    assert a.due_date == date(2027, 2, 3)
    services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="不属于本单位职责")
    reassigned_on = date(2027, 1, 27)
    with monkeypatch.context() as patched:
        patched.setattr(transitions, "local_today", lambda: reassigned_on)
        services.assignment_reassign(
            assignment_id=a.pk, by=case.moderator, lead_department_id=case.lead.pk, working_days=5, note=note
        )
    noon = timezone.make_aware(datetime.combine(reassigned_on, time(12)))
    TimelineEntry.objects.filter(assignment=a, action=TimelineEntry.Action.REASSIGNED).update(at=noon)
    a.refresh_from_db()
    assert (a.due_date, a.working_days) == (date(2027, 2, 3), 5)
    assert selectors.due_date_start(a) == reassigned_on
    assert selectors.due_drifts() == []
    before = everything(a)
    with pytest.raises(InvalidState):
        services.assignments_due_recompute(assignment_ids=[a.pk], by=staff)
    assert everything(a) == before
    # A holiday in its span then moves it, counted from the reassignment's day.
    services.workdays_override(holidays=["2027-02-01"], by=staff)
    [drift] = selectors.due_drifts()
    assert (drift.start, drift.counted) == (reassigned_on, date(2027, 2, 4))


def test_recounting_twice_changes_once_and_notifies_once(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    mail.outbox.clear()
    client = client_of(staff)
    assert client.post(f"{PAGE}recompute/", {"assignment": [str(a.pk)]}).status_code == 302
    once = everything(a)
    assert once[0] == (date(2027, 2, 18), 2)
    assert Notice.objects.filter(assignment=a, code=TimelineEntry.Action.DUE_RECOMPUTED).count() == 1
    # The same form again (a double click, a reload): refused, nothing more written or sent.
    assert client.post(f"{PAGE}recompute/", {"assignment": [str(a.pk), str(a.pk)]}).status_code == 302
    assert everything(a) == once


def test_a_recount_is_announced_to_webhooks_once_and_entering_holidays_not_at_all(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    WebhookEndpoint.objects.create(url="https://platform.example/hook", secret="s3cret", department=case.lead)
    WebhookDelivery.objects.all().delete()
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    services.workdays_remove(day="2027-02-12", by=staff)
    assert not WebhookDelivery.objects.exists()
    services.assignments_due_recompute(assignment_ids=[a.pk, a.pk], by=staff)
    with pytest.raises(InvalidState):
        services.assignments_due_recompute(assignment_ids=[a.pk], by=staff)
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event.startswith("assignment.")
    body = json.loads(delivery.body)
    assert body["data"]["due_date"] == "2027-02-17"


def test_an_extension_asked_before_a_recount_cannot_bring_the_due_date_forward(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due 10 Feb, the department asks until 15 Feb; the holidays then move the due date to 18
    Feb. Approving the request now would bring the deadline forward: refused, nothing changed
    (the moderator refuses it, or the department asks again)."""
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    services.assignment_accept(assignment_id=a.pk, by=case.liaison)
    services.assignment_request_extension(
        assignment_id=a.pk, by=case.liaison, due_date=date(2027, 2, 15), reason="需要协调多个部门"
    )
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    services.assignments_due_recompute(assignment_ids=[a.pk], by=staff)
    before = everything(a)
    assert before[0][0] == date(2027, 2, 18)
    with pytest.raises(InvalidState):
        services.assignment_decide_extension(assignment_id=a.pk, by=case.moderator, approve=True)
    assert everything(a) == before
    services.assignment_decide_extension(assignment_id=a.pk, by=case.moderator, approve=False)
    a.refresh_from_db()
    assert (a.due_date, a.extension_due_date) == (date(2027, 2, 18), None)


def test_a_deadline_across_the_new_year_counts_the_next_year_s_holidays(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2026, 12, 28), 5, monkeypatch)  # a Monday; the library knows 2026
    assert a.due_date == date(2027, 1, 4)  # 29, 30, 31 Dec, 1 Jan (Monday to Friday in 2027), 4 Jan
    assert workdays.years_without_data([a.due_date]) == [2027]
    services.workdays_override(holidays=["2027-01-01"], by=staff)
    assert workdays.years_without_data([a.due_date]) == []  # the staff entered 2027
    [drift] = selectors.due_drifts()
    assert drift.counted == date(2027, 1, 5)
    services.assignments_due_recompute(assignment_ids=[a.pk], by=staff)
    a.refresh_from_db()
    assert a.due_date == date(2027, 1, 5)


def test_closed_or_extended_assignments_are_never_recounted(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    advance(case, closed, "closed")
    extended = given_on(case, date(2027, 2, 3), 5, monkeypatch, questions=case.questions[1:2])
    services.assignment_accept(assignment_id=extended.pk, by=case.liaison)
    services.assignment_request_extension(
        assignment_id=extended.pk, by=case.liaison, due_date=date(2027, 3, 1), reason="需要协调"
    )
    services.assignment_decide_extension(assignment_id=extended.pk, by=case.moderator, approve=True)
    # Every entry on the day it was given (in the order written), as given_on dates the first.
    TimelineEntry.objects.filter(assignment=extended).update(
        at=timezone.make_aware(datetime.combine(date(2027, 2, 3), time(12)))
    )
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    assert selectors.due_drifts() == []
    before = (everything(closed), everything(extended))
    with pytest.raises(InvalidState):
        services.assignments_due_recompute(assignment_ids=[closed.pk, extended.pk], by=staff)
    assert (everything(closed), everything(extended)) == before


# ------------------------------------------------------------------------------- who may, and forged forms


@pytest.mark.parametrize("who", ["anonymous", "liaison", "moderator", "deputy"])
def test_only_office_staff_may_enter_remove_or_recount(
    case: Case, staff: Any, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    services.workdays_override(holidays=["2027-02-05"], by=staff)
    client = Client() if who == "anonymous" else client_of(getattr(case, who))
    before = everything(a)
    for url, form in [
        (PAGE, {"mode": "range", "first": "2027-02-08", "kind": "holiday"}),
        (PAGE, {"mode": "lines", "lines": "2027-02-09 holiday"}),
        (f"{PAGE}remove/", {"day": "2027-02-05"}),
        (f"{PAGE}recompute/", {"assignment": str(a.pk)}),
    ]:
        response = client.post(url, form)
        assert response.status_code in (302, 403), url
        if response.status_code == 302:
            assert "/login" in response["Location"] or "/accounts/" in response["Location"], url
    assert client.get(PAGE).status_code in (302, 403)
    assert everything(a) == before


def test_a_forged_form_without_the_csrf_token_is_refused(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    services.workdays_override(holidays=["2027-02-05"], by=staff)
    client = client_of(staff, enforce_csrf_checks=True)
    before = everything(a)
    assert client.post(PAGE, {"mode": "range", "first": "2027-02-08", "kind": "holiday"}).status_code == 403
    assert client.post(f"{PAGE}remove/", {"day": "2027-02-05"}).status_code == 403
    assert client.post(f"{PAGE}recompute/", {"assignment": str(a.pk)}).status_code == 403
    assert everything(a) == before


# ------------------------------------------------------------------------------- odd dates and floods


@pytest.mark.parametrize(
    "form",
    [
        {"mode": "range", "first": "2027-02-30", "kind": "holiday"},
        {"mode": "range", "first": "２０２７-01-01", "kind": "holiday"},  # full-width digits
        {"mode": "range", "first": "²027-01-01", "kind": "holiday"},  # a superscript two
        {"mode": "range", "first": "0000-01-01", "kind": "holiday"},
        {"mode": "range", "first": "2027-01-01", "last": "9999-12-31", "kind": "holiday"},
        {"mode": "range", "first": "2027-02-12", "last": "2027-02-05", "kind": "holiday"},  # reversed
        {"mode": "range", "first": "2027-02-05", "kind": "休息"},
        {"mode": "range", "first": "2027-02-05\n2027-02-06", "kind": "holiday"},
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-05 workday"},  # both in one paste
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-06 holiday extra"},
        {"mode": "lines", "lines": "\n".join(f"{date(2027, 1, 1) + timedelta(days=n)} holiday" for n in range(5000))},
        {"mode": "lines", "lines": "2027-02-05 holiday\n" * 121},
        {"mode": "lines", "lines": "   \n\n"},
    ],
)
def test_bad_dates_and_floods_are_a_clear_error_and_change_nothing(staff: Any, form: dict[str, str]) -> None:
    before = everything()
    response = client_of(staff).post(PAGE, form)
    assert response.status_code == 400
    assert 'id="holiday-error"' in response.content.decode()
    assert everything() == before


def test_year_9999_is_stored_and_shown_without_breaking_the_page(staff: Any) -> None:
    client = client_of(staff)
    assert client.post(PAGE, {"mode": "range", "first": "9999-12-31", "kind": "holiday"}).status_code == 302
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'id="year-9999" data-source="staff"' in page.content.decode()


@pytest.mark.parametrize(
    "args",
    [
        ["--holiday", "２０２７-01-01"],
        ["--holiday", "2027-02-30"],
        ["--holiday", "2027-02-05", "--workday", "2027-02-05"],
        ["--holiday", "2027-02-05", "--list", "0"],
        ["--workday", "20270206"],
    ],
)
def test_the_command_refuses_bad_days_and_stores_nothing(db: Any, args: list[str]) -> None:
    before = everything()
    with pytest.raises(CommandError):
        call_command("workdays", *args, stdout=StringIO(), stderr=StringIO())
    assert everything() == before


def test_the_command_lists_one_day_a_line(db: Any) -> None:
    call_command("workdays", "--holiday", "2027-02-05", "--workday", "2027-02-13", stdout=StringIO())
    out = StringIO()
    call_command("workdays", "--list", "2027", stdout=out)
    assert out.getvalue().splitlines() == ["2027-02-05 holiday", "2027-02-13 workday"]


def test_entering_holidays_never_moves_a_stored_due_date(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 2, 3), 5, monkeypatch)
    due, timeline = a.due_date, a.timeline.count()
    client_of(staff).post(PAGE, {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-08 holiday"})
    call_command("workdays", "--holiday", "2027-02-09", stdout=StringIO())
    services.workdays_remove(day="2027-02-05", by=staff)
    a.refresh_from_db()
    assert (a.due_date, a.timeline.count()) == (due, timeline)
    assert not Notice.objects.filter(code=TimelineEntry.Action.DUE_RECOMPUTED).exists()


# ------------------------------------------------------------------------------- the published audit head


def test_the_head_is_read_only_and_never_cached(db: Any) -> None:
    audit.record(action="poll.close", actor=None, subject="voting.poll:1", payload={})
    client = Client()
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/audit/head.json").status_code == 405
    got = client.get("/audit/head.json")
    assert got.status_code == 200
    assert "no-cache" in got["Cache-Control"] or "max-age=0" in got["Cache-Control"]
    entry = AuditEntry.objects.get()
    assert got.json() == {"seq": entry.seq, "hash": entry.hash, "at": entry.at.isoformat()}


def test_a_chain_cut_back_and_appended_to_the_published_seq_fails_the_head(db: Any) -> None:
    for n in range(3):
        audit.record(action="poll.close", actor=None, subject=f"voting.poll:{n}", payload={"n": n})
    published = Client().get("/audit/head.json").json()
    head = f"{published['seq']}:{published['hash']}"
    call_command("verify_audit", "--head", head, stdout=StringIO())
    with connection.cursor() as cursor:  # cut off the end (behind the model's back)…
        cursor.execute("DELETE FROM audit_auditentry WHERE seq = %s", [published["seq"]])
    audit.record(action="poll.close", actor=None, subject="voting.poll:forged", payload={"n": 99})  # …and refill it
    assert AuditEntry.objects.order_by("-seq").first().seq == published["seq"]  # type: ignore[union-attr]
    call_command("verify_audit", stdout=StringIO())  # the chain alone still holds
    with pytest.raises(CommandError, match="differs from the recorded head"):
        call_command("verify_audit", "--head", head, stdout=StringIO())
    for bad in ("3", f"{published['seq']}:{'0' * 63}", f"-1:{published['hash']}", f"{published['seq']}:{'g' * 64}"):
        with pytest.raises(CommandError, match="SEQ:HASH"):
            call_command("verify_audit", f"--head={bad}", stdout=StringIO())


def test_the_public_assignments_page_shows_the_head_of_the_moment(db: Any) -> None:
    client = Client()
    empty = client.get("/assignments/").content.decode()
    assert f"0:{'0' * 64}" in empty
    audit.record(action="poll.close", actor=None, subject="voting.poll:1", payload={})
    entry = AuditEntry.objects.get()
    page = client.get("/assignments/").content.decode()
    assert f"{entry.seq}:{entry.hash}" in page and f"0:{'0' * 64}" not in page


# ------------------------------------------------------------------------------- backups


@pytest.mark.django_db(transaction=True)
def test_a_backup_is_readable_by_its_owner_only(source: Target, tmp_path: Path) -> None:
    """A backup holds personal data (names, phone numbers, contacts, the audit log)."""
    into = tmp_path / "backups"
    done = run("backup", str(into), target=source)
    assert done.returncode == 0, done.stderr
    (made,) = into.iterdir()
    for path in [made, *made.iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"


@pytest.mark.django_db(transaction=True)
def test_relative_paths_are_read_from_where_the_administrator_stands(
    source: Target, fresh: Target, tmp_path: Path
) -> None:
    relative = f"backups-{uuid.uuid4().hex[:8]}"

    def script(name: str, *args: str, target: Target) -> subprocess.CompletedProcess[str]:
        command = [str(ROOT / "scripts" / name), *args]
        return subprocess.run(command, env=target.env(), cwd=tmp_path, capture_output=True, text=True, timeout=90)

    try:
        done = script("backup", relative, target=source)
        assert done.returncode == 0, done.stderr
        assert not (ROOT / relative).exists()
        (made,) = (tmp_path / relative).iterdir()
        assert made.name.startswith("wenzheng-")
        assert f"backup written: {made}" in done.stdout
        restored = script("restore", f"{relative}/{made.name}", target=fresh)
        assert restored.returncode == 0, restored.stderr
        assert fresh.counts() == source.counts()
    finally:
        shutil.rmtree(ROOT / relative, ignore_errors=True)


def _untouched(target: Target) -> bool:
    return not Path(target.database).exists() if connection.vendor == "sqlite" else target.counts() == {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "tamper",
    [
        "drop the database from the file list",
        "drop media.tar from the file list",
        "a file list reaching outside the backup",
        "no file list",
        "not an object",
        "no row counts",
        "no audit head",
    ],
)
def test_a_manifest_that_does_not_check_both_files_is_refused_before_anything_changes(
    source: Target, fresh: Target, tmp_path: Path, tamper: str
) -> None:
    """The checksums guard the database and media.tar only if the manifest lists both: a manifest
    that leaves one out (or is no manifest at all) is refused before the target is touched,
    with a message rather than a traceback."""
    made = take_backup(source, tmp_path / "backups")
    manifest = json.loads((made / MANIFEST).read_text())
    database = manifest["database"]
    if tamper == "drop the database from the file list":
        del manifest["files"][database]
    elif tamper == "drop media.tar from the file list":
        del manifest["files"][MEDIA]
    elif tamper == "a file list reaching outside the backup":
        manifest["files"]["../outside"] = manifest["files"].pop(MEDIA)
        shutil.copy(made / MEDIA, made.parent / "outside")
    elif tamper == "no file list":
        del manifest["files"]
    elif tamper == "no row counts":
        del manifest["tables"]
    elif tamper == "no audit head":
        del manifest["audit"]
    else:
        manifest = [manifest]
    (made / MANIFEST).write_text(json.dumps(manifest))
    done = run("restore", str(made), target=fresh)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "manifest" in done.stderr, done.stderr
    assert "restored " not in done.stdout
    assert _untouched(fresh)
    assert not fresh.media.exists()


@pytest.mark.django_db(transaction=True)
def test_paths_with_spaces_back_up_and_restore(source: Target, tmp_path: Path) -> None:
    made = take_backup(source, tmp_path / "备份 目录" / "with space")
    media = tmp_path / "media files" / "x y"
    database = str(tmp_path / "新 数据库" / "db file.sqlite3") if connection.vendor == "sqlite" else None
    if database is None:
        pytest.skip("on PostgreSQL the database is a name, not a path")
    target = Target(database, media)
    done = run("restore", str(made), target=target)
    assert done.returncode == 0, done.stderr
    assert target.counts() == source.counts()
    assert target.media_files() == source.media_files()


@pytest.mark.django_db(transaction=True)
def test_an_empty_database_backs_up_and_restores(fresh: Target, tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    assert not AuditEntry.objects.exists()
    connection.close()
    empty = Target(str(connection.settings_dict["NAME"]), Path(settings.MEDIA_ROOT))
    made = take_backup(empty, tmp_path / "backups")
    assert json.loads((made / MANIFEST).read_text())["media_files"] == 0
    done = run("restore", str(made), target=fresh)
    assert done.returncode == 0, done.stderr
    assert fresh.counts() == empty.counts()


# ------------------------------------------------------------------------------- housekeeping


def _task(
    status: str, *, started_minutes_ago: int | None = None, finished_days_ago: int | None = None
) -> DBTaskResult[Any, Any]:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        task_path="outbound.mail.send",
        args_kwargs={"args": [], "kwargs": {}},
        queue_name="default",
        backend_name="default",
        started_at=now - timedelta(minutes=started_minutes_ago) if started_minutes_ago is not None else None,
        finished_at=now - timedelta(days=finished_days_ago) if finished_days_ago is not None else None,
    )


def test_a_task_still_within_its_time_is_left_running(db: Any, settings: Any) -> None:
    settings.TASK_STALE_MINUTES = 30
    young = _task(TaskResultStatus.RUNNING, started_minutes_ago=29)
    old = _task(TaskResultStatus.RUNNING, started_minutes_ago=31)
    assert housekeeping.recover_stale() == 1
    young.refresh_from_db()
    old.refresh_from_db()
    assert young.status == TaskResultStatus.RUNNING and young.started_at is not None
    assert old.status == TaskResultStatus.READY and old.started_at is None
    assert housekeeping.recover_stale() == 0  # a second worker's pass finds nothing more


def test_pruning_keeps_what_is_waiting_or_running(db: Any, settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 7
    waiting = _task(TaskResultStatus.READY)
    running = _task(TaskResultStatus.RUNNING, started_minutes_ago=60 * 24 * 30)
    old_done = _task(TaskResultStatus.SUCCESSFUL, started_minutes_ago=60 * 24 * 30, finished_days_ago=30)
    new_done = _task(TaskResultStatus.FAILED, started_minutes_ago=60, finished_days_ago=1)
    assert housekeeping.prune_results() == 1
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {waiting.pk, running.pk, new_done.pk}
    assert not DBTaskResult.objects.filter(pk=old_done.pk).exists()
