"""The roster import (名单导入) under /manage/roster/: upload → preview of every row with its
problems → one import. Nothing is stored before the import button.

The uploaded bytes wait in the cache between preview and import under a random key that this
session alone holds (so another user, or the same user in another browser, cannot import
them), for ROSTER_KEEP seconds; the import reads them back and checks them all again."""

from __future__ import annotations

import csv
import io
import secrets
from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from assignments.exports import _safe
from core import limits
from core.errors import DomainError
from hearings.models import Department
from hearings.services import Roster, RosterInvalid, roster_import, roster_validate
from hearings.services.roster import COLUMNS
from office.access import staff_required
from office.views.people import acting_staff

ROSTER_KEEP = 30 * 60  # seconds an uploaded roster waits for its import
SESSION_KEY = "office_roster_upload"
CACHE_PREFIX = "office:roster:"


def _keep(request: HttpRequest, filename: str, data: bytes) -> str:
    previous = request.session.get(SESSION_KEY)
    if previous:
        cache.delete(CACHE_PREFIX + str(previous))  # one waiting upload per session
    token = secrets.token_urlsafe(24)
    cache.set(CACHE_PREFIX + token, {"user": request.user.pk, "filename": filename, "data": data}, ROSTER_KEEP)
    request.session[SESSION_KEY] = token
    return token


def _kept(request: HttpRequest, token: str) -> dict[str, Any] | None:
    """The upload this session kept under `token`, if it is still there."""
    if not token or not secrets.compare_digest(token, str(request.session.get(SESSION_KEY, ""))):
        return None
    kept = cache.get(CACHE_PREFIX + token)
    if not isinstance(kept, dict) or kept.get("user") != request.user.pk:
        return None
    return kept


def _preview_context(roster: Roster) -> dict[str, Any]:
    present = [column for column in COLUMNS if column in roster.headers]
    return {
        "headers": [roster.headers[column] for column in present],
        "table": [(row, [row.values.get(column, "") for column in present]) for row in roster.rows],
        "problems": roster.problems,
        **{outcome: roster.count(outcome) for outcome in ("created", "updated", "unchanged")},
    }


def _page(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    roster = context.get("roster")
    context = {"roster_rows": limits.ROSTER_ROWS, **(_preview_context(roster) if roster else {}), **context}
    template = "office/_roster_preview.html" if request.htmx else "office/roster.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _preview(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return _page(request, {"error": _("请选择名单文件（CSV 或 XLSX）。")}, status=400)
    data = upload.read(limits.ROSTER_BYTES + 1)  # one byte more than allowed: roster_validate refuses it
    filename = upload.name or ""
    try:
        roster = roster_validate(data, filename=filename, by=acting_staff(request))
    except DomainError as exc:
        return _page(request, {"error": exc.message}, status=400)
    token = _keep(request, filename, data) if roster.valid else ""
    return _page(request, {"roster": roster, "token": token}, status=200 if roster.valid else 400)


def _import(request: HttpRequest) -> HttpResponse:
    kept = _kept(request, request.POST.get("token", ""))
    if kept is None:
        return _page(request, {"error": _("上传的名单已过期或不属于本次会话，请重新上传。")}, status=400)
    try:
        summary = roster_import(data=kept["data"], filename=kept["filename"], by=acting_staff(request))
    except RosterInvalid as exc:  # changed since the preview (a department renamed …)
        return _page(request, {"roster": exc.roster, "token": ""}, status=400)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from None
        return _page(request, {"error": exc.message}, status=400)
    cache.delete(CACHE_PREFIX + request.POST.get("token", ""))
    request.session.pop(SESSION_KEY, None)
    messages.success(
        request,
        _("名单已导入：新增 %(created)s 人，更新 %(updated)s 人，%(unchanged)s 人无变化。")
        % {"created": summary.created, "updated": summary.updated, "unchanged": summary.unchanged},
    )
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse(status=204, headers={"HX-Redirect": reverse("manage_people")})
    return redirect("manage_people")


@staff_required
@require_http_methods(["GET", "POST"])
def manage_roster(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _import(request) if request.POST.get("action") == "import" else _preview(request)
    return _page(request, {})


def _examples() -> list[list[str]]:
    department = Department.objects.order_by("id").first()
    short_name = department.short_name if department else "发改局"
    return [
        ["deputy001", "张三", "deputy", "", "城关镇代表团", "13800000001", "", "A-01"],
        ["liaison-fgj", "李四", "liaison", short_name, "", "13800000002", "lisi@example.gov.cn", ""],
    ]


@staff_required
def manage_roster_template(request: HttpRequest, format: str) -> HttpResponse:
    """The header row and two example rows (a deputy and a liaison). The liaison's department is
    a short name staff typed: written so that no spreadsheet runs it as a formula."""
    rows: list[list[object]] = [list(COLUMNS), *([_safe(cell) for cell in row] for row in _examples())]
    if format == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        response = HttpResponse(("\ufeff" + buffer.getvalue()).encode(), content_type="text/csv; charset=utf-8")
    elif format == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.title = "roster"
        for row in rows:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in "ABCDEFGH":
            sheet.column_dimensions[column].width = 18
        out = io.BytesIO()
        book.save(out)
        response = HttpResponse(
            out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    else:
        raise Http404("no such format")
    response["Content-Disposition"] = f'attachment; filename="roster-template.{format}"'
    return response


urlpatterns = [
    path("roster/", manage_roster, name="manage_roster"),
    path("roster/template.<str:format>", manage_roster_template, name="manage_roster_template"),
]
