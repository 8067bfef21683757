"""/manage/holidays/: the holidays and make-up working days (放假 / 调休上班) due dates count.

Each year from last year to the year after next (and any with entries) with where its holidays
come from: the calendar library, the staff's entries only, or nothing (Monday to Friday). Staff
add days (one day, a range, or lines `YYYY-MM-DD holiday|workday` pasted from the State
Council's notice) and remove them, through assignments.services (audited; `manage.py workdays`
does the same from a shell). Below, the open assignments whose due dates the holidays now move,
counted again only when staff ask (services.assignments_due_recompute: timeline, audit, notice)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from assignments import selectors as assignment_selectors
from assignments import services
from assignments.models import WorkdayOverride
from assignments.services import calendar as workday_rules
from core.errors import BadRequest, DomainError
from core.text import row_id
from office.access import staff_required
from office.views.people import _refuse, acting_staff

FORM_FIELDS = ("mode", "first", "last", "kind", "lines")


def _page(request: HttpRequest, values: dict[str, str], error: str = "") -> HttpResponse:
    context: dict[str, Any] = {
        "years": services.workdays_years(),
        "drifts": assignment_selectors.due_drifts(),
        "kinds": WorkdayOverride.Kind.choices,
        "values": values,
        "error": error,
        "max_days": workday_rules.MAX_DAYS,
    }
    return render(request, "office/holidays.html", context, status=400 if error else 200)


@staff_required
def manage_holidays(request: HttpRequest) -> HttpResponse:
    """GET: the years, their entries and the due dates that would move; POST: add days."""
    values = {"mode": "range", "first": "", "last": "", "kind": WorkdayOverride.Kind.HOLIDAY, "lines": ""}
    if request.method != "POST":
        return _page(request, values)
    values = {field: request.POST.get(field, "") for field in FORM_FIELDS}
    try:
        if values["mode"] == "lines":
            days = workday_rules.parse_lines(values["lines"])
        else:
            chosen = workday_rules.days_between(values["first"], values["last"] or None)
            kind = workday_rules.parse_kind(values["kind"])
            days = {"holidays" if kind == WorkdayOverride.Kind.HOLIDAY else "workdays": chosen}
        report = services.workdays_override(**days, by=acting_staff(request), replace=False)
    except DomainError as exc:
        _refuse(exc)
        return _page(request, values, exc.message)
    text = ngettext("已录入 %(n)s 天。", "已录入 %(n)s 天。", len(report.added)) % {"n": len(report.added)}
    if report.unchanged:
        text += " " + _("已录入过、未变的：%(n)s 天。") % {"n": len(report.unchanged)}
    messages.success(request, text)
    if report.added and assignment_selectors.due_drifts():
        messages.warning(request, _("有交办件的期限会因此变化，请在下方核对后重算。"))
    return redirect("manage_holidays")


@staff_required
@require_POST
def manage_holiday_remove(request: HttpRequest) -> HttpResponse:
    try:
        removed = services.workdays_remove(day=request.POST.get("day", ""), by=acting_staff(request))
    except DomainError as exc:
        _refuse(exc)
        messages.error(request, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message})
    else:
        messages.success(request, _("已删除 %(day)s 的录入。") % {"day": removed.day.isoformat()})
    return redirect("manage_holidays")


@staff_required
@require_POST
def manage_due_recompute(request: HttpRequest) -> HttpResponse:
    """Count again the due dates of the assignments chosen (one, or all those listed)."""
    try:
        ids = [row_id(value) for value in request.POST.getlist("assignment")]
        if any(pk is None for pk in ids):
            raise BadRequest(_("选择无效，请重新选择。"))
        report = services.assignments_due_recompute(
            assignment_ids=[pk for pk in ids if pk is not None], by=acting_staff(request)
        )
    except DomainError as exc:
        _refuse(exc)
        messages.error(request, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message})
    else:
        n = len(report.changed)
        messages.success(
            request, ngettext("已重算 %(n)s 件交办件的期限。", "已重算 %(n)s 件交办件的期限。", n) % {"n": n}
        )
    return redirect("manage_holidays")


urlpatterns: list[URLPattern] = [
    path("holidays/", manage_holidays, name="manage_holidays"),
    path("holidays/remove/", manage_holiday_remove, name="manage_holiday_remove"),
    path("holidays/recompute/", manage_due_recompute, name="manage_due_recompute"),
]
