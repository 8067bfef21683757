"""CSV and XLSX downloads: assignments, and a session's question list (问题清单)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from assignments import selectors
from assignments.models import Assignment, Status
from hearings import selectors as hearing_selectors
from hearings.models import Hearing, Question

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Row = Sequence[object]

ASSIGNMENT_HEADER = [
    "编号",
    "问政会",
    "问题编号",
    "标题",
    "主办单位",
    "协办单位",
    "状态",
    "办理期限",
    "是否超期",
    "重新办理次数",
    "现场承诺",
    "答复",
    "代表评价",
    "是否解决",
    "回头看日期",
    "回头看结果",
]

QUESTION_HEADER = [
    *("编号", "议程", "应询部门", "提问人", "来源", "内容"),
    *("点赞", "状态", "答复要点", "承诺", "交办件", "交办状态"),
]


def _safe(value: object) -> object:
    if isinstance(value, Promise):  # a lazy translation (a status label)
        value = str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: never run what a citizen typed.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def assignment_rows(assignments: Iterable[Assignment]) -> list[Row]:
    today = timezone.localdate()
    rows: list[Row] = []
    for a in assignments:
        rows.append(
            [
                a.pk,
                a.hearing.title,
                " ".join(str(q.pk) for q in sorted(a.questions.all(), key=lambda q: q.pk)),
                a.title,
                a.lead_department.name,
                "、".join(d.name for d in a.co_departments.all()),
                Status(a.status).label,
                a.due_date.isoformat(),
                "是" if selectors.is_overdue(a, today=today) else "否",
                a.loop,
                a.commitment,
                a.reply,
                a.verdict,
                {True: "已解决", False: "未解决", None: ""}[a.resolved],
                a.review_due.isoformat() if a.review_due else "",
                a.get_review_outcome_display() if a.review_outcome else "",
            ]
        )
    return rows


def question_rows(hearing: Hearing) -> list[Row]:
    questions = (
        Question.objects.filter(
            hearing=hearing, merged_into__isnull=True, status__in=hearing_selectors.PUBLIC_QUESTION_STATUSES
        )
        .select_related("asker", "item__department")
        .prefetch_related("assignments")
        .order_by("id")
    )
    rows: list[Row] = []
    for q in questions:
        assigned = list(q.assignments.all())
        rows.append(
            [
                q.pk,
                q.item.title if q.item else "",
                q.item.department.name if q.item and q.item.department else "",
                hearing_selectors.question_asker(q),
                q.get_source_display(),
                q.text,
                q.likes,
                q.get_status_display(),
                q.answer_note,
                q.commitment,
                " ".join(f"#{a.pk}" for a in assigned),
                "、".join(str(Status(a.status).label) for a in assigned),
            ]
        )
    return rows


def _csv(name: str, header: Row, rows: list[Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([[_safe(v) for v in row] for row in rows])
    return response


def _xlsx(name: str, title: str, header: Row, rows: list[Row]) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe(v) for v in row])
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


def assignments_response(assignments: Iterable[Assignment], *, fmt: str) -> HttpResponse:
    rows = assignment_rows(assignments)
    if fmt == "xlsx":
        return _xlsx("assignments", "交办件", ASSIGNMENT_HEADER, rows)
    return _csv("assignments", ASSIGNMENT_HEADER, rows)


def questions_response(hearing: Hearing, *, fmt: str) -> HttpResponse:
    rows = question_rows(hearing)
    name = f"hearing-{hearing.pk}-questions"
    if fmt == "xlsx":
        return _xlsx(name, "问题清单", QUESTION_HEADER, rows)
    return _csv(name, QUESTION_HEADER, rows)
