"""Response headers that Django's SecurityMiddleware does not set: Content-Security-Policy and
Permissions-Policy, on every response (pages, errors, the admin, the API), from settings.

A page that needs more than the site's policy (the live page's player: its stream's origin for
hls.js's requests, blob: for MediaSource and hls.js's worker) says so while it renders, with
`allow_sources(request, directive, sources)`: only that response's policy grows."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase
from django.utils.deprecation import MiddlewareMixin


def policy_header(directives: dict[str, list[str]]) -> str:
    """`{"img-src": ["'self'", "data:"]}` → `img-src 'self' data:` (directives joined by `; `)."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


_EXTRA = "_csp_extra"
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|[0-9a-f:.]*:[0-9a-f:.]*")


def allow_sources(request: HttpRequest, directive: str, sources: Iterable[str]) -> None:
    """Add `sources` to `directive` in the policy of the response to this request only (a
    directive the site's policy lacks starts from its default-src)."""
    extra: dict[str, list[str]] = request.__dict__.setdefault(_EXTRA, {})
    kept = extra.setdefault(directive, [])
    kept.extend(source for source in sources if source and source not in kept)


def url_origin(url: str) -> str:
    """`https://cdn.example.cn:8443/live/1.m3u8` → `https://cdn.example.cn:8443` (a host in
    Chinese as its punycode); "" for anything that is not an http(s) URL with a plain host name
    or address (a source that would allow nothing, or more than that one origin)."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def content_security_policy(request: HttpRequest) -> str:
    """settings.CONTENT_SECURITY_POLICY, with this host's WebSocket origins in connect-src and
    what this page asked for (allow_sources)."""
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    default = directives.get("default-src", [])
    for name, sources in request.__dict__.get(_EXTRA, {}).items():
        base = directives.get(name, default)
        directives[name] = [*base, *(source for source in sources if source not in base)]
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
