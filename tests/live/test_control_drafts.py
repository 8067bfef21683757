"""The control socket opens a poll the office prepared: `poll.open` with `draft`."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.console.test_control_drafts import prepare_sheet
from tests.factories import make_world
from tests.live.helpers import control_path, open_socket


@pytest.mark.django_db(transaction=True)
async def test_the_control_socket_opens_a_draft() -> None:
    w = await database_sync_to_async(make_world)(status="live")
    draft = await database_sync_to_async(prepare_sheet)(w)
    control = await open_socket(control_path(w.hearing.pk), user=w.moderator)
    try:
        assert (await control.action("poll.open", draft=draft.pk))["code"] == "not_found"  # it has no item
        assert (await control.action("poll.open"))["code"] == "bad_request"
        ack = await control.action("poll.open", draft=draft.pk, item=w.items[2].pk)
        assert ack["type"] == "ack" and ack["poll"] == draft.pk
        opened = next((f for f in control.seen if f["type"] == "poll.opened"), None) or await control.recv_type(
            "poll.opened"
        )
        assert opened["data"]["poll"]["kind"] == "sheet" and opened["data"]["poll"]["item"] == w.items[2].pk
        assert (await control.action("poll.open", draft=draft.pk))["code"] == "invalid_state"
    finally:
        await control.close()
