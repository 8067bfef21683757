"""A small inline SVG sparkline of a series (the control panel's audience figures).

No script and no external library: the server draws it, the panel fetches it again every 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 240.0, 40.0


def sparkline(values: Sequence[int], *, label: str) -> SafeString:
    """A polyline of `values` scaled to the box (nothing drawn for fewer than two values)."""
    if len(values) < 2:
        return mark_safe("")
    top = max(max(values), 1)
    step = WIDTH / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{HEIGHT - (v / top) * (HEIGHT - 2) - 1:.1f}" for i, v in enumerate(values))
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}" '
        'preserveAspectRatio="none"><polyline fill="none" stroke="currentColor" stroke-width="1.5" '
        'points="{}"/></svg>',
        int(WIDTH),
        int(HEIGHT),
        int(WIDTH),
        int(HEIGHT),
        label,
        points,
    )
