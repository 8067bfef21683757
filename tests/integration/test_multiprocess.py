"""Two server processes sharing Redis and PostgreSQL: events and online counts cross processes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection
from django.test import Client
from websockets.typing import Origin

from hearings import services
from tests.conftest import require_service
from tests.factories import make_world
from tests.integration.servers import daphne_servers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_real_services() -> None:
    require_service("redis")
    require_service("postgres")
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL set)")


class Peer:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.snapshot: dict[str, Any] = {}
        self.latest: dict[str, Any] = {}  # the last frame of each type seen, skipped ones too

    async def recv_type(self, *types: str, timeout: float = 5) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = json.loads(await self.ws.recv())
                self.latest[frame["type"]] = frame
                if frame["type"] in types:
                    return frame

    async def action(self, action: str, **fields: Any) -> dict[str, Any]:
        await self.ws.send(json.dumps({"action": action, "id": action, **fields}))
        return await self.recv_type("ack", "error")


async def connect(port: int, path: str, cookie: str = "") -> Peer:
    headers = {"Cookie": cookie} if cookie else {}
    ws = await websockets.connect(
        f"ws://127.0.0.1:{port}{path}", origin=Origin(f"http://127.0.0.1:{port}"), additional_headers=headers
    )
    peer = Peer(ws)
    peer.snapshot = json.loads(await ws.recv())
    assert peer.snapshot["type"] == "snapshot"
    return peer


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def test_event_made_on_one_process_reaches_viewers_of_the_other() -> None:
    world = await database_sync_to_async(make_world)(status="live")
    hid = world.hearing.pk
    cookie = await database_sync_to_async(session_cookie)(world.moderator)
    with daphne_servers(2) as (port_a, port_b):
        control = await connect(port_a, f"/ws/hearings/{hid}/control/", cookie)
        viewer_a = await connect(port_a, f"/ws/hearings/{hid}/public/")
        viewer_b = await connect(port_b, f"/ws/hearings/{hid}/public/")
        base = viewer_b.snapshot["seq"]

        assert (await control.action("agenda.start", item=world.items[1].pk))["type"] == "ack"
        for viewer in (viewer_a, viewer_b):
            event = await viewer.recv_type("agenda.current")
            assert (event["seq"], event["data"]["item"]) == (base + 1, world.items[1].pk)

        # An event made outside both servers (a management command, the admin) reaches both too.
        await database_sync_to_async(services.agenda_start)(hearing_id=hid, item_id=world.items[2].pk, by=None)
        for viewer in (viewer_a, viewer_b):
            assert (await viewer.recv_type("agenda.current"))["seq"] == base + 2

        # Online counts are summed across processes: one viewer on each. (The frame saying so
        # may have passed while the events were awaited: a counter is sent only when it changes.)
        async with asyncio.timeout(10):
            while viewer_b.latest.get("presence", {}).get("data", {}).get("online") != 2:
                await viewer_b.recv_type("presence", timeout=10)
        for peer in (control, viewer_a, viewer_b):
            await peer.ws.close()


async def test_seq_survives_a_server_restart_and_resume_replays_what_was_missed() -> None:
    """Kill the only server, change state while it is down, start a new one: the stream goes on."""
    world = await database_sync_to_async(make_world)(status="live")
    hid = world.hearing.pk
    for n in range(8):  # questions on the floor: the snapshot outweighs the two events to replay
        q = await database_sync_to_async(services.question_submit)(
            hearing_id=hid, text=f"第{n}个问题：" + "营商环境怎么改善？" * 10, source="public"
        )
        await database_sync_to_async(services.question_approve)(hearing_id=hid, question_id=q.pk, by=None)
    with daphne_servers(1) as (port,):
        viewer = await connect(port, f"/ws/hearings/{hid}/public/")
        await database_sync_to_async(services.agenda_start)(hearing_id=hid, item_id=world.items[0].pk, by=None)
        last_seen = (await viewer.recv_type("agenda.current"))["seq"]
        await viewer.ws.close()
    # Down: two more state changes happen (e.g. from the admin or a command).
    for item in world.items[1:3]:
        await database_sync_to_async(services.agenda_start)(hearing_id=hid, item_id=item.pk, by=None)
    with daphne_servers(1) as (port,):
        viewer = await connect(port, f"/ws/hearings/{hid}/public/")
        assert viewer.snapshot["seq"] == last_seen + 2
        await viewer.ws.send(json.dumps({"action": "resume", "id": "r", "seq": last_seen}))
        replayed = [await viewer.recv_type("agenda.current") for _ in range(2)]
        assert [f["seq"] for f in replayed] == [last_seen + 1, last_seen + 2]
        assert [f["data"]["item"] for f in replayed] == [world.items[1].pk, world.items[2].pk]
        assert (await viewer.recv_type("ack"))["id"] == "r"
        await viewer.ws.close()


async def closed_with(peer: Peer, timeout: float = 5) -> int | None:
    """The close code the server sent (bounded), skipping frames still on their way."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                await peer.ws.recv()
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None


async def test_logout_closes_that_sessions_sockets_on_every_process() -> None:
    """The logout happens in a third process (here, the test's): both servers close that
    session's sockets at once; the same moderator's other login keeps its socket."""
    world = await database_sync_to_async(make_world)(status="live")
    hid = world.hearing.pk

    def login() -> tuple[Client, str]:
        client = Client()
        client.force_login(world.moderator)
        return client, f"sessionid={client.cookies['sessionid'].value}"

    browser, cookie = await database_sync_to_async(login)()
    _, other_cookie = await database_sync_to_async(login)()
    with daphne_servers(2) as (port_a, port_b):
        on_a = await connect(port_a, f"/ws/hearings/{hid}/control/", cookie)
        on_b = await connect(port_b, f"/ws/hearings/{hid}/control/", cookie)
        other = await connect(port_b, f"/ws/hearings/{hid}/control/", other_cookie)
        response = await database_sync_to_async(browser.post)("/accounts/logout/", secure=True)
        assert response.status_code == 302
        # Well within the periodic check's 5 s: the logout itself closed them.
        assert await closed_with(on_a, timeout=3) == 4403
        assert await closed_with(on_b, timeout=3) == 4403
        assert (await other.action("ping"))["type"] == "ack"
        await other.ws.close()
