from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format

from voting.models import Threshold
from voting.thresholds import rule_text

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.8333 → "83.3%" (one decimal, rounded half up, localized); None → "—"."""
    if value is None:
        return "—"
    # Round here: number_format cuts a float's digits off (5/9 would show as 55.5%, not 55.6%).
    rounded = (Decimal(repr(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{number_format(rounded, decimal_pos=1)}%"


@register.filter
def threshold_rule(rule: Threshold) -> str:
    """A threshold rule as a line: "不满意率高于 30%"."""
    return rule_text(rule.metric, rule.percent)
