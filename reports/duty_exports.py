"""The duty records as XLSX: the staff table of every deputy's year, and one deputy's record
(the version its reader may see). Headers and what the system words follow the requester's
language; what people wrote (names, questions) stays as written and is never a formula."""

from __future__ import annotations

import io

from django.http import HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]

from assignments.exports import XLSX
from reports.duty import MEASURES, PUBLIC_MEASURES, DutyRecord, DutyRow, QuestionLine
from reports.exports import _attachment, _sheet


def _date(value: object) -> str:
    return date_format(timezone.localtime(value), "Y-m-d") if value else ""  # type: ignore[arg-type]


def _yes(value: bool) -> str:
    return _("是") if value else _("否")


def _book_response(book: Workbook, name: str) -> HttpResponse:
    del book[book.sheetnames[0]]  # the empty first sheet a Workbook starts with
    buffer = io.BytesIO()
    book.save(buffer)
    return _attachment(buffer.getvalue(), XLSX, name)


def table_xlsx(rows: list[DutyRow], year: int) -> HttpResponse:
    book = Workbook()
    header = [_("代表"), _("代表团"), *[str(m.label) for m in MEASURES], _("积分")]
    data: list[list[object]] = [
        [row.name, row.delegation, *[row.counts[m.key] for m in MEASURES], row.total] for row in rows
    ]
    _sheet(book, _("%(year)s年度履职") % {"year": year}, header, data, [14, 14, *[10] * len(MEASURES), 8])
    return _book_response(book, f"duty-{year}.xlsx")


def _outcome(line: QuestionLine) -> str:
    q = line.question
    parts = [str(q.get_status_display())]
    if q.merged_into_id:
        parts.append(_("并入问题 #%(id)s") % {"id": q.merged_into_id})
    for a in line.assignments:
        text = _("交办件 #%(id)s：%(status)s") % {"id": a.pk, "status": a.get_status_display()}
        if a.verdict:
            text += _("，评价：%(verdict)s") % {"verdict": a.get_verdict_display()}
        if a.resolved is not None:
            text += "，" + (_("已解决") if a.resolved else _("未解决"))
        parts.append(text)
    return "；".join(parts)


def record_xlsx(record: DutyRecord) -> HttpResponse:
    book = Workbook()
    shown = MEASURES if record.full else PUBLIC_MEASURES
    points = {line.kind: line for line in record.points}
    summary: list[list[object]] = []
    for m in shown:
        line = points.get(m.key)  # invited and secret polls earn no points
        summary.append([str(m.label), record.counts[m.key], line.points if line else "", line.subtotal if line else ""])
    summary.append([_("积分合计"), "", "", record.total])
    _sheet(
        book,
        _("%(year)s年度履职") % {"year": record.year},
        [_("事项"), _("次数"), _("每次积分"), _("积分")],
        summary,
        [18, 8, 10, 8],
    )
    _sheet(
        book,
        _("出席"),
        [_("问政会"), _("日期"), _("应出席"), _("已签到")],
        [[h.hearing.title, _date(h.hearing.starts_at), _yes(h.invited), _yes(h.checked_in)] for h in record.hearings],
        [30, 12, 8, 8],
    )
    questions: list[list[object]] = []
    for q_line in record.questions:
        text = q_line.question.text if record.full or q_line.public else _("（未公开）")
        questions.append(
            [
                q_line.question.hearing.title,
                _date(q_line.question.created_at),
                _("追问") if q_line.follow_up else _("提问"),
                text,
                _yes(q_line.counted),
                _outcome(q_line),
            ]
        )
    _sheet(
        book,
        _("提问"),
        [_("问政会"), _("日期"), _("类别"), _("内容"), _("计入"), _("结果")],
        questions,
        [24, 12, 8, 50, 6, 40],
    )
    name = f"deputy-{record.deputy.pk}-{record.year}.xlsx"
    return _book_response(book, name)
