"""The public collection page (问题征集), /hearings/<id>/collect/: before the session, anyone sends
a question in one of the hearing's categories, with an optional name and contact (seen by the
congress office only); a deputy of the hearing, signed in, sends it as a deputy.

Thin: hearings.services.question_collect decides (the window, the category, the contact, the
screening, the limits). The form carries a signed one-time submission token: a POST whose token
was already used takes nothing and shows the thank-you state again, so a double tap or a
resent form stores one question. A stored question redirects (303) to the thank-you state, so
reloading it sends nothing. Collected questions wait for a moderator: this page lists none.
"""

from __future__ import annotations

import logging
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.clientaddr import request_address
from core.errors import BadRequest, DomainError
from hearings import selectors, services
from hearings.models import Hearing
from live.viewer import page_viewer, set_viewer_cookie, viewer_from_cookies

log = logging.getLogger(__name__)

TEMPLATE = "hearings/collect.html"
TOKEN_SALT = "wenzheng.collect"
TOKEN_MAX_AGE = 24 * 3600  # a form left open for a day is sent again with a fresh token
FIELDS = ("text", "category", "name", "contact")
EXPIRED = _("这个页面已过期，请检查内容后再提交一次。")


def _new_token(hearing: Hearing) -> str:
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(f"{hearing.pk}:{secrets.token_urlsafe(16)}")


def _token_key(hearing: Hearing, token: str) -> str | None:
    """The cache key of a valid token of this hearing's form, else None."""
    try:
        value = signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    hearing_id, _sep, nonce = value.partition(":")
    if hearing_id != str(hearing.pk) or not nonce:
        return None
    return f"collect:token:{nonce}"


def _deputy(request: HttpRequest, hearing: Hearing) -> AbstractBaseUser | None:
    user = request.user
    return user if isinstance(user, AbstractBaseUser) and selectors.is_deputy(hearing, user) else None


def _render(
    request: HttpRequest,
    hearing: Hearing,
    *,
    deputy: AbstractBaseUser | None,
    watch_only: bool = False,
    values: dict[str, str] | None = None,
    token: str | None = None,
    error: DomainError | None = None,
    sent: bool = False,
) -> HttpResponse:
    state = selectors.collect_state(hearing)
    context = {
        "hearing": hearing,
        "state": state,
        "open": state == selectors.COLLECT_OPEN and not watch_only,
        "watch_only": watch_only,
        "deputy": deputy,
        "deputy_name": selectors.display_name(deputy) if deputy is not None else "",
        "values": values or {},
        "token": token or _new_token(hearing),
        "error": error,
        "sent": sent,
    }
    return render(request, TEMPLATE, context, status=error.status if error is not None else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def hearing_collect(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    deputy = _deputy(request, hearing)
    if request.method == "POST":
        return _submit(request, hearing, deputy)
    if deputy is not None:
        return _render(request, hearing, deputy=deputy, sent=request.GET.get("sent") == "1")
    # The live page's viewer cookie: the same identity that asks and likes there.
    viewer, new = page_viewer(request)
    response = _render(request, hearing, deputy=None, watch_only=viewer is None, sent=request.GET.get("sent") == "1")
    if viewer is not None and new:
        set_viewer_cookie(request, response, viewer)
    return response


def _submit(request: HttpRequest, hearing: Hearing, deputy: AbstractBaseUser | None) -> HttpResponse:
    values = {name: str(request.POST.get(name, "")) for name in FIELDS}
    token = str(request.POST.get("token", ""))
    key = _token_key(hearing, token)
    if key is None:
        return _render(request, hearing, deputy=deputy, values=values, error=BadRequest(EXPIRED))
    thanks = reverse("hearing_collect", args=[hearing.pk]) + "?sent=1"
    try:
        first = cache.add(key, 0, timeout=TOKEN_MAX_AGE)
    except Exception:  # the cache away: no resend check, the limits and rules still hold
        log.warning("collection token not checked: the cache did not answer", exc_info=True)
        first = True
    if not first:
        return _see_other(thanks)  # already sent with this form: nothing more
    try:
        question = services.question_collect(
            hearing_id=hearing.pk,
            text=values["text"],
            category=values["category"] or None,
            name=values["name"],
            contact=values["contact"],
            viewer="" if deputy is not None else viewer_from_cookies(request.COOKIES) or "",
            address=None if deputy is not None else request_address(request),
            deputy=deputy,
        )
    except DomainError as error:
        try:
            cache.delete(key)  # nothing stored: the same form may be corrected and sent again
        except Exception:
            log.warning("collection token not released: the cache did not answer", exc_info=True)
        return _render(request, hearing, deputy=deputy, values=values, token=token, error=error)
    try:
        cache.set(key, question.pk, timeout=TOKEN_MAX_AGE)
    except Exception:
        log.warning("collection token not recorded: the cache did not answer", exc_info=True)
    return _see_other(thanks)


def _see_other(url: str) -> HttpResponse:
    """303: the thank-you state is fetched with GET, so reloading it sends nothing."""
    response = HttpResponse(status=303)
    response["Location"] = url
    return response


urlpatterns = [
    path("hearings/<int:hearing_id>/collect/", hearing_collect, name="hearing_collect"),
]
