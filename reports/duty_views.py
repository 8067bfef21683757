"""The duty record pages (代表履职档案): `/deputies/<id>/` (the deputy and office staff; a public
version when settings.DUTY_RECORD_PUBLIC), its XLSX, and the office's pages
`/manage/deputies/` (every deputy's year, and its XLSX) and `/manage/duty-rules/` (the points
rules). The reads and the rules' service are reports/duty.py's.

`<id>` is the deputy's account id (the one a hearing's deputy list, a check-in and a question
name). Who may see is decided before the deputy is looked up (duty.access), so a refusal (403)
never tells whether an id is a deputy's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from hearings import selectors as hearing_selectors
from hearings.services import FieldErrors
from reports import duty, duty_exports
from reports.models import DutyKind
from reports.scorecards import MAX_YEAR, MIN_YEAR

View = Callable[..., HttpResponse]


def _staff_only(view: View) -> View:
    """Office staff only, like office.access.staff_required (which this layer cannot import)."""

    @wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not hearing_selectors.is_office_staff(request.user):
            raise PermissionDenied("office staff only")
        return view(request, *args, **kwargs)

    return wrapped


def _bad_year() -> HttpResponse:
    message = _("年度应为 %(min)d 至 %(max)d 之间的四位数字。") % {"min": MIN_YEAR, "max": MAX_YEAR}
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _record(request: HttpRequest, deputy_id: int) -> duty.DutyRecord | HttpResponse:
    seen = duty.access(request.user, deputy_id)
    if seen is None:
        raise PermissionDenied("the deputy and office staff only")
    try:
        year = duty.parse_year(request.GET.get("year"))
    except ValueError:
        return _bad_year()
    deputy = duty.deputies().filter(pk=deputy_id).first()
    if deputy is None:
        raise Http404("no such deputy")
    return duty.duty_record(deputy, year, full=seen == duty.FULL)


@require_GET
@never_cache
def deputy_record(request: HttpRequest, deputy_id: int) -> HttpResponse:
    record = _record(request, deputy_id)
    if isinstance(record, HttpResponse):
        return record
    return render(
        request,
        "reports/duty_record.html",
        {"record": record, "years": duty.record_years(record.year)},
    )


@require_GET
@never_cache
def deputy_record_download(request: HttpRequest, deputy_id: int) -> HttpResponse:
    record = _record(request, deputy_id)
    if isinstance(record, HttpResponse):
        return record
    return duty_exports.record_xlsx(record)


def _year_or_400(request: HttpRequest) -> int | HttpResponse:
    try:
        return duty.parse_year(request.GET.get("year"))
    except ValueError:
        return _bad_year()


@_staff_only
@require_GET
def manage_deputies(request: HttpRequest) -> HttpResponse:
    year = _year_or_400(request)
    if isinstance(year, HttpResponse):
        return year
    rows = duty.duty_table(year)
    context = {
        "rows": rows,
        "year": year,
        "years": duty.record_years(year),
        "measures": duty.MEASURES,
        "rules": duty.rules_in_force(),
    }
    return render(request, "reports/manage_deputies.html", context)


@_staff_only
@require_GET
def manage_deputies_download(request: HttpRequest) -> HttpResponse:
    year = _year_or_400(request)
    if isinstance(year, HttpResponse):
        return year
    return duty_exports.table_xlsx(duty.duty_table(year), year)


def _acting(request: HttpRequest) -> AbstractBaseUser:
    user = request.user
    assert user.is_authenticated  # _staff_only let only staff in
    return user


@_staff_only
@require_http_methods(["GET", "POST"])
def manage_duty_rules(request: HttpRequest) -> HttpResponse:
    """GET: every kind's rule in a form; POST: set them all (nothing stored if one is bad)."""
    rules = duty.rules_in_force()
    values = {r.kind: (str(r.points), r.active) for r in rules}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {
            kind.value: (request.POST.get(f"points_{kind.value}", ""), f"active_{kind.value}" in request.POST)
            for kind in DutyKind
        }
        try:
            duty.duty_rules_set(values=values, by=_acting(request))
        except DomainError as exc:
            if isinstance(exc, FieldErrors):
                errors = {kind: error.message for kind, error in exc.errors.items()}
            else:
                errors = {"form": exc.message}
        else:
            messages.success(request, _("已保存履职积分规则。"))
            return redirect("manage_duty_rules")
    lines = [
        {
            "kind": r.kind,
            "label": r.label,
            "default": r.default,
            "points": values[r.kind][0],
            "active": values[r.kind][1],
            "error": errors.get(r.kind, ""),
        }
        for r in rules
    ]
    context = {"lines": lines, "form_error": errors.get("form", "")}
    return render(request, "reports/duty_rules.html", context, status=400 if errors else 200)


urlpatterns = [
    path("deputies/<int:deputy_id>/", deputy_record, name="deputy_record"),
    path("deputies/<int:deputy_id>/record.xlsx", deputy_record_download, name="deputy_record_xlsx"),
    path("manage/deputies/", manage_deputies, name="manage_deputies"),
    path("manage/deputies.xlsx", manage_deputies_download, name="manage_deputies_xlsx"),
    path("manage/duty-rules/", manage_duty_rules, name="manage_duty_rules"),
]
