"""The holidays page (/manage/holidays/), the command over the same service, the warning for a
year with no holiday data, and due dates counted again only when office staff ask.

The calendar library is made to know no year after 2026 (as chinese_calendar 1.11 does), so
2027 is a year "without data" until the staff enter it, whatever the library knows later."""

from __future__ import annotations

from datetime import date, datetime, time
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments import notes, selectors, services, workdays
from assignments.models import Assignment, Notice, Status, TimelineEntry, WorkdayOverride
from assignments.services import transitions
from assignments.workdays import Source, add_working_days, year_source, years_reachable
from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from tests.assignments.helpers import (
    Case,
    advance,
    client_of,
    create,
    given_on,
    library_knows_up_to,
    make_staff_user,
)

PAGE = "/manage/holidays/"
GIVEN = date(2027, 2, 3)  # a Wednesday
MON_TO_FRI_DUE = date(2027, 2, 10)  # 5 working days, Monday to Friday
WITH_HOLIDAYS_DUE = date(2027, 2, 18)  # 2027-02-05 … 02-12 off: Thu 4, then Mon 15 … Thu 18


@pytest.fixture(autouse=True)
def _library_knows_up_to_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    library_knows_up_to(2026, monkeypatch)


@pytest.fixture
def staff(db: Any) -> Any:
    return make_staff_user()


def stored() -> list[tuple[date, str]]:
    return list(WorkdayOverride.objects.order_by("day").values_list("day", "kind"))


def state(assignment: Assignment) -> tuple[Any, ...]:
    assignment.refresh_from_db()
    return (
        assignment.due_date,
        assignment.timeline.count(),
        Notice.objects.filter(assignment=assignment).count(),
        AuditEntry.objects.count(),
        stored(),
    )


# ------------------------------------------------------------------------------- 2027 entered, the deadline moves


def test_holidays_entered_on_the_page_move_a_deadline_only_when_staff_recompute(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, GIVEN, 5, monkeypatch)
    assert a.due_date == MON_TO_FRI_DUE
    client = client_of(staff)
    page = client.post(PAGE, {"mode": "range", "first": "2027-02-05", "last": "2027-02-12", "kind": "holiday"})
    assert page.status_code == 302
    assert [day for day, kind in stored()] == [date(2027, 2, n) for n in range(5, 13)]
    assert add_working_days(GIVEN, 5) == WITH_HOLIDAYS_DUE  # a deadline given now counts them
    # Nothing changed by itself: the due date, the timeline, the notices.
    a.refresh_from_db()
    assert a.due_date == MON_TO_FRI_DUE
    assert not a.timeline.filter(action=TimelineEntry.Action.DUE_RECOMPUTED).exists()
    listed = client.get(PAGE).content.decode()
    assert f'data-assignment="{a.pk}"' in listed and "2027-02-18" in listed
    drifts = selectors.due_drifts()
    assert [(d.assignment.pk, d.start, d.now, d.counted) for d in drifts] == [
        (a.pk, GIVEN, MON_TO_FRI_DUE, WITH_HOLIDAYS_DUE)
    ]
    mail.outbox.clear()
    audits = AuditEntry.objects.count()
    done = client.post(f"{PAGE}recompute/", {"assignment": [str(a.pk)]})
    assert done.status_code == 302
    a.refresh_from_db()
    assert a.due_date == WITH_HOLIDAYS_DUE and a.status == Status.ASSIGNED  # the status unchanged
    entry = a.timeline.filter(action=TimelineEntry.Action.DUE_RECOMPUTED).get()
    assert entry.due_date == WITH_HOLIDAYS_DUE and entry.actor_id == staff.pk
    assert "2027-02-10" in notes.entry_note(entry) and "2027-02-18" in notes.entry_note(entry)
    audit = AuditEntry.objects.order_by("-pk").first()
    assert AuditEntry.objects.count() == audits + 1
    assert audit is not None and audit.action == "assignment.due_recomputed"
    notice = Notice.objects.get(assignment=a, code=TimelineEntry.Action.DUE_RECOMPUTED)
    assert notice.user_id == case.liaison.pk
    assert selectors.due_drifts() == []
    assert "no-drifts" in client.get(PAGE).content.decode()


