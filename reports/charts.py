"""Small server-rendered SVG charts for the scorecard page: no JavaScript, print as they show.

Every piece of text goes through format_html, so a department's name is escaped wherever it
appears. Each chart is role="img" with a title; the page shows the same numbers in a table.
Geometry is formatted with Python's own formatting, never the locale's (SVG wants "12.5").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from reports.scorecards import DepartmentScorecard
from reports.templatetags.reports_tags import percent

# The values of static/css/app.css's variables (an SVG attribute cannot read a CSS variable in print).
OK = "#1e7b45"
WARN = "#8a5a00"
RED = "#b3261e"
MUTED = "#5f6b7a"
INK = "#1d2430"
TRACK = "#eef1f5"
LINE = "#dde3ea"

WIDTH = 640
ROW = 28
BAR = 18
FONT = 13
VALUE_WIDTH = 64  # room right of a full bar for its value
WIDE_PUNCTUATION = "…—“”‘’·"  # one em wide in CJK fonts
LABEL_CHARS = 14  # longer names are cut in the chart (the full name is in the row's <title>)


@dataclass(frozen=True)
class Segment:
    key: str  # a CSS class suffix: seg-<key>
    label: str
    colour: str


def _n(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _text_width(text: str) -> float:
    """Rough width at FONT px: CJK and other wide characters one em, the rest ~0.6 em."""
    return sum(FONT if ord(ch) >= 0x2E80 or ch in WIDE_PUNCTUATION else FONT * 0.6 for ch in text)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _label_width(names: Sequence[str]) -> float:
    widest = max((_text_width(_short(name)) for name in names), default=0.0)
    return min(max(widest + 16, 60.0), 16 + LABEL_CHARS * FONT)


def _svg(title: str, height: float, body: SafeString, css_class: str) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart {}" role="img" aria-label="{}" '
        'viewBox="0 0 {} {}" width="{}" height="{}" font-size="{}"><title>{}</title>{}</svg>',
        css_class,
        title,
        WIDTH,
        _n(height),
        WIDTH,
        _n(height),
        FONT,
        title,
        body,
    )


def _empty(title: str, css_class: str) -> SafeString:
    note = format_html('<text x="0" y="{}" fill="{}">{}</text>', FONT + 4, MUTED, _("暂无数据"))
    return _svg(title, FONT * 2, note, css_class)


def rate_chart(rows: Sequence[tuple[str, float | None]], *, title: str) -> SafeString:
    """One horizontal bar per (name, rate): 0–100 %, the value beside it, "—" for None."""
    if not rows:
        return _empty(title, "rate-chart")
    label_w = _label_width([name for name, _rate in rows])
    plot_w = WIDTH - label_w - VALUE_WIDTH
    parts: list[SafeString] = []
    for i, (name, rate) in enumerate(rows):
        y = i * ROW + (ROW - BAR) / 2
        mid = i * ROW + ROW / 2
        width = max(0.0, min(1.0, rate)) * plot_w if rate is not None else 0.0
        parts.append(
            format_html(
                '<g class="row"><title>{}: {}</title>'
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="central" fill="{}">{}</text>'
                '<rect class="track" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}"/>'
                '<text class="value" x="{}" y="{}" dominant-baseline="central" fill="{}">{}</text></g>',
                name,
                percent(rate),
                _n(label_w - 8),
                _n(mid),
                INK,
                _short(name),
                _n(label_w),
                _n(y),
                _n(plot_w),
                BAR,
                TRACK,
                _n(label_w),
                _n(y),
                _n(width),
                BAR,
                OK,
                _n(label_w + width + 6),
                _n(mid),
                INK if rate is not None else MUTED,
                percent(rate),
            )
        )
    axis_y = len(rows) * ROW
    ticks = format_html_join(
        "",
        '<line x1="{}" y1="0" x2="{}" y2="{}" stroke="{}" stroke-dasharray="{}"/>'
        '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}%</text>',
        (
            (
                _n(label_w + plot_w * share),
                _n(label_w + plot_w * share),
                _n(axis_y),
                LINE,
                "0" if share == 0 else "3 3",
                _n(label_w + plot_w * share),
                _n(axis_y + FONT + 2),
                MUTED,
                int(share * 100),
            )
            for share in (0, 0.5, 1)
        ),
    )
    body = format_html("{}{}", ticks, format_html_join("", "{}", ((part,) for part in parts)))
    return _svg(title, axis_y + FONT + 8, body, "rate-chart")


def stacked_chart(rows: Sequence[tuple[str, Sequence[int]]], *, segments: Sequence[Segment], title: str) -> SafeString:
    """One stacked horizontal bar per (name, counts): counts in the order of `segments`, bar
    lengths on one scale (the largest total fills the plot), a legend on top, the total beside."""
    if not rows:
        return _empty(title, "stacked-chart")
    legend_h = ROW
    x = 0.0
    legend: list[SafeString] = []
    for segment in segments:
        legend.append(
            format_html(
                '<g class="legend-{}"><rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
                '<text x="{}" y="{}" dominant-baseline="central" fill="{}">{}</text></g>',
                segment.key,
                _n(x),
                _n(legend_h / 2 - 6),
                segment.colour,
                _n(x + 16),
                _n(legend_h / 2),
                INK,
                segment.label,
            )
        )
        x += 16 + _text_width(segment.label) + 18
    label_w = _label_width([name for name, _counts in rows])
    plot_w = WIDTH - label_w - VALUE_WIDTH
    largest = max((sum(counts) for _name, counts in rows), default=0)
    unit = plot_w / largest if largest else 0.0
    parts: list[SafeString] = []
    for i, (name, counts) in enumerate(rows):
        top = legend_h + i * ROW
        y = top + (ROW - BAR) / 2
        mid = top + ROW / 2
        left = label_w
        pieces: list[SafeString] = []
        for segment, count in zip(segments, counts, strict=True):
            width = count * unit
            if count:
                inside = SafeString("")
                if width >= _text_width(str(count)) + 6:  # the count fits inside its segment
                    inside = format_html(
                        '<text x="{}" y="{}" text-anchor="middle" dominant-baseline="central" fill="#fff">{}</text>',
                        _n(left + width / 2),
                        _n(mid),
                        count,
                    )
                pieces.append(
                    format_html(
                        '<rect class="seg seg-{}" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                        "<title>{}: {}</title></rect>{}",
                        segment.key,
                        _n(left),
                        _n(y),
                        _n(width),
                        BAR,
                        segment.colour,
                        segment.label,
                        count,
                        inside,
                    )
                )
            left += width
        detail = " · ".join(f"{segment.label} {count}" for segment, count in zip(segments, counts, strict=True))
        parts.append(
            format_html(
                '<g class="row"><title>{}: {}</title>'
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="central" fill="{}">{}</text>'
                '{}<text class="value" x="{}" y="{}" dominant-baseline="central" fill="{}">{}</text></g>',
                name,
                detail,
                _n(label_w - 8),
                _n(mid),
                INK,
                _short(name),
                format_html_join("", "{}", ((piece,) for piece in pieces)),
                _n(left + 6),
                _n(mid),
                INK,
                sum(counts),
            )
        )
    body = format_html(
        '<g class="legend">{}</g>{}',
        format_html_join("", "{}", ((item,) for item in legend)),
        format_html_join("", "{}", ((part,) for part in parts)),
    )
    return _svg(title, legend_h + len(rows) * ROW + 4, body, "stacked-chart")


def outcome_segments() -> list[Segment]:
    return [
        Segment("on_time", _("按时答复"), OK),
        Segment("late", _("逾期答复"), WARN),
        Segment("overdue", _("已超期"), RED),
        Segment("pending", _("办理中"), MUTED),
    ]


def satisfaction_chart(cards: Sequence[DepartmentScorecard]) -> SafeString:
    """The overall 满意率 of each department, in the cards' order."""
    return rate_chart([(card.name, card.rate) for card in cards], title=_("各部门总体满意率"))


