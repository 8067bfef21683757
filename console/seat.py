"""Tablet seat logins (座位码登录): a deputy's tablet logs in by the one-time code on its seat card
(the card's QR opens /seat/<code>/; /seat/ takes the code typed), never by a password.

A session logged in so carries the seat marker (hearings/seats.py) and reaches its own hearing's
tablet page and nothing else: `SeatSessionMiddleware` treats it as anonymous anywhere else, and
logs it out once its code is revoked or its hearing has ended. Its sockets: realtime/sessions.py.

Failed attempts (a code that does not exist, was used or was revoked) are counted per client
address in the cache; past SEAT_LOGIN_FAILURES_PER_HOUR in an hour the address is refused (429).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.contrib.auth import login, logout
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core import limits
from core.clientaddr import limit_key, request_address
from core.errors import DomainError, NotFound, RateLimited
from hearings import seats, selectors, services
from hearings.services.seats import seat_code_refusal

log = logging.getLogger(__name__)

BACKEND = "django.contrib.auth.backends.ModelBackend"
WINDOW = 3600  # seconds: failures are counted per address per clock hour
TOO_MANY = _("这个网络地址输错座位码的次数过多，请一小时后再试，或请会务工作人员协助。")
TEMPLATE = "hearings/seat_login.html"

# ------------------------------------------------------------------------------- failures per address


def failures_key(address: str, now: float | None = None) -> str:
    window = int((time.time() if now is None else now) // WINDOW)
    return f"seat-login-failures:{limit_key(address)}:{window}"


def _blocked(request: HttpRequest) -> bool:
    try:
        count = cache.get(failures_key(request_address(request))) or 0
    except Exception:  # the cache away (Redis down): not counted, not blocked
        log.warning("seat login limit skipped: the cache did not answer", exc_info=True)
        return False
    return bool(count >= settings.SEAT_LOGIN_FAILURES_PER_HOUR)


def _count_failure(request: HttpRequest) -> None:
    key = failures_key(request_address(request))
    try:
        cache.add(key, 0, timeout=WINDOW * 2)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW * 2)
    except Exception:
        log.warning("seat login failure not counted: the cache did not answer", exc_info=True)


# ------------------------------------------------------------------------------- pages


def _refused(request: HttpRequest, error: DomainError, *, code: str = "") -> HttpResponse:
    if isinstance(error, NotFound):  # unknown, used or revoked: a guess, perhaps
        _count_failure(request)
    return render(request, TEMPLATE, {"error": error, "code": code}, status=error.status)


def _too_many(request: HttpRequest) -> HttpResponse:
    error = RateLimited(TOO_MANY)
    return render(request, TEMPLATE, {"error": error, "blocked": True}, status=error.status)


def _redeem(request: HttpRequest, code: str) -> HttpResponse:
    """Redeem the code and log this tablet in as its deputy, for its hearing only."""
    if _blocked(request):
        return _too_many(request)
    try:
        seat = services.seat_code_redeem(code=code)
    except DomainError as error:
        return _refused(request, error, code=code)
    # Whatever this browser was logged in as before is ended first (its sockets closed).
    if request.user.is_authenticated:
        logout(request)
    else:
        request.session.flush()
    login(request, seat.deputy, backend=BACKEND)
    marker: seats.SeatMarker = {"hearing": seat.hearing_id, "seat": seat.pk}
    request.session[seats.SESSION_KEY] = marker
    return redirect("hearing_tablet", hearing_id=seat.hearing_id)


@never_cache
@require_http_methods(["GET", "POST"])
def seat_login(request: HttpRequest) -> HttpResponse:
    """The code typed (when the camera cannot read the card's QR)."""
    if request.method == "POST":
        return _redeem(request, request.POST.get("code", "")[: limits.SEAT_CODE_INPUT])
    if _blocked(request):
        return _too_many(request)
    return render(request, TEMPLATE, {"ended": request.GET.get("ended") == "1"})


@never_cache
@require_http_methods(["GET", "POST"])
def seat_login_code(request: HttpRequest, code: str) -> HttpResponse:
    """The card's QR target. GET only asks (a link previewer must not use the code up); the
    button POSTs and logs in. The code is in this page's address: what it loads or links to is
    told only the site's origin (Referrer-Policy: origin). Not `no-referrer`: under it a browser
    sends the button's POST with `Origin: null`, which Django's CSRF check refuses."""
    response = _seat_login_code(request, code)
    response.headers["Referrer-Policy"] = "origin"
    return response


def _seat_login_code(request: HttpRequest, code: str) -> HttpResponse:
    if request.method == "POST":
        return _redeem(request, code)
    if _blocked(request):
        return _too_many(request)
    seat = seats.seat_code_find(code)
    marker = seats.seat_marker(request.session)
    if seat is not None and marker is not None and marker["seat"] == seat.pk:
        return redirect("hearing_tablet", hearing_id=seat.hearing_id)  # this tablet, already logged in by it
    refusal = seat_code_refusal(seat)
    if refusal is not None:
        return _refused(request, refusal, code=code)
    assert seat is not None
    person = getattr(seat.deputy, "person", None)
    return render(
        request,
        TEMPLATE,
        {
            "seat": seat,
            "code": code,
            "deputy_name": selectors.display_name(seat.deputy),
            "delegation": getattr(person, "delegation", ""),
            "seat_label": getattr(person, "seat", ""),
        },
    )


# ------------------------------------------------------------------------------- the seat session

# Where a seat session stays logged in besides its own tablet page: the seat login pages, the
# public chamber pages, the language switch and catalog, the logout. Anywhere else it is anonymous.
KEPT = frozenset(
    {
        "seat_login",
        "seat_login_code",
        "hearing_list",
        "hearing_live",
        "hearing_screen",
        "javascript_catalog",
        "set_language",
        "logout",
    }
)


def _keeps_user(request: HttpRequest, hearing_id: int) -> bool:
    if request.path_info.startswith(settings.STATIC_URL):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if match.url_name == "hearing_tablet":
        return bool(match.kwargs.get("hearing_id") == hearing_id)
    return match.url_name in KEPT


async def _anonymous() -> AnonymousUser:
    return AnonymousUser()


class SeatSessionMiddleware:
    """A tablet logged in by a seat code reaches its hearing only (after AuthenticationMiddleware).

    Once its code is revoked, its hearing has ended, its deputy left the hearing or (seen on the
    tablet's page) can no longer log in (deactivated, a new password), the session is logged out
    (which closes its sockets too: realtime/sessions.py); otherwise, on any page but its
    hearing's tablet and the few in KEPT, the request is anonymous: no other hearing's tablet,
    inbox, control panel, /manage/, admin or API. One query per request of a seat session (its
    code's state; on the tablet's page the user's too, which the page reads anyway), none for
    other requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        marker = seats.seat_marker(request.session)
        if marker is not None:
            ended = self._restrict(request, marker)
            if ended is not None:
                return ended
        return self.get_response(request)

    def _restrict(self, request: HttpRequest, marker: seats.SeatMarker) -> HttpResponse | None:
        try:
            user_id: int | None = int(request.session[USER_SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            user_id = None
        on_tablet = self._on_tablet(request)
        # On the tablet's page, its deputy must still log in too (not deactivated, password not
        # changed): otherwise the tablet shows why it was logged out, not a password form.
        if not seats.seat_session_active(marker, user_id) or (on_tablet and not request.user.is_authenticated):
            logout(request)
            if on_tablet:  # the tablet's page: back to the seat login, saying why
                return redirect(reverse("seat_login") + "?ended=1")
            return None
        if not _keeps_user(request, marker["hearing"]):
            request.user = AnonymousUser()
            request.auser = _anonymous
        return None

    @staticmethod
    def _on_tablet(request: HttpRequest) -> bool:
        try:
            return resolve(request.path_info).url_name == "hearing_tablet"
        except Resolver404:
            return False
