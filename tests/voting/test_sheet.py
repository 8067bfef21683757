"""Sheet polls (测评表): one ballot carries a choice for every row; per-row results and 满意率.

PROTOCOL.md "Poll kinds": a ballot missing a row, naming an unknown row, a choice the poll does
not offer, or the wrong kind's field is `bad_request` and stores nothing; resend is a duplicate;
a secret sheet stores no Ballot rows, only the poll's one nested tally row.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection

from core.errors import AlreadyVoted, BadRequest, NotFound
from hearings.models import Hearing
from hearings.selectors import display_name
from tests.factories import World, make_world
from tests.live.helpers import control_path, deputy_path, open_socket
from tests.voting.helpers import event_poll
from tests.voting.test_secrecy import _changed, _dump, _names_a_choice
from voting import selectors, services
from voting.models import Ballot, Poll, PollOption, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db

CHOICES = ["满意", "基本满意", "不满意"]


def open_sheet(world: World, *, secret: bool = True, **kwargs: Any) -> Poll:
    rows = [services.OptionSpec(f"{d.name}·应询态度", d.pk) for d in world.departments] + [
        services.OptionSpec("整改措施")
    ]
    return services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[1].pk,
        by=world.moderator,
        kind="sheet",
        secret=secret,
        rows=kwargs.pop("rows", rows),
        **kwargs,
    )


def rows_of(poll: Poll) -> list[str]:
    return [str(pk) for pk in PollOption.objects.filter(poll=poll).order_by("position").values_list("pk", flat=True)]


def vote(world: World, poll: Poll, deputy: Any, choices: dict[str, str], ballot: uuid.UUID | None = None) -> bool:
    return services.ballot_cast(
        hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=deputy, choices=choices, ballot_id=ballot or uuid.uuid4()
    ).duplicate


def snapshot_of_storage(poll: Poll) -> tuple[Any, ...]:
    return (
        VoteRecord.objects.filter(poll=poll).count(),
        list(SecretTally.objects.filter(poll=poll).values_list("counts", flat=True)),
        sorted(map(str, Ballot.objects.filter(poll=poll).values_list("deputy_id", "choices"))),
    )


def ballots_for(rows: list[str], n: int) -> list[dict[str, str]]:
    """A distinctive ballot per deputy: deputy i gives row j the choice (i + j) % 3."""
    return [{row: CHOICES[(i + j) % 3] for j, row in enumerate(rows)} for i in range(n)]


@pytest.mark.parametrize("secret", [True, False])
def test_a_sheet_opens_votes_closes_and_publishes_per_row(voting_world: World, published, secret: bool):
    world = voting_world
    poll = open_sheet(world, secret=secret)
    rows = rows_of(poll)
    assert len(rows) == 4 and poll.kind == "sheet"
    opened = event_poll(published.last()[3])
    assert opened["kind"] == "sheet"
    assert opened["rows"] == [
        {"id": int(rows[i]), "label": f"{d.name}·应询态度", "department": d.pk, "department_name": d.name}
        for i, d in enumerate(world.departments)
    ] + [{"id": int(rows[3]), "label": "整改措施", "department": None}]
    assert opened["results"] is None and opened["satisfaction_rate"] is None and "roll" not in opened

    ballots = ballots_for(rows, len(world.deputies))
    for deputy, ballot in zip(world.deputies, ballots, strict=True):
        assert vote(world, poll, deputy, ballot) is False
    assert selectors.poll_out(poll).cast == 6 and selectors.poll_out(poll).results is None
    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    expected = {row: {c: Counter(b[row] for b in ballots)[c] for c in CHOICES} for row in rows}
    assert closed.results == expected
    assert event_poll(published.last()[3])["results"] is None  # hidden until published
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    out = event_poll(published.last()[3])
    assert out["results"] == expected
    assert out["satisfaction_rate"] == {
        row: round((expected[row]["满意"] + expected[row]["基本满意"]) / 6, 4) for row in rows
    }
    if secret:
        assert "roll" not in out
        assert not Ballot.objects.filter(poll=poll).exists()
        assert SecretTally.objects.filter(poll=poll).count() == 1
    else:
        names = {d.pk: display_name(d) for d in world.deputies}
        assert sorted((r["deputy"], json.dumps(r["choices"], sort_keys=True)) for r in out["roll"]) == sorted(
            (names[d.pk], json.dumps(b, sort_keys=True)) for d, b in zip(world.deputies, ballots, strict=True)
        )
        assert all(set(r) == {"deputy", "choices"} for r in out["roll"])


def test_a_named_closed_sheet_has_no_roll_yet(voting_world: World, published):
    world = voting_world
    poll = open_sheet(world, secret=False)
    vote(world, poll, world.deputies[0], ballots_for(rows_of(poll), 1)[0])
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert "roll" not in event_poll(published.last()[3])


def test_a_five_level_scale_counts_its_satisfied_choices(voting_world: World):
    world = voting_world
    scale = ["非常满意", "满意", "比较满意", "基本满意", "不满意"]
    poll = open_sheet(world, choices=scale, weights={"非常满意": 100, "满意": 90, "不满意": 0})
    assert poll.satisfied == ["非常满意", "满意", "比较满意", "基本满意"]
    rows = rows_of(poll)
    for i, deputy in enumerate(world.deputies[:5]):
        vote(world, poll, deputy, {row: scale[i] for row in rows})
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    out = selectors.poll_out(services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None))
    assert out.satisfaction_rate == {row: 0.8 for row in rows}
    assert out.weights == {"非常满意": 100, "满意": 90, "不满意": 0}


def _bad_ballots(rows: list[str]) -> dict[str, dict[str, Any]]:
    full = {row: "满意" for row in rows}
    return {
        "missing a row": {"choices": {row: "满意" for row in rows[:-1]}},
        "unknown row": {"choices": {**full, "999999": "满意"}},
        "row of another poll swapped in": {"choices": {**{row: "满意" for row in rows[:-1]}, "999999": "满意"}},
        "not a row id": {"choices": {**full, "abc": "满意"}},
        "choice not offered": {"choices": {**full, rows[0]: "非常好"}},
        "the satisfaction field": {"choice": "满意"},
        "the select field": {"picks": [int(rows[0])]},
        "two fields": {"choices": full, "choice": "满意"},
    }


@pytest.mark.parametrize("secret", [True, False])
@pytest.mark.parametrize("case", list(_bad_ballots(["1"])))
def test_a_bad_sheet_ballot_is_refused_and_nothing_stored(voting_world: World, secret: bool, case: str):
    world = voting_world
    poll = open_sheet(world, secret=secret)
    rows = rows_of(poll)
    vote(world, poll, world.deputies[1], {row: "不满意" for row in rows})
    before = snapshot_of_storage(poll)
    with pytest.raises(BadRequest):
        services.ballot_cast(
            hearing_id=world.hearing.pk,
            poll_id=poll.pk,
            deputy=world.deputies[0],
            ballot_id=uuid.uuid4(),
            **_bad_ballots(rows)[case],
        )
    assert snapshot_of_storage(poll) == before
    # The deputy may still vote properly afterwards.
    assert vote(world, poll, world.deputies[0], {row: "满意" for row in rows}) is False


def test_resend_is_a_duplicate_and_another_ballot_already_voted(voting_world: World):
    world = voting_world
    poll = open_sheet(world)
    rows = rows_of(poll)
    ballot = uuid.uuid4()
    assert vote(world, poll, world.deputies[0], {row: "满意" for row in rows}, ballot) is False
    before = snapshot_of_storage(poll)
    assert vote(world, poll, world.deputies[0], {row: "满意" for row in rows}, ballot) is True
    assert snapshot_of_storage(poll) == before
    with pytest.raises(AlreadyVoted):
        vote(world, poll, world.deputies[0], {row: "不满意" for row in rows})
    assert snapshot_of_storage(poll) == before
    assert SecretTally.objects.get(poll=poll).counts == {row: {"满意": 1} for row in rows}


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"rows": []}, BadRequest),
        ({"rows": [services.OptionSpec("甲"), services.OptionSpec("甲")]}, BadRequest),
        ({"rows": [services.OptionSpec("  ")]}, BadRequest),
        ({"rows": [services.OptionSpec("甲" * 201)]}, BadRequest),
        ({"rows": [services.OptionSpec(f"项{i}") for i in range(61)]}, BadRequest),
        ({"rows": [services.OptionSpec("甲", 999_999)]}, NotFound),
        ({"choices": ["满意", "满意"]}, BadRequest),
        ({"choices": ["满意", ""]}, BadRequest),
        ({"weights": {"很好": 1}}, BadRequest),
        ({"satisfied": ["很好"]}, BadRequest),
        ({"candidates": [services.OptionSpec("甲")]}, BadRequest),
        ({"max_picks": 2}, BadRequest),
    ],
)
def test_opening_a_bad_sheet_is_refused_and_nothing_stored(voting_world: World, kwargs: dict[str, Any], error: type):
    world = voting_world
    with pytest.raises(error) as refused:
        open_sheet(world, **kwargs)
    assert str(refused.value)  # a sentence for the moderator
    assert not Poll.objects.exists() and not PollOption.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_secret_sheet_ballots_leave_one_tally_row_and_no_order():
    """As test_secrecy's satisfaction test: one at a time, every table read afterwards; the
    voting wrote only the VoteRecords and the one nested tally row."""
    world = make_world(deputies=6, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = open_sheet(world)
    rows = rows_of(poll)
    ballots = ballots_for(rows, 6)
    before = _dump()
    for deputy, ballot in zip(world.deputies, ballots, strict=True):
        vote(world, poll, deputy, ballot)
    changed = _changed(before, _dump())
    records, tallies = VoteRecord._meta.db_table, SecretTally._meta.db_table
    counters = {"sqlite_sequence"} if connection.vendor == "sqlite" else set()
    assert set(changed) == {records, tallies} | counters
    assert len(changed[tallies]) == 1
    choice_rows = [row for rows_ in changed.values() for row in rows_ if _names_a_choice(row, CHOICES)]
    assert choice_rows == changed[tallies]
    assert not Ballot.objects.exists()
    expected = {row: {c: n for c in CHOICES if (n := Counter(b[row] for b in ballots)[c])} for row in rows}
    assert SecretTally.objects.get(poll=poll).counts == expected


# --------------------------------------------------------------------------- the sockets

db = database_sync_to_async


@pytest.mark.django_db(transaction=True)
async def test_sheet_over_the_control_and_deputy_sockets() -> None:
    world = await db(make_world)(status="live")
    hid = world.hearing.pk
    control = await open_socket(control_path(hid), user=world.moderator)
    deputy = await open_socket(deputy_path(hid), user=world.deputies[0])
    assert (await deputy.action("checkin"))["type"] == "ack"
    rows = [{"label": d.name, "department": d.pk} for d in world.departments]
    refused = await control.action("poll.open", item=world.items[1].pk, kind="sheet", rows=[])
    assert refused["code"] == "bad_request" and refused["message"]
    bad = await control.action("poll.open", item=world.items[1].pk, kind="sheet", rows=[{"label": ""}])
    assert bad["code"] == "bad_request"
    assert await db(Poll.objects.count)() == 0
    opened = await control.action("poll.open", item=world.items[1].pk, kind="sheet", rows=rows, secret=False)
    assert opened["type"] == "ack"
    poll = (await deputy.recv_type("poll.opened"))["data"]["poll"]
    assert poll["kind"] == "sheet" and [r["label"] for r in poll["rows"]] == [d.name for d in world.departments]
    ids = [str(r["id"]) for r in poll["rows"]]
    ballot = str(uuid.uuid4())
    missing = await deputy.action("vote", poll=poll["id"], ballot=ballot, choices={ids[0]: "满意"})
    assert missing["code"] == "bad_request"
    wrong = await deputy.action("vote", poll=poll["id"], ballot=ballot, choice="满意")
    assert wrong["code"] == "bad_request"
    both = await deputy.action("vote", poll=poll["id"], ballot=ballot, choice="满意", choices={i: "满意" for i in ids})
    assert both["code"] == "bad_request"
    assert await db(VoteRecord.objects.count)() == 0
    choices = {ids[0]: "满意", ids[1]: "基本满意", ids[2]: "不满意"}
    ok = await deputy.action("vote", poll=poll["id"], ballot=ballot, choices=choices)
    assert ok == {"type": "ack", "id": ok["id"], "poll": poll["id"], "duplicate": False}
    assert (await deputy.action("vote", poll=poll["id"], ballot=ballot, choices=choices))["duplicate"] is True
    assert (await control.action("poll.close", poll=poll["id"]))["type"] == "ack"
    assert (await control.action("poll.publish", poll=poll["id"]))["type"] == "ack"
    out = (await deputy.recv_type("poll.published"))["data"]["poll"]
    assert out["results"] == {
        ids[0]: {"满意": 1, "基本满意": 0, "不满意": 0},
        ids[1]: {"满意": 0, "基本满意": 1, "不满意": 0},
        ids[2]: {"满意": 0, "基本满意": 0, "不满意": 1},
    }
    assert out["satisfaction_rate"] == {ids[0]: 1.0, ids[1]: 1.0, ids[2]: 0.0}
    assert out["roll"] == [{"deputy": await db(display_name)(world.deputies[0]), "choices": choices}]
    await control.close()
    await deputy.close()
