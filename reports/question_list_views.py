"""The question list (问题清单 / 交办单) of a hearing: a print view, a Word document and a workbook.

Public, like the session report (reports/views.py): the list holds only what the hearing and the
public assignment pages already show, and it is the document the departments are handed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from hearings.models import Hearing
from reports import question_list_files
from reports.question_list import question_list


@require_GET
def question_list_page(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    return render(request, "reports/question_list.html", {"qlist": question_list(hearing)})


@require_GET
def question_list_download(request: HttpRequest, hearing_id: str, fmt: str) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=int(hearing_id))
    qlist = question_list(hearing)
    if fmt == "docx":
        return question_list_files.question_list_docx_response(qlist)
    return question_list_files.question_list_xlsx_response(qlist)
