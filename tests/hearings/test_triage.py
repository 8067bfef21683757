"""Triage services: questions assigned to an agenda item and a department; bulk approve and
reject, all or nothing; a merge keeps both askers on the kept question's asker line (the wire
QUESTION's `asker` too) and sums likes; office staff moderate as the hearing's moderators do."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from hearings import selectors, services
from hearings.models import Hearing, Like, Person, Question
from live.schema import Stream
from realtime import snapshot
from tests.conftest import Published
from tests.factories import World, make_department, make_user

pytestmark = pytest.mark.django_db


def staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


def ask(w: World, text: str, name: str = "", viewer: str = "") -> Question:
    return services.question_submit(hearing_id=w.hearing.pk, text=text, source="public", asker_name=name, viewer=viewer)


def approved(w: World, text: str, name: str = "") -> Question:
    q = ask(w, text, name)
    return services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=None)


def state(*questions: Question) -> list[tuple[str, int | None, int | None]]:
    return [
        (q.status, q.item_id, q.department_id)
        for q in Question.objects.filter(pk__in=[q.pk for q in questions]).order_by("id")
    ]


# ------------------------------------------------------------------ merge keeps both askers


def test_a_merge_keeps_both_askers_and_sums_likes(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    kept, duplicate = approved(w, "建设路路灯不亮", "张三"), approved(w, "建设路路灯坏了很久没人修", "李四")
    for viewer in ("v1", "v2"):
        services.like_add(hearing_id=hid, viewer=viewer, question_id=kept.pk)
    services.like_add(hearing_id=hid, viewer="v3", question_id=duplicate.pk)

    services.question_merge(hearing_id=hid, question_id=duplicate.pk, into_id=kept.pk, by=w.moderator)

    kept.refresh_from_db()
    assert kept.likes == 3 and Like.objects.filter(question=kept).count() == 3
    assert selectors.question_asker(kept) == "张三、李四"
    assert selectors.question_out(kept).asker == "张三、李四"
    [out] = [q for q in snapshot.build(hid, Stream.PUBLIC, online=0)[1].model_dump()["questions"] if q["id"] == kept.pk]
    assert out["asker"] == "张三、李四"


def test_unnamed_and_many_askers_are_counted(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    kept = approved(w, "公交班次太少")
    second = approved(w, "公交车班次太少了")
    services.question_merge(hearing_id=hid, question_id=second.pk, into_id=kept.pk, by=w.moderator)
    kept.refresh_from_db()
    assert selectors.question_asker(kept) == "网友 等 2 人"
    for name in ("甲", "乙", "丙"):
        extra = approved(w, f"公交班次少，{name}问", name)
        services.question_merge(hearing_id=hid, question_id=extra.pk, into_id=kept.pk, by=w.moderator)
    kept.refresh_from_db()
    assert kept.also_asked == ["网友", "甲", "乙", "丙"]
    assert selectors.question_asker(kept) == "网友、甲 等 5 人"


def test_a_merged_question_brings_its_own_merged_askers(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    a, b, c = approved(w, "路灯不亮", "甲"), approved(w, "路灯坏了", "乙"), approved(w, "路灯没人修", "丙")
    services.question_merge(hearing_id=hid, question_id=a.pk, into_id=b.pk, by=w.moderator)
    services.question_merge(hearing_id=hid, question_id=b.pk, into_id=c.pk, by=w.moderator)
    c.refresh_from_db()
    assert selectors.question_asker(c) == "丙、乙、甲"
    assert Question.objects.get(pk=a.pk).merged_into_id == c.pk  # a chain leads straight to the kept one


# ------------------------------------------------------------------ assign


def test_assign_to_an_item_and_a_department(live_world: World, published: Published):
    w, hid = live_world, live_world.hearing.pk
    pending, public = ask(w, "待审核的问题"), approved(w, "已公开的问题")
    department = make_department()
    start = len(published)

    done = services.question_assign(
        hearing_id=hid,
        question_ids=[pending.pk, public.pk],
        item_id=w.items[2].pk,
        department_id=department.pk,
        by=w.moderator,
    )

    assert [q.pk for q in done] == [pending.pk, public.pk]
    assert state(pending, public) == [
        ("pending", w.items[2].pk, department.pk),
        ("approved", w.items[2].pk, department.pk),
    ]
    entry = AuditEntry.objects.filter(action="question.assign").get()
    assert entry.payload["questions"] == [pending.pk, public.pk] and entry.payload["department"] == department.pk
    # The pending one is told to the control view only; the public one to both.
    assert [(control, public) for (_, control, public, _) in published[start:]] == [
        ("question.updated", None),
        ("question.updated", "question.updated"),
    ]


def test_assign_keeps_what_is_unchanged_and_none_takes_it_away(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    q = ask(w, "问题")
    department = make_department()
    services.question_assign(
        hearing_id=hid, question_ids=[q.pk], item_id=w.items[1].pk, department_id=department.pk, by=None
    )
    services.question_assign(hearing_id=hid, question_ids=[q.pk], item_id=None, by=None)
    assert state(q) == [("pending", None, department.pk)]
    services.question_assign(hearing_id=hid, question_ids=[q.pk], department_id=None, by=None)
    assert state(q) == [("pending", None, None)]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"question_ids": []}, BadRequest, "请至少选择一个问题。"),
        ({"question_ids": list(range(1, 300))}, BadRequest, "一次最多处理 200 个问题。"),
        ({"item_id": 10**9}, NotFound, "本场问政会没有这项议程。"),
        ({"department_id": 10**9}, NotFound, "没有这个部门。"),
        ({"item_id": "unchanged", "department_id": "unchanged"}, BadRequest, "请选择要分配的议程或部门。"),
        ({"extra": True}, NotFound, "本场问政会没有问题 #"),
        ({"by": "deputy"}, Forbidden, "主持人或会务工作人员"),
    ],
)
def test_assign_refusals_change_nothing(live_world: World, change: dict[str, Any], error: type, message: str):
    w, hid = live_world, live_world.hearing.pk
    q = ask(w, "问题")
    args: dict[str, Any] = {"hearing_id": hid, "question_ids": [q.pk], "item_id": w.items[1].pk, "by": w.moderator}
    if change.pop("extra", False):
        other = services.question_submit(hearing_id=w.hearing.pk, text="x", source="public")
        other.hearing_id = w.other_moderator.moderated_hearings.first().pk
        other.save()
        args["question_ids"] = [q.pk, other.pk]
    if change.get("by") == "deputy":
        change["by"] = w.deputies[0]
    for key in ("item_id", "department_id"):
        if change.get(key) == "unchanged":
            change[key] = services.UNCHANGED
    args.update(change)
    with pytest.raises(error) as raised:
        services.question_assign(**args)
    assert message in str(raised.value)
    assert state(q) == [("pending", None, None)]
    assert not AuditEntry.objects.filter(action="question.assign").exists()


# ------------------------------------------------------------------ bulk approve / reject


def test_bulk_approve_approves_each(live_world: World, published: Published):
    w, hid = live_world, live_world.hearing.pk
    questions = [ask(w, f"问题{n}") for n in range(3)]
    done = services.questions_approve(hearing_id=hid, question_ids=[q.pk for q in questions], by=staff())
    assert [q.status for q in done] == ["approved"] * 3
    assert [s for s, _, _ in state(*questions)] == ["approved"] * 3
    assert AuditEntry.objects.filter(action="question.approve").count() == 3


def test_bulk_approve_is_all_or_nothing(live_world: World, published: Published):
    w, hid = live_world, live_world.hearing.pk
    first, done_already, last = ask(w, "一"), approved(w, "二"), ask(w, "三")
    seqs = Hearing.objects.values_list("public_seq", "control_seq").get(pk=hid)
    with pytest.raises(InvalidState) as raised:
        services.questions_approve(hearing_id=hid, question_ids=[first.pk, done_already.pk, last.pk], by=w.moderator)
    assert f"问题 #{done_already.pk}" in raised.value.message and "不在待审核状态" in raised.value.message
    assert [s for s, _, _ in state(first, done_already, last)] == ["pending", "approved", "pending"]
    # Nothing told: the frames written for the first question went with the rollback.
    assert Hearing.objects.values_list("public_seq", "control_seq").get(pk=hid) == seqs
    assert AuditEntry.objects.filter(action="question.approve").count() == 1  # the one approved before


def test_bulk_reject_is_all_or_nothing(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    first, second = ask(w, "一"), ask(w, "二")
    with pytest.raises(NotFound):
        services.questions_reject(hearing_id=hid, question_ids=[first.pk, 10**9], by=w.moderator)
    assert [s for s, _, _ in state(first, second)] == ["pending", "pending"]
    services.questions_reject(hearing_id=hid, question_ids=[first.pk, second.pk, first.pk], by=w.moderator)
    assert [s for s, _, _ in state(first, second)] == ["rejected", "rejected"]


def test_bulk_refusals(live_world: World):
    w, hid = live_world, live_world.hearing.pk
    q = ask(w, "一")
    with pytest.raises(BadRequest):
        services.questions_approve(hearing_id=hid, question_ids=[], by=w.moderator)
    with pytest.raises(Forbidden):
        services.questions_approve(hearing_id=hid, question_ids=[q.pk], by=w.deputies[0])
    with pytest.raises(Forbidden):
        services.questions_reject(hearing_id=hid, question_ids=[q.pk], by=w.other_moderator)
    assert state(q)[0][0] == "pending"


def test_staff_moderate_as_moderators_do(live_world: World):
    w, hid, by = live_world, live_world.hearing.pk, staff()
    a, b = approved(w, "保留"), approved(w, "重复")
    services.question_merge(hearing_id=hid, question_id=b.pk, into_id=a.pk, by=by)
    services.question_hide(hearing_id=hid, question_id=a.pk, reason="涉及隐私", by=by)
    c = ask(w, "待审核")
    services.question_reject(hearing_id=hid, question_id=c.pk, by=by)
    assert state(a, c)[0][0] == "hidden" and state(a, c)[1][0] == "rejected"
