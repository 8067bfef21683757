"""A collected question on the sockets (tests/test_attacks_collect.py searches the rest): the
control socket gets it as a pending `question.new` with its category and no contact; the public
socket gets nothing until a moderator approves it, then its text and category, never the contact."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from hearings import services
from tests.factories import World, make_world
from tests.hearings.collect_helpers import fresh_limit_window, open_window, viewer
from tests.live.helpers import control_path, deputy_path, open_socket, public_path

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["fresh_limit_window"]

db = database_sync_to_async
PHONE = "13600001111"
EMAIL = "ask.me@example.org"


@pytest.fixture
async def live() -> World:
    world = await db(make_world)(status="live")
    await db(open_window)(world.hearing)
    return world


async def test_the_sockets_carry_a_collected_question_without_its_contact(live: World) -> None:
    h = live.hearing.pk
    public = await open_socket(public_path(h))
    deputy = await open_socket(deputy_path(h), user=live.deputies[0])
    control = await open_socket(control_path(h), user=live.moderator)
    q = await db(services.question_collect)(
        hearing_id=h, text="征集来的问题", category="教育", contact=PHONE, viewer=viewer()
    )
    await db(services.question_collect)(hearing_id=h, text="另一个", category="教育", contact=EMAIL, viewer=viewer())
    new = await control.recv_type("question.new")
    assert new["data"]["question"]["source"] == "collected"
    assert new["data"]["question"]["status"] == "pending" and new["data"]["question"]["category"] == "教育"
    assert await public.nothing(timeout=0.3)
    await db(services.question_approve)(hearing_id=h, question_id=q.pk, by=None)
    seen = [await public.recv_type("question.new"), await deputy.recv_type("question.new")]
    assert [frame["data"]["question"]["text"] for frame in seen] == ["征集来的问题"] * 2
    again = await control.recv_type("question.new")
    frames = [public.snapshot, deputy.snapshot, control.snapshot, new, again, *seen]
    for sock in (public, deputy, control):
        await sock.action("resume", seq=0)
        frames += sock.seen
    for frame in frames:
        text = json.dumps(frame, ensure_ascii=False)
        assert PHONE not in text and EMAIL not in text and "contact" not in text
    for sock in (public, deputy, control):
        await sock.close()
