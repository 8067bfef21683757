"""Satisfaction voting (and likes) under concurrency, on the real PostgreSQL.

Ballots take a share lock on their poll and closing takes the exclusive lock: every ballot is
either counted by the close or refused with poll_closed, never lost, never counted twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from core.errors import AlreadyVoted, PollClosed
from hearings import services as hearing_services
from hearings.models import Hearing, Question
from tests.factories import World, make_world
from tests.voting.helpers import stored_total
from voting import services
from voting.models import Attendance, Poll, PollOption, VoteRecord

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHOICES = ["满意", "基本满意", "不满意"]
WORKERS = 32
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")


def _crowd(n: int) -> tuple[World, list[Any], Poll]:
    """A live hearing with `n` checked-in deputies (made in bulk) and an open secret poll."""
    world = make_world(deputies=0, status=Hearing.Status.LIVE)
    users = get_user_model()
    tag = uuid.uuid4().hex[:8]
    deputies = users.objects.bulk_create([users(username=f"crowd-{tag}-{i:04d}") for i in range(n)])
    through = Hearing.deputies.through
    through.objects.bulk_create([through(hearing_id=world.hearing.pk, user_id=d.pk) for d in deputies])
    Attendance.objects.bulk_create([Attendance(hearing=world.hearing, deputy=d) for d in deputies])
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    return world, deputies, poll


def _vote(world: World, poll: Poll, deputy: Any, choice: str, ballot: uuid.UUID) -> str:
    """One tablet's ballot from its own thread: "ok", "duplicate", "closed" or "already"."""
    try:
        result = services.ballot_cast(
            hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=ballot
        )
        return "duplicate" if result.duplicate else "ok"
    except PollClosed:
        return "closed"
    except AlreadyVoted:
        return "already"
    finally:
        connection.close()


