"""hearings.selectors: who may do what, what each audience sees, and the wire payloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from hearings import selectors, services
from hearings.models import AgendaItem, Question
from live.schema import AgendaItemOut, DepartmentRef, QuestionOut
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def test_is_moderator_and_is_deputy_are_per_hearing(world: World) -> None:
    hearing = world.hearing
    other = make_world()
    for target in (hearing, hearing.pk):
        assert selectors.is_moderator(target, world.moderator)
        assert not selectors.is_moderator(target, world.other_moderator)
        assert not selectors.is_moderator(target, world.deputies[0])
        assert not selectors.is_moderator(target, other.moderator)
        assert not selectors.is_moderator(target, make_user())
        assert not selectors.is_moderator(target, AnonymousUser())
        assert not selectors.is_moderator(target, None)

        assert selectors.is_deputy(target, world.deputies[0])
        assert not selectors.is_deputy(target, world.moderator)
        assert not selectors.is_deputy(target, other.deputies[0])
        assert not selectors.is_deputy(target, AnonymousUser())
        assert not selectors.is_deputy(target, None)


def test_socket_access(world: World) -> None:
    hid = world.hearing.pk
    access = selectors.socket_access
    assert access(hearing_id=10**9, user=world.moderator, role="control") == "not_found"
    assert access(hearing_id=hid, user=None, role="public") == "ok"
    assert access(hearing_id=hid, user=AnonymousUser(), role="public") == "ok"
    assert access(hearing_id=hid, user=world.deputies[0], role="deputy") == "ok"
    assert access(hearing_id=hid, user=world.moderator, role="deputy") == "forbidden"
    assert access(hearing_id=hid, user=AnonymousUser(), role="deputy") == "forbidden"
    assert access(hearing_id=hid, user=world.moderator, role="control") == "ok"
    assert access(hearing_id=hid, user=world.other_moderator, role="control") == "forbidden"
    assert access(hearing_id=hid, user=world.deputies[0], role="control") == "forbidden"
    assert access(hearing_id=hid, user=world.moderator, role="admin") == "forbidden"


def _questions(world: World) -> dict[str, Question]:
    """One question in each status, and one merged away."""
    hid = world.hearing.pk

    def ask(text: str, source: str = "moderator") -> Question:
        asker = world.moderator if source == "moderator" else None
        return services.question_submit(hearing_id=hid, text=text, source=source, asker=asker)

    made = {
        "pending": ask("待审", "public"),
        "rejected": ask("未采用", "public"),
        "approved": ask("已通过"),
        "on_stage": ask("台上"),
        "answered": ask("已答复"),
        "merged": ask("重复"),
    }
    services.question_reject(hearing_id=hid, question_id=made["rejected"].pk, by=None)
    services.question_stage(hearing_id=hid, question_id=made["answered"].pk, by=None)
    services.question_answered(hearing_id=hid, question_id=made["answered"].pk, by=None)
    services.question_stage(hearing_id=hid, question_id=made["on_stage"].pk, by=None)
    services.question_merge(hearing_id=hid, question_id=made["merged"].pk, into_id=made["approved"].pk, by=None)
    services.like_add(hearing_id=hid, viewer="v1", question_id=made["approved"].pk)
    for question in made.values():
        question.refresh_from_db()
    return made


def test_the_public_never_gets_pending_rejected_or_merged_questions(live_world: World) -> None:
    hid = live_world.hearing.pk
    made = _questions(live_world)
    make_world(status="live")  # another hearing's questions stay out
    ids = {name: question.pk for name, question in made.items()}

    public = [q.pk for q in selectors.questions_for(hid, public=True)]
    control = [q.pk for q in selectors.questions_for(hid, public=False)]
    assert public == [ids["approved"], ids["on_stage"], ids["answered"]]
    assert control == [ids["pending"], ids["rejected"], ids["approved"], ids["on_stage"], ids["answered"]]

    assert selectors.question_likes(hid, public=True) == {ids["approved"]: 1, ids["on_stage"]: 0, ids["answered"]: 0}
    assert set(selectors.question_likes(hid, public=False)) == set(control)


def test_question_asker(live_world: World) -> None:
    hid = live_world.hearing.pk
    deputy = live_world.deputies[0]
    named = make_user(first_name="张", last_name="三")
    live_world.hearing.deputies.add(named)

    def ask(source: str, asker: Any = None, name: str = "") -> str:
        question = services.question_submit(hearing_id=hid, text="问", source=source, asker=asker, asker_name=name)
        return selectors.question_asker(question)

    assert ask("deputy", deputy) == deputy.get_username()
    assert ask("deputy", named) == named.get_full_name() == "张 三"
    assert ask("public", name="热心市民") == "热心市民"
    assert ask("public") == "网友"
    assert ask("moderator") == "主持人"


def test_question_out_is_the_wire_shape(live_world: World) -> None:
    w, hid = live_world, live_world.hearing.pk
    services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=None)
    parent = services.question_submit(hearing_id=hid, text="主问题", source="deputy", asker=w.deputies[0])
    question = services.question_submit(
        hearing_id=hid, text="追问", source="deputy", asker=w.deputies[1], parent_id=parent.pk
    )
    out = selectors.question_out(question)
    assert isinstance(out, QuestionOut)
    assert out.model_dump(exclude={"created_at"}) == {
        "id": question.pk,
        "text": "追问",
        "asker": w.deputies[1].get_username(),
        "source": "deputy",
        "item": w.items[1].pk,
        "parent": parent.pk,
        "status": "approved",
        "likes": 0,
        "answer_note": "",
        "commitment": "",
        "category": None,
    }
    assert out.created_at
    control = selectors.question_out(question, control=True).model_dump()
    assert control["flags"] == [] and control["matched"] == []


def test_agenda_out_in_order_with_departments(live_world: World) -> None:
    w, hid = live_world, live_world.hearing.pk
    # Positions decide the order, not ids.
    AgendaItem.objects.filter(pk=w.items[0].pk).update(position=99)
    services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=None)
    agenda = selectors.agenda_out(hid)
    assert all(isinstance(item, AgendaItemOut) for item in agenda)
    assert [item.id for item in agenda] == [item.pk for item in [*w.items[1:], w.items[0]]]
    first = agenda[0]
    department = w.departments[0]
    assert first.department == DepartmentRef(id=department.pk, name=department.name)
    assert first.status == "current"
    assert first.started_at is not None
    assert agenda[-1].department is None
    assert [item.status for item in agenda[1:]] == ["pending"] * 3


def test_hearing_out(world: World) -> None:
    out = selectors.hearing_out(world.hearing)
    assert (out.id, out.title, out.status) == (world.hearing.pk, "测试问政会", "draft")
    assert out.starts_at
