"""Each audited service appends its entry, in its own transaction: a refused change appends none."""

from __future__ import annotations

from typing import Any

import pytest

from assignments import services as assignment_services
from audit.chain import verify
from audit.models import AuditEntry
from chamber import services as chamber_services
from core.errors import Forbidden, InvalidState
from hearings import services
from hearings.models import Hearing, Question
from tests.assignments.helpers import Case, advance, create, make_case
from tests.factories import World, make_world
from tests.voting.helpers import cast
from voting import services as voting_services

pytestmark = pytest.mark.django_db


def entries() -> list[tuple[str, str, str, str]]:
    """(action, actor kind, actor, subject) of every entry, in order."""
    return list(AuditEntry.objects.values_list("action", "actor_kind", "actor", "subject"))


def last() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq")[0]


def test_a_session_is_recorded_action_by_action() -> None:
    world = make_world()
    hid, mod = world.hearing.pk, world.moderator
    name = mod.get_username()
    services.hearing_start(hearing_id=hid, by=mod)
    services.agenda_start(hearing_id=hid, item_id=world.items[1].pk, by=mod)
    pending = services.question_submit(hearing_id=hid, text="群众的问题", source="public")
    spam = services.question_submit(hearing_id=hid, text="广告", source="public")
    services.question_edit(hearing_id=hid, question_id=pending.pk, text="群众的问题（改）", by=mod)
    services.question_approve(hearing_id=hid, question_id=pending.pk, by=mod)
    services.question_reject(hearing_id=hid, question_id=spam.pk, by=mod)
    services.question_stage(hearing_id=hid, question_id=pending.pk, by=mod)
    services.question_answered(hearing_id=hid, question_id=pending.pk, by=mod, commitment="一个月内解决")
    a = services.question_submit(hearing_id=hid, text="重复一", source="deputy", asker=world.deputies[0])
    b = services.question_submit(hearing_id=hid, text="重复二", source="deputy", asker=world.deputies[1])
    services.question_merge(hearing_id=hid, question_id=b.pk, into_id=a.pk, by=mod)
    services.hearing_end(hearing_id=hid, by=mod)

    assert entries() == [
        ("hearing.start", "user", name, f"hearings.hearing:{hid}"),
        ("agenda.start", "user", name, f"hearings.agendaitem:{world.items[1].pk}"),
        ("question.edit", "user", name, f"hearings.question:{pending.pk}"),
        ("question.approve", "user", name, f"hearings.question:{pending.pk}"),
        ("question.reject", "user", name, f"hearings.question:{spam.pk}"),
        ("question.stage", "user", name, f"hearings.hearing:{hid}"),
        ("question.answered", "user", name, f"hearings.question:{pending.pk}"),
        ("question.merge", "user", name, f"hearings.question:{b.pk}"),
        ("hearing.end", "user", name, f"hearings.hearing:{hid}"),
    ]
    edit = AuditEntry.objects.get(action="question.edit")
    assert edit.payload == {"from": "群众的问题", "to": "群众的问题（改）"}
    assert edit.actor_id == mod.pk
    assert AuditEntry.objects.get(action="question.answered").payload["commitment"] == "一个月内解决"
    assert AuditEntry.objects.get(action="question.merge").payload["into"] == a.pk
    assert verify().ok


def test_a_refused_change_records_nothing() -> None:
    world = make_world()
    with pytest.raises(Forbidden):
        services.hearing_start(hearing_id=world.hearing.pk, by=world.other_moderator)
    with pytest.raises(InvalidState):
        services.hearing_end(hearing_id=world.hearing.pk, by=world.moderator)
    assert entries() == []


def test_poll_results_are_recorded_with_their_counts() -> None:
    world: World = make_world(deputies=3, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    for deputy, choice in zip(world.deputies, ["满意", "满意", "不满意"], strict=True):
        cast(world, poll, deputy, choice)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)  # no change
    voting_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    # Each deputy's own check-in is on record too (tests/voting/test_attendance.py).
    assert [e[0] for e in entries()] == ["checkin"] * 3 + ["poll.open", "poll.close", "poll.publish"]
    counts = {"cast": 3, "eligible": 3, "results": {"满意": 2, "基本满意": 0, "不满意": 1}}
    assert AuditEntry.objects.get(action="poll.close").payload == counts
    assert AuditEntry.objects.get(action="poll.publish").payload == counts
    assert AuditEntry.objects.get(action="poll.open").payload["secret"] is True


def test_closing_a_hearing_closes_its_poll_on_record_as_the_system() -> None:
    world = make_world(status=Hearing.Status.LIVE)
    voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    chamber_services.hearing_end(hearing_id=world.hearing.pk, by=world.moderator)
    assert [(action, kind) for action, kind, *_ in entries()] == [
        ("poll.open", "user"),
        ("poll.close", "system"),
        ("hearing.end", "user"),
    ]


def test_assignment_transitions_are_recorded_with_who_acted() -> None:
    case: Case = make_case()
    assignment = create(case)
    advance(case, assignment, "closed")
    subject = f"assignments.assignment:{assignment.pk}"
    assert entries() == [
        ("assignment.created", "user", case.moderator.get_username(), subject),
        ("assignment.accepted", "user", case.liaison.get_username(), subject),
        ("assignment.progress", "user", case.liaison.get_username(), subject),
        ("assignment.replied", "user", case.liaison.get_username(), subject),
        ("assignment.evaluated", "user", case.deputy.get_username(), subject),
        ("assignment.closed", "user", case.moderator.get_username(), subject),
    ]
    assert AuditEntry.objects.get(action="assignment.replied").payload["status"] == "replied"
    assert AuditEntry.objects.get(action="assignment.created").payload["due_date"] == assignment.due_date.isoformat()


def test_a_department_token_acts_on_record_as_the_department() -> None:
    case = make_case()
    assignment = create(case)
    assignment_services.assignment_accept(assignment_id=assignment.pk, by=case.lead)
    entry = last()
    assert (entry.action, entry.actor_kind, entry.actor, entry.actor_id) == (
        "assignment.accepted",
        "hearings.department",
        case.lead.name,
        case.lead.pk,
    )


def test_system_steps_are_recorded_as_the_system(world: Any) -> None:
    services.hearing_start(hearing_id=world.hearing.pk, by=None)
    assert (last().actor_kind, last().actor, last().actor_id) == ("system", "", None)


def test_a_question_submitted_is_not_a_moderator_action(world: Any) -> None:
    services.question_submit(hearing_id=world.hearing.pk, text="只是提问", source="public")
    assert not AuditEntry.objects.exists()
    assert Question.objects.count() == 1
