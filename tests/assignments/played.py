"""A hearing played through the services for the leftover questions and the question list:
questions asked (two with categories), approved, one answered with a commitment, one hidden,
one merged, one pending, one rejected, one on stage when the hearing ends (hearing_end answers
it) and three left approved: one with an agenda item's department, one with a department the
office set on it, one with neither."""

from __future__ import annotations

from dataclasses import dataclass

from hearings import services as hearing_services
from hearings.models import Department, Hearing, Question
from tests.factories import World, make_department, make_world


@dataclass
class Played:
    world: World
    hearing: Hearing
    answered: Question  # answered on site
    staged: Question  # on stage when the hearing ended: answered by hearing_end
    leftovers: list[Question]  # approved, never reached: [item's department, own department, neither]
    pending: Question
    rejected: Question
    hidden: Question
    merged: Question
    own: Department  # the department the office set on leftovers[1]


def play(*, end: bool = True) -> Played:
    world = make_world(status=Hearing.Status.LIVE, categories=["营商环境", "教育"])
    hid = world.hearing.pk
    s = hearing_services

    def approved(text: str, item: int | None = None, category: str | None = None) -> Question:
        q = s.question_submit(hearing_id=hid, text=text, source="public", asker_name="网友", item_id=item)
        if category:
            Question.objects.filter(pk=q.pk).update(category=category)
        return s.question_approve(hearing_id=hid, question_id=q.pk, by=world.moderator)

    answered = approved("审批窗口排队太久", world.items[1].pk)
    s.question_answered(hearing_id=hid, question_id=answered.pk, by=world.moderator, commitment="一个月内增设窗口")
    by_item = approved("园区道路坑洼何时修", world.items[2].pk, "营商环境")
    by_own = approved("学校门口交通拥堵", None, "教育")
    own = make_department()
    Question.objects.filter(pk=by_own.pk).update(department=own)
    homeless = approved("夜市噪音扰民")
    hidden = approved("涉及隐私的问题", world.items[1].pk)
    s.question_hide(hearing_id=hid, question_id=hidden.pk, reason="涉及个人隐私", by=world.moderator)
    duplicate = approved("园区道路坑洼严重", world.items[2].pk)
    s.question_merge(hearing_id=hid, question_id=duplicate.pk, into_id=by_item.pk, by=world.moderator)
    pending = s.question_submit(hearing_id=hid, text="尚未审核", source="public")
    rejected = s.question_submit(hearing_id=hid, text="不予采用", source="public")
    s.question_reject(hearing_id=hid, question_id=rejected.pk, by=world.moderator)
    staged = approved("供暖费用偏高", world.items[3].pk)
    s.question_stage(hearing_id=hid, question_id=staged.pk, by=world.moderator)
    if end:
        s.hearing_end(hearing_id=hid, by=world.moderator)
    hearing = Hearing.objects.get(pk=hid)
    return Played(
        world, hearing, answered, staged, [by_item, by_own, homeless], pending, rejected, hidden, duplicate, own
    )
