from __future__ import annotations

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.8333 → "83.3%" (localized decimal); None → "—"."""
    if value is None:
        return "—"
    return f"{number_format(value * 100, decimal_pos=1)}%"