def test_holidays_entered_by_the_command_move_the_deadline_the_same_way(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, GIVEN, 5, monkeypatch)
    days = [f"2027-02-{n:02d}" for n in range(5, 13)]
    call_command("workdays", "--holiday", *days, stdout=StringIO(), stderr=StringIO())
    assert add_working_days(GIVEN, 5) == WITH_HOLIDAYS_DUE
    a.refresh_from_db()
    assert a.due_date == MON_TO_FRI_DUE  # not silently
    audit = AuditEntry.objects.filter(action="workdays.override").get()
    assert audit.actor_id is None and sorted(audit.payload["days"]) == days
    report = services.assignments_due_recompute(assignment_ids=[a.pk], by=None)
    assert [x.pk for x in report.changed] == [a.pk]
    a.refresh_from_db()
    assert a.due_date == WITH_HOLIDAYS_DUE


def test_pasted_lines_enter_holidays_and_make_up_days(staff: Any) -> None:
    lines = "2027-02-05 holiday\n\n  2027-02-06 放假 \n2027-02-13 workday\n2027-02-14 调休上班\n"
    response = client_of(staff).post(PAGE, {"mode": "lines", "lines": lines})
    assert response.status_code == 302
    assert stored() == [
        (date(2027, 2, 5), "holiday"),
        (date(2027, 2, 6), "holiday"),
        (date(2027, 2, 13), "workday"),
        (date(2027, 2, 14), "workday"),
    ]
    assert workdays.is_workday(date(2027, 2, 13))  # a Saturday worked
    # Entering the same again is harmless and audits nothing more.
    audits = AuditEntry.objects.count()
    assert client_of(staff).post(PAGE, {"mode": "lines", "lines": lines}).status_code == 302
    assert AuditEntry.objects.count() == audits


def test_a_day_is_removed_audited(staff: Any) -> None:
    services.workdays_override(holidays=["2027-02-05"], by=staff)
    response = client_of(staff).post(f"{PAGE}remove/", {"day": "2027-02-05"})
    assert response.status_code == 302
    assert stored() == []
    audit = AuditEntry.objects.order_by("-pk").first()
    assert audit is not None and audit.action == "workdays.remove" and audit.actor_id == staff.pk
    assert audit.payload == {"days": {"2027-02-05": "holiday"}}


def test_the_page_shows_each_year_s_source(staff: Any) -> None:
    this_year = timezone.localdate().year
    staff_year = max(this_year + 1, 2027)
    services.workdays_override(holidays=[date(staff_year, 2, 5)], by=staff)
    assert year_source(2026) == Source.LIBRARY
    assert year_source(staff_year) == Source.STAFF
    assert year_source(staff_year + 1) == Source.NONE
    page = client_of(staff).get(PAGE).content.decode()
    assert f'id="year-{staff_year}" data-source="staff"' in page
    assert f'id="year-{staff_year + 1}" data-source="none"' in page
    if this_year <= 2026:
        assert 'id="year-2026" data-source="library"' in page


# ------------------------------------------------------------------------------- bad input: an error, nothing changed


