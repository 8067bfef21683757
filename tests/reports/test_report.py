"""The session report: its numbers against the stored ballots, attendance, questions and
assignment timelines, and the same numbers in the page, the XLSX and the PDF."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook  # type: ignore[import-untyped]

from assignments.models import Assignment, TimelineEntry
from hearings.models import Hearing, Question
from reports.report import HearingReport, hearing_report
from tests.reports.session import Session, play_session
from tests.voting.helpers import stored_counts
from voting.models import Attendance, Poll, VoteRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def session() -> Session:
    return play_session()


def _report(session: Session) -> HearingReport:
    session.hearing.refresh_from_db()
    return hearing_report(session.hearing)


def _stored_counts(poll: Poll) -> Counter[str]:
    return stored_counts(poll)


# ------------------------------------------------------------------------------- numbers


def test_published_polls_count_the_stored_ballots(session: Session) -> None:
    report = _report(session)
    rows = {row.id: row for row in report.polls}
    assert len(rows) == 3
    for poll in session.polls:
        row = rows[poll.pk]
        stored = _stored_counts(poll)
        assert row.published
        assert {c.choice: c.count for c in row.counts} == {choice: stored[choice] for choice in poll.choices}
        assert [c.choice for c in row.counts] == ["满意", "基本满意", "不满意"]
        valid = sum(stored.values())
        assert row.rate == pytest.approx((stored["满意"] + stored["基本满意"]) / valid)
        assert row.cast == VoteRecord.objects.filter(poll=poll).count() == valid
        # Eligible: the deputies checked in when the poll closed (one deputy never did).
        assert row.eligible == Attendance.objects.filter(hearing=session.hearing).count() == 6
    first, second = (rows[p.pk] for p in session.polls)
    assert first.rate == pytest.approx(5 / 6)
    assert second.rate == pytest.approx(2 / 4)
    assert second.secret is False


def test_an_unpublished_poll_shows_turnout_but_no_results(session: Session) -> None:
    assert session.unpublished is not None
    row = next(r for r in _report(session).polls if r.id == session.unpublished.pk)
    assert not row.published
    assert row.counts == [] and row.rate is None
    assert row.cast == 3
    page = Client().get(f"/hearings/{session.hearing.pk}/report/").content.decode()
    block = page.split(f'id="poll-{session.unpublished.pk}"')[1].split("</tr>")[0]
    assert "结果未公布" in block and "%" not in block


def test_agenda_has_the_real_times(session: Session) -> None:
    report = _report(session)
    for row, item in zip(report.agenda, session.items, strict=True):
        item.refresh_from_db()
        assert (row.started_at, row.ended_at) == (item.started_at, item.ended_at)
        assert row.started_at is not None and row.ended_at is not None
    assert [row.actual_minutes for row in report.agenda] == [6, 24, 18, 23]
    assert [row.over_minutes for row in report.agenda] == [1, 4, 0, 3]
    # Items follow each other: each ends when the next starts.
    for before, after in zip(report.agenda, report.agenda[1:], strict=False):
        assert before.ended_at == after.started_at


def test_question_list_is_the_public_list(session: Session) -> None:
    report = _report(session)
    public = Question.objects.filter(
        hearing=session.hearing,
        merged_into__isnull=True,
        status__in=[Question.Status.APPROVED, Question.Status.ON_STAGE, Question.Status.ANSWERED],
    )
    assert sorted(q.id for q in report.questions) == sorted(public.values_list("pk", flat=True))
    assert [q.number for q in report.questions] == list(range(1, len(report.questions) + 1))
    ids = {q.id for q in report.questions}
    assert session.pending is not None and session.rejected is not None and session.merged is not None
    assert not ids & {session.pending.pk, session.rejected.pk, session.merged.pk}
    by_id = {q.id: q for q in report.questions}
    for question in public:
        row = by_id[question.pk]
        assert (row.likes, row.answer_note, row.commitment, row.text) == (
            question.likes,
            question.answer_note,
            question.commitment,
            question.text,
        )
    assert by_id[session.answered[0].pk].likes == 5
    assert by_id[session.answered[0].pk].asker == "代表1"
    public_row = next(q for q in report.questions if q.text.startswith("网友提问"))
    # The kept question's asker line names the merged duplicate's asker too (question_merge).
    assert public_row.asker == "城关网友、网友" and public_row.merged == 1
    assert session.follow_up is not None
    assert by_id[session.follow_up.pk].follow_up_of == by_id[session.answered[1].pk].number
    t = report.totals
    assert t.questions == public.count() == 8
    assert t.answered == public.filter(status=Question.Status.ANSWERED).count()
    assert t.commitments == public.exclude(commitment="").count() == 4
    assert t.likes == session.hearing.likes == 5
    assert (t.deputies, t.checked_in) == (7, 6)


def test_assignments_have_their_status_from_the_timeline(session: Session) -> None:
    report = _report(session)
    assert [a.id for a in report.assignments] == sorted(a.pk for a in session.assignments)
    for row in report.assignments:
        last = TimelineEntry.objects.filter(assignment_id=row.id).order_by("at", "id").last()
        assert last is not None
        assert row.status == last.status == Assignment.objects.get(pk=row.id).status
    statuses = [row.status for row in report.assignments]
    assert statuses == ["closed", "reopened", "accepted", "returned"]
    reopened = report.assignments[1]
    assert reopened.loop == TimelineEntry.objects.filter(assignment_id=reopened.id, action="reopened").count() == 1
    assert report.assignments[0].verdict == "满意"
    # Question numbers point back into the list.
    numbers = {q.id: q.number for q in report.questions}
    for row, assignment in zip(report.assignments, session.assignments, strict=True):
        assert row.questions == [numbers[q.pk] for q in assignment.questions.all()]
    assert dict((s, n) for s, _, n in report.totals.assignments_by_status) == {
        "closed": 1,
        "reopened": 1,
        "accepted": 1,
        "returned": 1,
    }


def test_overdue_is_derived_on_the_day(session: Session) -> None:
    accepted = session.assignments[2]
    before = hearing_report(session.hearing, today=accepted.due_date)
    after = hearing_report(session.hearing, today=accepted.due_date + timedelta(days=1))
    assert not next(a for a in before.assignments if a.id == accepted.pk).overdue
    assert next(a for a in after.assignments if a.id == accepted.pk).overdue
    assert after.totals.assignments_overdue >= 1


def test_queries_do_not_grow_with_the_hearing(db: Any) -> None:
    small = play_session(deputies=3, titles=("县甲局", "县乙局"), hearing_title="小")
    large = play_session(deputies=7, hearing_title="大")
    counts = []
    for s in (small, large):
        with CaptureQueriesContext(connection) as queries:
            hearing_report(Hearing.objects.get(pk=s.hearing.pk))
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 18  # 12, the active threshold rules, the audience figures' 4, the audit head


# ------------------------------------------------------------------------------- page and files


def test_page_shows_the_numbers(session: Session) -> None:
    response = Client().get(f"/hearings/{session.hearing.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert session.hearing.title in page
    first = session.polls[0]
    block = page.split(f'id="poll-{first.pk}"')[1].split("</tr>")[0]
    stored = _stored_counts(first)
    counts = re.findall(r'<span class="count">(\d+)</span>', block)
    assert [int(c) for c in counts] == [stored["满意"], stored["基本满意"], stored["不满意"]]
    assert "83.3%" in block
    for q in session.answered:
        assert q.text in page
    assert session.pending is not None and session.rejected is not None
    assert session.pending.text not in page and session.rejected.text not in page
    assert "问政会尚未结束" not in page
    assert f'href="/hearings/{session.hearing.pk}/report.pdf"' in page


def test_report_of_a_live_hearing_says_so(db: Any) -> None:
    s = play_session(end=False)
    page = Client().get(f"/hearings/{s.hearing.pk}/report/").content.decode()
    assert "问政会尚未结束" in page
    assert s.pending is not None and s.pending.text not in page


def test_unknown_hearing_and_other_methods() -> None:
    client = Client()
    assert client.get("/hearings/999999/report/").status_code == 404
    assert client.get("/hearings/999999/report.pdf").status_code == 404
    assert client.get("/hearings/999999/report.xlsx").status_code == 404
    assert client.get("/hearings/1/report.doc").status_code == 404


def test_report_is_read_only(session: Session) -> None:
    response = Client().post(f"/hearings/{session.hearing.pk}/report/")
    assert response.status_code in (403, 405)  # CSRF first, then the method


def test_xlsx_has_every_section_with_the_same_numbers(session: Session) -> None:
    response = Client().get(f"/hearings/{session.hearing.pk}/report.xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="hearing-{session.hearing.pk}-report.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        *("概况", "议程", "满意度测评", "测评表", "票选", "部门汇总", "问题清单", "交办件", "收看数据"),
    ]
    polls = list(book["满意度测评"].iter_rows(values_only=True))
    assert polls[0] == ("测评", "应询部门", "状态", "应参评", "实参评", "满意", "基本满意", "不满意", "满意率")
    for poll, row in zip(session.polls, polls[1:3], strict=True):
        stored = _stored_counts(poll)
        assert row[3:8] == (6, sum(stored.values()), stored["满意"], stored["基本满意"], stored["不满意"])
        assert row[8] == pytest.approx((stored["满意"] + stored["基本满意"]) / sum(stored.values()), abs=1e-4)
    unpublished = polls[3]
    assert unpublished[4] == 3 and unpublished[5:] == (None, None, None, None)
    questions = list(book["问题清单"].iter_rows(values_only=True))[1:]
    assert [row[5] for row in questions] == [q.text for q in _report(session).questions]
    assignments = list(book["交办件"].iter_rows(values_only=True))[1:]
    assert [row[0] for row in assignments] == [a.pk for a in session.assignments]
    agenda = list(book["议程"].iter_rows(values_only=True))[1:]
    assert [row[6] for row in agenda] == [6, 24, 18, 23]


def test_xlsx_never_runs_a_formula_typed_by_the_public(db: Any) -> None:
    s = play_session(end=False)
    from hearings import services

    q = services.question_submit(hearing_id=s.hearing.pk, text='=HYPERLINK("x")', source="public", viewer="v8")
    services.question_approve(hearing_id=s.hearing.pk, question_id=q.pk, by=s.moderator)
    book = load_workbook(io.BytesIO(Client().get(f"/hearings/{s.hearing.pk}/report.xlsx").content))
    texts = [row[5] for row in book["问题清单"].iter_rows(values_only=True)]
    assert '\'=HYPERLINK("x")' in texts


def test_pdf_is_typeset_with_the_numbers(session: Session) -> None:
    pypdf = pytest.importorskip("pypdf")
    response = Client().get(f"/hearings/{session.hearing.pk}/report.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    compact = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", session.hearing.title) in compact
    assert "83.3%" in compact and "50.0%" in compact
    assert "结果未公布" in compact
    assert session.pending is not None and session.pending.text not in compact
    # The CJK font is embedded (subset), so the PDF reads the same everywhere.
    fonts = {
        str(font.get("/BaseFont"))
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
        for font in [font.get_object()]
    }
    assert any("CJK" in name or "Noto" in name for name in fonts), fonts


def test_english_report(session: Session) -> None:
    client = Client(headers={"accept-language": "en"})
    page = client.get(f"/hearings/{session.hearing.pk}/report/").content.decode()
    assert "Hearing report" in page and "Satisfaction rate" in page
    book = load_workbook(io.BytesIO(client.get(f"/hearings/{session.hearing.pk}/report.xlsx").content))
    names = book.sheetnames
    assert names[:5] == ["Summary", "Agenda", "Satisfaction polls", "Rating sheet", "Selection vote"]
    assert len(names) == 9 and names[6:] == ["Questions", "Assignments", "Audience"]  # [5]: the departments' results
