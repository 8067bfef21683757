"""The client's address, for HTTP requests and socket scopes alike.

The peer (REMOTE_ADDR, scope["client"]) is the client unless it is one of TRUSTED_PROXIES; only
then is X-Forwarded-For read, from the right (the entry the nearest proxy appended), skipping
further trusted proxies: the first address that is not one is the client. Entries left of it
were written by the client itself and are never believed. With no TRUSTED_PROXIES the header
is ignored entirely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"  # no peer address at all (a Unix socket, a test scope)


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def trusted_networks() -> tuple[Network, ...]:
    """TRUSTED_PROXIES (addresses or CIDR networks) as networks."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:443"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(*, peer: str | None, forwarded_for: Iterable[str] = ()) -> str:
    """The client's address given the connection's peer and its X-Forwarded-For header values."""
    address = _parse(peer) if peer else None
    if address is None:
        return peer or UNKNOWN
    networks = trusted_networks()
    if not networks or not _trusted(address, networks):
        return str(address)
    hops = [hop for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        previous = _parse(hop)
        if previous is None:  # garbage where a trusted proxy should have written an address
            break
        address = previous
        if not _trusted(address, networks):
            break
    return str(address)


def request_address(request: HttpRequest) -> str:
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    return client_address(peer=meta.get("REMOTE_ADDR"), forwarded_for=[forwarded] if forwarded else [])


def scope_address(scope: Mapping[str, Any]) -> str:
    client = scope.get("client")
    peer = str(client[0]) if client else None
    forwarded = [
        value.decode("latin-1") for name, value in scope.get("headers", ()) if name.lower() == b"x-forwarded-for"
    ]
    return client_address(peer=peer, forwarded_for=forwarded)


def limit_key(address: str) -> str:
    """What per-address limits count by: the address, or an IPv6 client's /64 (one host's
    share of a network, which it can fill with addresses at will)."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return address


def axes_client_ip(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: django-axes counts login failures by this address (None when
    there is none, e.g. a login made in code: axes stores addresses in an IP address field)."""
    address = request_address(request)
    return None if address == UNKNOWN else address
