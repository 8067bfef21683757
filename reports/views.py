"""The session report: a page, and the same report as PDF and XLSX. Public and read-only:
the report holds only what the hearing already made public (see reports/report.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from hearings.models import Hearing
from reports import exports
from reports.report import hearing_report


@require_GET
def report(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    return render(request, "reports/report.html", {"report": hearing_report(hearing)})


@require_GET
def report_download(request: HttpRequest, hearing_id: str, fmt: str) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=int(hearing_id))
    report = hearing_report(hearing)
    if fmt == "pdf":
        return exports.report_pdf(report, request)
    return exports.report_xlsx(report)
