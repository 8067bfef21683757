"""The duty record (reports/duty.py): it counts exactly what the database holds for a seeded
year, checked against queries written here independently (datetime ranges in the county's time
instead of __year lookups, VoteRecord rows instead of Ballot rows); other years and other
deputies are not counted; secret polls never count as votes and never show a choice; points
follow the rules staff set."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from assignments.models import TimelineEntry
from audit.models import AuditEntry
from hearings.models import Hearing, Question
from reports import duty
from reports.models import DEFAULT_POINTS, DutyKind, DutyRule
from tests.reports.duty_seed import SECRET_CHOICES, TZ, YEAR, Seed, seed_year
from voting.models import Attendance, Ballot, VoteRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed() -> Seed:
    return seed_year()


def _range(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=TZ), datetime(year + 1, 1, 1, tzinfo=TZ)


def independent_counts(user: Any, year: int) -> dict[str, int]:
    """The same facts, asked of the database another way."""
    start, end = _range(year)
    in_year = {"gte": start, "lt": end}
    held = user.deputy_hearings.filter(starts_at__gte=start, starts_at__lt=end).exclude(status=Hearing.Status.DRAFT)
    asked = Question.objects.filter(asker=user, source="deputy", created_at__gte=start, created_at__lt=end).filter(
        ~Q(status="rejected") | Q(merged_into__isnull=False)
    )
    entries = TimelineEntry.objects.filter(actor=user, at__gte=start, at__lt=end)
    return {
        duty.INVITED: held.count(),
        DutyKind.ATTENDANCE: Attendance.objects.filter(
            deputy=user, hearing__starts_at__gte=in_year["gte"], hearing__starts_at__lt=in_year["lt"]
        ).count(),
        DutyKind.QUESTION: asked.filter(parent__isnull=True).count(),
        DutyKind.FOLLOW_UP: asked.filter(parent__isnull=False).count(),
        DutyKind.NAMED_VOTE: VoteRecord.objects.filter(
            deputy=user, poll__secret=False, poll__opened_at__gte=start, poll__opened_at__lt=end
        ).count(),
        duty.SECRET_POLLS: VoteRecord.objects.filter(
            deputy=user, poll__secret=True, poll__opened_at__gte=start, poll__opened_at__lt=end
        ).count(),
        DutyKind.VERDICT: entries.filter(action="evaluated").count(),
        DutyKind.REVIEW: entries.filter(action="reviewed").count(),
    }


# What the seed holds, written out: deputy a in 2025.
A_2025 = {
    duty.INVITED: 2,  # h1, h2 (the draft is not held; h0 is 2024, h3 2026)
    DutyKind.ATTENDANCE: 2,
    DutyKind.QUESTION: 4,  # q1, q4 merged, q5 pending, q6 hidden (not q3 rejected, not the moderator's)
    DutyKind.FOLLOW_UP: 1,
    DutyKind.NAMED_VOTE: 2,  # p2, p3 (not the secret p1, p4; not p5 of 2026)
    duty.SECRET_POLLS: 2,
    DutyKind.VERDICT: 1,
    DutyKind.REVIEW: 1,
}


def test_the_record_counts_what_the_database_holds(seed: Seed) -> None:
    for user in (seed.a, seed.b, seed.c):
        for year in (2024, YEAR, 2026):
            assert duty.counts_for(user.pk, year) == independent_counts(user, year), (user, year)
    assert duty.counts_for(seed.a.pk, YEAR) == A_2025


def test_the_staff_table_agrees_with_each_record(seed: Seed) -> None:
    for year in (2024, YEAR, 2026):
        rows = {row.deputy.pk: row for row in duty.duty_table(year)}
        assert set(rows) == {seed.a.pk, seed.b.pk, seed.c.pk}  # not the liaison, staff or moderator
        for pk, row in rows.items():
            assert row.counts == duty.counts_for(pk, year)
            assert row.total == duty.duty_record(row.deputy, year, full=True).total


def test_other_years_and_other_deputies_are_not_counted(seed: Seed) -> None:
    assert duty.counts_for(seed.a.pk, 2024) == dict.fromkeys(A_2025, 0) | {
        duty.INVITED: 1,
        DutyKind.ATTENDANCE: 1,
        DutyKind.QUESTION: 1,
    }
    assert duty.counts_for(seed.a.pk, 2026) == dict.fromkeys(A_2025, 0) | {
        duty.INVITED: 1,
        DutyKind.ATTENDANCE: 1,
        DutyKind.QUESTION: 1,
        DutyKind.NAMED_VOTE: 1,
    }
    b = duty.counts_for(seed.b.pk, YEAR)
    assert b == dict.fromkeys(A_2025, 0) | {
        duty.INVITED: 2,
        DutyKind.ATTENDANCE: 1,
        DutyKind.QUESTION: 1,
        DutyKind.NAMED_VOTE: 1,
        duty.SECRET_POLLS: 1,
    }  # b's verdict was given in 2026
    assert duty.counts_for(seed.b.pk, 2026)[DutyKind.VERDICT] == 1
    # The moderator's verdict on the public question is nobody's duty record.
    assert duty.counts_for(seed.moderator.pk, YEAR)[DutyKind.VERDICT] == 1
    assert seed.moderator.pk not in {row.deputy.pk for row in duty.duty_table(YEAR)}


def test_the_record_lists_what_it_counts(seed: Seed) -> None:
    record = duty.duty_record(seed.a, YEAR, full=True)
    assert [(h.hearing.pk, h.invited, h.checked_in) for h in record.hearings] == [
        (seed.hearings["h1"].pk, True, True),
        (seed.hearings["h2"].pk, True, True),
    ]
    counted = [line.question.pk for line in record.questions if line.counted and not line.follow_up]
    assert len(counted) == record.counts[DutyKind.QUESTION]
    assert seed.questions["q3_rejected"].pk in [line.question.pk for line in record.questions if not line.counted]
    assert [p.pk for p in record.named_votes] == [seed.polls["p2_named"].pk, seed.polls["p3_named"].pk]
    assert len(record.verdicts) == 1 and len(record.reviews) == 1
    q1 = next(line for line in record.questions if line.question.pk == seed.questions["q1"].pk)
    [assignment] = q1.assignments
    assert (assignment.status, assignment.verdict, assignment.resolved, assignment.review_outcome) == (
        "closed",
        "满意",
        True,
        "held",
    )


def test_secret_polls_never_count_as_votes_nor_show_a_choice(seed: Seed) -> None:
    secret = [seed.polls["p1_secret"], seed.polls["p4_secret"]]
    # The secret polls keep no ballot naming anyone: nothing to count or show but "took part".
    assert not Ballot.objects.filter(poll__in=secret).exists()
    record = duty.duty_record(seed.a, YEAR, full=True)
    assert all(not p.secret for p in record.named_votes)
    assert record.counts[duty.SECRET_POLLS] == 2
    assert not any(line.kind == duty.SECRET_POLLS for line in record.points)  # earns no points
    client = Client()
    client.force_login(seed.a)
    page = client.get(f"/deputies/{seed.a.pk}/?year={YEAR}").content.decode()
    book = client.get(f"/deputies/{seed.a.pk}/record.xlsx?year={YEAR}").content
    cells = " ".join(
        str(cell)
        for sheet in load_workbook(io.BytesIO(book))
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    )
    for text in (page, cells):
        for choice in SECRET_CHOICES:
            assert choice not in text
        for poll in secret:
            assert poll.title not in text


def test_points_follow_the_rules_staff_set(seed: Seed) -> None:
    def total() -> int:
        return duty.duty_record(seed.a, YEAR, full=True).total

    default = sum(A_2025[kind] * points for kind, points in DEFAULT_POINTS.items())
    assert default == 2 * 2 + 4 * 3 + 1 * 1 + 2 * 1 + 1 * 1 + 1 * 1
    assert total() == default
    values = {r.kind: (str(r.points), r.active) for r in duty.rules_in_force()}
    values[DutyKind.QUESTION] = ("5", True)
    values[DutyKind.NAMED_VOTE] = ("9", False)  # counted, not scored
    duty.duty_rules_set(values=values, by=seed.staff)
    assert total() == default + 4 * 2 - 2 * 1
    assert duty.counts_for(seed.a.pk, YEAR)[DutyKind.NAMED_VOTE] == 2
    row = next(r for r in duty.duty_table(YEAR) if r.deputy.pk == seed.a.pk)
    assert row.total == total()


# ------------------------------------------------------------------------------- pages and who sees them


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_deputy_and_staff_see_the_full_record(seed: Seed) -> None:
    for user in (seed.a, seed.staff):
        response = _client(user).get(f"/deputies/{seed.a.pk}/?year={YEAR}")
        assert response.status_code == 200
        body = response.content.decode()
        assert "13900000001" in body and "deputy-a@example.cn" in body
        assert seed.questions["q5_pending"].text in body
        assert response.context["record"].counts == A_2025
        assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_others_get_nothing_unless_the_record_is_public(seed: Seed) -> None:
    for user in (None, seed.b, seed.liaison, seed.moderator):
        response = _client(user).get(f"/deputies/{seed.a.pk}/")
        assert response.status_code == 403
        assert "代表甲" not in response.content.decode()
        assert _client(user).get(f"/deputies/{seed.a.pk}/record.xlsx").status_code == 403
    # A refusal does not tell which ids are deputies'.
    assert _client().get("/deputies/999999/").status_code == 403


def test_the_public_version_leaks_no_contact_or_internal_data(seed: Seed, settings: Any) -> None:
    settings.DUTY_RECORD_PUBLIC = True
    for user in (None, seed.b, seed.liaison):
        response = _client(user).get(f"/deputies/{seed.a.pk}/?year={YEAR}")
        assert response.status_code == 200
        body = response.content.decode()
        record = response.context["record"]
        assert not record.full and duty.SECRET_POLLS not in record.counts
        for secret in (
            "13900000001",
            "deputy-a@example.cn",
            seed.questions["q5_pending"].text,  # never approved
            seed.questions["q6_hidden"].text,  # withdrawn from public view
            "内部原因",
            seed.questions["q3_rejected"].text,  # not taken up
        ):
            assert secret not in body
        assert seed.questions["q1"].text in body
        assert record.total == duty.duty_record(seed.a, YEAR, full=True).total
        book = _client(user).get(f"/deputies/{seed.a.pk}/record.xlsx?year={YEAR}")
        assert book.status_code == 200
        cells = [c for s in load_workbook(io.BytesIO(book.content)) for r in s.iter_rows(values_only=True) for c in r]
        assert seed.questions["q5_pending"].text not in cells and "13900000001" not in cells
    # Still the full version for the deputy.
    assert _client(seed.a).get(f"/deputies/{seed.a.pk}/").context["record"].full


@pytest.mark.parametrize("year", ["abc", "1999", "2101", "20255", "２０２５", "-1", "2025.0"])
def test_a_bad_year_is_a_clear_400(seed: Seed, year: str) -> None:
    client = _client(seed.staff)
    for path in (
        f"/deputies/{seed.a.pk}/",
        f"/deputies/{seed.a.pk}/record.xlsx",
        "/manage/deputies/",
        "/manage/deputies.xlsx",
    ):
        response = client.get(path, {"year": year})
        assert response.status_code == 400
        assert "年度" in response.content.decode()


def test_no_year_is_this_year(seed: Seed) -> None:
    from django.utils import timezone

    response = _client(seed.a).get(f"/deputies/{seed.a.pk}/")
    assert response.context["record"].year == timezone.localdate().year


def test_an_unknown_id_or_a_non_deputy_is_404(seed: Seed, settings: Any) -> None:
    client = _client(seed.staff)
    for pk in (999999, seed.liaison.pk, seed.moderator.pk):
        assert client.get(f"/deputies/{pk}/").status_code == 404
    # The liaison asking for their own "record": not a deputy.
    assert _client(seed.liaison).get(f"/deputies/{seed.liaison.pk}/").status_code == 404
    settings.DUTY_RECORD_PUBLIC = True
    assert _client().get("/deputies/999999/").status_code == 404


def test_the_staff_list_and_its_xlsx(seed: Seed) -> None:
    client = _client(seed.staff)
    response = client.get("/manage/deputies/", {"year": YEAR})
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/deputies/{seed.a.pk}/?year={YEAR}"' in body
    book = load_workbook(io.BytesIO(client.get("/manage/deputies.xlsx", {"year": YEAR}).content))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header, data = rows[0], {row[0]: row for row in rows[1:]}
    assert len(data) == 3
    line = data["代表甲"]
    for m in duty.MEASURES:
        assert line[header.index(str(m.label))] == A_2025[m.key]
    assert line[-1] == duty.duty_record(seed.a, YEAR, full=True).total


def test_staff_pages_are_staff_only(seed: Seed) -> None:
    for user in (None, seed.a, seed.liaison, seed.moderator):
        client = _client(user)
        for path in ("/manage/deputies/", "/manage/deputies.xlsx", "/manage/duty-rules/"):
            assert client.get(path).status_code == 403, (user, path)
        assert client.post("/manage/duty-rules/", {"points_question": "50", "active_question": "on"}).status_code == 403
    assert not DutyRule.objects.exists()


def _form(**points: str) -> dict[str, str]:
    data = {f"points_{kind}": str(value) for kind, value in DEFAULT_POINTS.items()}
    data |= {f"active_{kind}": "on" for kind in DEFAULT_POINTS}
    data |= {f"points_{kind}": value for kind, value in points.items()}
    return data


def test_staff_set_the_rules_on_their_page(seed: Seed) -> None:
    client = _client(seed.staff)
    assert client.get("/manage/duty-rules/").status_code == 200
    data = _form(question="5")
    del data["active_review"]
    response = client.post("/manage/duty-rules/", data)
    assert response.status_code == 302
    rules = {r.kind: r for r in duty.rules_in_force()}
    assert rules["question"].points == 5 and rules["question"].active
    assert not rules["review"].active
    # Only the changed rules are stored and audited.
    assert set(DutyRule.objects.values_list("kind", flat=True)) == {"question", "review"}
    assert AuditEntry.objects.filter(action="duty_rule.set").count() == 2
    # Saving the same again changes nothing.
    client.post("/manage/duty-rules/", data)
    assert AuditEntry.objects.filter(action="duty_rule.set").count() == 2


@pytest.mark.parametrize("bad", ["", "-1", "101", "abc", "1.5", "１", " 3 4", "9" * 50])
def test_bad_points_are_refused_and_nothing_is_stored(seed: Seed, bad: str) -> None:
    client = _client(seed.staff)
    before = list(DutyRule.objects.values())
    response = client.post("/manage/duty-rules/", _form(attendance=bad, question="7"))
    assert response.status_code == 400
    assert 'id="error-attendance"' in response.content.decode()
    assert list(DutyRule.objects.values()) == before
    assert not AuditEntry.objects.filter(action="duty_rule.set").exists()


def test_a_deputy_finds_their_record_from_their_polls_page(seed: Seed) -> None:
    body = _client(seed.a).get("/polls/").content.decode()
    assert f'href="/deputies/{seed.a.pk}/"' in body


def test_staff_nav_links_the_list(seed: Seed) -> None:
    body = _client(seed.staff).get("/manage/thresholds/").content.decode()
    assert 'href="/manage/deputies/"' in body


def test_the_staff_table_reads_a_fixed_number_of_queries(seed: Seed) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.hearings.people_helpers import make_person

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            duty.duty_table(YEAR)
        return len(captured)

    before = queries()
    extra = [make_person(name=f"新代表{n}") for n in range(5)]
    seed.hearings["h1"].deputies.add(*extra)
    assert queries() == before


def test_the_record_xlsx_holds_the_counts_and_points(seed: Seed) -> None:
    response = _client(seed.a).get(f"/deputies/{seed.a.pk}/record.xlsx", {"year": YEAR})
    assert response["Content-Disposition"] == f'attachment; filename="deputy-{seed.a.pk}-{YEAR}.xlsx"'
    summary = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = {row[0]: row[1:] for row in summary.iter_rows(min_row=2, values_only=True)}
    for m in duty.MEASURES:
        assert rows[str(m.label)][0] == A_2025[m.key]
    assert rows[str(DutyKind.QUESTION.label)][1:] == (3, 12)
    assert rows["积分合计"][2] == duty.duty_record(seed.a, YEAR, full=True).total
