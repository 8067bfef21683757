"""A whole hearing played through the real services on a controlled clock, for the report's
tests and screenshots: check-in, agenda, questions (answered, pending, rejected, merged, a
follow-up), likes, a secret and a named poll published, one poll closed unpublished, the end,
and assignments moved into several states."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from uuid import uuid4
from zoneinfo import ZoneInfo

from assignments import services as assignment_services
from assignments.models import Assignment
from hearings import services
from hearings.models import AgendaItem, Department, Hearing, Question
from tests.factories import make_user
from voting import services as voting_services
from voting.models import Poll

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """timezone.now() for everything the services write, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@contextmanager
def clock_at(start: datetime) -> Iterator[Clock]:
    clock = Clock(start)
    with mock.patch("django.utils.timezone.now", side_effect=lambda: clock.now):
        yield clock


@dataclass
class Session:
    hearing: Hearing
    items: list[AgendaItem]
    departments: list[Department]
    moderator: Any
    deputies: list[Any]
    liaisons: list[Any]
    answered: list[Question] = field(default_factory=list)
    pending: Question | None = None
    rejected: Question | None = None
    merged: Question | None = None
    follow_up: Question | None = None
    polls: list[Poll] = field(default_factory=list)
    unpublished: Poll | None = None
    assignments: list[Assignment] = field(default_factory=list)


