"""The video mixer's overlay (/hearings/<id>/overlay/): a browser source for OBS or vMix at
1920×1080 on a transparent background. A lower third with the question on stage, the current
agenda item's title, and a published poll result as a chart for a set time. The page follows
the PUBLIC stream (static/live/overlay.js), like the big screen: what is on air is never a
pending question, because the public stream never carries one.

Options by query string (docs/live.md, "Overlay for the video mixer"): `parts`, `position`,
`theme`, `result` (seconds) and `scale`; other parameters are ignored (a cache-buster such as
`?v=2` that makes a mixer reload the source). A value an option does not know is refused with a 400
and a plain-text line naming the option and its allowed values (never the value sent), so a
mistyped source shows its error while the broadcast team sets it up instead of a silently
different graphic on air. The page carries only the parsed values, never the raw query.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _

from core.errors import BadRequest
from hearings.models import Hearing

PARTS = ("question", "agenda", "result")
POSITIONS = ("bottom", "top")
THEMES = ("red", "dark", "light")
RESULT_SECONDS_DEFAULT = 20
RESULT_SECONDS_MAX = 600
SCALE_MIN = Decimal("0.5")
SCALE_MAX = Decimal("2")


@dataclass(frozen=True)
class OverlayOptions:
    parts: tuple[str, ...] = PARTS
    position: str = POSITIONS[0]
    theme: str = THEMES[0]
    result_seconds: int = RESULT_SECONDS_DEFAULT
    scale: str = "1"  # a decimal in [SCALE_MIN, SCALE_MAX], as CSS reads it


def _one(query: QueryDict, name: str) -> str | None:
    values = query.getlist(name)
    if len(values) > 1:
        raise BadRequest(_("参数 %(name)s 只能给一次。"), name=name)
    return values[0].strip() if values else None


def _choice(query: QueryDict, name: str, allowed: tuple[str, ...]) -> str:
    value = _one(query, name)
    if value is None:
        return allowed[0]
    if value not in allowed:
        raise BadRequest(_("参数 %(name)s 只能是：%(allowed)s。"), name=name, allowed=", ".join(allowed))
    return value


def overlay_options(query: QueryDict) -> OverlayOptions:
    """The options of the query string; BadRequest for a value of one it does not know. Other
    parameters are ignored (a mixer's cache-buster, `?v=2`). The messages name the option and
    what it allows, never what was sent."""
    parts: tuple[str, ...] = PARTS
    raw_parts = _one(query, "parts")
    if raw_parts is not None:
        named = [p.strip() for p in raw_parts.split(",") if p.strip()]
        if not named or any(p not in PARTS for p in named):
            raise BadRequest(_("参数 %(name)s 只能是：%(allowed)s。"), name="parts", allowed=", ".join(PARTS))
        parts = tuple(p for p in PARTS if p in named)

    seconds = RESULT_SECONDS_DEFAULT
    raw_seconds = _one(query, "result")
    if raw_seconds is not None:
        if not (raw_seconds.isascii() and raw_seconds.isdigit()) or not 1 <= int(raw_seconds) <= RESULT_SECONDS_MAX:
            raise BadRequest(
                _("参数 %(name)s 是 %(min)s 到 %(max)s 之间的整数（秒）。"),
                name="result",
                min=1,
                max=RESULT_SECONDS_MAX,
            )
        seconds = int(raw_seconds)

    scale = "1"
    raw_scale = _one(query, "scale")
    if raw_scale is not None:
        try:
            number = Decimal(raw_scale) if raw_scale.isascii() and len(raw_scale) <= 6 else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or not SCALE_MIN <= number <= SCALE_MAX:
            raise BadRequest(
                _("参数 %(name)s 是 %(min)s 到 %(max)s 之间的数。"), name="scale", min=SCALE_MIN, max=SCALE_MAX
            )
        scale = format(number.normalize(), "f")

    return OverlayOptions(
        parts=parts,
        position=_choice(query, "position", POSITIONS),
        theme=_choice(query, "theme", THEMES),
        result_seconds=seconds,
        scale=scale,
    )


def hearing_overlay(request: HttpRequest, hearing_id: int) -> HttpResponse:
    """Public, like the big screen; sets no viewer cookie (a mixer is not an audience)."""
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    try:
        options = overlay_options(request.GET)
    except BadRequest as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return render(request, "hearings/overlay.html", {"hearing": hearing, "options": options})


urlpatterns = [
    path("hearings/<int:hearing_id>/overlay/", hearing_overlay, name="hearing_overlay"),
]
