"""A seeded duty year: 2025, with events just before and after it, of several deputies.

Ballots, check-ins' effect on eligibility, verdicts and 回头看 go through the services (so the
secrecy of secret polls is the real one); hearings, attendance and questions are rows. Events
meant for 2025 that the services stamp "now" (2026) are moved into 2025 afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from assignments import services as assignment_services
from assignments.models import Assignment, TimelineEntry
from hearings.models import AgendaItem, Department, Hearing, Person, Question
from tests.factories import make_department, make_user
from tests.hearings.people_helpers import make_person, make_staff
from voting import services as voting_services
from voting.models import Attendance, Poll

YEAR = 2025
TZ = ZoneInfo("Asia/Shanghai")
# A secret poll's choices no page may ever print next to a deputy.
SECRET_CHOICES = ["秘密甲项", "秘密乙项"]


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Seed:
    a: Any  # the deputy under test: Person deputy with phone and e-mail
    b: Any  # another deputy (Person)
    c: Any  # on a hearing's list only, no Person row
    liaison: Any
    staff: Any
    moderator: Any
    department: Department
    hearings: dict[str, Hearing] = field(default_factory=dict)
    questions: dict[str, Question] = field(default_factory=dict)
    polls: dict[str, Poll] = field(default_factory=dict)


def _hearing(seed: Seed, name: str, when: datetime, deputies: list[Any], status: str = Hearing.Status.ENDED) -> Hearing:
    hearing = Hearing.objects.create(title=f"履职测试{name}", starts_at=when, status=status)
    AgendaItem.objects.create(hearing=hearing, position=1, title="问政", department=seed.department)
    hearing.deputies.add(*deputies)
    hearing.moderators.add(seed.moderator)
    seed.hearings[name] = hearing
    return hearing


def _checkin(hearing: Hearing, *deputies: Any) -> None:
    for deputy in deputies:
        Attendance.objects.create(hearing=hearing, deputy=deputy)


def _question(
    seed: Seed, name: str, hearing: Hearing, asker: Any, when: datetime, status: str, **extra: Any
) -> Question:
    source = extra.pop("source", Question.Source.DEPUTY)
    q = Question.objects.create(
        hearing=hearing, item=hearing.agenda.first(), text=f"问题{name}：{hearing.title}", source=source, asker=asker,
        status=status, **extra,
    )  # fmt: skip
    Question.objects.filter(pk=q.pk).update(created_at=when)
    q.refresh_from_db()
    seed.questions[name] = q
    return q


def _poll(seed: Seed, name: str, hearing: Hearing, when: datetime, *, secret: bool, votes: dict[Any, str]) -> Poll:
    """Open a poll in the (momentarily live) hearing, cast the ballots through the service, close it."""
    Hearing.objects.filter(pk=hearing.pk).update(status=Hearing.Status.LIVE)
    choices = SECRET_CHOICES if secret else None
    poll = voting_services.poll_open(
        hearing_id=hearing.pk, item_id=hearing.agenda.get().pk, by=seed.moderator, title=f"测评{name}",
        secret=secret, choices=choices,
    )  # fmt: skip
    for deputy, choice in votes.items():
        voting_services.ballot_cast(
            hearing_id=hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=uuid.uuid4()
        )
    voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll.pk, by=seed.moderator)
    Hearing.objects.filter(pk=hearing.pk).update(status=Hearing.Status.ENDED)
    Poll.objects.filter(pk=poll.pk).update(opened_at=when)
    seed.polls[name] = poll
    return poll


def _assignment(seed: Seed, question: Question, evaluator: Any, *, evaluated: datetime, reviewer: Any = None,
                reviewed: datetime | None = None) -> Assignment:  # fmt: skip
    a = assignment_services.assignment_create(
        hearing_id=question.hearing_id, question_ids=[question.pk], lead_department_id=seed.department.pk,
        working_days=10, by=seed.moderator,
    )  # fmt: skip
    assignment_services.assignment_accept(assignment_id=a.pk, by=seed.liaison)
    assignment_services.assignment_reply(assignment_id=a.pk, by=seed.liaison, text="已完成整改")
    assignment_services.assignment_evaluate(assignment_id=a.pk, by=evaluator, verdict="满意")
    TimelineEntry.objects.filter(assignment=a, action=TimelineEntry.Action.EVALUATED).update(at=evaluated)
    if reviewer is not None:
        assignment_services.assignment_close(assignment_id=a.pk, by=seed.moderator)
        assignment_services.assignment_review(assignment_id=a.pk, by=reviewer, outcome="held", note="整改成效巩固")
        TimelineEntry.objects.filter(assignment=a, action=TimelineEntry.Action.REVIEWED).update(at=reviewed)
    return Assignment.objects.get(pk=a.pk)


def seed_year() -> Seed:
    department = make_department()
    liaison = make_person(Person.Role.LIAISON, name="联络员甲")
    department.liaisons.add(liaison)
    seed = Seed(
        a=make_person(name="代表甲", delegation="城关代表团", phone="13900000001"),
        b=make_person(name="代表乙"),
        c=make_user(),
        liaison=liaison,
        staff=make_staff(),
        moderator=make_user(),
        department=department,
    )
    seed.a.email = "deputy-a@example.cn"
    seed.a.save(update_fields=["email"])
    a, b, c = seed.a, seed.b, seed.c

    # The year before: 2024-12-31 23:30 in the county's time (15:30 UTC): 2024, not 2025.
    h0 = _hearing(seed, "h0", at(2024, 12, 31, 23, 30), [a])
    _checkin(h0, a)
    _question(seed, "q_2024", h0, a, at(2024, 12, 31, 23, 40), Question.Status.ANSWERED)

    # 2025: two held hearings and a draft one (not held: no invitation counted).
    h1 = _hearing(seed, "h1", at(YEAR, 3, 10), [a, b, c])
    h2 = _hearing(seed, "h2", at(YEAR, 9, 20), [a, b])
    _hearing(seed, "draft", at(YEAR, 12, 20), [a, b], status=Hearing.Status.DRAFT)
    _checkin(h1, a, b)
    _checkin(h2, a)
    h1.moderators.add(a)  # a deputy who also moderates: records a 回头看 below

    q1 = _question(seed, "q1", h1, a, at(YEAR, 3, 10, 10, 5), Question.Status.ANSWERED)
    _question(seed, "q2_follow_up", h1, a, at(YEAR, 3, 10, 10, 9), Question.Status.ANSWERED, parent=q1)
    _question(seed, "q3_rejected", h1, a, at(YEAR, 3, 10, 10, 12), Question.Status.REJECTED)
    _question(seed, "q4_merged", h1, a, at(YEAR, 3, 10, 10, 15), Question.Status.REJECTED, merged_into=q1)
    _question(seed, "q5_pending", h2, a, at(YEAR, 9, 20, 10, 5), Question.Status.PENDING)
    _question(seed, "q6_hidden", h2, a, at(YEAR, 9, 20, 10, 8), Question.Status.HIDDEN, hidden_reason="内部原因")
    _question(seed, "q_moderator", h2, a, at(YEAR, 9, 20, 10, 9), Question.Status.ANSWERED, source="moderator")
    q7 = _question(seed, "q7_b", h1, b, at(YEAR, 3, 10, 10, 20), Question.Status.ANSWERED)
    public = _question(
        seed, "q_public", h1, None, at(YEAR, 3, 10, 10, 25), Question.Status.ANSWERED, source="public",
        asker_name="网友",
    )  # fmt: skip

    _poll(seed, "p1_secret", h1, at(YEAR, 3, 10, 11), secret=True, votes={a: SECRET_CHOICES[0], b: SECRET_CHOICES[1]})
    _poll(seed, "p2_named", h1, at(YEAR, 3, 10, 12), secret=False, votes={a: "满意", b: "不满意"})
    _poll(seed, "p3_named", h2, at(YEAR, 9, 20, 11), secret=False, votes={a: "基本满意"})
    _poll(seed, "p4_secret", h2, at(YEAR, 9, 20, 12), secret=True, votes={a: SECRET_CHOICES[1]})

    # The year after: 2026-01-01 00:30 in the county (2025-12-31 16:30 UTC): 2026.
    h3 = _hearing(seed, "h3", at(2026, 1, 1, 0, 30), [a])
    _checkin(h3, a)
    _question(seed, "q_2026", h3, a, at(2026, 1, 1, 0, 40), Question.Status.ANSWERED)
    _poll(seed, "p5_named_2026", h3, at(2026, 1, 1, 1), secret=False, votes={a: "满意"})

    # Verdicts and 回头看: a's in 2025; b's verdict in 2026; the public question's by the moderator.
    _assignment(seed, q1, a, evaluated=at(YEAR, 5, 6), reviewer=a, reviewed=at(YEAR, 11, 6))
    _assignment(seed, q7, b, evaluated=at(2026, 2, 3))
    _assignment(seed, public, seed.moderator, evaluated=at(YEAR, 5, 7))
    return seed
