"""The question list (reports/question_list.py) as files: a Word document an office prints and
stamps (python-docx: A4, 仿宋 body, a table per category and lead department, the stamp line at
the end) and a workbook (openpyxl: one sheet, a row per question, the header frozen).

Both are official documents in Chinese whatever the reader's language: they are rendered with
the site's language (LANGUAGE_CODE) active."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from assignments.exports import XLSX, _safe
from reports.question_list import ListEntry, QuestionList

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# 公文 type: 仿宋 for the body, 黑体 for group headings, 宋体 (bold) for the title.
BODY_FONT = "仿宋"
HEADING_FONT = "黑体"
TITLE_FONT = "宋体"
# 序号 / 问题 / 提问人 / 承诺事项 / 办理期限, on A4 portrait with 2.5 cm margins (16 cm wide).
COLUMN_WIDTHS_CM = (1.2, 6.6, 2.2, 4.0, 2.0)


def filename(qlist: QuestionList, ext: str) -> str:
    return f"hearing-{qlist.hearing.pk}-question-list.{ext}"


def _attachment(content: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def day(value: date | None) -> str:
    """A date as an official document writes it: 2026年3月5日."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def columns() -> list[str]:
    return [_("序号"), _("问题"), _("提问人"), _("承诺事项"), _("办理期限")]


def category_label(category: str) -> str:
    return category or _("未分类")


def commitment_text(entry: ListEntry) -> str:
    """The department's commitment; a written reply without one says so."""
    if entry.commitment:
        return entry.commitment
    return _("书面答复") if entry.written else "—"


# ------------------------------------------------------------------------------- Word


def _font(run: Run, name: str, size: float, *, bold: bool = False) -> Run:
    """Set the run's font for Latin and East Asian text alike (w:eastAsia), so Word and WPS use
    the Chinese face rather than falling back to their default."""
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    return run


def _paragraph(
    container: DocxDocument | _Cell,
    text: str,
    *,
    font: str = BODY_FONT,
    size: float = 12,
    bold: bool = False,
    align: int | None = None,
) -> Paragraph:
    paragraph = container.add_paragraph()
    if align is not None:
        paragraph.alignment = align
    _font(paragraph.add_run(text), font, size, bold=bold)
    return paragraph


def _cell(cell: _Cell, lines: Sequence[tuple[str, float]], *, align: int | None = None) -> None:
    """Fill a cell: each line a paragraph (text, size); the first replaces the empty one."""
    first = True
    for text, size in lines:
        paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
        first = False
        if align is not None:
            paragraph.alignment = align
        _font(paragraph.add_run(text), BODY_FONT, size)


def question_list_docx(qlist: QuestionList) -> bytes:
    with translation.override(settings.LANGUAGE_CODE):
        return _docx(qlist)


def _docx(qlist: QuestionList) -> bytes:
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin, section.bottom_margin = Cm(3.0), Cm(2.5)
    normal = document.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)

    _paragraph(document, qlist.title, font=TITLE_FONT, size=22, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    hearing = qlist.hearing
    header = [(_("会议名称"), hearing.title), (_("会议日期"), day(qlist.date))]
    if hearing.theme:
        header.append((_("主题"), hearing.theme))
    if hearing.venue:
        header.append((_("地点"), hearing.venue))
    header.append((_("问题数"), _("共 %(n)s 个，其中书面答复 %(w)s 个") % {"n": qlist.count, "w": qlist.written}))
    for label, value in header:
        _paragraph(document, f"{label}：{value}", size=14)

    widths = [Cm(w) for w in COLUMN_WIDTHS_CM]
    for group in qlist.groups:
        heading = _("%(n)s、%(category)s　主办单位：%(department)s") % {
            "n": group.numeral,
            "category": category_label(group.category),
            "department": group.department,
        }
        _paragraph(document, heading, font=HEADING_FONT, size=14)
        table = document.add_table(rows=1, cols=len(widths))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        for cell, title, width in zip(table.rows[0].cells, columns(), widths, strict=True):
            cell.width = width
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _font(cell.paragraphs[0].add_run(title), HEADING_FONT, 12)
        for entry in group.entries:
            cells = table.add_row().cells
            for cell, width in zip(cells, widths, strict=True):
                cell.width = width
            note = _("交办件 #%(n)s · %(origin)s") % {"n": entry.assignment, "origin": entry.origin_label}
            if entry.co_departments:
                note += " · " + _("协办：%(names)s") % {"names": "、".join(entry.co_departments)}
            _cell(cells[0], [(str(entry.number), 12)], align=WD_ALIGN_PARAGRAPH.CENTER)
            _cell(cells[1], [(entry.text, 12), (note, 9)])
            _cell(cells[2], [(entry.asker, 12)])
            _cell(cells[3], [(commitment_text(entry), 12)])
            _cell(cells[4], [(day(entry.due_date), 12)], align=WD_ALIGN_PARAGRAPH.CENTER)
    if not qlist.groups:
        _paragraph(document, _("本场问政会尚无交办的问题。"), size=14)

    _paragraph(document, "")
    stamp = f"{qlist.issuer}（盖章）"
    _paragraph(document, stamp, size=16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, "年　　月　　日", size=16, align=WD_ALIGN_PARAGRAPH.RIGHT)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def question_list_docx_response(qlist: QuestionList) -> HttpResponse:
    return _attachment(question_list_docx(qlist), DOCX, filename(qlist, "docx"))


# ------------------------------------------------------------------------------- Excel


def question_list_workbook(qlist: QuestionList) -> Workbook:
    with translation.override(settings.LANGUAGE_CODE):
        book = Workbook()
        sheet = book.active
        sheet.title = _("问题清单")
        header = [*columns(), _("类别"), _("主办单位"), _("协办单位"), _("答复方式"), _("交办件")]
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for group in qlist.groups:
            for entry in group.entries:
                row = [
                    entry.number,
                    entry.text,
                    entry.asker,
                    commitment_text(entry),
                    entry.due_date,
                    category_label(group.category),
                    group.department,
                    "、".join(entry.co_departments),
                    entry.origin_label,
                    entry.assignment,
                ]
                sheet.append([_safe(value) for value in row])
        for index, width in enumerate((6, 60, 12, 40, 12, 14, 20, 20, 10, 8), start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            row[4].number_format = "yyyy-mm-dd"
        sheet.freeze_panes = "A2"
    return book


def question_list_xlsx_response(qlist: QuestionList) -> HttpResponse:
    buffer = io.BytesIO()
    question_list_workbook(qlist).save(buffer)
    return _attachment(buffer.getvalue(), XLSX, filename(qlist, "xlsx"))
