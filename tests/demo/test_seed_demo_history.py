"""seed_demo's ended hearing: answered questions, published polls, assignments in several states."""

from __future__ import annotations

import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from assignments import selectors
from assignments.models import Assignment, TimelineEntry
from demo.management.commands.seed_demo import (
    ASPECTS,
    MINSHENG_CHOSEN,
    PAST_HEARINGS,
    PAST_TITLE,
    SHEET_TITLE,
    WINDOW_TITLE,
)
from hearings.models import Hearing, Question
from projects.models import Project
from tests.voting.helpers import stored_counts
from voting import selectors as voting_selectors
from voting.models import Poll, VoteRecord

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--deputies", "4", "--password", "pw-demo-7788", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_an_ended_hearing_with_assignments_in_several_states(client: Client) -> None:
    output = seed()
    ended = Hearing.objects.get(status=Hearing.Status.ENDED, title=PAST_TITLE)
    assert f"Ended hearing id: {ended.pk}" in output
    assert Question.objects.filter(hearing=ended, status="answered").count() >= 5
    polls = Poll.objects.filter(hearing=ended, kind=Poll.Kind.SATISFACTION)
    assert polls.count() >= 3 and all(p.status == "published" and p.results for p in polls)
    # The year's 民生实事 票选: published, its chosen candidates adopted as projects with history.
    select = Poll.objects.get(hearing=ended, kind=Poll.Kind.SELECT)
    assert select.status == "published"
    chosen = voting_selectors.poll_out(select).chosen
    assert chosen is not None and len(chosen) == MINSHENG_CHOSEN
    projects = Project.objects.filter(poll=select)
    assert sorted(projects.values_list("candidate_id", flat=True)) == sorted(chosen)
    assert all(p.progress > 0 and p.updates.count() >= 4 for p in projects)
    # A window poll open now on its devices (事后测评), and a prepared sheet on the draft hearing.
    window = Poll.objects.get(hearing=ended, title=WINDOW_TITLE)
    assert window.status == "open" and window.is_window
    draft = Poll.objects.get(hearing__status=Hearing.Status.DRAFT, title=SHEET_TITLE)
    assert draft.status == "draft" and draft.item is not None and draft.options.count() == 4 * len(ASPECTS)
    assignments = Assignment.objects.filter(hearing=ended)
    statuses = set(assignments.values_list("status", flat=True))
    assert {"assigned", "accepted", "in_progress", "replied", "reopened", "closed", "returned"} <= statuses
    assert sum(selectors.is_overdue(a) for a in assignments) >= 2
    assert assignments.filter(loop=1).exists()
    assert assignments.filter(resolved=True, review_due__isnull=False).exists()
    body = client.get(f"/api/v1/assignments/?hearing={ended.pk}&overdue=true", secure=True).json()
    assert body["count"] >= 2
    assert client.get("/assignments/", secure=True).status_code == 200


def test_seed_demo_twice_does_not_duplicate_the_ended_hearing() -> None:
    seed()
    counts = (Hearing.objects.count(), Assignment.objects.count(), TimelineEntry.objects.count(), Poll.objects.count())
    seed()
    assert (
        Hearing.objects.count(), Assignment.objects.count(), TimelineEntry.objects.count(), Poll.objects.count()
    ) == counts  # fmt: skip


def test_seed_demo_polls_are_counted_from_real_ballots() -> None:
    seed()
    assert Hearing.objects.filter(status=Hearing.Status.ENDED).count() == len(PAST_HEARINGS)
    for poll in Poll.objects.filter(hearing__status=Hearing.Status.ENDED, kind=Poll.Kind.SATISFACTION):
        counts = stored_counts(poll)
        assert poll.results == {choice: counts[choice] for choice in poll.choices}
        assert poll.cast == counts.total() == VoteRecord.objects.filter(poll=poll).count() == 3
        assert poll.eligible == 3  # four deputies, one absent
    # The items took the time the spec says, back to back.
    for title, _, agenda, _ in PAST_HEARINGS:
        items = list(Hearing.objects.get(title=title).agenda.order_by("position"))
        spans = [(i.started_at, i.ended_at) for i in items]
        assert all(start and end for start, end in spans)
        minutes = [round((end - start).total_seconds() / 60) for start, end in spans if start and end]
        assert minutes == [m for _, _, m, _ in agenda]
        assert all(a.ended_at == b.started_at for a, b in itertools.pairwise(items))


def test_seed_demo_gives_the_scorecards_every_outcome() -> None:
    seed()
    entries = TimelineEntry.objects.filter(action="replied")
    late = [e for e in entries if e.due_date is not None and e.at.date() > e.due_date]
    assert late, "one assignment was replied after its due date"
    reviewed = set(Assignment.objects.exclude(review_outcome="").values_list("review_outcome", flat=True))
    assert reviewed == {"held", "relapsed"}
