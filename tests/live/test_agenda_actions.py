"""The control socket's agenda actions (PROTOCOL.md "Agenda editing"): each acks, and every
socket of the hearing (control, public, deputy) receives exactly one `agenda.updated` with the
whole agenda in order, as a fresh read has it. A refusal or a change to nothing new sends none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import selectors, services
from hearings.models import AgendaItem
from tests.factories import World, make_world
from tests.live.helpers import Socket, control_path, deputy_path, open_socket, public_path

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def _agenda(hearing_id: int) -> list[dict[str, Any]]:
    return [item.model_dump() for item in selectors.agenda_out(hearing_id)]


async def _sockets(world: World) -> tuple[Socket, Socket, Socket]:
    hid = world.hearing.pk
    control = await open_socket(control_path(hid), user=world.moderator)
    public = await open_socket(public_path(hid))
    deputy = await open_socket(deputy_path(hid), user=world.deputies[0])
    return control, public, deputy


async def _exactly_one_update(sock: Socket, already: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    frames = [f for f in (already or []) if f["type"] == "agenda.updated"]
    if not frames:
        frames.append(await sock.recv_type("agenda.updated"))
    assert len(frames) == 1
    assert await sock.nothing()
    return frames[0]


# (action, its fields from the world, what the agenda's titles become from the original order)
ACTIONS: dict[str, tuple[Callable[[World], dict[str, Any]], Callable[[list[str]], list[str]]]] = {
    "agenda.add": (
        lambda w: {"title": "新增议程", "kind": "evaluation", "department": w.departments[1].pk, "minutes": 9},
        lambda t: [*t, "新增议程"],
    ),
    "agenda.add after": (
        lambda w: {"title": "插入议程", "after": w.items[0].pk},
        lambda t: [t[0], "插入议程", *t[1:]],
    ),
    "agenda.edit": (
        lambda w: {"item": w.items[2].pk, "title": "改过的标题", "minutes": 45, "department": None},
        lambda t: [t[0], t[1], "改过的标题", t[3]],
    ),
    "agenda.move": (
        lambda w: {"item": w.items[3].pk, "position": 2},
        lambda t: [t[0], t[3], t[1], t[2]],
    ),
    "agenda.remove": (
        lambda w: {"item": w.items[1].pk},
        lambda t: [t[0], t[2], t[3]],
    ),
}


@pytest.mark.parametrize("status", ["draft", "live"])
@pytest.mark.parametrize("case", list(ACTIONS))
async def test_each_action_acks_and_every_socket_gets_one_agenda_updated(case: str, status: str) -> None:
    world = await db(make_world)(status=status)
    hid = world.hearing.pk
    titles = [item.title for item in world.items]
    fields, expect = ACTIONS[case]
    control, public, deputy = await _sockets(world)

    reply = await control.action(case.split()[0], **fields(world))
    fresh = await db(_agenda)(hid)
    if case.startswith("agenda.add"):  # the new item's id, as poll.open's ack carries the poll's
        (added,) = [item["id"] for item in fresh if item["title"] in ("新增议程", "插入议程")]
        assert reply == {"type": "ack", "id": reply["id"], "item": added}
    else:
        assert reply == {"type": "ack", "id": reply["id"]}

    assert [item["title"] for item in fresh] == expect(titles)
    assert [item["position"] for item in fresh] == list(range(1, len(fresh) + 1))
    seqs = []
    for sock, already in ((control, control.seen), (public, None), (deputy, None)):
        frame = await _exactly_one_update(sock, already)
        assert frame["data"] == {"agenda": fresh}
        seqs.append(frame["seq"])
    assert seqs[0] == control.snapshot["seq"] + 1
    assert seqs[1] == seqs[2] == public.snapshot["seq"] + 1
    for sock in (control, public, deputy):
        await sock.close()


async def test_an_edited_item_keeps_a_department_the_frame_leaves_out() -> None:
    world = await db(make_world)()
    control = await open_socket(control_path(world.hearing.pk), user=world.moderator)
    item = world.items[1]
    assert (await control.action("agenda.edit", item=item.pk, title="只改标题"))["type"] == "ack"
    stored = await db(AgendaItem.objects.get)(pk=item.pk)
    assert (stored.title, stored.department_id) == ("只改标题", world.departments[0].pk)
    assert (await control.action("agenda.edit", item=item.pk, department=None))["type"] == "ack"
    stored = await db(AgendaItem.objects.get)(pk=item.pk)
    assert (stored.title, stored.department_id) == ("只改标题", None)
    await control.close()


@pytest.mark.parametrize(
    ("action", "fields", "code"),
    [
        ("agenda.add", lambda w: {"title": ""}, "bad_request"),
        ("agenda.add", lambda w: {"title": "x", "minutes": 601}, "bad_request"),
        ("agenda.add", lambda w: {"title": "x", "department": 10**9}, "not_found"),
        ("agenda.add", lambda w: {"title": "x", "after": 10**9}, "not_found"),
        ("agenda.edit", lambda w: {"item": w.items[1].pk, "kind": "party"}, "bad_request"),
        ("agenda.edit", lambda w: {"item": 10**9, "title": "x"}, "not_found"),
        ("agenda.move", lambda w: {"item": w.items[1].pk, "position": 9}, "bad_request"),
        ("agenda.move", lambda w: {"item": w.items[1].pk}, "bad_request"),
        ("agenda.remove", lambda w: {"item": w.items[0].pk}, "invalid_state"),  # current
        ("agenda.remove", lambda w: {"item": "1"}, "bad_request"),
    ],
)
async def test_a_refused_action_sends_no_event(
    action: str, fields: Callable[[World], dict[str, Any]], code: str
) -> None:
    world = await db(make_world)(status="live")
    await db(services.agenda_start)(hearing_id=world.hearing.pk, item_id=world.items[0].pk, by=None)
    before = await db(_agenda)(world.hearing.pk)
    control, public, deputy = await _sockets(world)
    reply = await control.action(action, **fields(world))
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    for sock in (control, public, deputy):
        assert await sock.nothing()
        await sock.close()
    assert await db(_agenda)(world.hearing.pk) == before


async def test_an_ended_hearings_agenda_is_refused_on_the_socket() -> None:
    world = await db(make_world)(status="ended")
    control = await open_socket(control_path(world.hearing.pk), user=world.moderator)
    reply = await control.action("agenda.add", title="会后补充")
    assert reply["code"] == "invalid_state"
    assert await control.nothing()
    await control.close()


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("agenda.move", lambda w: {"item": w.items[1].pk, "position": 2}),
        ("agenda.edit", lambda w: {"item": w.items[1].pk, "title": w.items[1].title}),
    ],
)
async def test_a_change_to_nothing_new_acks_and_sends_nothing(
    action: str, fields: Callable[[World], dict[str, Any]]
) -> None:
    world = await db(make_world)(status="live")
    control, public, deputy = await _sockets(world)
    reply = await control.action(action, **fields(world))
    assert reply["type"] == "ack"
    assert not [f for f in control.seen if f["type"] == "agenda.updated"]
    for sock in (control, public, deputy):
        assert await sock.nothing()
        await sock.close()


@pytest.mark.parametrize("endpoint", ["public", "deputy"])
async def test_the_agenda_actions_are_the_control_sockets_only(endpoint: str) -> None:
    world = await db(make_world)()
    path, user = {
        "public": (public_path(world.hearing.pk), None),
        "deputy": (deputy_path(world.hearing.pk), world.deputies[0]),
    }[endpoint]
    sock = await open_socket(path, user=user)
    for action, fields in (
        ("agenda.add", {"title": "x"}),
        ("agenda.edit", {"item": world.items[1].pk, "title": "x"}),
        ("agenda.move", {"item": world.items[1].pk, "position": 1}),
        ("agenda.remove", {"item": world.items[1].pk}),
    ):
        reply = await sock.action(action, **fields)
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    await sock.close()
    assert [item.title for item in await db(list)(AgendaItem.objects.filter(hearing=world.hearing))] == [
        item.title for item in world.items
    ]