def outcomes_chart(cards: Sequence[DepartmentScorecard]) -> SafeString:
    """The outcomes of the assignments each department leads (departments with none left out)."""
    rows = [(card.name, (a.on_time, a.late, a.overdue, a.pending)) for card in cards if (a := card.assignments).total]
    return stacked_chart(rows, segments=outcome_segments(), title=_("各部门交办件办理情况"))


def timeline_chart(points: Sequence[tuple[datetime, int]], *, title: str) -> SafeString:
    """A line over time (the audience samples: online per minute), its largest value marked;
    times are labelled in the local time zone at the start, the peak and the end."""
    if len(points) < 2:
        return _empty(title, "timeline-chart")
    height, left, top, bottom = 200.0, 56.0, 12.0, FONT + 12
    plot_w, plot_h = WIDTH - left - 16, height - top - bottom
    first, last = points[0][0], points[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    largest = max(max(value for _at, value in points), 1)

    def x(at: datetime) -> float:
        return left + (at - first).total_seconds() / span * plot_w

    def y(value: int) -> float:
        return top + plot_h - value / largest * plot_h

    line = " ".join(f"{_n(x(at))},{_n(y(value))}" for at, value in points)
    peak_at, peak = max(points, key=lambda p: (p[1], -p[0].timestamp()))
    labels = format_html_join(
        "",
        '<text class="tick" x="{}" y="{}" text-anchor="{}" fill="{}">{}</text>',
        (
            (_n(x(at)), _n(height - 4), anchor, MUTED, timezone.localtime(at).strftime("%H:%M"))
            for at, anchor in ((first, "start"), (last, "end"))
        ),
    )
    body = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
        '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="central" fill="{}">{}</text>'
        '<text class="tick" x="{}" y="{}" text-anchor="end" dominant-baseline="central" fill="{}">0</text>'
        '<polyline class="line" fill="none" stroke="{}" stroke-width="2" points="{}"/>'
        '<circle class="peak" cx="{}" cy="{}" r="4" fill="{}"><title>{}</title></circle>'
        '<text class="peak-label" x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>{}',
        _n(left),
        _n(top + plot_h),
        _n(left + plot_w),
        _n(top + plot_h),
        LINE,
        _n(left),
        _n(top),
        _n(left + plot_w),
        _n(top),
        TRACK,
        _n(left - 6),
        _n(top),
        MUTED,
        largest,
        _n(left - 6),
        _n(top + plot_h),
        MUTED,
        RED,
        line,
        _n(x(peak_at)),
        _n(y(peak)),
        RED,
        f"{timezone.localtime(peak_at):%H:%M} · {peak}",
        _n(min(max(x(peak_at), left + 40), left + plot_w - 40)),
        _n(max(y(peak) - 8, FONT)),
        INK,
        f"{peak} · {timezone.localtime(peak_at):%H:%M}",
        labels,
    )
    return _svg(title, height, body, "timeline-chart")
