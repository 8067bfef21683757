"""Two races between sockets arriving and the last socket of a hearing leaving a process,
reproduced by pausing a connect (or a leave) at the exact await where the other side runs.

Every wait here is bounded and on a condition, and what a failing test leaves open is closed
within seconds (tests/live/conftest.py): a failure reports at once, not at the run's timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from hearings import services
from live.publish import group_name
from realtime.consumers import LiveConsumer
from realtime.hub import Hub, get_hub
from tests.factories import World, make_world
from tests.live.helpers import open_socket, public_path
from tests.waiting import wait_until

# The backstop: even a consumer stuck where no timeout reaches fails the test in 30 s.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]

db = database_sync_to_async


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


async def test_a_socket_connecting_while_the_room_is_dropped_joins_the_new_room(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await open_socket(public_path(live.hearing.pk))
    hub = get_hub()
    old_room = hub.rooms[live.hearing.pk]
    original = LiveConsumer.send_snapshot
    dropped = asyncio.Event()

    async def snapshot_then_lose_the_room(self: LiveConsumer) -> None:
        await original(self)
        if not dropped.is_set():
            # The only other socket leaves while this one has its snapshot but is not attached.
            await first.comm.disconnect(timeout=10)  # returns once its leave is done
            await wait_until(lambda: old_room.closed, 3, what="the old room dropped")
            dropped.set()

    monkeypatch.setattr(LiveConsumer, "send_snapshot", snapshot_then_lose_the_room)
    second = await open_socket(public_path(live.hearing.pk))
    await asyncio.wait_for(dropped.wait(), 3)
    assert old_room.closed

    def attached_to_a_new_room() -> bool:
        room = hub.rooms.get(live.hearing.pk)
        return room is not None and room is not old_room and room.size == 1

    await wait_until(attached_to_a_new_room, 3, what="the newcomer attached to the hearing's new room")
    # The newcomer gets what happens next, through the new room.
    item = live.items[1]
    await db(services.agenda_start)(hearing_id=live.hearing.pk, item_id=item.pk, by=None)
    frame = await second.recv_type("agenda.current")
    assert frame["data"]["item"] == item.pk
    await second.close()


async def test_a_leave_still_finishing_keeps_the_new_rooms_subscription(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await open_socket(public_path(live.hearing.pk))
    hub = get_hub()
    assert hub.layer is not None and hub.channel is not None
    arrived: list[Any] = []
    original = Hub.hub_presence_clear

    async def clear_while_a_socket_arrives(self: Hub, hearing_id: int) -> None:
        # The room is gone from the hub; a socket arrives and makes a new one before the leave
        # gets to unsubscribe.
        arrived.append(await open_socket(public_path(live.hearing.pk)))
        await original(self, hearing_id)

    monkeypatch.setattr(Hub, "hub_presence_clear", clear_while_a_socket_arrives)
    # Returns once the first socket's leave is done (the newcomer arrived within it); a generous
    # bound, as a shorter one would cancel the leave halfway under load.
    await first.comm.disconnect(timeout=10)
    monkeypatch.undo()
    assert len(arrived) == 1 and arrived[0].connected
    room = hub.rooms.get(live.hearing.pk)
    assert room is not None and room.size == 1
    second = arrived[0]
    if isinstance(hub.layer, InMemoryChannelLayer):  # Redis keeps its groups server-side
        assert hub.channel in hub.layer.groups.get(group_name(live.hearing.pk), {})
    # The event comes through the channel layer at once, not from the history: that safety net
    # fills only once the database has been ahead for two ticks (at least 0.5 s).
    item = live.items[1]
    await db(services.agenda_start)(hearing_id=live.hearing.pk, item_id=item.pk, by=None)
    frame = await second.recv_type("agenda.current", timeout=0.4)
    assert frame["data"]["item"] == item.pk
    await second.close()
