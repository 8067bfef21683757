"""The WebSocket Origin check: the same rule Django's CSRF check applies to a form post.

A socket is let through only when its Origin is this site's own origin (scheme, host and port
all equal: the scheme is https when the connection is, directly or as SECURE_PROXY_SSL_HEADER
says, the host and port are the request's Host, which must be in ALLOWED_HOSTS), or one of
CSRF_TRUSTED_ORIGINS (`https://*.example.org` for every subdomain, as Django reads it). A socket
with no Origin is refused (browsers always send one; our non-browser clients do too)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]  # scheme, host (lower case, IPv6 in brackets), port


def parse_origin(value: str) -> Origin | None:
    """`https://Example.org` → ("https", "example.org", 443); None for anything else."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _is_secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") in ("wss", "https"):
        return True
    proxy_header: tuple[str, str] | None = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        meta_name, secure_value = proxy_header
        # HTTP_X_FORWARDED_PROTO → x-forwarded-proto
        name = meta_name.removeprefix("HTTP_").replace("_", "-").lower().encode("latin-1")
        value = _header(scope, name)
        return value is not None and value.split(",", 1)[0].strip() == secure_value
    return False


def allowed_hosts() -> list[str]:
    """ALLOWED_HOSTS as Django's request.get_host() reads it."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def own_origin(scope: dict[str, Any]) -> Origin | None:
    """The origin of the page that may open this socket: None when the Host is not ours."""
    host_header = _header(scope, b"host")
    if not host_header:
        return None
    domain, _port = split_domain_port(host_header)
    if not domain or not validate_host(domain, allowed_hosts()):
        return None
    scheme = "https" if _is_secure(scope) else "http"
    return parse_origin(f"{scheme}://{host_header}")


def _trusted(origin: Origin) -> bool:
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        wildcard = "://*." in entry
        trusted = parse_origin(entry.replace("://*.", "://", 1) if wildcard else entry)
        if trusted is None or trusted[0] != scheme or trusted[2] != port:
            continue
        if host == trusted[1] or (wildcard and is_same_domain(host, "." + trusted[1])):
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    own = own_origin(scope)  # None: a Host not ours, refused whatever the Origin (as Django does)
    header = _header(scope, b"origin")
    origin = parse_origin(header) if header else None
    if own is None or origin is None:
        return False
    return origin == own or _trusted(origin)


class SameOriginValidator:
    """ASGI middleware for the socket router: a socket from a foreign Origin is denied (HTTP
    403 at the handshake) before any consumer runs."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
