"""Helpers for the voting tests."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

from hearings.models import Hearing
from tests.factories import World
from voting import services
from voting.models import Ballot, Poll, SecretTally, VoteRecord


def cast(world: World, poll: Poll, deputy: Any, choice: str, ballot: uuid.UUID | None = None) -> bool:
    """Cast a ballot; returns whether it was a duplicate."""
    result = services.ballot_cast(
        hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=ballot or uuid.uuid4()
    )
    return result.duplicate


def stored_counts(poll: Poll) -> Counter[str]:
    """The ballots as stored, per choice, read here without the selectors: a secret poll's
    tally row, a named poll's Ballot rows."""
    if Poll.objects.get(pk=poll.pk).secret:  # as stored now (a test may have changed it)
        tally = SecretTally.objects.filter(poll=poll).first()
        assert not Ballot.objects.filter(poll=poll).exists(), "a secret poll stores no Ballot rows"
        return Counter(tally.counts if tally is not None else {})
    return Counter(Ballot.objects.filter(poll=poll).values_list("choice", flat=True))


def stored_total(poll: Poll) -> int:
    """How many ballots are stored for the poll."""
    return sum(stored_counts(poll).values())


def stored(poll: Poll) -> dict[str, Any]:
    """Everything a ballot or a close could change, to compare before and after a refusal."""
    poll.refresh_from_db()
    hearing = Hearing.objects.get(pk=poll.hearing_id)
    return {
        "records": sorted(VoteRecord.objects.filter(poll=poll).values_list("deputy_id", "ballot_key")),
        "ballots": sorted(Ballot.objects.filter(poll=poll).values_list("id", "choice")),
        "tally": sorted(stored_counts(poll).items()),
        "poll": (poll.status, poll.eligible, poll.cast, poll.results, poll.closed_at, poll.published_at),
        "seq": (hearing.public_seq, hearing.control_seq),
    }


def event_poll(frame: str) -> dict[str, Any]:
    """The POLL payload of a captured poll.* state frame."""
    payload = json.loads(frame)
    poll: dict[str, Any] = payload["data"]["poll"]
    return poll