@pytest.mark.parametrize(
    "form",
    [
        {"mode": "range", "first": "2027-02-30", "last": "", "kind": "holiday"},  # no such day
        {"mode": "range", "first": "20270205", "last": "", "kind": "holiday"},  # not YYYY-MM-DD
        {"mode": "range", "first": "", "last": "", "kind": "holiday"},
        {"mode": "range", "first": "2027-02-05", "last": "2027-02-12", "kind": "vacation"},  # unknown kind
        {"mode": "range", "first": "2027-02-12", "last": "2027-02-05", "kind": "holiday"},  # backwards
        {"mode": "range", "first": "2027-01-01", "last": "2072-01-01", "kind": "holiday"},  # too long
        {"mode": "range", "first": "2027-02-13", "last": "", "kind": "holiday"},  # entered as workday already
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-06 vacation"},
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-31 holiday"},
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-05 workday"},  # a day both
        {"mode": "lines", "lines": "2027-02-05 holiday extra"},
        {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-13 holiday"},  # clash with the stored
        {"mode": "lines", "lines": "   \n"},
        {"mode": "lines", "lines": "\n".join(f"2027-03-{n % 28 + 1:02d} holiday" for n in range(500))},
        {"mode": "lines", "lines": "<script>alert(1)</script> holiday"},
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(staff: Any, form: dict[str, str]) -> None:
    services.workdays_override(workdays=["2027-02-13"], by=staff)
    before = (stored(), AuditEntry.objects.count())
    response = client_of(staff).post(PAGE, form)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="holiday-error"' in body and "<script>alert" not in body
    assert (stored(), AuditEntry.objects.count()) == before


def test_the_error_names_the_line_and_the_clash(staff: Any) -> None:
    services.workdays_override(workdays=["2027-02-13"], by=staff)
    client = client_of(staff)
    bad_line = client.post(PAGE, {"mode": "lines", "lines": "2027-02-05 holiday\n2027-02-06 vacation"})
    assert "第 2 行" in bad_line.content.decode() and "vacation" in bad_line.content.decode()
    clash = client.post(PAGE, {"mode": "range", "first": "2027-02-13", "kind": "holiday"})
    assert "2027-02-13" in clash.content.decode() and "请先删除" in clash.content.decode()


def test_the_command_keeps_its_own_rule_a_new_kind_replaces_the_day(staff: Any) -> None:
    services.workdays_override(workdays=["2027-02-13"], by=staff)
    call_command("workdays", "--holiday", "2027-02-13", stdout=StringIO(), stderr=StringIO())
    assert stored() == [(date(2027, 2, 13), "holiday")]
    with pytest.raises(CommandError):
        call_command("workdays", "--holiday", "2027-13-01", stdout=StringIO(), stderr=StringIO())


def test_removing_a_day_not_entered_is_an_error(staff: Any) -> None:
    services.workdays_override(holidays=["2027-02-05"], by=staff)
    before = (stored(), AuditEntry.objects.count())
    for day in ("2027-02-06", "x", "2027-02-30", ""):
        response = client_of(staff).post(f"{PAGE}remove/", {"day": day}, follow=True)
        assert response.status_code in (200, 404)
    assert (stored(), AuditEntry.objects.count()) == before
    with pytest.raises(NotFound):
        services.workdays_remove(day="2027-02-06", by=staff)
    with pytest.raises(BadRequest):
        services.workdays_remove(day="tomorrow", by=staff)


def test_only_office_staff_may_change_the_holidays_through_the_service(case: Case) -> None:
    with pytest.raises(Forbidden):
        services.workdays_override(holidays=["2027-02-05"], by=case.moderator)
    services.workdays_override(holidays=["2027-02-05"], by=None)
    with pytest.raises(Forbidden):
        services.workdays_remove(day="2027-02-05", by=case.liaison)
    assert stored() == [(date(2027, 2, 5), "holiday")]


# ------------------------------------------------------------------------------- recompute: rules and attacks


def test_recompute_refuses_what_does_not_differ_and_bad_ids(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, GIVEN, 5, monkeypatch)
    before = state(a)
    with pytest.raises(InvalidState):
        services.assignments_due_recompute(assignment_ids=[a.pk], by=staff)  # nothing differs yet
    with pytest.raises(BadRequest):
        services.assignments_due_recompute(assignment_ids=[], by=staff)
    client = client_of(staff)
    for ids in (["abc"], ["²"], ["99999999999999999999"], [], [str(a.pk + 1000)]):
        assert client.post(f"{PAGE}recompute/", {"assignment": ids}).status_code == 302
    assert state(a) == before
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    before = state(a)
    with pytest.raises(Forbidden):
        services.assignments_due_recompute(assignment_ids=[a.pk], by=case.moderator)
    with pytest.raises(Forbidden):
        services.assignments_due_recompute(assignment_ids=[a.pk], by=case.liaison)
    assert state(a) == before


def test_recompute_all_listed_skips_what_changed_meanwhile(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = given_on(case, GIVEN, 5, monkeypatch)
    second = given_on(case, GIVEN, 5, monkeypatch, questions=[case.questions[1]])
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    services.assignments_due_recompute(assignment_ids=[second.pk], by=staff)
    response = client_of(staff).post(f"{PAGE}recompute/", {"assignment": [str(first.pk), str(second.pk)]})
    assert response.status_code == 302
    for a in (first, second):
        a.refresh_from_db()
        assert a.due_date == WITH_HOLIDAYS_DUE
        assert a.timeline.filter(action=TimelineEntry.Action.DUE_RECOMPUTED).count() == 1


def test_due_dates_given_as_dates_closed_or_extended_are_not_listed(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(transitions, "local_today", lambda: GIVEN)
        by_date = create(case, days=None, due_date=MON_TO_FRI_DUE, questions=[case.questions[0]])  # type: ignore[arg-type]
    replied = given_on(case, GIVEN, 5, monkeypatch, questions=[case.questions[1]])
    advance(case, replied, "replied")
    extended = given_on(case, GIVEN, 5, monkeypatch, questions=[case.questions[2]])
    services.assignment_accept(assignment_id=extended.pk, by=case.liaison)
    with monkeypatch.context() as patched:
        patched.setattr(transitions, "local_today", lambda: GIVEN)
        Assignment.objects.filter(pk=extended.pk).update(due_date=MON_TO_FRI_DUE)
        services.assignment_request_extension(
            assignment_id=extended.pk, by=case.liaison, due_date=date(2027, 3, 1), reason="需要招标"
        )
        services.assignment_decide_extension(assignment_id=extended.pk, by=case.moderator, approve=True)
    later = timezone.make_aware(datetime.combine(GIVEN, time(15)))  # after the day it was given
    extended.timeline.exclude(action=TimelineEntry.Action.CREATED).update(at=later)
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    assert by_date.working_days is None
    assert selectors.due_drifts() == []


def test_a_reassignment_with_new_working_days_counts_from_its_day(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, date(2027, 1, 20), 5, monkeypatch)
    services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="不属于本单位职责")
    with monkeypatch.context() as patched:
        patched.setattr(transitions, "local_today", lambda: GIVEN)
        services.assignment_reassign(
            assignment_id=a.pk, by=case.moderator, lead_department_id=case.lead.pk, working_days=5
        )
    noon = timezone.make_aware(datetime.combine(GIVEN, time(12)))
    TimelineEntry.objects.filter(assignment=a, action=TimelineEntry.Action.REASSIGNED).update(at=noon)
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    [drift] = selectors.due_drifts()
    assert (drift.start, drift.now, drift.counted) == (GIVEN, MON_TO_FRI_DUE, WITH_HOLIDAYS_DUE)


# ------------------------------------------------------------------------------- the warning


def _gap_years() -> list[int]:
    return workdays.years_without_data_in(years_reachable(timezone.localdate(), services.MAX_WORKING_DAYS))


def test_the_assigning_form_warns_of_a_year_without_data_and_not_once_entered(case: Case, staff: Any) -> None:
    gaps = _gap_years()
    assert gaps  # the library knows no year after 2026
    url = f"/assignments/new/?hearing={case.hearing.pk}"
    page = client_of(case.moderator).get(url).content.decode()
    assert 'id="holiday-gaps"' in page and f"{gaps[0]} 年的节假日安排尚未录入" in page
    assert 'id="holiday-gaps-link"' not in page  # a moderator may not open the holidays page
    for year in gaps:
        services.workdays_override(holidays=[date(year, 1, 1)], by=staff)
    assert 'id="holiday-gaps"' not in client_of(case.moderator).get(url).content.decode()


def test_assigning_into_a_year_without_data_warns_after_the_post(case: Case) -> None:
    response = client_of(case.moderator).post(
        "/assignments/new/",
        {
            "hearing": case.hearing.pk,
            "questions": [case.questions[0].pk],
            "lead_department": case.lead.pk,
            "due_date": "2027-03-01",
            "mode": "group",
        },
        follow=True,
    )
    assert "2027 年的节假日安排尚未录入" in response.content.decode()


def test_the_inbox_warns_of_a_due_date_in_a_year_without_data(case: Case, staff: Any) -> None:
    a = create(case)
    Assignment.objects.filter(pk=a.pk).update(due_date=date(2026, 12, 20))
    assert 'id="holiday-gaps"' not in client_of(case.liaison).get("/inbox/").content.decode()
    Assignment.objects.filter(pk=a.pk).update(due_date=date(2027, 2, 10))
    page = client_of(case.liaison).get("/inbox/").content.decode()
    assert 'id="holiday-gaps"' in page and "2027 年的节假日安排尚未录入" in page
    services.workdays_override(holidays=["2027-02-05"], by=staff)
    assert 'id="holiday-gaps"' not in client_of(case.liaison).get("/inbox/").content.decode()


def test_the_detail_page_warns_those_who_handle_it(case: Case, staff: Any) -> None:
    a = create(case)
    url = f"/assignments/{a.pk}/"
    Assignment.objects.filter(pk=a.pk).update(due_date=date(2027, 2, 10))
    assert "2027 年的节假日安排尚未录入" in client_of(case.liaison).get(url).content.decode()
    assert 'id="holiday-gaps"' not in Client().get(url).content.decode()  # the public reads the date only
    services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="不属于本单位职责")
    gaps = _gap_years()
    page = client_of(case.moderator).get(url).content.decode()  # the reassign form gives working days
    assert f"{gaps[0]} 年的节假日安排尚未录入" in page
    for year in gaps:
        services.workdays_override(holidays=[date(year, 1, 1)], by=staff)
    assert 'id="holiday-gaps"' not in client_of(case.moderator).get(url).content.decode()


def test_staff_who_see_the_warning_get_the_link(case: Case, staff: Any) -> None:
    case.hearing.moderators.add(staff)
    page = client_of(staff).get(f"/assignments/new/?hearing={case.hearing.pk}").content.decode()
    assert 'id="holiday-gaps-link"' in page and f'href="{PAGE}"' in page


# ------------------------------------------------------------------------------- CSRF


def test_the_holidays_forms_refuse_a_post_without_the_csrf_token(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = given_on(case, GIVEN, 5, monkeypatch)
    services.workdays_override(holidays=[f"2027-02-{n:02d}" for n in range(5, 13)], by=staff)
    client = client_of(staff, enforce_csrf_checks=True)
    before = state(a)
    for path, data in (
        (PAGE, {"mode": "range", "first": "2027-02-15", "kind": "holiday"}),
        (f"{PAGE}remove/", {"day": "2027-02-05"}),
        (f"{PAGE}recompute/", {"assignment": [str(a.pk)]}),
    ):
        assert client.post(path, data).status_code == 403
    assert state(a) == before


def test_the_drift_list_reads_the_holidays_once_however_many_assignments(
    case: Case, staff: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert len(selectors.due_drifts()) == Assignment.objects.count()
        return len(seen)

    given_on(case, GIVEN, 5, monkeypatch, questions=[case.questions[0]])
    services.workdays_override(holidays=[date(2027, 2, n) for n in range(5, 13)], by=staff)
    one = queries()
    for question in [*case.questions[1:], case.public_question]:  # given before the holidays, as the first
        later = given_on(case, GIVEN, 5, monkeypatch, questions=[question])
        Assignment.objects.filter(pk=later.pk).update(due_date=MON_TO_FRI_DUE)
    assert queries() == one
