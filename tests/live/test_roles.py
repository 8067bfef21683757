"""A deputy's or moderator's socket lives only as long as the role: removed from the hearing (or
the account deactivated) mid-session, the socket is closed with 4403 and receives nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import services
from tests.factories import World, make_world
from tests.live.helpers import control_path, deputy_path, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture(autouse=True)
def _quick_role_checks(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 0.1}


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


async def closed_with(sock: Any, timeout: float = 3) -> int:
    """The close code, skipping any frames still on their way."""
    while True:
        output = await sock.comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def test_moderator_removed_is_closed_and_sees_no_more_pending_questions(live: World) -> None:
    sock = await open_socket(control_path(live.hearing.pk), user=live.moderator)
    await db(live.hearing.moderators.remove)(live.moderator)
    assert await closed_with(sock) == 4403
    # What the public submits now (pending, never public) does not reach the removed moderator.
    await db(services.question_submit)(hearing_id=live.hearing.pk, text="待审核：不应送达", source="public")
    assert await sock.comm.receive_nothing(timeout=0.5)


async def test_deputy_removed_is_closed(live: World) -> None:
    sock = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    await db(live.hearing.deputies.remove)(live.deputies[0])
    assert await closed_with(sock) == 4403


async def test_deactivated_account_is_closed(live: World) -> None:
    sock = await open_socket(control_path(live.hearing.pk), user=live.moderator)
    live.moderator.is_active = False
    await db(live.moderator.save)()
    assert await closed_with(sock) == 4403


async def test_roles_still_held_keep_their_sockets(live: World) -> None:
    control = await open_socket(control_path(live.hearing.pk), user=live.moderator)
    deputy = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    # Another user's removal changes nothing for these two.
    await db(live.hearing.deputies.remove)(live.deputies[1])
    await control.nothing(timeout=0.5)
    await deputy.nothing(timeout=0.5)
    assert (await control.action("ping"))["type"] == "ack"
    assert (await deputy.action("ping"))["type"] == "ack"
    await control.close()
    await deputy.close()
