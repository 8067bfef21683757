"""seed_demo's ended hearing: answered questions, published polls, assignments in several states."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from assignments import selectors
from assignments.models import Assignment, TimelineEntry
from hearings.models import Hearing, Question
from voting.models import Poll

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--deputies", "4", "--password", "pw-demo-7788", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_an_ended_hearing_with_assignments_in_several_states(client: Client) -> None:
    output = seed()
    ended = Hearing.objects.get(status=Hearing.Status.ENDED)
    assert f"Ended hearing id: {ended.pk}" in output
    assert Question.objects.filter(hearing=ended, status="answered").count() >= 5
    polls = Poll.objects.filter(hearing=ended)
    assert polls.count() >= 3 and all(p.status == "published" and p.results for p in polls)
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
