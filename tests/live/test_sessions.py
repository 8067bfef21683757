"""A deputy's or moderator's socket lives only as long as its login session: logging out closes
it at once (4403), a session that ends otherwise closes it at the next periodic check, and the
same user's other sessions keep theirs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from hearings.models import Hearing
from tests.factories import World, make_world
from tests.live.helpers import Socket, control_path, deputy_path, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


def login(user: Any) -> tuple[Client, str]:
    """A browser logged in as `user`: its client and its session key."""
    client = Client()
    client.force_login(user)
    return client, client.cookies["sessionid"].value


async def closed_with(sock: Socket, timeout: float = 3) -> int:
    """The close code, skipping any frames still on their way (bounded)."""
    while True:
        output = await sock.comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def test_logout_closes_that_sessions_sockets_at_once_and_nothing_more_happens(live: World, settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 3600}  # only the logout can close it
    hid = live.hearing.pk
    browser, key = await db(login)(live.moderator)
    control = await open_socket(control_path(hid), cookies=f"sessionid={key}")
    _, other_key = await db(login)(live.moderator)  # the same moderator on another device
    other = await open_socket(control_path(hid), cookies=f"sessionid={other_key}")
    deputy_browser, deputy_key = await db(login)(live.deputies[0])
    deputy = await open_socket(deputy_path(hid), cookies=f"sessionid={deputy_key}")

    response = await db(browser.post)("/accounts/logout/", secure=True)
    assert response.status_code == 302
    assert await closed_with(control) == 4403
    # A frame still sent on it does nothing (the socket is closed for it; the client may not
    # have noticed yet).
    before = await db(Hearing.objects.values_list("status", "control_seq").get)(pk=hid)
    await control.comm.send_to(text_data=json.dumps({"action": "hearing.end", "id": "late"}))
    assert await control.comm.receive_nothing(timeout=0.5)
    assert await db(Hearing.objects.values_list("status", "control_seq").get)(pk=hid) == before

    # The moderator's other login and everyone else keep their sockets.
    assert (await other.action("ping"))["type"] == "ack"
    assert (await deputy.action("ping"))["type"] == "ack"
    assert (await db(deputy_browser.post)("/accounts/logout/", secure=True)).status_code == 302
    assert await closed_with(deputy) == 4403
    assert (await other.action("ping"))["type"] == "ack"


async def test_a_session_ended_behind_the_sockets_back_closes_it_at_the_next_check(live: World, settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 0.1}
    hid = live.hearing.pk
    _, key = await db(login)(live.moderator)
    _, kept_key = await db(login)(live.deputies[0])
    control = await open_socket(control_path(hid), cookies=f"sessionid={key}")
    kept = await open_socket(deputy_path(hid), cookies=f"sessionid={kept_key}")
    # Deleted by an administrator, or `clearsessions` after it expired: no logout signal.
    await db(Session.objects.filter(session_key=key).delete)()
    assert await closed_with(control) == 4403
    await kept.nothing(timeout=0.5)  # several checks passed: a live session keeps its socket
    assert (await kept.action("ping"))["type"] == "ack"


async def test_a_password_change_elsewhere_ends_the_other_sessions_sockets(live: World, settings: Any) -> None:
    """Django ends a user's other sessions when the password changes; their sockets end too."""
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 0.1}
    _, key = await db(login)(live.moderator)
    control = await open_socket(control_path(live.hearing.pk), cookies=f"sessionid={key}")
    live.moderator.set_password("a-new-password-123")
    await db(live.moderator.save)()
    assert await closed_with(control) == 4403
