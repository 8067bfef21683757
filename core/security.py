"""Response headers that Django's SecurityMiddleware does not set: Content-Security-Policy and
Permissions-Policy, on every response (pages, errors, the admin, the API), from settings."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin


def policy_header(directives: dict[str, list[str]]) -> str:
    """`{"img-src": ["'self'", "data:"]}` → `img-src 'self' data:` (directives joined by `; `)."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def content_security_policy(request: HttpRequest) -> str:
    """settings.CONTENT_SECURITY_POLICY, with this host's WebSocket origins in connect-src."""
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    if "connect-src" in directives:
        try:
            host = request.get_host()
        except DisallowedHost:  # the 400 for a foreign Host: nothing of ours to connect to
            host = ""
        if host:
            directives["connect-src"] = [*directives["connect-src"], f"ws://{host}", f"wss://{host}"]
    return policy_header(directives)


class SecurityHeadersMiddleware(MiddlewareMixin):
    """Sets the Content-Security-Policy and settings.PERMISSIONS_POLICY on every response
    that has not set its own. (MiddlewareMixin: no thread hop under ASGI.)"""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
