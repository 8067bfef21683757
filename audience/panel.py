"""The control panel's audience card: the figures and two sparklines (online, page views)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from audience import selectors
from audience.models import Sample
from audience.selectors import Figures
from audience.sparkline import sparkline

RECENT = 240  # samples drawn: the last four hours at one a minute


@dataclass(frozen=True)
class Panel:
    figures: Figures
    online_chart: SafeString
    views_chart: SafeString


def panel(hearing_id: int) -> Panel:
    recent = list(
        Sample.objects.filter(hearing_id=hearing_id).order_by("-at").values_list("online", "page_views")[:RECENT]
    )
    recent.reverse()
    return Panel(
        figures=selectors.figures(hearing_id),
        online_chart=sparkline([online for online, _ in recent], label=_("在线人数变化")),
        views_chart=sparkline([views for _, views in recent], label=_("累计收看人次变化")),
    )
