"""The session report as files: a PDF (the report page's own HTML and print CSS, typeset by
WeasyPrint) and an XLSX workbook with one sheet per section. Both in the requester's language."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from assignments.exports import XLSX, _safe
from audit.chain import GENESIS, Head
from reports.report import HearingReport

log = logging.getLogger(__name__)

PDF = "application/pdf"


def filename(report: HearingReport, ext: str) -> str:
    return f"hearing-{report.hearing.pk}-report.{ext}"


def _attachment(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ------------------------------------------------------------------------------- PDF


def _stylesheets() -> list[str]:
    paths = []
    for name in ("css/app.css", "css/report.css"):
        found = finders.find(name)
        if found is None and settings.STATIC_ROOT:
            found = str(Path(settings.STATIC_ROOT) / name)
        if found:
            paths.append(str(found))
    return paths


def report_pdf(report: HearingReport, request: HttpRequest) -> HttpResponse:
    """The report page typeset for A4: the same template as on screen, print media.

    Typesetting takes seconds, so each version of the PDF is built once and kept in the cache
    (Redis when configured). Its key is a hash of the HTML it is typeset from, rendered without
    its generation time, and of the print stylesheets: anything the report shows (the hearing,
    agenda times, polls, questions, assignments' status, today's overdue marks, the language)
    changes the key, and nothing else does. Requests for a PDF not yet built wait for the one
    build under way in this process."""
    base_url = request.build_absolute_uri("/")
    key = pdf_cache_key(report, request)
    pdf = _cached_pdf(key)
    if pdf is None:
        with _BUILD_LOCKS[int(key[-8:], 16) % len(_BUILD_LOCKS)]:
            pdf = _cached_pdf(key)
            if pdf is None:
                pdf = typeset_pdf(_pdf_html(report, request), base_url)
                try:
                    cache.set(key, pdf, settings.REPORT_PDF_CACHE_SECONDS)
                except Exception:  # the cache away (Redis down): the PDF is served, built again next time
                    log.warning("report PDF not cached: the cache did not answer", exc_info=True)
    return _attachment(pdf, PDF, filename(report, "pdf"))


def _cached_pdf(key: str) -> bytes | None:
    try:
        pdf: bytes | None = cache.get(key)
    except Exception:  # the cache away (Redis down): build it
        log.warning("report PDF cache not read: the cache did not answer", exc_info=True)
        return None
    return pdf


# One build at a time per key in this process (keys share these few locks: a wait, never a wrong PDF).
_BUILD_LOCKS = [threading.Lock() for _ in range(8)]
# Stands in for the generation time in the HTML that is hashed for the key.
_KEYED_AT = datetime(2000, 1, 1, tzinfo=UTC)
_KEYED_HEAD = Head(0, GENESIS, None)


def _pdf_html(report: HearingReport, request: HttpRequest) -> str:
    return render_to_string("reports/report_pdf.html", {"report": report}, request=request)


def pdf_cache_key(report: HearingReport, request: HttpRequest) -> str:
    # The time and the audit head are those of the PDF's first build: later audit entries (any
    # action anywhere) must not rebuild an unchanged report.
    html = _pdf_html(dataclasses.replace(report, generated_at=_KEYED_AT, audit_head=_KEYED_HEAD), request)
    source = f"{stylesheets_digest()}\n{request.build_absolute_uri('/')}\n{html}"
    return f"report-pdf:{report.hearing.pk}:{hashlib.sha256(source.encode()).hexdigest()}"


@functools.cache
def stylesheets_digest() -> str:
    """The print stylesheets' content: a deploy that changes them builds new PDFs."""
    digest = hashlib.sha256()
    for path in _stylesheets():
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def typeset_pdf(html: str, base_url: str) -> bytes:
    # Imported here: WeasyPrint loads pango, needed only when a PDF is built.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415

    document = HTML(string=html, base_url=base_url, url_fetcher=_no_fetch)
    pdf = document.write_pdf(stylesheets=[CSS(filename=path) for path in _stylesheets()], media_type="print")
    assert pdf is not None
    return bytes(pdf)


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    # Everything the PDF needs is inline; never let the typesetter make requests.
    raise ValueError(f"not fetched: {url}")


# ------------------------------------------------------------------------------- XLSX


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: list[list[object]], widths: Sequence[int]) -> None:
    sheet = book.create_sheet(title=title[:31])
    sheet.append([_safe(value) for value in header])  # a custom scale's choices head columns
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe(value) for value in row])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def _time(value: object) -> str:
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "H:i")  # type: ignore[arg-type]


