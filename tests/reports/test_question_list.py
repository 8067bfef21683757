"""The question list (问题清单 / 交办单): one structure, three renderings, read back.

A hearing is played through the services (tests/assignments/played.py), its answered questions
assigned on site and its leftovers in one batch; then list.docx is opened with python-docx,
list.xlsx with openpyxl and the print view parsed, and each must hold every assigned question's
text, exactly as stored, grouped by category and lead department in the same order."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook  # type: ignore[import-untyped]

from assignments import services
from assignments.models import Assignment
from hearings import services as hearing_services
from hearings.models import Question
from reports.question_list import QuestionList, chinese_numeral, question_list
from reports.question_list_files import day
from tests.assignments.played import Played, play

pytestmark = pytest.mark.django_db


@dataclass
class Listed:
    played: Played
    on_site: Assignment  # the answered question and the one staged at the end, grouped as one
    written: list[Assignment]  # the leftovers, one each

    @property
    def hearing_id(self) -> int:
        return self.played.hearing.pk


@pytest.fixture
def listed() -> Listed:
    p = play()
    first, second, third = p.world.departments
    # A text that a spreadsheet would take for a formula, and one with a line break: kept as stored.
    Question.objects.filter(pk=p.leftovers[2].pk).update(text="=SUM(A1) 夜市噪音扰民\n晚上十点后仍有噪音")
    on_site = services.assignment_create(
        hearing_id=p.hearing.pk,
        question_ids=[p.answered.pk, p.staged.pk],
        lead_department_id=third.pk,
        co_department_ids=[second.pk],
        working_days=10,
        by=p.world.moderator,
    )
    batch = services.leftovers_assign(
        hearing_id=p.hearing.pk, by=p.world.moderator, departments={p.leftovers[2].pk: first.pk}
    )
    return Listed(p, on_site, batch.created)


def expected_groups(listed: Listed) -> list[tuple[str, str, list[int]]]:
    """(category, lead department, question ids) in the list's order: the hearing's categories in
    their order (营商环境, 教育), then the uncategorised by department."""
    p = listed.played
    by_item, by_own, homeless = p.leftovers
    first = p.world.departments[0]
    third = p.world.departments[2]
    return [
        ("营商环境", p.world.items[2].department.name, [by_item.pk]),  # type: ignore[union-attr]
        ("教育", p.own.name, [by_own.pk]),
        ("", first.name, [homeless.pk]),
        ("", third.name, [p.answered.pk, p.staged.pk]),
    ]


def stored_texts(ids: list[int]) -> list[str]:
    texts = dict(Question.objects.filter(pk__in=ids).values_list("pk", "text"))
    return [texts[pk] for pk in ids]


# ------------------------------------------------------------------------------- the structure


def test_the_list_holds_every_assigned_question_grouped_by_category_then_department(listed: Listed) -> None:
    qlist = question_list(listed.played.hearing)
    groups = [(g.category, g.department, [e.question for e in g.entries]) for g in qlist.groups]
    assert groups == expected_groups(listed)
    entries = [e for g in qlist.groups for e in g.entries]
    assert [e.number for e in entries] == list(range(1, 6))
    assert {e.question for e in entries} == set(
        Assignment.questions.through.objects.values_list("question_id", flat=True)
    )
    assert (qlist.count, qlist.written) == (5, 3)
    assert qlist.title == f"{listed.played.hearing.title}问题清单（交办单）"
    by_question = {e.question: e for e in entries}
    answered = by_question[listed.played.answered.pk]
    assert (answered.origin, answered.commitment, answered.co_departments) == (
        "on_site",
        "一个月内增设窗口",
        [listed.played.world.departments[1].name],
    )
    assert answered.assignment == listed.on_site.pk
    assert answered.due_date == listed.on_site.due_date
    assert answered.asker == "网友"
    leftover = by_question[listed.played.leftovers[0].pk]
    assert (leftover.origin, leftover.commitment, leftover.assignment) == ("written", "", listed.written[0].pk)


def test_a_hidden_question_leaves_the_list_as_it_leaves_the_report(listed: Listed) -> None:
    p = listed.played
    Question.objects.filter(pk=p.answered.pk).update(status=Question.Status.HIDDEN)
    ids = [e.question for g in question_list(p.hearing).groups for e in g.entries]
    assert p.answered.pk not in ids
    assert len(ids) == 4


def test_a_hearing_without_assignments_has_an_empty_list(django_assert_max_num_queries: Any) -> None:
    p = play()
    with django_assert_max_num_queries(3):
        qlist = question_list(p.hearing)
    assert qlist.groups == []


def test_the_list_is_read_in_a_fixed_number_of_queries(listed: Listed, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(3):
        question_list(listed.played.hearing)


def test_group_numerals() -> None:
    assert [chinese_numeral(n) for n in (1, 9, 10, 11, 20, 23, 99)] == [
        "一",
        "九",
        "十",
        "十一",
        "二十",
        "二十三",
        "九十九",
    ]


# ------------------------------------------------------------------------------- list.docx


def _docx(listed: Listed) -> Any:
    response = Client().get(f"/hearings/{listed.hearing_id}/list.docx")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert f'filename="hearing-{listed.hearing_id}-question-list.docx"' in response["Content-Disposition"]
    return Document(io.BytesIO(response.content))


def test_list_docx_reads_back_with_every_question_grouped_in_order(listed: Listed) -> None:
    document = _docx(listed)
    headings = [p.text for p in document.paragraphs if re.match(r"^[一二三四五六七八九十]+、", p.text)]
    expected = expected_groups(listed)
    assert headings == [
        f"{chinese_numeral(n)}、{category or '未分类'}　主办单位：{department}"
        for n, (category, department, _ids) in enumerate(expected, start=1)
    ]
    assert len(document.tables) == len(expected)
    number = 0
    for table, (_category, _department, ids) in zip(document.tables, expected, strict=True):
        header = [cell.text for cell in table.rows[0].cells]
        assert header == ["序号", "问题", "提问人", "承诺事项", "办理期限"]
        rows = table.rows[1:]
        # The question cell: its text exactly as stored (a line break stays one), then the note.
        assert [row.cells[1].paragraphs[0].text for row in rows] == stored_texts(ids)
        for row, pk in zip(rows, ids, strict=True):
            number += 1
            assignment = Assignment.objects.get(questions=pk)
            assert row.cells[0].text == str(number)
            assert row.cells[4].text == day(assignment.due_date)
            assert f"交办件 #{assignment.pk}" in row.cells[1].paragraphs[1].text
            assert row.cells[3].text == (assignment.commitment or "书面答复")
    assert number == 5


def test_list_docx_is_an_a4_official_document_with_cjk_fonts_and_a_stamp_line(listed: Listed) -> None:
    document = _docx(listed)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4, in twips
    title = document.paragraphs[0]
    assert title.text == f"{listed.played.hearing.title}问题清单（交办单）"
    header = [p.text for p in document.paragraphs[1:6]]
    assert f"会议名称：{listed.played.hearing.title}" in header
    assert f"会议日期：{day(timezone.localdate(listed.played.hearing.started_at))}" in header
    assert "问题数：共 5 个，其中书面答复 3 个" in header
    texts = [p.text for p in document.paragraphs if p.text]
    assert texts[-2:] == ["县人大常委会办公室（盖章）", "年　　月　　日"]
    runs = [run for p in document.paragraphs for run in p.runs] + [
        run for t in document.tables for row in t.rows for cell in row.cells for p in cell.paragraphs for run in p.runs
    ]
    assert runs
    for run in runs:
        fonts = run._element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) in ("仿宋", "黑体", "宋体"), run.text


def test_the_issuer_is_a_setting(listed: Listed, settings: Any) -> None:
    settings.QUESTION_LIST_ISSUER = "青山县人大常委会办公室"
    texts = [p.text for p in _docx(listed).paragraphs if p.text]
    assert texts[-2] == "青山县人大常委会办公室（盖章）"


def test_list_docx_is_chinese_whatever_the_readers_language(listed: Listed) -> None:
    response = Client(headers={"accept-language": "en"}).get(f"/hearings/{listed.hearing_id}/list.docx")
    document = Document(io.BytesIO(response.content))
    assert [c.text for c in document.tables[0].rows[0].cells] == ["序号", "问题", "提问人", "承诺事项", "办理期限"]
    assert "书面答复" in document.tables[0].rows[1].cells[1].paragraphs[1].text
    english = Client(headers={"accept-language": "en"}).get(f"/hearings/{listed.hearing_id}/list/").content.decode()
    assert '<html lang="en">' in english
    assert "书面答复" in english and "县人大常委会办公室（盖章）" in english  # the document itself stays Chinese
    assert "Written reply" not in english


# ------------------------------------------------------------------------------- list.xlsx


def test_list_xlsx_reads_back_with_the_same_rows_and_a_frozen_header(listed: Listed) -> None:
    response = Client().get(f"/hearings/{listed.hearing_id}/list.xlsx")
    assert response.status_code == 200
    assert f'filename="hearing-{listed.hearing_id}-question-list.xlsx"' in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [
        "序号",
        "问题",
        "提问人",
        "承诺事项",
        "办理期限",
        "类别",
        "主办单位",
        "协办单位",
        "答复方式",
        "交办件",
    ]
    expected = [
        (category or "未分类", department, pk) for category, department, ids in expected_groups(listed) for pk in ids
    ]
    ids = [pk for _c, _d, pk in expected]
    texts = stored_texts(ids)
    assert len(rows) == 1 + len(expected)
    for number, (row, (category, department, pk), text) in enumerate(zip(rows[1:], expected, texts, strict=True), 1):
        assignment = Assignment.objects.get(questions=pk)
        # A text a spreadsheet would run as a formula is quoted; every other is as stored.
        assert row[1] == ("'" + text if text.startswith("=") else text)
        assert (row[0], row[5], row[6], row[9]) == (number, category, department, assignment.pk)
        assert row[4].date() == assignment.due_date
        assert row[8] == ("现场答复" if assignment.origin == "on_site" else "书面答复")


# ------------------------------------------------------------------------------- the print view


def test_the_print_view_shows_the_same_entries(listed: Listed) -> None:
    response = Client().get(f"/hearings/{listed.hearing_id}/list/")
    assert response.status_code == 200
    page = response.content.decode()
    groups = re.findall(r'<section class="qlist-group" data-category="([^"]*)" data-department="([^"]*)">', page)
    expected = expected_groups(listed)
    assert [(unescape(c), unescape(d)) for c, d in groups] == [(c, d) for c, d, _ids in expected]
    rows = re.findall(
        r'<tr id="entry-(\d+)"[^>]*>\s*<td class="num">(\d+)</td>\s*<td><p class="q-text">(.*?)</p>', page, re.S
    )
    ids = [pk for _c, _d, group in expected for pk in group]
    assert [int(pk) for pk, _n, _t in rows] == ids
    assert [int(n) for _pk, n, _t in rows] == list(range(1, 6))
    assert [unescape(t) for _pk, _n, t in rows] == stored_texts(ids)
    assert "县人大常委会办公室（盖章）" in page
    assert f'href="/hearings/{listed.hearing_id}/list.docx"' in page


def test_the_print_view_escapes_what_citizens_typed(listed: Listed) -> None:
    Question.objects.filter(pk=listed.played.leftovers[0].pk).update(text="<script>alert(1)</script>道路")
    page = Client().get(f"/hearings/{listed.hearing_id}/list/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;道路" in page


# ------------------------------------------------------------------------------- who may see it


@pytest.mark.parametrize("path", ["list/", "list.docx", "list.xlsx"])
def test_the_list_is_public_like_the_report_and_read_only(listed: Listed, path: str) -> None:
    client = Client()
    assert client.get(f"/hearings/{listed.hearing_id}/{path}").status_code == 200
    assert client.get(f"/hearings/999999/{path}").status_code == 404
    assert client.post(f"/hearings/{listed.hearing_id}/{path}").status_code in (403, 405)


def test_a_live_hearings_list_holds_its_answered_assignments_so_far() -> None:
    p = play(end=False)
    services.assignment_create(
        hearing_id=p.hearing.pk,
        question_ids=[p.answered.pk],
        lead_department_id=p.world.departments[0].pk,
        working_days=10,
        by=p.world.moderator,
    )
    qlist: QuestionList = question_list(p.hearing)
    assert [[e.question for e in g.entries] for g in qlist.groups] == [[p.answered.pk]]
    hearing_services.hearing_end(hearing_id=p.hearing.pk, by=p.world.moderator)
