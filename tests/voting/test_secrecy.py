"""无记名: a secret poll's stored ballots cannot be traced to a deputy.

These tests read the tables the way someone with database access would: through the ORM and
through raw SQL of every column.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, models

from hearings.models import Hearing
from tests.factories import World, make_world
from tests.voting.helpers import cast
from voting import services
from voting.models import Ballot, Poll, VoteRecord
from voting.services import _ballot_key

BALLOT_COLUMNS = {"id", "poll_id", "choice", "deputy_id", "client_uuid"}
RECORD_COLUMNS = {"id", "poll_id", "deputy_id", "ballot_key"}
CHOICES = ["满意", "满意", "满意", "基本满意", "基本满意", "不满意"]


def _rows(table: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _vote_all(world: World, poll: Poll) -> list[uuid.UUID]:
    client_uuids = [uuid.uuid4() for _ in world.deputies]
    for deputy, choice, ballot in zip(world.deputies, CHOICES, client_uuids, strict=True):
        cast(world, poll, deputy, choice, ballot)
    return client_uuids


def test_secret_ballot_tables_hold_no_link_to_the_deputy(voting_world: World, poll: Poll):
    world = voting_world
    assert poll.secret
    client_uuids = _vote_all(world, poll)
    deputy_ids = {d.pk for d in world.deputies}

    # The schema: a ballot has no timestamp and a random, non-sequential primary key.
    assert {f.column for f in Ballot._meta.concrete_fields} == BALLOT_COLUMNS
    assert not any(isinstance(f, models.DateField | models.TimeField) for f in Ballot._meta.concrete_fields)
    assert isinstance(Ballot._meta.pk, models.UUIDField)
    assert {f.column for f in VoteRecord._meta.concrete_fields} == RECORD_COLUMNS

    # Raw SQL of every column of every row.
    ballots = _rows(Ballot._meta.db_table)
    records = _rows(VoteRecord._meta.db_table)
    assert len(ballots) == len(records) == 6
    assert {frozenset(row) for row in ballots} == {frozenset(BALLOT_COLUMNS)}
    assert {frozenset(row) for row in records} == {frozenset(RECORD_COLUMNS)}
    for row in ballots:
        assert row["deputy_id"] is None
        assert row["client_uuid"] is None
        assert _as_uuid(row["id"]).version == 4
    assert sorted(row["choice"] for row in ballots) == sorted(CHOICES)
    assert len({_as_uuid(row["id"]) for row in ballots}) == 6
    assert {row["deputy_id"] for row in records} == deputy_ids

    # No value a ballot holds (besides its poll) shows up in a "has voted" row, nor the reverse.
    ballot_values = {str(v) for row in ballots for k, v in row.items() if k != "poll_id" and v is not None}
    ballot_values |= {_as_uuid(row["id"]).hex for row in ballots}
    record_values = {str(v) for row in records for k, v in row.items() if k != "poll_id"}
    assert not ballot_values & record_values
    # The "has voted" row keeps a keyed hash of the tablet's UUID: it recognises a resend but
    # is neither the UUID nor derivable from a ballot's own id.
    keys = {row["ballot_key"] for row in records}
    assert keys == {_ballot_key(poll.pk, u) for u in client_uuids}
    assert not keys & {_ballot_key(poll.pk, _as_uuid(row["id"])) for row in ballots}
    assert not keys & ({str(u) for u in client_uuids} | {u.hex for u in client_uuids})

    # The ORM tells the same.
    assert list(Ballot.objects.filter(poll=poll, deputy__isnull=False)) == []
    assert list(Ballot.objects.filter(poll=poll, client_uuid__isnull=False)) == []
    assert set(Ballot.objects.values_list("poll_id", flat=True)) == {poll.pk}


def test_secret_ballots_do_not_read_back_in_voting_order(db):
    """Reading ballots gives no order that lines up with the "has voted" rows (id order)."""
    world = make_world(deputies=30, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None)
    voting_order: list[uuid.UUID] = []
    for deputy in world.deputies:
        known = set(Ballot.objects.values_list("id", flat=True))
        cast(world, poll, deputy, "满意")
        (new,) = set(Ballot.objects.values_list("id", flat=True)) - known
        voting_order.append(new)

    read_order = list(Ballot.objects.filter(poll=poll).values_list("id", flat=True))
    assert read_order == sorted(read_order)  # by the random id ...
    assert read_order != voting_order  # ... so not by time of voting (1 in 30! by chance)
    assert list(Ballot.objects.values_list("id", flat=True)) == sorted(read_order)


def test_named_poll_stores_the_deputy(voting_world: World):
    world = voting_world
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None, secret=False)
    client_uuids = _vote_all(world, poll)

    stored = set(Ballot.objects.filter(poll=poll).values_list("deputy_id", "choice", "client_uuid"))
    assert stored == {(d.pk, c, u) for d, c, u in zip(world.deputies, CHOICES, client_uuids, strict=True)}
    assert {row["deputy_id"] for row in _rows(Ballot._meta.db_table)} == {d.pk for d in world.deputies}

    # A resend is still a duplicate, and one ballot per deputy holds.
    assert cast(world, poll, world.deputies[0], "不满意", client_uuids[0]) is True
    assert Ballot.objects.filter(poll=poll, deputy=world.deputies[0]).get().choice == "满意"
    assert Ballot.objects.count() == VoteRecord.objects.count() == 6
