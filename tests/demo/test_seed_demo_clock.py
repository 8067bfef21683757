"""seed_demo plays the ended hearings through the services on a controlled clock, so the history
is consistent (shared/PROTOCOL.md, "Demo data"): every time lies in the past and in order, no note
contradicts its assignment, poll results come from ballots, the audit chain holds."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from assignments import selectors
from assignments.models import Assignment, TimelineEntry
from assignments.notes import entry_note
from audit.chain import verify
from audit.models import AuditEntry
from demo.management.commands.seed_demo import HEARING_LIKES, PAST_HEARINGS, WINDOW_TITLE, question_likes
from hearings.models import Hearing, Like, Question
from live.models import LiveEvent
from tests.voting.helpers import stored_counts
from voting.models import Attendance, Poll

pytestmark = pytest.mark.django_db

STATED_DUE = re.compile(r"期限\s*(\d{4}-\d{2}-\d{2})")


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--deputies", "4", "--password", "pw-demo-7788", stdout=out)
    return out.getvalue()


def ended_hearings() -> list[Hearing]:
    return list(Hearing.objects.filter(status=Hearing.Status.ENDED).order_by("started_at"))


def test_every_timeline_lies_in_the_past_in_order_after_its_hearing() -> None:
    seed()
    now = timezone.now()
    assignments = list(Assignment.objects.filter(hearing__in=ended_hearings()).select_related("hearing"))
    assert len(assignments) == sum(len(questions) for *_, questions in PAST_HEARINGS)
    for assignment in assignments:
        times = [entry.at for entry in assignment.timeline.order_by("id")]
        assert times, assignment
        assert all(at < now for at in times), assignment
        assert times == sorted(times), assignment
        assert assignment.hearing.ended_at is not None and times[0] > assignment.hearing.ended_at
        assert times[0] == assignment.created_at
        stamps = [assignment.replied_at, assignment.evaluated_at, assignment.closed_at, assignment.reviewed_at]
        assert all(stamp in times for stamp in stamps if stamp is not None), assignment
        assert assignment.updated_at == times[-1], assignment
        if assignment.reply:  # the reply reports on the commitment made at the hearing
            assert assignment.commitment and assignment.commitment in assignment.reply


def test_the_timeline_states_the_due_date_the_assignment_shows() -> None:
    seed()
    for assignment in Assignment.objects.filter(hearing__in=ended_hearings()):
        entries = list(assignment.timeline.order_by("at", "id"))
        # Each entry keeps the due date in force, and a note stating one states that one.
        for entry in entries:
            for stated in STATED_DUE.findall(entry_note(entry)):
                assert date.fromisoformat(stated) == entry.due_date, (assignment, entry_note(entry))
        assert entries[-1].due_date == assignment.due_date
        stated = [date.fromisoformat(d) for entry in entries for d in STATED_DUE.findall(entry_note(entry))]
        assert stated, assignment
        assert stated[-1] == assignment.due_date, assignment
        # The due date was counted by the services from the day it was given.
        created = entries[0]
        assert created.action == TimelineEntry.Action.CREATED and created.due_date is not None
        assert timezone.localdate(created.at) < created.due_date


def test_overdue_assignments_are_overdue_by_their_own_due_dates() -> None:
    seed()
    today = timezone.localdate()
    assignments = Assignment.objects.filter(hearing__in=ended_hearings())
    overdue = [a for a in assignments if selectors.is_overdue(a)]
    assert len(overdue) >= 2
    for assignment in overdue:
        assert assignment.due_date < today
        notes = [entry_note(entry) for entry in assignment.timeline.order_by("at", "id")]
        assert [note for note in notes if STATED_DUE.search(note)][-1].endswith(f"期限{assignment.due_date:%Y-%m-%d}")
    assert not all(selectors.is_overdue(a) for a in assignments.filter(status="accepted"))
    replied = [(a.replied_at, a.due_date) for a in assignments if a.replied_at is not None]
    late = [at for at, due in replied if timezone.localdate(at) > due]
    assert late, "one assignment was replied after its due date"


def test_the_hearings_took_place_in_the_past_in_order_with_real_ballots_and_likes() -> None:
    seed()
    now = timezone.now()
    for hearing in ended_hearings():
        started, ended = hearing.started_at, hearing.ended_at
        assert started is not None and ended is not None
        assert hearing.created_at < started < ended < now
        assert timezone.localtime(started).hour == 9
        checked_in = Attendance.objects.filter(hearing=hearing).values_list("checked_in_at", flat=True)
        assert all(at < started for at in checked_in)
        items = list(hearing.agenda.order_by("position"))
        assert items[0].started_at == hearing.started_at and items[-1].ended_at == hearing.ended_at
        assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(items))
        for item in items:
            assert item.started_at is not None and item.ended_at is not None
            for question in Question.objects.filter(item=item):
                assert question.staged_at is not None and question.answered_at is not None
                assert item.started_at < question.created_at < question.staged_at < question.answered_at
                assert question.answered_at < item.ended_at
            poll = Poll.objects.get(item=item, kind=Poll.Kind.SATISFACTION)
            assert poll.opened_at is not None and poll.closed_at is not None and poll.published_at is not None
            assert item.started_at < poll.opened_at < poll.closed_at < poll.published_at < item.ended_at
            counts = stored_counts(poll)
            assert poll.results == {choice: counts[choice] for choice in poll.choices}
            assert poll.cast == counts.total() == 3
        assert hearing.likes == HEARING_LIKES == Like.objects.filter(hearing=hearing, question=None).count()
        for question in Question.objects.filter(hearing=hearing):
            assert question.likes == Like.objects.filter(question=question).count() > 0
        assert sorted(Question.objects.filter(hearing=hearing).values_list("likes", flat=True)) == sorted(
            question_likes(n) for n in range(Question.objects.filter(hearing=hearing).count())
        )
        # After the end, only the window poll the office opened since (事后测评, on the deputies' devices).
        late = LiveEvent.objects.filter(hearing=hearing, created_at__gt=hearing.ended_at)
        assert all(
            e.type == "poll.opened" and WINDOW_TITLE in json.loads(e.frame)["data"]["poll"]["title"] for e in late
        )


def test_the_audit_chain_verifies_in_time_order() -> None:
    seed()
    result = verify()
    assert result.ok and result.count == AuditEntry.objects.count() > 0
    times = list(AuditEntry.objects.order_by("seq").values_list("at", flat=True))
    assert times == sorted(times)
    assert times[-1] < timezone.now()
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert "audit chain ok" in out.getvalue()


def snapshot() -> dict[str, object]:
    return {
        "hearings": list(Hearing.objects.order_by("pk").values_list("pk", "status", "started_at", "ended_at", "likes")),
        "questions": list(Question.objects.order_by("pk").values_list("pk", "status", "answered_at", "likes")),
        "polls": list(Poll.objects.order_by("pk").values_list("pk", "status", "results", "published_at")),
        "assignments": list(
            Assignment.objects.order_by("pk").values_list("pk", "status", "due_date", "loop", "updated_at")
        ),
        "timeline": list(TimelineEntry.objects.order_by("pk").values_list("pk", "at", "due_date", "public_note")),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "hash")),
        "likes": Like.objects.count(),
        "events": LiveEvent.objects.count(),
    }


def test_seeding_twice_changes_nothing() -> None:
    seed()
    before = snapshot()
    seed()
    assert snapshot() == before
    assert verify().ok
