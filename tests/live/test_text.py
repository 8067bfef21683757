"""Client text on the socket: every text field of every action is cleaned by core.text (a
refusal is `bad_request` and changes nothing; bidi controls are removed)."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import services
from hearings.models import Hearing, Question
from tests.factories import World, make_world
from tests.live.helpers import Socket, control_path, deputy_path, open_socket, public_path, viewer_cookie
from tests.text_cases import GOOD, REFUSED, REFUSED_ONE_LINE, WITH_BIDI
from voting.models import Poll

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


def state(hearing_id: int) -> Any:
    hearing = Hearing.objects.get(pk=hearing_id)
    return (
        list(
            Question.objects.filter(hearing_id=hearing_id)
            .order_by("id")
            .values_list("id", "text", "asker_name", "status", "answer_note", "commitment")
        ),
        list(Poll.objects.filter(hearing_id=hearing_id).order_by("id").values_list("id", "title", "status")),
        (hearing.public_seq, hearing.control_seq),
    )


async def refused_everywhere(sock: Socket, hearing_id: int, cases: dict[str, str], **frame: Any) -> None:
    """Send the action once per refused text (in the field named by the "{}" value) and check
    each is a bad_request that changed nothing."""
    field = next(name for name, value in frame.items() if value == "{}")
    for case, text in cases.items():
        before = await db(state)(hearing_id)
        reply = await sock.action(**{**frame, field: text})
        assert (reply["type"], reply.get("code")) == ("error", "bad_request"), (case, reply)
        assert reply["message"].startswith(f"{field}: "), (case, reply)
        assert await db(state)(hearing_id) == before, case


async def approved(world: World, text: str = "原来的问题") -> Question:
    q = await db(services.question_submit)(hearing_id=world.hearing.pk, text=text, source="public")
    return await db(services.question_approve)(hearing_id=world.hearing.pk, question_id=q.pk, by=None)


async def test_ask_text_and_name(live: World) -> None:
    hid = live.hearing.pk
    deputy = await open_socket(deputy_path(hid), user=live.deputies[0])
    public = await open_socket(public_path(hid), cookies=viewer_cookie("v-text"))
    await refused_everywhere(deputy, hid, REFUSED, action="ask", text="{}")
    await refused_everywhere(public, hid, REFUSED_ONE_LINE, action="ask", text="问题", name="{}")
    ack = await deputy.action("ask", text=f"  {GOOD}\r\n第二行 ")
    assert (await db(Question.objects.get)(pk=ack["question"])).text == f"{GOOD}\n第二行"
    ack = await public.action("ask", text=WITH_BIDI[0], name="张\u202e三")
    stored = await db(Question.objects.get)(pk=ack["question"])
    assert (stored.text, stored.asker_name) == (WITH_BIDI[1], "张三")
    await deputy.close()
    await public.close()


async def test_question_edit_and_answered(live: World) -> None:
    hid = live.hearing.pk
    question = await approved(live)
    control = await open_socket(control_path(hid), user=live.moderator)
    await refused_everywhere(control, hid, REFUSED, action="question.edit", question=question.pk, text="{}")
    await refused_everywhere(control, hid, REFUSED, action="question.answered", question=question.pk, note="{}")
    await refused_everywhere(control, hid, REFUSED, action="question.answered", question=question.pk, commitment="{}")
    assert (await control.action("question.edit", question=question.pk, text=WITH_BIDI[0]))["type"] == "ack"
    reply = await control.action("question.answered", question=question.pk, note=GOOD, commitment=WITH_BIDI[0])
    assert reply["type"] == "ack"
    stored = await db(Question.objects.get)(pk=question.pk)
    assert (stored.text, stored.answer_note, stored.commitment) == (WITH_BIDI[1], GOOD, WITH_BIDI[1])
    await control.close()


async def test_poll_title(live: World) -> None:
    hid = live.hearing.pk
    control = await open_socket(control_path(hid), user=live.moderator)
    item = live.items[1].pk
    await refused_everywhere(control, hid, REFUSED_ONE_LINE, action="poll.open", item=item, title="{}")
    assert (await control.action("poll.open", item=item, title=WITH_BIDI[0]))["type"] == "ack"
    assert (await db(Poll.objects.get)(hearing_id=hid)).title == WITH_BIDI[1]
    await control.close()