def report_workbook(report: HearingReport) -> Workbook:
    book = Workbook()
    summary = book.active
    summary.title = _("概况")[:31]
    h, t = report.hearing, report.totals
    for label, value in [
        (_("问政会"), h.title),
        (_("主题"), h.theme),
        (_("地点"), h.venue),
        (_("开始"), timezone.localtime(h.started_at).strftime("%Y-%m-%d %H:%M") if h.started_at else ""),
        (_("结束"), timezone.localtime(h.ended_at).strftime("%Y-%m-%d %H:%M") if h.ended_at else ""),
        (_("状态"), str(h.get_status_display())),
        (_("代表"), t.deputies),
        (_("签到代表"), t.checked_in),
        (_("问题"), t.questions),
        (pgettext("question", "已答复"), t.answered),
        (_("现场承诺"), t.commitments),
        (_("点赞"), t.likes),
        (_("问题点赞"), t.question_likes),
        (_("公布的测评"), t.polls_published),
        (_("交办件"), t.assignments),
        (_("超期交办件"), t.assignments_overdue),
        (_("生成时间"), timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M")),
        (_("审计日志链头"), report.audit_head.text),
    ]:
        summary.append([label, _safe(value)])
    for cell in summary["A"]:
        cell.font = Font(bold=True)
    summary.column_dimensions["A"].width = 16
    summary.column_dimensions["B"].width = 60

    _sheet(
        book,
        _("议程"),
        [_("序号"), _("议程"), _("应询部门"), _("计划 (分钟)"), _("开始"), _("结束"), _("实际 (分钟)"), _("状态")],
        [
            [
                row.position,
                row.title,
                row.department,
                row.planned_minutes,
                _time(row.started_at),
                _time(row.ended_at),
                row.actual_minutes,
                row.status_label,
            ]
            for row in report.agenda
        ],
        [6, 30, 22, 10, 8, 8, 10, 10],
    )

    choices: list[str] = []
    for poll in report.polls:
        for count in poll.counts:
            if count.choice not in choices:
                choices.append(count.choice)
    _sheet(
        book,
        _("满意度测评"),
        [_("测评"), _("应询部门"), _("状态"), _("应参评"), _("实参评"), *[_(c) for c in choices], _("满意率")],
        [
            [
                poll.title,
                poll.department,
                poll.status_label,
                poll.eligible,
                poll.cast,
                *[next((c.count for c in poll.counts if c.choice == choice), None) for choice in choices],
                round(poll.rate, 4) if poll.rate is not None else None,
            ]
            for poll in report.polls
        ],
        [30, 22, 10, 8, 8, *[10 for _c in choices], 10],
    )
    sheet = book[_("满意度测评")[:31]]
    rate_column = get_column_letter(6 + len(choices))
    for cell in sheet[rate_column][1:]:
        cell.number_format = "0.0%"

    _sheet_rows(book, report)
    _select_rows(book, report)
    _department_rows(book, report)

    _sheet(
        book,
        _("问题清单"),
        [
            *(_("序号"), _("应询部门"), _("议程"), _("提问人"), _("来源"), _("内容"), _("点赞")),
            *(_("状态"), _("答复要点"), _("承诺"), _("追问"), _("交办件")),
        ],
        [
            [
                q.number,
                q.department,
                q.item,
                q.asker,
                q.source_label,
                q.text,
                q.likes,
                q.status_label,
                q.answer_note,
                q.commitment,
                q.follow_up_of,
                " ".join(f"#{a.id} {a.status_label}" for a in q.assignments),
            ]
            for q in report.questions
        ],
        [6, 20, 20, 12, 8, 50, 8, 10, 40, 40, 6, 20],
    )

    _sheet(
        book,
        _("交办件"),
        [
            *(_("编号"), _("标题"), _("主办单位"), _("协办单位"), _("问题序号"), _("办理期限")),
            *(_("状态"), _("是否超期"), _("重新办理次数"), _("代表评价"), _("回头看结果")),
        ],
        [
            [
                a.id,
                a.title,
                a.lead_department,
                "、".join(a.co_departments),
                " ".join(str(n) for n in a.questions),
                a.due_date.isoformat(),
                a.status_label,
                _("是") if a.overdue else _("否"),
                a.loop,
                _(a.verdict) if a.verdict else "",
                a.review_outcome_label,
            ]
            for a in report.assignments
        ],
        [8, 40, 22, 22, 10, 12, 10, 8, 8, 10, 14],
    )
    _audience_sheet(book, report)
    return book


def _audience_sheet(book: Workbook, report: HearingReport) -> None:
    """收看数据: the figures, then the per-minute samples (local time)."""
    a = report.audience.figures
    figures: list[list[object]] = [
        [_("收看人次"), a.page_views],
        [_("独立观众"), a.unique_viewers],
        [_("最高在线"), a.peak_online],
        [_("最高在线时间"), timezone.localtime(a.peak_at).strftime("%Y-%m-%d %H:%M") if a.peak_at else ""],
        [_("点赞（会议及问题）"), a.likes],
        [_("群众现场提问"), a.questions.public],
        [_("代表现场提问"), a.questions.deputy],
        [_("会前征集问题"), a.questions.collected],
        [],
        [_("时间"), _("在线"), _("收看人次"), _("独立观众"), _("点赞")],
    ]
    samples: list[list[object]] = [
        [timezone.localtime(s.at).strftime("%Y-%m-%d %H:%M"), s.online, s.page_views, s.unique_viewers, s.likes]
        for s in report.audience.samples
    ]
    _sheet(book, _("收看数据"), [_("指标"), _("数值")], figures + samples, [18, 12, 12, 12, 10])
    sheet = book[_("收看数据")[:31]]
    for cell in sheet[len(figures) + 1]:
        cell.font = Font(bold=True)


def _percent_column(book: Workbook, title: str, column: int) -> None:
    sheet = book[title[:31]]
    for cell in sheet[get_column_letter(column)][1:]:
        cell.number_format = "0.0%"


def _rounded(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _sheet_rows(book: Workbook, report: HearingReport) -> None:
    """测评表: a row per sheet row: counts per choice (every choice any sheet offers), valid
    ballots, 满意率 and score; blank counts until the sheet is published."""
    choices: list[str] = []
    for poll in report.sheets:
        for choice in poll.choices:
            if choice not in choices:
                choices.append(choice)
    rows: list[list[object]] = []
    for poll in report.sheets:
        for row in poll.rows:
            counts = {c.choice: c.count for c in row.counts}
            rows.append(
                [
                    poll.title,
                    poll.status_label,
                    row.label,
                    row.department,
                    *[counts.get(choice) if poll.published else None for choice in choices],
                    row.valid if poll.published else None,
                    _rounded(row.rate) if poll.published else None,
                    row.score,
                ]
            )
    title = _("测评表")
    _sheet(
        book,
        title,
        [_("测评"), _("状态"), _("测评项"), _("部门"), *[_(c) for c in choices], _("有效票"), _("满意率"), _("得分")],
        rows,
        [30, 10, 24, 22, *[10 for _c in choices], 8, 10, 8],
    )
    _percent_column(book, title, 6 + len(choices))


def _select_rows(book: Workbook, report: HearingReport) -> None:
    """票选: a row per candidate, by rank once published: picks, rank, chosen, budget."""
    rows: list[list[object]] = []
    for poll in report.selects:
        for c in poll.candidates:
            rows.append(
                [
                    poll.title,
                    poll.status_label,
                    c.label,
                    c.department,
                    float(c.budget) if c.budget is not None else None,
                    c.note,
                    c.picks if poll.published else None,
                    c.rank,
                    (_("是") if c.chosen else _("否")) if poll.published else None,
                ]
            )
    _sheet(
        book,
        _("票选"),
        [_("票选"), _("状态"), _("候选项"), _("部门"), _("预算（万元）"), _("说明"), _("得票"), _("名次"), _("入选")],
        rows,
        [30, 10, 30, 22, 12, 30, 8, 6, 6],
    )


def _department_rows(book: Workbook, report: HearingReport) -> None:
    """部门汇总: each department's published results pooled, and the rules it breaks."""
    title = _("部门汇总")
    _sheet(
        book,
        title,
        [_("部门"), _("满意度测评"), _("测评表行"), _("有效票"), _("满意率"), _("不满意率"), _("预警")],
        [
            [
                d.name,
                d.polls,
                d.rows,
                d.figures.valid,
                _rounded(d.rate),
                _rounded(d.dissatisfied_share),
                "；".join(b.text for b in d.breaches),
            ]
            for d in report.departments
        ],
        [22, 10, 10, 8, 10, 10, 40],
    )
    _percent_column(book, title, 5)
    _percent_column(book, title, 6)


def report_xlsx(report: HearingReport) -> HttpResponse:
    buffer = io.BytesIO()
    report_workbook(report).save(buffer)
    return _attachment(buffer.getvalue(), XLSX, filename(report, "xlsx"))
