"""`{% player hearing %}`: the public page's video card (templates/hearings/_player.html), the
livestream or, once the hearing has ended and staff set its recording, the replay with its
chapters (hearings/replay.py). static/live/player.js plays it.

An HLS source played through hls.js needs more than the site's policy allows, on this page
only: its origin in connect-src (hls.js fetches the playlist and segments), blob: in media-src
(MediaSource) and worker-src (hls.js's transmuxing worker)."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from core.security import allow_sources, url_origin
from hearings import replay
from hearings.models import Hearing

register = template.Library()


@register.inclusion_tag("hearings/_player.html", takes_context=True)
def player(context: template.Context, hearing: Hearing) -> dict[str, Any]:
    ended = hearing.status == Hearing.Status.ENDED
    is_replay = ended and bool(hearing.vod_url)
    src = hearing.vod_url if is_replay else ("" if ended else hearing.stream_url)
    hls = bool(src) and replay.is_hls(src)
    request = context.get("request")
    if hls and isinstance(request, HttpRequest):
        allow_sources(request, "connect-src", [url_origin(src)])
        allow_sources(request, "media-src", ["blob:"])
        allow_sources(request, "worker-src", ["'self'", "blob:"])
    return {
        "hearing": hearing,
        "shown": bool(src or hearing.stream_url),
        "replay": is_replay,
        "src": src,
        "hls": hls,
        "chapters": replay.chapters(hearing) if is_replay else [],
    }