def play_session(
    *,
    deputies: int = 7,
    titles: tuple[str, ...] = ("县发展和改革局", "县住房和城乡建设局", "县市场监督管理局"),
    hearing_title: str = "2026年度县政府组成部门问政会",
    text: str = "关于{name}的问题",
    start: datetime | None = None,
    end: bool = True,
) -> Session:
    start = start or datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
    with clock_at(start) as clock:
        departments = [Department.objects.create(name=t, short_name=t[1:5] + str(n)) for n, t in enumerate(titles)]
        liaisons = []
        for department in departments:
            liaison = make_user()
            department.liaisons.add(liaison)
            liaisons.append(liaison)
        hearing = Hearing.objects.create(
            title=hearing_title, theme="优化营商环境", venue="县人大常委会会议室", starts_at=start
        )
        items = [
            AgendaItem.objects.create(hearing=hearing, position=1, title="开场", kind="opening", planned_minutes=5)
        ]
        for position, department in enumerate(departments, start=2):
            items.append(
                AgendaItem.objects.create(
                    hearing=hearing,
                    position=position,
                    title=f"问政{department.name}",
                    department=department,
                    planned_minutes=20,
                )
            )
        moderator = make_user(first_name="主持人")
        hearing.moderators.add(moderator)
        deps = [make_user(first_name=f"代表{n}") for n in range(1, deputies + 1)]
        hearing.deputies.add(*deps)
        s = Session(hearing, items, departments, moderator, deps, liaisons)

        services.hearing_start(hearing_id=hearing.pk, by=moderator)
        for deputy in deps[:-1]:  # one deputy never checks in
            voting_services.checkin(hearing_id=hearing.pk, deputy=deputy)
        services.agenda_start(hearing_id=hearing.pk, item_id=items[0].pk, by=moderator)
        clock.advance(minutes=6)

        # Each department: two deputies' questions answered (the second with a commitment).
        votes = [
            ["满意", "满意", "基本满意", "不满意", "满意", "基本满意"],
            ["基本满意", "不满意", "不满意", "满意"],
            ["满意", "满意", "满意"],
        ]
        for n, item in enumerate(items[1:]):
            services.agenda_start(hearing_id=hearing.pk, item_id=item.pk, by=moderator)
            for k in range(2):
                clock.advance(minutes=4)
                q = services.question_submit(
                    hearing_id=hearing.pk,
                    text=text.format(name=item.department.name if item.department else item.title) + f"（{k + 1}）",
                    source=Question.Source.DEPUTY,
                    asker=deps[(2 * n + k) % len(deps)],
                    item_id=item.pk,
                )
                services.question_stage(hearing_id=hearing.pk, question_id=q.pk, by=moderator)
                clock.advance(minutes=3)
                services.question_answered(
                    hearing_id=hearing.pk,
                    question_id=q.pk,
                    by=moderator,
                    note=f"答复要点{n}{k}",
                    commitment=f"三个月内整改到位{n}" if k == 1 else "",
                )
                q.refresh_from_db()
                s.answered.append(q)
            # The department's poll: the first secret, the second named, the third left unpublished.
            poll = voting_services.poll_open(hearing_id=hearing.pk, item_id=item.pk, by=moderator, secret=n != 1)
            for deputy, choice in zip(deps[:-1], votes[n], strict=False):
                voting_services.ballot_cast(
                    hearing_id=hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=uuid4()
                )
            clock.advance(minutes=2)
            voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
            if n < 2:
                voting_services.poll_publish(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
                s.polls.append(poll)
            else:
                s.unpublished = poll
            clock.advance(minutes=8 if n == 0 else 2)  # the first department overruns its 20 minutes

        # The public: likes, a question approved and answered, one pending, one rejected, a duplicate merged.
        for viewer in range(5):
            services.like_add(hearing_id=hearing.pk, viewer=f"v{viewer}", question_id=None)
            services.like_add(hearing_id=hearing.pk, viewer=f"v{viewer}", question_id=s.answered[0].pk)
        services.like_add(hearing_id=hearing.pk, viewer="v9", question_id=s.answered[3].pk)
        public = services.question_submit(
            hearing_id=hearing.pk, text="网友提问：停车难何时解决", source="public", asker_name="城关网友", viewer="v1"
        )
        services.question_approve(hearing_id=hearing.pk, question_id=public.pk, by=moderator)
        duplicate = services.question_submit(hearing_id=hearing.pk, text="停车难", source="public", viewer="v2")
        services.question_approve(hearing_id=hearing.pk, question_id=duplicate.pk, by=moderator)
        services.question_merge(hearing_id=hearing.pk, question_id=duplicate.pk, into_id=public.pk, by=moderator)
        services.question_answered(hearing_id=hearing.pk, question_id=public.pk, by=moderator, note="已规划新建停车场")
        s.merged = duplicate
        follow = services.question_submit(
            hearing_id=hearing.pk,
            text="追问：整改时限能否提前",
            source=Question.Source.DEPUTY,
            asker=deps[0],
            item_id=items[1].pk,
            parent_id=s.answered[1].pk,
        )
        services.question_answered(hearing_id=hearing.pk, question_id=follow.pk, by=moderator, commitment="提前一个月")
        s.follow_up = follow
        s.pending = services.question_submit(
            hearing_id=hearing.pk, text="待审核的群众提问不应出现在报告里", source="public", viewer="v3"
        )
        rejected = services.question_submit(
            hearing_id=hearing.pk, text="未采用的提问不应出现在报告里", source="public", viewer="v4"
        )
        services.question_reject(hearing_id=hearing.pk, question_id=rejected.pk, by=moderator)
        s.rejected = rejected
        clock.advance(minutes=5)
        if end:
            services.hearing_end(hearing_id=hearing.pk, by=moderator)
        hearing.refresh_from_db()

        # Assignments, a day later: one closed, one reopened, one still with the department, one returned.
        if end:
            clock.advance(days=1)
            made = [
                assignment_services.assignment_create(
                    hearing_id=hearing.pk,
                    question_ids=[q.pk],
                    lead_department_id=(q.item.department if q.item and q.item.department else departments[0]).pk,
                    working_days=10,
                    by=moderator,
                )
                for q in s.answered[:4]
            ]
            a0, a1, a2, a3 = made
            for a in (a0, a1):
                liaison = a.lead_department.liaisons.first()
                assignment_services.assignment_accept(assignment_id=a.pk, by=liaison)
                assignment_services.assignment_reply(assignment_id=a.pk, by=liaison, text="已办理")
            assignment_services.assignment_evaluate(assignment_id=a0.pk, by=_asker(a0), verdict="满意")
            assignment_services.assignment_close(assignment_id=a0.pk, by=moderator)
            assignment_services.assignment_evaluate(
                assignment_id=a1.pk, by=_asker(a1), verdict="不满意", comment="未解决"
            )
            assignment_services.assignment_reopen(assignment_id=a1.pk, by=moderator, working_days=5)
            assignment_services.assignment_accept(assignment_id=a2.pk, by=a2.lead_department.liaisons.first())
            assignment_services.assignment_return(
                assignment_id=a3.pk, by=a3.lead_department.liaisons.first(), reason="不属本单位职责"
            )
            s.assignments = [Assignment.objects.get(pk=a.pk) for a in made]
    for poll in [*s.polls, *([s.unpublished] if s.unpublished else [])]:
        poll.refresh_from_db()
    return s


def _asker(assignment: Assignment) -> Any:
    question = assignment.questions.get()
    return question.asker
