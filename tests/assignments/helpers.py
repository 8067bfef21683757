"""Assignment test data: an ended hearing with answered questions, liaisons, and assignments moved by services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from assignments import services, workdays
from assignments.models import Assignment, TimelineEntry
from assignments.services import transitions
from hearings.models import Department, Hearing, Person, Question
from tests.factories import World, make_user, make_world


@dataclass
class Case:
    world: World
    hearing: Hearing
    lead: Department
    other: Department
    liaison: Any
    other_liaison: Any
    deputy: Any
    other_deputy: Any
    moderator: Any
    questions: list[Question]
    public_question: Question


def answered(world: World, text: str, *, asker: Any = None, commitment: str = "") -> Question:
    return Question.objects.create(
        hearing=world.hearing,
        item=world.items[1],
        text=text,
        source=Question.Source.DEPUTY if asker else Question.Source.PUBLIC,
        asker=asker,
        asker_name="" if asker else "网友甲",
        status=Question.Status.ANSWERED,
        answered_at=timezone.now(),
        commitment=commitment,
    )


def make_case() -> Case:
    world = make_world(status=Hearing.Status.ENDED)
    lead, other = world.departments[0], world.departments[1]
    liaison, other_liaison = make_user(email="liaison@example.cn"), make_user()
    lead.liaisons.add(liaison)
    other.liaisons.add(other_liaison)
    deputy, other_deputy = world.deputies[0], world.deputies[1]
    questions = [answered(world, f"企业反映的第{n}个问题", asker=deputy, commitment=f"承诺{n}") for n in range(1, 4)]
    public_question = answered(world, "网友：工业园区路灯不亮")
    return Case(
        world, world.hearing, lead, other, liaison, other_liaison, deputy, other_deputy, world.moderator,
        questions, public_question,
    )  # fmt: skip


def create(case: Case, *, questions: list[Question] | None = None, days: int = 10, **extra: Any) -> Assignment:
    kwargs: dict[str, Any] = {"lead_department_id": case.lead.pk, "working_days": days, "by": case.moderator}
    return services.assignment_create(
        hearing_id=case.hearing.pk, question_ids=[q.pk for q in (questions or case.questions[:1])], **(kwargs | extra)
    )


def advance(case: Case, assignment: Assignment, to: str) -> Assignment:
    """Move an assignment through the services up to `to` (accepted … closed)."""
    pk = assignment.pk
    path = ["accepted", "in_progress", "replied", "evaluated", "closed"]
    steps = {
        "accepted": lambda: services.assignment_accept(assignment_id=pk, by=case.liaison),
        "in_progress": lambda: services.assignment_progress(assignment_id=pk, by=case.liaison, note="已现场核查"),
        "replied": lambda: services.assignment_reply(assignment_id=pk, by=case.liaison, text="已完成整改"),
        "evaluated": lambda: services.assignment_evaluate(assignment_id=pk, by=case.deputy, verdict="满意"),
        "closed": lambda: services.assignment_close(assignment_id=pk, by=case.moderator),
    }
    for step in path[: path.index(to) + 1]:
        steps[step]()
    return Assignment.objects.get(pk=pk)


def make_overdue(assignment: Assignment, days: int = 3) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(due_date=timezone.localdate() - timedelta(days=days))


def client_of(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def given_on(case: Case, day: date, days: int, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Assignment:
    """An assignment given on `day` with `days` working days (its timeline says that day, too)."""
    with monkeypatch.context() as patched:
        patched.setattr(transitions, "local_today", lambda: day)
        assignment = create(case, days=days, **extra)
    noon = timezone.make_aware(datetime.combine(day, time(12)))
    TimelineEntry.objects.filter(assignment=assignment).update(at=noon)
    return assignment


def library_knows_up_to(year: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the calendar library know no year after `year` (as chinese_calendar 1.11 knows none
    after 2026), whatever a later version knows."""
    real = workdays._library_workday
    monkeypatch.setattr(workdays, "library_knows", lambda known: known <= year)
    monkeypatch.setattr(workdays, "_library_workday", lambda day: real(day) if day.year <= year else day.weekday() < 5)


def make_staff_user() -> Any:
    """A user of the 人大 office (会务工作人员)."""
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    return user
