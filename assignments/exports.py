"""CSV and XLSX downloads: assignments, and a session's question list (问题清单).

Headers, sheet titles and the values the system words (status, yes / no) follow the requester's
language; what people wrote (titles, replies, names) stays as written."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from assignments import selectors
from assignments.models import Assignment, Status
from hearings import selectors as hearing_selectors
from hearings.labels import label, list_separator
from hearings.models import Hearing, Question

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Row = Sequence[object]

# Headers, sheet titles and yes / no in the requester's language (lazy: read per download).
ASSIGNMENT_HEADER: list[Promise] = [
    _("编号"),
    _("问政会"),
    _("问题编号"),
    _("标题"),
    _("主办单位"),
    _("协办单位"),
    _("状态"),
    _("办理期限"),
    _("是否超期"),
    _("重新办理次数"),
    _("现场承诺"),
    _("答复"),
    _("代表评价"),
    _("是否解决"),
    _("回头看日期"),
    _("回头看结果"),
]

QUESTION_HEADER: list[Promise] = [
    *(_("编号"), _("议程"), _("应询部门"), _("提问人"), _("来源"), _("内容")),
    *(_("点赞"), _("状态"), _("答复要点"), _("承诺"), _("交办件"), _("交办状态")),
]
YES, NO = _("是"), _("否")
RESOLVED = {True: _("已解决"), False: _("未解决"), None: ""}


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
                list_separator().join(d.name for d in a.co_departments.all()),
                Status(a.status).label,
                a.due_date.isoformat(),
                YES if selectors.is_overdue(a, today=today) else NO,
                a.loop,
                a.commitment,
                a.reply,
                a.get_verdict_display() if a.verdict else "",
                RESOLVED[a.resolved],
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
        .select_related("asker__person", "item__department")
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
                label(hearing_selectors.question_asker(q)),
                q.get_source_display(),
                q.text,
                q.likes,
                q.get_status_display(),
                q.answer_note,
                q.commitment,
                " ".join(f"#{a.pk}" for a in assigned),
                list_separator().join(str(Status(a.status).label) for a in assigned),
            ]
        )
    return rows


def _csv(name: str, header: Row, rows: list[Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response.write("\ufeff")  # BOM: Excel opens UTF-8 Chinese text correctly
    writer = csv.writer(response)
    writer.writerow([str(h) for h in header])
    writer.writerows([[_safe(v) for v in row] for row in rows])
    return response


def _xlsx(name: str, title: str | Promise, header: Row, rows: list[Row]) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = str(title)
    sheet.append([str(h) for h in header])
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
        return _xlsx("assignments", _("交办件"), ASSIGNMENT_HEADER, rows)
    return _csv("assignments", ASSIGNMENT_HEADER, rows)


def questions_response(hearing: Hearing, *, fmt: str) -> HttpResponse:
    rows = question_rows(hearing)
    name = f"hearing-{hearing.pk}-questions"
    if fmt == "xlsx":
        return _xlsx(name, _("问题清单"), QUESTION_HEADER, rows)
    return _csv(name, QUESTION_HEADER, rows)
