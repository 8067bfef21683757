"""Sockets through the real ASGI application (config.asgi): the Origin check compares scheme,
host and port (core/origin.py), and a socket path that is not an endpoint closes with 4404
without an exception (realtime/routing.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from tests.factories import World, make_world

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "127.0.0.1:8000"
GOV = {"forwarded_proto": "https", "host": "example.gov.cn"}  # behind TLS, default port
TRUSTED = ["https://wenzheng.example.gov.cn", "https://*.county.example.gov.cn"]


@pytest.fixture
async def live() -> World:
    return await database_sync_to_async(make_world)(status="live")


async def handshake(
    path: str, *, origin: str | None, host: str = HOST, scheme: str = "ws", forwarded_proto: str | None = None
) -> tuple[bool, Any]:
    """(accepted, the first thing the server sent after the handshake)."""
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if forwarded_proto is not None:
        headers.append((b"x-forwarded-proto", forwarded_proto.encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    comm.scope["scheme"] = scheme  # the application has not read its scope yet
    connected, _code = await comm.connect(timeout=5)
    first = await comm.receive_output(timeout=5) if connected else None
    await comm.disconnect()
    return connected, first


# (origin, connection: scheme of the socket / X-Forwarded-Proto, host header) → accepted?
ORIGINS = [
    pytest.param("http://127.0.0.1:8000", {}, True, id="same-origin"),
    pytest.param("HTTP://127.0.0.1:8000/", {}, True, id="same-origin-spelled-differently"),
    pytest.param("http://127.0.0.1:9000", {}, False, id="same-host-other-port"),
    pytest.param("http://127.0.0.1", {}, False, id="same-host-default-port"),
    pytest.param("https://127.0.0.1:8000", {}, False, id="same-host-port-https-page-plain-socket"),
    pytest.param("http://evil.example:8000", {}, False, id="foreign-host"),
    pytest.param("http://127.0.0.1.evil.example:8000", {}, False, id="foreign-host-with-our-name-in-it"),
    pytest.param("http://localhost:8000", {}, False, id="another-allowed-host"),
    pytest.param(None, {}, False, id="no-origin"),
    pytest.param("null", {}, False, id="opaque-origin"),
    pytest.param("http://127.0.0.1:8000", {"host": "evil.example:8000"}, False, id="host-not-allowed"),
    # Behind TLS: the socket itself (wss) or the proxy (X-Forwarded-Proto) says the page is https.
    pytest.param("https://127.0.0.1:8000", {"scheme": "wss"}, True, id="wss-https-page"),
    pytest.param("http://127.0.0.1:8000", {"scheme": "wss"}, False, id="wss-http-page"),
    pytest.param("https://127.0.0.1:8000", {"forwarded_proto": "https"}, True, id="proxied-tls-https-page"),
    pytest.param("http://127.0.0.1:8000", {"forwarded_proto": "https"}, False, id="proxied-tls-http-page"),
    pytest.param("https://example.gov.cn", GOV, True, id="default-port"),
    pytest.param("https://example.gov.cn:443", GOV, True, id="443-spelled-out"),
    pytest.param("https://example.gov.cn:8443", GOV, False, id="other-port-behind-tls"),
    # CSRF_TRUSTED_ORIGINS entries are allowed exactly (scheme and port too) or, with *., by subdomain.
    pytest.param("https://wenzheng.example.gov.cn", {}, True, id="trusted"),
    pytest.param("http://wenzheng.example.gov.cn", {}, False, id="trusted-host-other-scheme"),
    pytest.param("https://wenzheng.example.gov.cn:8443", {}, False, id="trusted-host-other-port"),
    pytest.param("https://live.county.example.gov.cn", {}, True, id="trusted-subdomain"),
    pytest.param("https://county.example.gov.cn.evil.example", {}, False, id="trusted-name-inside-a-foreign-one"),
]


@pytest.mark.parametrize(("origin", "connection", "accepted"), ORIGINS)
async def test_the_origin_must_be_this_sites_scheme_host_and_port(
    settings: Any, live: World, origin: str | None, connection: dict[str, str], accepted: bool
) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "example.gov.cn"]
    settings.CSRF_TRUSTED_ORIGINS = TRUSTED
    connected, first = await handshake(f"/ws/hearings/{live.hearing.pk}/public/", origin=origin, **connection)
    assert connected is accepted
    if accepted:
        assert first["type"] == "websocket.send" and '"snapshot"' in first["text"]


UNKNOWN = [
    "/ws/hearings/abc/public/",
    "/ws/hearings/{id}/other/",
    "/ws/hearings/{id}/public/extra/",
    "/ws/hearings/{id}/public",
    "/ws/hearings/-1/public/",
    "/ws/hearings/99999999999999999999999999/public/",
    "/ws/nothing",
    "/ws/",
    "/",
    "/hearings/{id}/",
]


@pytest.mark.parametrize("path", UNKNOWN)
async def test_an_unknown_socket_path_closes_4404_without_an_error(
    live: World, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    connected, first = await handshake(path.format(id=live.hearing.pk), origin=f"http://{HOST}")
    assert connected
    assert first == {"type": "websocket.close", "code": 4404}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_largest_hearing_id_the_route_takes_is_just_not_found(live: World) -> None:
    connected, first = await handshake("/ws/hearings/999999999999999999/public/", origin=f"http://{HOST}")
    assert (connected, first) == (True, {"type": "websocket.close", "code": 4404})
