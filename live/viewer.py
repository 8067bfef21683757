"""The viewer id: who a public like or question comes from, kept in a signed cookie.

One signer writes and reads the cookie (`sign` / `viewer_from_cookies`): the live page sets it
once, every later visit and the public socket read the same value back. New viewer ids are
limited per client address (LIVE["VIEWERS_PER_MINUTE"], counted in Django's cache, so shared by
every process when the cache is Redis); past the limit a page is served without one, and its
socket may watch but not like or ask.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from core.clientaddr import limit_key, request_address

log = logging.getLogger(__name__)

COOKIE = "viewer"
SALT = "wenzheng.viewer"
MAX_AGE = 365 * 24 * 3600
WINDOW = 60  # seconds: the mint limit counts per address per minute


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def new_viewer_id() -> str:
    return "v" + secrets.token_urlsafe(12)


def sign(viewer: str) -> str:
    """The cookie value for `viewer` (the page sets it; the benchmark and tests use it too)."""
    return _signer().sign(viewer)


def viewer_from_cookies(cookies: Mapping[str, str]) -> str | None:
    """The viewer id of a valid `viewer` cookie, else None."""
    value = cookies.get(COOKIE)
    if not value:
        return None
    try:
        return _signer().unsign(value, max_age=MAX_AGE)
    except signing.BadSignature:
        return None


def mint_key(address: str, now: float | None = None) -> str:
    """The cache key counting `address`'s new viewers in the minute of `now`."""
    window = int((time.time() if now is None else now) // WINDOW)
    return f"viewer-mint:{limit_key(address)}:{window}"


def may_mint(address: str, now: float | None = None) -> bool:
    """Count one new viewer for `address`; False once this minute's limit is reached. With the
    cache away (Redis down) the count is skipped and the viewer let in: the live page must load
    through an outage, and the sockets' own per-process limits still hold."""
    key = mint_key(address, now)
    try:
        cache.add(key, 0, timeout=WINDOW * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=WINDOW * 2)
            count = 1
    except Exception:
        log.warning("viewer mint limit skipped: the cache did not answer", exc_info=True)
        return True
    return bool(count <= settings.LIVE["VIEWERS_PER_MINUTE"])


def page_viewer(request: HttpRequest) -> tuple[str | None, bool]:
    """The request's viewer id and whether it is new (its cookie still to be set). A request
    without a valid cookie gets a new id, unless its address has had too many new ones this
    minute: then None (the page is served for watching only)."""
    viewer = viewer_from_cookies(request.COOKIES)
    if viewer is not None:
        return viewer, False
    if not may_mint(request_address(request)):
        return None, False
    return new_viewer_id(), True


def set_viewer_cookie(request: HttpRequest, response: HttpResponse, viewer: str) -> None:
    response.set_cookie(
        COOKIE, sign(viewer), max_age=MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
    )
