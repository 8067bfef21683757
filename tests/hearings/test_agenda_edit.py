"""Editing the agenda (hearings/services/agenda.py): add, edit, move, remove.

Every change leaves positions 1..n in the agenda's order, writes one audit entry and publishes
one `agenda.updated` (public and control) carrying the whole agenda as a fresh read gives it.
A refusal changes nothing (rows, sequences, audit chain) and publishes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEntry
from core import limits
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings import selectors, services
from hearings.models import AgendaItem, Hearing, Person, Question
from live.models import LiveEvent
from tests.conftest import Published
from tests.factories import World, make_department, make_user, make_world
from voting import services as voting_services

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def person(role: str) -> Any:
    user = make_user()
    Person.objects.create(user=user, name=f"{role}-{user.pk}", role=role)
    return user


def db_state() -> dict[str, Any]:
    return {
        "hearings": list(Hearing.objects.order_by("pk").values()),
        "agenda": list(AgendaItem.objects.order_by("pk").values()),
        "events": list(LiveEvent.objects.order_by("pk").values_list("hearing_id", "stream", "seq", "type")),
        "audit": AuditEntry.objects.count(),
    }


def assert_refused(published: Published, error: type[DomainError], call: Callable[[], object]) -> DomainError:
    before = db_state()
    seen = len(published)
    with pytest.raises(DomainError) as info:
        call()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert db_state() == before
    assert published[seen:] == []
    return info.value


def titles(hearing_id: int) -> list[str]:
    return list(AgendaItem.objects.filter(hearing_id=hearing_id).order_by("position").values_list("title", flat=True))


def positions(hearing_id: int) -> list[int]:
    return list(
        AgendaItem.objects.filter(hearing_id=hearing_id).order_by("position").values_list("position", flat=True)
    )


def assert_contiguous(hearing_id: int) -> None:
    assert positions(hearing_id) == list(range(1, AgendaItem.objects.filter(hearing_id=hearing_id).count() + 1))


def assert_one_update(published: Published, start: int, hearing_id: int) -> None:
    """Exactly one publish since `start`: agenda.updated to both audiences, with the agenda as read now."""
    assert [(c, p) for (_, c, p, _) in published[start:]] == [("agenda.updated", "agenda.updated")]
    hid, _, _, frame = published[start]
    assert hid == hearing_id
    sent = json.loads(frame)["data"]["agenda"]
    assert sent == [item.model_dump() for item in selectors.agenda_out(hearing_id)]


def last_audit(action: str) -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == action
    return entry


# --------------------------------------------------------------------------- add


@pytest.mark.parametrize("status", ["draft", "live"])
def test_add_appends_by_default(status: str, published: Published) -> None:
    w = make_world(status=status)
    hid = w.hearing.pk
    dept = w.departments[0]
    item = services.agenda_add(
        hearing_id=hid, by=w.moderator, title="  问政县住建局  ", kind="questioning", department_id=dept.pk, minutes=25
    )
    item.refresh_from_db()
    assert (item.title, item.kind, item.department_id, item.planned_minutes) == (
        "问政县住建局",
        "questioning",
        dept.pk,
        25,
    )
    assert (item.position, item.status, item.started_at) == (5, "pending", None)
    assert_contiguous(hid)
    assert_one_update(published, 0, hid)
    entry = last_audit("agenda.add")
    assert entry.subject == f"hearings.agendaitem:{item.pk}"
    assert entry.payload["position"] == 5 and entry.payload["title"] == "问政县住建局"


def test_add_takes_the_models_defaults(world: World, published: Published) -> None:
    item = services.agenda_add(hearing_id=world.hearing.pk, by=world.moderator, title="休会")
    assert (item.kind, item.department_id, item.planned_minutes) == ("questioning", None, 15)


@pytest.mark.parametrize(("after", "expected_at"), [(0, 2), (1, 3), (3, 5)])
def test_add_after_an_item(world: World, published: Published, after: int, expected_at: int) -> None:
    hid = world.hearing.pk
    before = titles(hid)
    item = services.agenda_add(hearing_id=hid, by=world.moderator, title="新增", after_id=world.items[after].pk)
    assert AgendaItem.objects.get(pk=item.pk).position == expected_at == item.position
    assert titles(hid) == [*before[: expected_at - 1], "新增", *before[expected_at - 1 :]]
    assert_contiguous(hid)
    assert_one_update(published, 0, hid)


def test_add_after_the_current_item_of_a_live_hearing(live_world: World, published: Published) -> None:
    w = live_world
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    start = len(published)
    services.agenda_add(hearing_id=w.hearing.pk, by=w.moderator, title="临时增加", after_id=w.items[1].pk)
    assert titles(w.hearing.pk)[2] == "临时增加"
    assert AgendaItem.objects.get(pk=w.items[1].pk).status == "current"  # untouched
    assert_one_update(published, start, w.hearing.pk)


def test_add_to_an_empty_agenda(published: Published) -> None:
    w = make_world()
    AgendaItem.objects.filter(hearing=w.hearing).delete()
    item = services.agenda_add(hearing_id=w.hearing.pk, by=w.moderator, title="第一项")
    assert item.position == 1
    assert_one_update(published, 0, w.hearing.pk)


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"title": ""}, BadRequest, "请填写标题。"),
        ({"title": "   "}, BadRequest, "请填写标题。"),
        ({"title": "\u200b"}, BadRequest, "标题没有可见的文字。"),
        ({"title": "两行\n标题"}, BadRequest, "标题只能填写一行。"),
        ({"title": "控制\x00字符"}, BadRequest, "标题不能包含控制字符。"),
        ({"title": "长" * (limits.AGENDA_TITLE + 1)}, BadRequest, f"标题最多 {limits.AGENDA_TITLE} 字。"),
        ({"minutes": 0}, BadRequest, f"计划时长应为 1 到 {limits.AGENDA_MINUTES} 分钟。"),
        ({"minutes": limits.AGENDA_MINUTES + 1}, BadRequest, f"计划时长应为 1 到 {limits.AGENDA_MINUTES} 分钟。"),
        ({"minutes": -5}, BadRequest, f"计划时长应为 1 到 {limits.AGENDA_MINUTES} 分钟。"),
        ({"kind": "party"}, BadRequest, "没有这种议程类型。"),
        ({"department_id": 10**9}, NotFound, "没有这个部门。"),
        ({"after_id": 10**9}, NotFound, "本场问政会没有这项议程。"),
    ],
)
def test_add_refuses_bad_input(
    world: World, published: Published, fields: dict[str, Any], error: type[DomainError], message: str
) -> None:
    call = {"title": "议程", **fields}
    refused = assert_refused(
        published, error, lambda: services.agenda_add(hearing_id=world.hearing.pk, by=world.moderator, **call)
    )
    assert refused.message.replace(",", "") == message


def test_add_refuses_an_item_of_another_hearing_as_after(world: World, published: Published) -> None:
    other = make_world()
    assert_refused(
        published,
        NotFound,
        lambda: services.agenda_add(
            hearing_id=world.hearing.pk, by=world.moderator, title="x", after_id=other.items[0].pk
        ),
    )


def test_add_refuses_past_the_agendas_limit(
    world: World, published: Published, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "AGENDA_ITEMS", 4)
    refused = assert_refused(
        published, InvalidState, lambda: services.agenda_add(hearing_id=world.hearing.pk, by=world.moderator, title="x")
    )
    assert refused.message == "议程最多 4 项。"


# --------------------------------------------------------------------------- who and when


def _every_change(w: World) -> dict[str, Callable[[Any], object]]:
    hid, item = w.hearing.pk, w.items[3]
    return {
        "add": lambda by: services.agenda_add(hearing_id=hid, by=by, title="新增"),
        "edit": lambda by: services.agenda_edit(hearing_id=hid, item_id=item.pk, by=by, title="改名"),
        "move": lambda by: services.agenda_move(hearing_id=hid, item_id=item.pk, by=by, position=1),
        "remove": lambda by: services.agenda_remove(hearing_id=hid, item_id=item.pk, by=by),
    }


CHANGES = ["add", "edit", "move", "remove"]


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", ["anonymous-ish", "deputy", "liaison", "other moderator", "moderator person"])
def test_only_the_hearings_moderators_and_staff_edit_the_agenda(
    world: World, published: Published, change: str, who: str
) -> None:
    users = {
        "anonymous-ish": make_user(),
        "deputy": world.deputies[0],
        "liaison": person("liaison"),
        "other moderator": world.other_moderator,
        "moderator person": person("moderator"),  # a moderator by role, not of this hearing
    }
    Person.objects.create(user=world.deputies[0], name="代表", role="deputy")
    call = _every_change(world)[change]
    assert_refused(published, Forbidden, lambda: call(users[who]))


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("who", ["moderator", "staff", "superuser", "system"])
def test_the_hearings_moderator_staff_and_the_system_may(
    world: World, published: Published, change: str, who: str
) -> None:
    users = {
        "moderator": world.moderator,
        "staff": person("staff"),
        "superuser": make_user(is_superuser=True),
        "system": None,
    }
    by = users[who]
    _every_change(world)[change](by)
    assert_contiguous(world.hearing.pk)
    assert_one_update(published, 0, world.hearing.pk)
    entry = last_audit(f"agenda.{change}")
    assert entry.actor_id == (by.pk if by is not None else None)


def test_an_inactive_staff_member_may_not(world: World, published: Published) -> None:
    staff = person("staff")
    staff.is_active = False
    staff.save()
    assert_refused(published, Forbidden, lambda: _every_change(world)["add"](staff))


@pytest.mark.parametrize("change", CHANGES)
def test_an_ended_hearings_agenda_is_not_edited(published: Published, change: str) -> None:
    w = make_world(status="ended")
    refused = assert_refused(published, InvalidState, lambda: _every_change(w)[change](w.moderator))
    assert refused.message == "问政会已结束，议程不能再修改。"


@pytest.mark.parametrize("change", CHANGES)
def test_a_missing_hearing_is_not_found(world: World, published: Published, change: str) -> None:
    calls = {
        "add": lambda: services.agenda_add(hearing_id=10**9, by=None, title="x"),
        "edit": lambda: services.agenda_edit(hearing_id=10**9, item_id=world.items[0].pk, by=None, title="x"),
        "move": lambda: services.agenda_move(hearing_id=10**9, item_id=world.items[0].pk, by=None, position=1),
        "remove": lambda: services.agenda_remove(hearing_id=10**9, item_id=world.items[0].pk, by=None),
    }
    assert_refused(published, NotFound, calls[change])


@pytest.mark.parametrize("change", ["edit", "move", "remove"])
def test_an_item_of_another_hearing_is_not_found(world: World, published: Published, change: str) -> None:
    other = make_world()
    hid, item = world.hearing.pk, other.items[3].pk
    calls = {
        "edit": lambda: services.agenda_edit(hearing_id=hid, item_id=item, by=world.moderator, title="x"),
        "move": lambda: services.agenda_move(hearing_id=hid, item_id=item, by=world.moderator, position=1),
        "remove": lambda: services.agenda_remove(hearing_id=hid, item_id=item, by=world.moderator),
    }
    assert_refused(published, NotFound, calls[change])


# --------------------------------------------------------------------------- edit


def test_edit_changes_what_it_is_given_and_keeps_the_rest(world: World, published: Published) -> None:
    hid, item = world.hearing.pk, world.items[1]
    old_title = item.title
    new_dept = make_department()
    services.agenda_edit(
        hearing_id=hid, item_id=item.pk, by=world.moderator, title=" 新标题 ", department_id=new_dept.pk
    )
    item.refresh_from_db()
    assert (item.title, item.department_id, item.planned_minutes, item.kind) == (
        "新标题",
        new_dept.pk,
        15,
        "questioning",
    )
    assert_one_update(published, 0, hid)
    entry = last_audit("agenda.edit")
    assert entry.payload["after"] == {"title": "新标题", "department_id": new_dept.pk}
    assert entry.payload["before"] == {"title": old_title, "department_id": world.departments[0].pk}

    start = len(published)
    services.agenda_edit(hearing_id=hid, item_id=item.pk, by=world.moderator, minutes=40, kind="evaluation")
    item.refresh_from_db()
    assert (item.title, item.planned_minutes, item.kind) == ("新标题", 40, "evaluation")
    assert_one_update(published, start, hid)

    start = len(published)
    services.agenda_edit(hearing_id=hid, item_id=item.pk, by=world.moderator, department_id=None)
    item.refresh_from_db()
    assert item.department_id is None
    assert_one_update(published, start, hid)
    assert_contiguous(hid)


@pytest.mark.parametrize("status", ["current", "done"])
def test_edit_a_current_or_done_item(live_world: World, published: Published, status: str) -> None:
    w = live_world
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    if status == "done":
        services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[2].pk, by=w.moderator)
    item = AgendaItem.objects.get(pk=w.items[1].pk)
    assert item.status == status
    start = len(published)
    services.agenda_edit(hearing_id=w.hearing.pk, item_id=item.pk, by=w.moderator, title="改", minutes=5)
    item.refresh_from_db()
    assert (item.title, item.planned_minutes, item.status) == ("改", 5, status)
    assert item.started_at is not None
    assert_one_update(published, start, w.hearing.pk)


def test_edit_to_the_same_values_is_a_no_op(world: World, published: Published) -> None:
    item = world.items[1]
    before = db_state()
    result = services.agenda_edit(
        hearing_id=world.hearing.pk,
        item_id=item.pk,
        by=world.moderator,
        title=f"  {item.title}",  # the same once cleaned
        department_id=item.department_id,
        minutes=item.planned_minutes,
        kind=item.kind,
    )
    assert result.pk == item.pk
    assert services.agenda_edit(hearing_id=world.hearing.pk, item_id=item.pk, by=world.moderator).pk == item.pk
    assert db_state() == before
    assert published == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"title": ""}, BadRequest),
        ({"title": "a\nb"}, BadRequest),
        ({"title": "长" * (limits.AGENDA_TITLE + 1)}, BadRequest),
        ({"minutes": 0}, BadRequest),
        ({"minutes": limits.AGENDA_MINUTES + 1}, BadRequest),
        ({"kind": "nope"}, BadRequest),
        ({"department_id": 10**9}, NotFound),
        ({"title": "好标题", "minutes": 0}, BadRequest),  # nothing of a partly good edit is kept
    ],
)
def test_edit_refuses_bad_input(world: World, published: Published, fields: dict[str, Any], error: type) -> None:
    assert_refused(
        published,
        error,
        lambda: services.agenda_edit(
            hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator, **fields
        ),
    )


# --------------------------------------------------------------------------- move


@pytest.mark.parametrize(("index", "to"), [(0, 4), (3, 1), (1, 3), (2, 1), (0, 2), (3, 3)])
def test_move_to_every_place(world: World, published: Published, index: int, to: int) -> None:
    hid = world.hearing.pk
    order = titles(hid)
    moved = order.pop(index)
    order.insert(to - 1, moved)
    item = services.agenda_move(hearing_id=hid, item_id=world.items[index].pk, by=world.moderator, position=to)
    assert item.position == to == AgendaItem.objects.get(pk=world.items[index].pk).position
    assert titles(hid) == order
    assert_contiguous(hid)
    assert_one_update(published, 0, hid)
    assert last_audit("agenda.move").payload == {"hearing": hid, "from": index + 1, "to": to}


def test_move_to_where_it_is_is_a_no_op(world: World, published: Published) -> None:
    before = db_state()
    item = services.agenda_move(hearing_id=world.hearing.pk, item_id=world.items[2].pk, by=world.moderator, position=3)
    assert item.position == 3
    assert db_state() == before
    assert published == []


def test_move_a_current_and_a_done_item(live_world: World, published: Published) -> None:
    w = live_world
    hid = w.hearing.pk
    services.agenda_start(hearing_id=hid, item_id=w.items[0].pk, by=w.moderator)
    services.agenda_start(hearing_id=hid, item_id=w.items[2].pk, by=w.moderator)
    start = len(published)
    services.agenda_move(hearing_id=hid, item_id=w.items[2].pk, by=w.moderator, position=1)  # current
    services.agenda_move(hearing_id=hid, item_id=w.items[0].pk, by=w.moderator, position=4)  # done
    assert [i.id for i in selectors.agenda_out(hid)] == [w.items[2].pk, w.items[1].pk, w.items[3].pk, w.items[0].pk]
    assert dict(AgendaItem.objects.filter(hearing_id=hid).values_list("pk", "status")) == {
        w.items[0].pk: "done",
        w.items[1].pk: "pending",
        w.items[2].pk: "current",
        w.items[3].pk: "pending",
    }
    assert len(published) == start + 2


@pytest.mark.parametrize("position", [0, 5, -1, 10**6])
def test_move_refuses_a_position_outside_the_agenda(world: World, published: Published, position: int) -> None:
    refused = assert_refused(
        published,
        BadRequest,
        lambda: services.agenda_move(
            hearing_id=world.hearing.pk, item_id=world.items[0].pk, by=world.moderator, position=position
        ),
    )
    assert refused.message == "位置应为 1 到 4 之间的数。"


# --------------------------------------------------------------------------- remove


@pytest.mark.parametrize("index", [0, 1, 3])
def test_remove_a_pending_item_closes_the_gap(world: World, published: Published, index: int) -> None:
    hid = world.hearing.pk
    order = titles(hid)
    gone = world.items[index]
    result = services.agenda_remove(hearing_id=hid, item_id=gone.pk, by=world.moderator)
    assert result.title == gone.title
    assert not AgendaItem.objects.filter(pk=gone.pk).exists()
    assert titles(hid) == order[:index] + order[index + 1 :]
    assert_contiguous(hid)
    assert_one_update(published, 0, hid)
    entry = last_audit("agenda.remove")
    assert entry.subject == f"hearings.agendaitem:{gone.pk}"
    assert entry.payload["title"] == gone.title


def test_remove_every_item_then_add_again(world: World, published: Published) -> None:
    hid = world.hearing.pk
    for item in world.items:
        services.agenda_remove(hearing_id=hid, item_id=item.pk, by=world.moderator)
    assert positions(hid) == []
    assert services.agenda_add(hearing_id=hid, by=world.moderator, title="重来").position == 1
    assert len(published) == 5


@pytest.mark.parametrize("state", ["current", "done", "started once"])
def test_remove_refuses_an_item_that_was_started(live_world: World, published: Published, state: str) -> None:
    w = live_world
    hid, item = w.hearing.pk, w.items[1]
    services.agenda_start(hearing_id=hid, item_id=item.pk, by=w.moderator)
    if state != "current":
        services.agenda_start(hearing_id=hid, item_id=w.items[2].pk, by=w.moderator)
    if state == "started once":
        # Back to pending by hand: it still has its start time (never started means never).
        AgendaItem.objects.filter(pk=item.pk).update(status="pending", ended_at=None)
    refused = assert_refused(
        published, InvalidState, lambda: services.agenda_remove(hearing_id=hid, item_id=item.pk, by=w.moderator)
    )
    assert refused.message == "这项议程已经开始过，不能删除。"


@pytest.mark.parametrize("question_status", ["pending", "rejected"])
def test_remove_refuses_an_item_with_questions(world: World, published: Published, question_status: str) -> None:
    item = world.items[2]
    question = services.question_submit(
        hearing_id=world.hearing.pk, text="问题", source="public", viewer="v1", item_id=item.pk
    )
    if question_status == "rejected":
        services.question_reject(hearing_id=world.hearing.pk, question_id=question.pk, by=world.moderator)
    refused = assert_refused(
        published,
        InvalidState,
        lambda: services.agenda_remove(hearing_id=world.hearing.pk, item_id=item.pk, by=world.moderator),
    )
    assert "已有问题" in refused.message
    assert Question.objects.get(pk=question.pk).item_id == item.pk


def test_remove_refuses_an_item_with_a_poll(live_world: World, published: Published) -> None:
    w = live_world
    item = w.items[3]
    poll = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=item.pk, by=w.moderator)
    refused = assert_refused(
        published,
        InvalidState,
        lambda: services.agenda_remove(hearing_id=w.hearing.pk, item_id=item.pk, by=w.moderator),
    )
    assert "已有测评" in refused.message
    poll.refresh_from_db()
    assert poll.item_id == item.pk


# --------------------------------------------------------------------------- the constraint


def test_the_position_constraint_still_holds(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.create(hearing=world.hearing, position=2, title="重复的位置")


def test_a_long_sequence_of_changes_keeps_positions_contiguous(live_world: World, published: Published) -> None:
    """Adds, moves and removes in turn, checked against a plain list after each step."""
    w = live_world
    hid = w.hearing.pk
    model = [item.pk for item in w.items]
    for step in range(24):
        if step % 4 == 0:
            after = model[step % len(model)]
            item = services.agenda_add(hearing_id=hid, by=w.moderator, title=f"新{step}", after_id=after)
            model.insert(model.index(after) + 1, item.pk)
        elif step % 4 in (1, 2):
            pk = model[(step * 7) % len(model)]
            to = (step * 5) % len(model) + 1
            services.agenda_move(hearing_id=hid, item_id=pk, by=w.moderator, position=to)
            if model.index(pk) + 1 != to:
                model.remove(pk)
                model.insert(to - 1, pk)
        else:
            pk = model[(step * 3) % len(model)]
            services.agenda_remove(hearing_id=hid, item_id=pk, by=w.moderator)
            model.remove(pk)
        assert [i.id for i in selectors.agenda_out(hid)] == model
        assert_contiguous(hid)
