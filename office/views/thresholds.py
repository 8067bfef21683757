"""Threshold rules (预警线) under /manage/thresholds/: list, add, deactivate. The rules and their
checks are voting/thresholds.py's; each change is one call of its services (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from office.access import staff_required
from office.views.people import _errors, _refuse, acting_staff
from voting import thresholds
from voting.models import Threshold


def _page(request: HttpRequest, values: dict[str, str], errors: dict[str, str]) -> HttpResponse:
    context = {
        "rules": Threshold.objects.order_by("-active", "id"),
        "metrics": Threshold.Metric.choices,
        "ranges": thresholds.PERCENT_RANGE,
        "values": values,
        "errors": errors,
    }
    return render(request, "office/thresholds.html", context, status=400 if errors else 200)


@staff_required
def manage_thresholds(request: HttpRequest) -> HttpResponse:
    """GET: the rules and the form; POST: add a rule."""
    values = {"metric": Threshold.Metric.DISSATISFIED, "percent": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"metric": request.POST.get("metric", ""), "percent": request.POST.get("percent", "")}
        try:
            rule = thresholds.threshold_add(
                metric=values["metric"], percent=values["percent"], by=acting_staff(request)
            )
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            messages.success(
                request, _("已添加预警线：%(rule)s。") % {"rule": thresholds.rule_text(rule.metric, rule.percent)}
            )
            return redirect("manage_thresholds")
    return _page(request, values, errors)


@staff_required
@require_POST
def manage_threshold_deactivate(request: HttpRequest, threshold_id: int) -> HttpResponse:
    try:
        rule = thresholds.threshold_deactivate(threshold_id=threshold_id, by=acting_staff(request))
    except DomainError as exc:
        _refuse(exc)
        raise
    messages.success(request, _("已停用预警线：%(rule)s。") % {"rule": thresholds.rule_text(rule.metric, rule.percent)})
    return redirect("manage_thresholds")


urlpatterns = [
    path("thresholds/", manage_thresholds, name="manage_thresholds"),
    path("thresholds/<int:threshold_id>/deactivate/", manage_threshold_deactivate, name="manage_threshold_deactivate"),
]
