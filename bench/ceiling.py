"""The ceiling: a bare ASGI hub that forwards one pre-serialized frame to every local socket.

Speaks just enough of the live protocol for the same load generator: a snapshot on connect;
on the control path, `agenda.start` / `question.stage` broadcast one frame to every viewer and
ack. No Django, no database: what the server and Python themselves cost.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[dict[str, Any]], Awaitable[None]]
viewers: set[Send] = set()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


seq = 0


async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Send) -> None:
    global seq
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": dumps({"type": "snapshot", "seq": seq, "data": {}})})
    control = scope["path"].endswith("/control/")
    if not control:
        viewers.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if not control or not message.get("text"):
                continue
            action = json.loads(message["text"])
            seq += 1
            kind = "agenda.current" if action.get("action") == "agenda.start" else "question.stage"
            frame = {"type": "websocket.send", "text": dumps({"type": kind, "seq": seq, "data": {"item": 1}})}
            for viewer in list(viewers):
                try:
                    await viewer(frame)
                except Exception:
                    viewers.discard(viewer)
            await send({"type": "websocket.send", "text": dumps({"type": "ack", "id": action.get("id")})})
    finally:
        viewers.discard(send)
