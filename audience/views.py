"""GET /hearings/<id>/stats.json (PROTOCOL.md "Additions of wave 2"): public, read-only.

Any hearing that exists answers, a draft too (its live page is public, and its figures are
zeros until it opens); an unknown id is 404. Only counts: no viewer id, no name, no address.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audience import selectors
from hearings.models import Hearing


@require_GET
@never_cache
def stats_json(request: HttpRequest, hearing_id: int) -> JsonResponse:
    if not Hearing.objects.filter(pk=hearing_id).exists():
        raise Http404("no such hearing")
    return JsonResponse(selectors.figures(hearing_id).as_json())