def _in_thread(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    finally:
        connection.close()


def _results(futures: list[Future[T]]) -> list[T]:
    # .result() re-raises anything unexpected (a deadlock, an IntegrityError) in the test.
    return [f.result(timeout=60) for f in futures]


def test_500_deputies_vote_at_once_and_resends_count_once(published):
    world, deputies, poll = _crowd(500)
    choices = [CHOICES[i % 3] for i in range(500)]
    ballots = [uuid.uuid4() for _ in deputies]
    started = time.monotonic()

    # Every deputy votes; 50 tablets resend at once (the answer got lost), racing the original.
    with ThreadPoolExecutor(WORKERS) as pool:
        originals: list[Future[str]] = []
        resends: list[Future[str]] = []
        for i, deputy in enumerate(deputies):
            originals.append(pool.submit(_vote, world, poll, deputy, choices[i], ballots[i]))
            if i < 50:
                resends.append(pool.submit(_vote, world, poll, deputy, choices[i], ballots[i]))
        first, again = _results(originals), _results(resends)

    # Of each raced pair exactly one counted; whichever lost is told it is a duplicate.
    assert first[50:] == ["ok"] * 450
    assert [sorted(pair) for pair in zip(first[:50], again, strict=True)] == [["duplicate", "ok"]] * 50
    assert stored_total(poll) == 500
    assert VoteRecord.objects.count() == 500
    assert set(VoteRecord.objects.values_list("deputy_id", flat=True)) == {d.pk for d in deputies}

    # Later resends of the same UUIDs, and new ballots from deputies who voted, all at once.
    with ThreadPoolExecutor(WORKERS) as pool:
        later = [pool.submit(_vote, world, poll, deputies[i], choices[i], ballots[i]) for i in range(50)]
        others = [pool.submit(_vote, world, poll, deputies[i], "不满意", uuid.uuid4()) for i in range(50, 100)]
        assert _results(later) == ["duplicate"] * 50
        assert _results(others) == ["already"] * 50
    elapsed = time.monotonic() - started

    assert stored_total(poll) == VoteRecord.objects.count() == 500
    published.clear()
    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    assert (closed.eligible, closed.cast) == (500, 500)
    assert closed.results == dict(Counter(choices)) == {"满意": 167, "基本满意": 167, "不满意": 166}
    assert published.types() == ["poll.closed"]
    assert elapsed < 30, f"600 concurrent ballots took {elapsed:.1f} s"


def test_ballots_racing_the_close_are_counted_or_refused(published):
    world, deputies, poll = _crowd(200)
    choices = {d.pk: CHOICES[i % 3] for i, d in enumerate(deputies)}
    finished = 0
    halfway = threading.Event()
    lock = threading.Lock()

    def vote(deputy: Any) -> str:
        nonlocal finished
        outcome = _vote(world, poll, deputy, choices[deputy.pk], uuid.uuid4())
        with lock:
            finished += 1
            if finished >= 100:
                halfway.set()
        return outcome

    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {d.pk: pool.submit(vote, d) for d in deputies}
        assert halfway.wait(timeout=30)
        published.clear()
        # Ballots are in flight in every worker while the moderator closes the poll.
        closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
        outcomes = {pk: future.result(timeout=60) for pk, future in futures.items()}

    acked = {pk for pk, outcome in outcomes.items() if outcome == "ok"}
    refused = {pk for pk, outcome in outcomes.items() if outcome == "closed"}
    assert len(acked) + len(refused) == 200, Counter(outcomes.values())
    assert len(acked) >= 100
    assert refused, "the close came after every ballot: no race was tested"

    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED
    assert poll.results is not None
    assert len(acked) == poll.cast == closed.cast == sum(poll.results.values()) == stored_total(poll)
    assert poll.eligible == 200
    # Exactly the acked deputies are recorded, and the tally is exactly their choices.
    assert set(VoteRecord.objects.values_list("deputy_id", flat=True)) == acked
    assert poll.results == {choice: Counter(choices[pk] for pk in acked)[choice] for choice in CHOICES}
    assert published.types() == ["poll.closed"]
    assert f'"cast":{len(acked)},' in published.last()[3]


def _waiting_locks() -> int:
    """Sessions of this database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.datname = current_database()"
        )
        (n,) = cursor.fetchone()
    return int(n)


def _until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_close_waits_for_ballots_in_flight_and_no_later_ballot_overtakes_it(monkeypatch, published):
    """A ballot in flight is counted; one that arrives while the close waits is refused."""
    world, deputies, poll = _crowd(3)
    published.clear()
    slow, late = deputies[0], deputies[1]
    inside, release = threading.Event(), threading.Event()
    lock_poll_shared = services._lock_poll_shared
    first = threading.Event()

    def slow_lock(poll_id: int, hearing_id: int) -> Any:
        # The first ballot holds the poll's shared lock inside its transaction until released.
        poll = lock_poll_shared(poll_id, hearing_id)
        if not first.is_set():
            first.set()
            inside.set()
            release.wait(20)
        return poll

    monkeypatch.setattr(services, "_lock_poll_shared", slow_lock)
    close = partial(services.poll_close, hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    with ThreadPoolExecutor(3) as pool:
        in_flight = pool.submit(_vote, world, poll, slow, "不满意", uuid.uuid4())
        assert inside.wait(10)
        closing = pool.submit(_in_thread, close)
        assert _until(lambda: _waiting_locks() >= 1), "the close did not wait for the ballot in flight"
        arriving = pool.submit(_vote, world, poll, late, "满意", uuid.uuid4())
        # The late ballot must queue behind the close, not slip in while the close waits.
        _until(lambda: arriving.done() or _waiting_locks() >= 2)
        overtook = arriving.done()
        release.set()
        assert (in_flight.result(10), arriving.result(10)) == ("ok", "closed")
        assert not overtook
        closed = closing.result(10)

    assert (closed.cast, closed.results) == (1, {"满意": 0, "基本满意": 0, "不满意": 1})
    assert stored_total(poll) == VoteRecord.objects.count() == 1
    assert published.types() == ["poll.closed"]


def test_repeated_close_and_publish_return_identical_counts(published):
    world, deputies, poll = _crowd(60)
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = _results(
            [pool.submit(_vote, world, poll, d, CHOICES[i % 3], uuid.uuid4()) for i, d in enumerate(deputies)]
        )
    assert outcomes == ["ok"] * 60
    published.clear()

    def close() -> tuple[Any, ...]:
        p = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
        return (p.eligible, p.cast, p.results, p.closed_at)

    def publish() -> tuple[Any, ...]:
        p = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
        return (p.status, p.eligible, p.cast, p.results, p.closed_at, p.published_at)

    with ThreadPoolExecutor(8) as pool:
        closes = _results([pool.submit(_in_thread, close) for _ in range(8)])
        publishes = _results([pool.submit(_in_thread, publish) for _ in range(8)])
        closes_after = _results([pool.submit(_in_thread, close) for _ in range(4)])

    assert closes[0][:3] == (60, 60, {"满意": 20, "基本满意": 20, "不满意": 20})
    assert all(c == closes[0] for c in closes + closes_after)
    assert all(p == publishes[0] for p in publishes)
    assert publishes[0][:5] == ("published", *closes[0])
    assert published.types() == ["poll.closed", "poll.published"]


DEADLOCK_BATCH = 1000  # rows per batch: enough that two batches' writes overlap in time


def _side_by_side(*calls: Callable[[], T], rounds: int) -> list[list[T]]:
    """Run `calls` together, each on its own thread and connection, released at once by a
    barrier, `rounds` times; a deadlock or any other error is raised here."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], T]) -> T:
        barrier.wait(10)
        return call()

    out = []
    with ThreadPoolExecutor(len(calls)) as pool:
        for _ in range(rounds):
            out.append(_results([pool.submit(_in_thread, partial(released, call)) for call in calls]))
    return out


@pytest.mark.parametrize("secret", [True, False], ids=["secret", "named"])
def test_batches_of_the_same_deputies_in_opposite_orders_do_not_deadlock(secret: bool) -> None:
    """Two processes' batches can hold the same deputies (a tablet resending on a second socket)
    in any order: they must queue on each other, never deadlock (which failed both batches)."""
    for _ in range(3):
        world, deputies, poll = _crowd(DEADLOCK_BATCH)
        Poll.objects.filter(pk=poll.pk).update(secret=secret)
        requests = [services.BallotRequest(d.pk, CHOICES[i % 3], uuid.uuid4()) for i, d in enumerate(deputies)]

        def cast(order: list[services.BallotRequest], poll_id: int = poll.pk, world: World = world) -> list[Any]:
            return services.ballots_cast(hearing_id=world.hearing.pk, poll_id=poll_id, requests=order)

        [(forward, backward)] = _side_by_side(partial(cast, requests), partial(cast, requests[::-1]), rounds=1)
        assert all(isinstance(r, services.BallotResult) for r in forward + backward), forward + backward
        # Each deputy's ballot is stored once: by one batch, a duplicate in the other.
        stored = [not a.duplicate for a in forward] + [not b.duplicate for b in backward[::-1]]
        assert sum(stored) == DEADLOCK_BATCH
        assert VoteRecord.objects.filter(poll=poll).count() == stored_total(poll) == DEADLOCK_BATCH
        Poll.objects.filter(pk=poll.pk).update(status=Poll.Status.CLOSED)


def test_like_batches_touching_the_same_questions_in_opposite_orders_do_not_deadlock() -> None:
    """Two processes' like batches raise the counters of the same questions, in any order."""
    world = make_world(status=Hearing.Status.LIVE)
    questions = Question.objects.bulk_create(
        [
            Question(hearing=world.hearing, item=world.items[1], text=f"q{i}", status=Question.Status.APPROVED)
            for i in range(DEADLOCK_BATCH)
        ]
    )
    hid = world.hearing.pk

    def like(viewer: str, order: list[Question]) -> list[Any]:
        return hearing_services.like_add_many(requests=[hearing_services.LikeRequest(hid, viewer, q.pk) for q in order])

    rounds = _side_by_side(
        lambda: like(f"a-{uuid.uuid4()}", questions), lambda: like(f"b-{uuid.uuid4()}", questions[::-1]), rounds=16
    )
    for results in rounds:
        assert all(isinstance(r, hearing_services.LikeResult) and not r.duplicate for batch in results for r in batch)
    assert set(Question.objects.filter(pk__in=[q.pk for q in questions]).values_list("likes", flat=True)) == {32}


def _sheet_crowd(n: int, *, secret: bool) -> tuple[World, list[Any], Poll, list[str]]:
    """As _crowd, with an open sheet poll of the hearing's three departments × an aspect."""
    world, deputies, satisfaction = _crowd(n)
    Poll.objects.filter(pk=satisfaction.pk).update(status=Poll.Status.CLOSED)
    rows = [services.OptionSpec(f"{d.name}·{aspect}", d.pk) for d in world.departments for aspect in ("态度", "质量")]
    poll = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[2].pk,
        by=world.moderator,
        kind="sheet",
        rows=rows,
        secret=secret,
    )
    ids = [str(pk) for pk in PollOption.objects.filter(poll=poll).order_by("position").values_list("pk", flat=True)]
    return world, deputies, poll, ids


# The 300-tablet sheet race against the close: tests/voting/test_sheet_race.py (both passes).
