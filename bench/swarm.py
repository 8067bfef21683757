"""The load generator: an asyncio swarm of picows WebSocket clients, loopback only.

Each client stamps, with one process-wide monotonic clock, when watched frames arrive; the
orchestrator stamps when it sent the action that caused them. Frames are classified by their
prefix (the server serializes `{"type":...` first), so the swarm does not parse what it only counts.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

WATCHED = (b'{"type":"agenda.current"', b'{"type":"question.stage"')
LIKES = b'{"type":"likes"'
PROGRESS = b'{"type":"poll.progress"'
REPLY = (b'{"type":"ack"', b'{"type":"error"')


class Client(WSListener):
    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.arrivals: list[float] = []
        self.likes_frames = 0
        self.replies: dict[str, tuple[float, bytes]] = {}  # id → (arrival, raw frame)
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.on_progress: Callable[[dict[str, Any], float], None] | None = None
        self.snapshot = asyncio.get_running_loop().create_future()
        self.closed = False
        self.n = 0

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT:
            return
        now = time.perf_counter()
        payload = frame.get_payload_as_bytes()
        if payload.startswith(WATCHED):
            self.arrivals.append(now)
        elif payload.startswith(LIKES):
            self.likes_frames += 1
        elif payload.startswith(REPLY):
            # The id is the first field after the type: read it without parsing the frame.
            start = payload.find(b'"id":"') + 6
            client_id = payload[start : payload.find(b'"', start)].decode()
            self.replies[client_id] = (now, payload)
            waiter = self.waiters.pop(client_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(json.loads(payload))
        elif payload.startswith(PROGRESS):
            if self.on_progress is not None:
                self.on_progress(json.loads(payload), now)
        elif not self.snapshot.done() and payload.startswith(b'{"type":"snapshot"'):
            self.snapshot.set_result(json.loads(payload))

    def send(self, action: str, client_id: str | None = None, **fields: Any) -> tuple[str, float]:
        """Send an action; returns (client id, send time)."""
        assert self.transport is not None
        self.n += 1
        client_id = client_id or f"a{self.n}"
        self.transport.send(WSMsgType.TEXT, json.dumps({"action": action, "id": client_id, **fields}).encode())
        return client_id, time.perf_counter()

    async def call(self, action: str, timeout: float = 10, **fields: Any) -> tuple[dict[str, Any], float]:
        """Send an action and wait for its reply; returns (reply, round trip seconds)."""
        client_id = f"c{self.n + 1}"
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[client_id] = waiter
        _, sent = self.send(action, client_id, **fields)
        reply = await asyncio.wait_for(waiter, timeout)
        return reply, self.replies[client_id][0] - sent

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.send_close()
            self.transport.disconnect()


async def connect(url: str, headers: Mapping[str, str] | None = None) -> Client:
    origin = url.replace("ws://", "http://").split("/ws/")[0]
    all_headers = {"Origin": origin, **(headers or {})}
    _, client = await ws_connect(Client, url, extra_headers=all_headers, websocket_handshake_timeout=30)
    assert isinstance(client, Client)
    await asyncio.wait_for(client.snapshot, 30)
    return client


async def connect_many(
    urls: list[str], count: int, headers: Callable[[int], Mapping[str, str]] | None = None, concurrency: int = 200
) -> list[Client]:
    """`count` clients spread over `urls`, `concurrency` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)
    clients: list[Client | None] = [None] * count

    async def one(n: int) -> None:
        async with gate:
            for attempt in range(3):
                try:
                    clients[n] = await connect(urls[n % len(urls)], headers(n) if headers else None)
                    return
                except Exception:
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.5)

    await asyncio.gather(*(one(n) for n in range(count)))
    return [c for c in clients if c is not None]


def close_all(clients: list[Client]) -> None:
    for client in clients:
        client.close()
