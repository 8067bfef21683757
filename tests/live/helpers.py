"""Socket test helpers: real ASGI stack (origin check, session auth, routing)."""

from __future__ import annotations

import json
import time
import weakref
from typing import Any

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from config.asgi import application
from live.schema import COUNTER_TYPES
from live.viewer import COOKIE, mint_key, new_viewer_id, sign
from realtime.consumers import ROUTES
from tests.waiting import settle

ORIGIN = b"http://127.0.0.1:8000"


def reset_limits() -> None:
    """Full rate-limit buckets: one test's likes, asks and page visits (all from the same
    loopback address) must not spend the next one's."""
    for route in ROUTES.values():
        if route.limit is not None:
            route.limit.sender.buckets.clear()
            route.limit.address.buckets.clear()
    cache.delete_many([mint_key("127.0.0.1"), mint_key("127.0.0.1", time.time() + 60)])


def viewer_cookie(viewer: str | None = None) -> str:
    """A valid viewer cookie (made by the live page's own helper) for `viewer`, else a new id."""
    return f"{COOKIE}={sign(viewer or new_viewer_id())}"


def page_cookie(
    hearing_id: int, *, cookie: str = "", ip: str = "127.0.0.1", forwarded_for: str | None = None
) -> tuple[str, Any]:
    """GET the live page as a browser would; returns the `viewer=...` pair of its Set-Cookie (or
    "" when it set none) and the response."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else None
    client = Client(REMOTE_ADDR=ip)
    if cookie:
        name, _, value = cookie.partition("=")
        client.cookies[name] = value
    response = client.get(f"/hearings/{hearing_id}/", secure=True, headers=headers)
    morsel = response.cookies.get(COOKIE)
    return (f"{COOKIE}={morsel.value}" if morsel is not None else ""), response


def _session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Socket:
    """A WebsocketCommunicator that speaks the protocol."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.comm = communicator
        self.n = 0
        self.snapshot: dict[str, Any] = {}
        self.connected = False
        self.code: int | None = None
        self.closed = False
        self.seen: list[dict[str, Any]] = []

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        return json.loads(await self.comm.receive_from(timeout=timeout))

    async def poll(self, timeout: float = 0.5) -> dict[str, Any] | None:
        """The next frame, or None when none comes within `timeout` (the app keeps running)."""
        if await self.comm.receive_nothing(timeout=timeout, interval=0.01):
            return None
        return await self.recv()

    async def recv_type(self, *types: str, timeout: float = 3) -> dict[str, Any]:
        """The next frame of one of `types`, skipping counter frames and others."""
        while True:
            frame = await self.recv(timeout=timeout)
            if frame["type"] in types:
                return frame

    async def action(self, action: str, timeout: float = 5, **fields: Any) -> dict[str, Any]:
        """Send an action and return its ack or error (frames in between are kept in .seen)."""
        self.n += 1
        client_id = f"c{self.n}"
        await self.comm.send_to(text_data=json.dumps({"action": action, "id": client_id, **fields}))
        self.seen = []
        while True:
            frame = await self.recv(timeout=timeout)
            if frame["type"] in ("ack", "error") and frame.get("id") == client_id:
                return frame
            self.seen.append(frame)

    async def send_raw(self, text: str | None = None, data: bytes | None = None) -> dict[str, Any]:
        await self.comm.send_to(text_data=text, bytes_data=data)
        return await self.recv_type("ack", "error")

    async def nothing(self, timeout: float = 0.3, ignore: tuple[str, ...] = COUNTER_TYPES) -> bool:
        """True when no state frame arrives within `timeout`."""
        while (frame := await self.poll(timeout)) is not None:
            if frame["type"] not in ignore:
                raise AssertionError(f"unexpected frame {frame}")
        return True

    async def close(self) -> None:
        await self.comm.disconnect()
        self.closed = True


# Every socket a test opens, for closing what a failed test left open (tests/live/conftest.py).
opened: weakref.WeakSet[Socket] = weakref.WeakSet()


async def close_left_open(timeout: float = 2) -> list[Socket]:
    """Close the sockets a test left open, each within `timeout` s; those that would not close
    (a consumer stuck mid-call) are stopped without waiting for them. Returns the stuck ones."""
    stuck = []
    for sock in list(opened):
        if sock.closed or not sock.connected:
            continue
        sock.closed = True
        if not await settle(sock.comm.disconnect(timeout=timeout), timeout + 0.5):
            sock.comm.stop(exceptions=False)
            stuck.append(sock)
    opened.clear()
    return stuck


async def open_socket(
    path: str,
    *,
    user: Any = None,
    cookies: str = "",
    origin: bytes = ORIGIN,
    expect_snapshot: bool = True,
    viewer: bool = True,
    client: str | None = None,
    forwarded_for: str | None = None,
    timeout: float = 5,
) -> Socket:
    """A socket on `path`. A public one carries a new valid viewer cookie unless `cookies` has
    one or `viewer` is False (a watcher without one). `client`: the peer's address;
    `forwarded_for`: an X-Forwarded-For header."""
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if forwarded_for is not None:
        headers.append((b"x-forwarded-for", forwarded_for.encode()))
    cookie_parts = [c for c in [cookies] if c]
    if viewer and path.endswith("/public/") and f"{COOKIE}=" not in cookies:
        cookie_parts.append(viewer_cookie())
    if user is not None:
        cookie_parts.append(await database_sync_to_async(_session_cookie)(user))
    if cookie_parts:
        headers.append((b"cookie", "; ".join(cookie_parts).encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    if client is not None:
        comm.scope["client"] = [client, 50000]  # read when the application starts, at connect
    connected, code = await comm.connect(timeout=timeout)
    sock = Socket(comm)
    sock.connected, sock.code = connected, code
    opened.add(sock)
    if connected and expect_snapshot:
        first = await sock.recv(timeout=timeout)
        assert first["type"] == "snapshot", first
        sock.snapshot = first
    return sock


def public_path(hearing_id: int) -> str:
    return f"/ws/hearings/{hearing_id}/public/"


def deputy_path(hearing_id: int) -> str:
    return f"/ws/hearings/{hearing_id}/deputy/"


def control_path(hearing_id: int) -> str:
    return f"/ws/hearings/{hearing_id}/control/"
