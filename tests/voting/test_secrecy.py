"""无记名: nothing stored for a secret poll links a deputy to a choice.

These tests read the database the way someone holding the file or a backup would: every
column of every row of every table, in physical order (SQLite's rowid; PostgreSQL's ctid and
the xmin system column, the transaction that wrote the row).
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection

from hearings.models import Hearing
from tests.factories import World, make_world
from tests.voting.helpers import cast
from voting import selectors, services
from voting.models import Ballot, Poll, SecretTally, VoteRecord

CHOICES = ["满意", "满意", "满意", "基本满意", "基本满意", "不满意"]
# One at a time, in an order no count can hide: the voters' sequence is the secret.
SEQUENCE = ["不满意", "满意", "基本满意", "满意", "不满意", "不满意", "满意", "基本满意", "满意", "不满意"]

Row = tuple[Any, ...]


def _rows(table: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = sorted(set(tables) | {name for (name,) in cursor.fetchall()})
    return tables


def _dump() -> dict[str, list[Row]]:
    """Every row of every table in physical order, as (position, [xmin,] every column...)."""
    dump: dict[str, list[Row]] = {}
    with connection.cursor() as cursor:
        for table in _tables():
            quoted = connection.ops.quote_name(table)
            if connection.vendor == "postgresql":
                cursor.execute(f"SELECT ctid::text, xmin::text, * FROM {quoted} ORDER BY ctid")
            else:
                cursor.execute(f"SELECT rowid, * FROM {quoted} ORDER BY rowid")
            dump[table] = [tuple(str(value) for value in row) for row in cursor.fetchall()]
    return dump


def _changed(before: dict[str, list[Row]], after: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """Rows (with position and xmin) that are new or different after, table by table."""
    changed = {}
    for table, rows in after.items():
        old = set(before.get(table, []))
        new = [row for row in rows if row not in old]
        if new:
            changed[table] = new
    return changed


def _vote_all(world: World, poll: Poll) -> list[uuid.UUID]:
    client_uuids = [uuid.uuid4() for _ in world.deputies]
    for deputy, choice, ballot in zip(world.deputies, CHOICES, client_uuids, strict=True):
        cast(world, poll, deputy, choice, ballot)
    return client_uuids


def _names_a_choice(row: Row, choices: list[str]) -> bool:
    """A choice in a column, as text or as JSON writes it (SQLite's JSON escapes non-ASCII)."""
    spelled = {form for choice in choices for form in (choice, json.dumps(choice)[1:-1])}
    return any(form in value for value in row for form in spelled)


@pytest.mark.django_db(transaction=True)
def test_one_at_a_time_secret_votes_leave_nothing_that_recovers_who_chose_what():
    """Deputies vote one by one (one transaction each) in a distinctive order; then every table
    is read. What the voting wrote is the VoteRecords (who voted, no choice) and the poll's one
    tally row (counts, no order), so the sequence of choices is nowhere to be read."""
    world = make_world(deputies=len(SEQUENCE), status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None)
    assert poll.secret
    before = _dump()

    ballots = [uuid.uuid4() for _ in world.deputies]
    for deputy, choice, ballot in zip(world.deputies, SEQUENCE, ballots, strict=True):
        assert cast(world, poll, deputy, choice, ballot) is False
    after = _dump()
    changed = _changed(before, after)

    records, tallies = VoteRecord._meta.db_table, SecretTally._meta.db_table
    # Only two tables changed: "has voted" rows, one per deputy, and the poll's one tally row
    # (and SQLite's counter of the VoteRecord ids).
    counters = {"sqlite_sequence"} if connection.vendor == "sqlite" else set()
    assert set(changed) == {records, tallies} | counters, {t: rows[:3] for t, rows in changed.items()}
    assert len(changed[records]) == len(SEQUENCE)
    assert len(after[records]) == len(SEQUENCE)
    assert len(changed[tallies]) == len(after[tallies]) == 1
    # Of all the rows the voting wrote, the tally row is the only one that names a choice:
    # one row holds no order, and its counts are the published result anyway.
    choice_rows = [row for rows in changed.values() for row in rows if _names_a_choice(row, poll.choices)]
    assert choice_rows == changed[tallies]
    assert SecretTally.objects.get(poll=poll).counts == dict(Counter(SEQUENCE))
    assert not Ballot.objects.exists()

    if connection.vendor == "postgresql":
        # Each voter's own transaction wrote their VoteRecord; the only other row any voter's
        # transaction wrote is the tally's current version (the last voter's: public anyway,
        # and the row says nothing of what they chose).
        voter_xmins = {row[1] for row in changed[records]}
        assert len(voter_xmins) == len(SEQUENCE)  # one transaction per vote: the test is real
        written = [(t, row) for t, rows in after.items() for row in rows if row[1] in voter_xmins]
        assert sorted(t for t, _ in written) == sorted([records] * len(SEQUENCE) + [tallies])

    if connection.vendor == "sqlite":  # the log holds each ballot's commit until the close
        assert Path(connection.settings_dict["NAME"] + "-wal").stat().st_size > 0
    # A resend is still recognised (duplicate) and writes nothing.
    assert cast(world, poll, world.deputies[0], SEQUENCE[0], ballots[0]) is True
    assert _dump() == after
    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert closed.results == {choice: SEQUENCE.count(choice) for choice in poll.choices}
    assert closed.cast == len(SEQUENCE)
    if connection.vendor == "sqlite":
        _assert_no_earlier_tally_in_the_files(poll)


def _assert_no_earlier_tally_in_the_files(poll: Poll) -> None:
    """The bytes of the SQLite files: while the poll was open, the write-ahead log held the
    tally row as it was after each ballot (with that ballot's VoteRecord beside it); after the
    close it is cut to nothing, and the database file keeps no earlier tally (secure_delete)."""
    database = Path(connection.settings_dict["NAME"])
    wal = database.with_name(database.name + "-wal")
    assert wal.stat().st_size == 0
    earlier, running = set(), Counter[str]()
    for choice in SEQUENCE[:-1]:
        running[choice] += 1
        # As the JSON column stores the counts after each ballot.
        counts = {c: running[c] for c in poll.choices if running[c]}
        earlier.add(json.dumps(counts).encode())
    stored = json.dumps(SecretTally.objects.get(poll=poll).counts).encode()
    assert stored not in earlier
    data = database.read_bytes()
    assert stored in data  # the test reads the right file
    assert [version for version in earlier if version in data] == []


def test_secret_ballots_are_counts_and_the_record_keeps_a_keyed_hash(voting_world: World, poll: Poll):
    world = voting_world
    client_uuids = _vote_all(world, poll)

    assert not Ballot.objects.exists()
    assert {f.column for f in SecretTally._meta.concrete_fields} == {"poll_id", "counts"}
    assert list(SecretTally.objects.values_list("poll_id", "counts")) == [
        (poll.pk, {"满意": 3, "基本满意": 2, "不满意": 1})
    ]
    assert selectors.tally(poll) == {"满意": 3, "基本满意": 2, "不满意": 1}
    # The "has voted" row keeps a keyed hash of the tablet's UUID: it recognises a resend but
    # is not the UUID.
    records = _rows(VoteRecord._meta.db_table)
    assert {row["deputy_id"] for row in records} == {d.pk for d in world.deputies}
    keys = {row["ballot_key"] for row in records}
    assert keys == {services._ballot_key(poll.pk, u) for u in client_uuids}
    assert not keys & ({str(u) for u in client_uuids} | {u.hex for u in client_uuids})


def test_a_secret_poll_made_without_poll_open_gets_its_tally_with_the_first_ballot(voting_world: World):
    world = voting_world
    poll = Poll.objects.create(hearing=world.hearing, item=world.items[1], title="直接建的测评")
    assert not SecretTally.objects.exists()

    cast(world, poll, world.deputies[0], "基本满意")
    cast(world, poll, world.deputies[1], "基本满意")

    assert SecretTally.objects.get(poll=poll).counts == {"基本满意": 2}
    assert selectors.tally(poll) == {"满意": 0, "基本满意": 2, "不满意": 0}


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


def test_the_migration_folds_stored_secret_ballots_into_the_tally(voting_world: World):
    """Secret ballots stored one row each (before the tally) become counts, and the rows go;
    a named poll's ballots stay."""
    world = voting_world
    migration = importlib.import_module("voting.migrations.0003_secret_tally")
    old = Poll.objects.create(hearing=world.hearing, item=world.items[1], title="旧的无记名测评", status="published")
    Ballot.objects.bulk_create([Ballot(poll=old, choice=c) for c in CHOICES])
    named = Poll.objects.create(
        hearing=world.hearing, item=world.items[2], title="记名", secret=False, status="published"
    )
    Ballot.objects.create(poll=named, choice="满意", deputy=world.deputies[0], client_uuid=uuid.uuid4())
    named_before = list(Ballot.objects.filter(poll=named).values_list("id", "choice", "deputy_id", "client_uuid"))
    counted = selectors.ballot_counts([old.pk, named.pk])

    migration.fold_secret_ballots(django_apps, None)

    assert not Ballot.objects.filter(poll=old).exists()
    assert SecretTally.objects.get(poll=old).counts == {"满意": 3, "基本满意": 2, "不满意": 1}
    assert not SecretTally.objects.filter(poll=named).exists()
    assert list(Ballot.objects.filter(poll=named).values_list("id", "choice", "deputy_id", "client_uuid")) == (
        named_before
    )
    assert selectors.ballot_counts([old.pk, named.pk]) == counted  # the reports read the same figures

    migration.unfold_secret_ballots(django_apps, None)
    assert Counter(Ballot.objects.filter(poll=old).values_list("choice", flat=True)) == Counter(CHOICES)
