"""Pages and probes. Thin: read through selectors, change through services."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from hearings import selectors
from hearings.models import Hearing
from live.viewer import ensure_viewer_cookie

log = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready only when the database and (if configured) Redis answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("readyz: database: %s", exc)
        checks["database"] = "unavailable"
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            log.warning("readyz: redis: %s", exc)
            checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


def hearing_list(request: HttpRequest) -> HttpResponse:
    hearings = Hearing.objects.order_by("-starts_at")
    return render(request, "hearings/list.html", {"hearings": hearings})


def _page(request: HttpRequest, hearing: Hearing, template: str, role: str) -> HttpResponse:
    response = render(request, template, {"hearing": hearing, "role": role})
    ensure_viewer_cookie(request, response)
    return response


def hearing_live(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    return _page(request, hearing, "hearings/live.html", "public")


def hearing_screen(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    return _page(request, hearing, "hearings/screen.html", "public")


@login_required
def hearing_tablet(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if not selectors.is_deputy(hearing, request.user):
        raise PermissionDenied("deputies of this hearing only")
    return _page(request, hearing, "hearings/tablet.html", "deputy")


@login_required
def hearing_control(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if not selectors.is_moderator(hearing, request.user):
        raise PermissionDenied("moderators of this hearing only")
    return _page(request, hearing, "hearings/control.html", "control")
