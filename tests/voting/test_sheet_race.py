"""Exactly once for a sheet poll on either database: 300 tablets cast whole sheets while the
moderator closes the poll. Each ballot is counted whole by the close or refused whole
(poll_closed), never in part. (tests/integration/test_voting_postgres.py runs the same race on
PostgreSQL with more threads; this one runs in both passes, SQLite's included.)"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from core.errors import PollClosed
from tests.integration.test_voting_postgres import _sheet_crowd
from voting import selectors, services
from voting.models import Ballot, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db(transaction=True)

CHOICES = ["满意", "基本满意", "不满意"]
TABLETS = 300


@pytest.mark.parametrize("secret", [True, False], ids=["secret", "named"])
def test_300_sheet_ballots_racing_the_close_count_exactly_once(secret: bool) -> None:
    world, deputies, poll, rows = _sheet_crowd(TABLETS, secret=secret)
    sheets = {d.pk: {row: CHOICES[(i + j) % 3] for j, row in enumerate(rows)} for i, d in enumerate(deputies)}
    finished = 0
    halfway = threading.Event()
    lock = threading.Lock()

    def vote(deputy: Any) -> str:
        nonlocal finished
        try:
            services.ballot_cast(
                hearing_id=world.hearing.pk,
                poll_id=poll.pk,
                deputy=deputy,
                choices=sheets[deputy.pk],
                ballot_id=uuid.uuid4(),
            )
            outcome = "ok"
        except PollClosed:
            outcome = "closed"
        finally:
            connection.close()
        with lock:
            finished += 1
            if finished >= TABLETS // 2:
                halfway.set()
        return outcome

    workers = 16 if connection.vendor == "postgresql" else 8
    with ThreadPoolExecutor(workers) as pool:
        futures = {d.pk: pool.submit(vote, d) for d in deputies}
        assert halfway.wait(timeout=60)
        closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
        outcomes = {pk: future.result(timeout=120) for pk, future in futures.items()}

    acked = {pk for pk, outcome in outcomes.items() if outcome == "ok"}
    assert len(acked) + sum(outcome == "closed" for outcome in outcomes.values()) == TABLETS, Counter(outcomes.values())
    assert TABLETS // 2 <= len(acked) < TABLETS, "the close came after every ballot: no race was tested"
    poll.refresh_from_db()
    assert len(acked) == poll.cast == closed.cast
    assert set(VoteRecord.objects.filter(poll=poll).values_list("deputy_id", flat=True)) == acked
    expected = {row: {c: Counter(sheets[pk][row] for pk in acked)[c] for c in CHOICES} for row in rows}
    assert poll.results == expected == selectors.tally(poll)
    if secret:
        assert not Ballot.objects.filter(poll=poll).exists() and SecretTally.objects.filter(poll=poll).count() == 1
    else:
        assert Ballot.objects.filter(poll=poll).count() == len(acked)
