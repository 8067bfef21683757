"""The department scorecard page (部门考评): public and read-only; the reads are in
reports/scorecards.py, the charts in reports/charts.py. How each department rated the questions
it answered (双向评议) is shown to office staff and moderators only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from hearings import selectors as hearing_selectors
from hearings.models import Hearing
from reports import charts
from reports.scorecards import (
    MAX_YEAR,
    MIN_YEAR,
    department_scorecards,
    parse_year,
    scorecard_summary,
    scorecard_years,
)
from voting.thresholds import active_rules


def _staff(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    return hearing_selectors.is_office_staff(user) or Hearing.objects.filter(moderators__id=user.pk).exists()


@require_GET
def scorecards(request: HttpRequest) -> HttpResponse:
    try:
        year = parse_year(request.GET.get("year"))
    except ValueError:
        message = _("年度应为 %(min)d 至 %(max)d 之间的四位数字。") % {"min": MIN_YEAR, "max": MAX_YEAR}
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    rules = active_rules()
    cards = department_scorecards(today=timezone.localdate(), year=year, rules=rules)
    return render(
        request,
        "reports/scorecards.html",
        {
            "cards": cards,
            "summary": scorecard_summary(cards),
            "year": year,
            "years": sorted({*scorecard_years(), *([year] if year else [])}, reverse=True),
            "rate_chart": charts.satisfaction_chart(cards),
            "outcomes_chart": charts.outcomes_chart(cards),
            "rules": rules,
            "show_ratings": _staff(request),
        },
    )
