"""The viewer id: who a public like or question comes from, kept in a signed cookie."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE = "viewer"
SALT = "wenzheng.viewer"
MAX_AGE = 365 * 24 * 3600


def new_viewer_id() -> str:
    return "v" + secrets.token_urlsafe(12)


def viewer_from_cookies(cookies: Mapping[str, str]) -> str | None:
    value = cookies.get(COOKIE)
    if not value:
        return None
    try:
        return str(signing.get_cookie_signer(salt=COOKIE + SALT).unsign(value, max_age=MAX_AGE))
    except signing.BadSignature:
        return None


def ensure_viewer_cookie(request: HttpRequest, response: HttpResponse) -> str:
    """Return the request's viewer id, setting the cookie when it is absent or forged."""
    viewer = viewer_from_cookies(request.COOKIES)
    if viewer is None:
        viewer = new_viewer_id()
        response.set_signed_cookie(
            COOKIE, viewer, salt=SALT, max_age=MAX_AGE, httponly=True, samesite="Lax", secure=request.is_secure()
        )
    return viewer
