"""Select polls (票选, e.g. 民生实事项目): each ballot picks `min`…`max` distinct candidates;
published results per candidate, the ranking (most picks first, ties by position) and the
`choose` first of it as chosen."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from core.errors import BadRequest
from hearings.selectors import display_name
from reports import report, scorecards
from tests.factories import World, make_world
from tests.live.helpers import control_path, deputy_path, open_socket
from voting import selectors, services
from voting.models import Ballot, Poll, PollOption, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db

PROJECTS = ["老旧小区改造", "城区停车位", "农村饮水", "社区养老", "学校食堂"]


def open_select(world: World, *, secret: bool = True, **kwargs: Any) -> Poll:
    return services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[1].pk,
        by=world.moderator,
        kind="select",
        secret=secret,
        candidates=kwargs.pop("candidates", [services.OptionSpec(p) for p in PROJECTS]),
        **kwargs,
    )


def ids_of(poll: Poll) -> list[int]:
    return list(PollOption.objects.filter(poll=poll).order_by("position").values_list("pk", flat=True))


def pick(world: World, poll: Poll, deputy: Any, picks: list[int], ballot: uuid.UUID | None = None) -> bool:
    return services.ballot_cast(
        hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=deputy, picks=picks, ballot_id=ballot or uuid.uuid4()
    ).duplicate


def storage(poll: Poll) -> tuple[Any, ...]:
    return (
        VoteRecord.objects.filter(poll=poll).count(),
        list(SecretTally.objects.filter(poll=poll).values_list("counts", flat=True)),
        sorted(map(str, Ballot.objects.filter(poll=poll).values_list("deputy_id", "picks"))),
    )


@pytest.mark.parametrize("secret", [True, False])
def test_ranking_and_chosen_with_ties_by_position(voting_world: World, published, secret: bool):
    world = voting_world
    poll = open_select(world, secret=secret, min_picks=1, max_picks=3, choose=2)
    a, b, c, d, e = ids_of(poll)
    # picks: a 2, b 4, c 2, d 4, e 0 → ranking b, d (tie: b first by position), a, c (tie), e
    ballots = [[b, d], [b, d, a], [b, d], [b, d, c], [a], [c]]
    for deputy, picks in zip(world.deputies, ballots, strict=True):
        assert pick(world, poll, deputy, picks) is False
    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert closed.results == {str(a): 2, str(b): 4, str(c): 2, str(d): 4, str(e): 0}
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    out = selectors.poll_out(Poll.objects.get(pk=poll.pk))
    assert (out.kind, out.min, out.max, out.choose) == ("select", 1, 3, 2)
    assert out.results == {str(a): 2, str(b): 4, str(c): 2, str(d): 4, str(e): 0}
    assert out.ranking == [b, d, a, c, e]
    assert out.chosen == [b, d]
    assert out.satisfaction_rate is None
    dumped = out.model_dump()
    if secret:
        assert "roll" not in dumped and not Ballot.objects.filter(poll=poll).exists()
        assert SecretTally.objects.get(poll=poll).counts == {str(a): 2, str(b): 4, str(c): 2, str(d): 4}
    else:
        names = {dep.pk: display_name(dep) for dep in world.deputies}
        assert sorted((r["deputy"], sorted(r["picks"])) for r in dumped["roll"]) == sorted(
            (names[dep.pk], sorted(p)) for dep, p in zip(world.deputies, ballots, strict=True)
        )


def test_defaults_min_one_max_all_choose_max(voting_world: World):
    poll = open_select(voting_world)
    assert (poll.min_picks, poll.max_picks, poll.choose) == (1, 5, 5)
    out = selectors.poll_out(poll).model_dump()
    assert [c["label"] for c in out["candidates"]] == PROJECTS
    assert out["results"] is None and "ranking" not in out and "chosen" not in out and out["choices"] == []


def _bad_picks(ids: list[int]) -> dict[str, dict[str, Any]]:
    return {
        "too many": {"picks": ids[:4]},
        "duplicate": {"picks": [ids[0], ids[0]]},
        "unknown candidate": {"picks": [ids[0], 999_999]},
        "the satisfaction field": {"choice": "满意"},
        "the sheet field": {"choices": {str(ids[0]): "满意"}},
    }


@pytest.mark.parametrize("secret", [True, False])
@pytest.mark.parametrize("case", [*_bad_picks([1, 2, 3, 4]), "too few"])
def test_a_bad_select_ballot_is_refused_and_nothing_stored(voting_world: World, secret: bool, case: str):
    world = voting_world
    poll = open_select(world, secret=secret, min_picks=2, max_picks=3)
    ids = ids_of(poll)
    pick(world, poll, world.deputies[1], ids[:2])
    before = storage(poll)
    fields = {"picks": ids[:1]} if case == "too few" else _bad_picks(ids)[case]
    with pytest.raises(BadRequest) as refused:
        services.ballot_cast(
            hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=world.deputies[0], ballot_id=uuid.uuid4(), **fields
        )
    assert refused.value.message
    assert storage(poll) == before
    assert pick(world, poll, world.deputies[0], ids[1:4]) is False


def test_resend_is_a_duplicate(voting_world: World):
    world = voting_world
    poll = open_select(world, max_picks=2)
    ids = ids_of(poll)
    ballot = uuid.uuid4()
    assert pick(world, poll, world.deputies[0], [ids[2], ids[0]], ballot) is False
    before = storage(poll)
    assert pick(world, poll, world.deputies[0], [ids[2], ids[0]], ballot) is True
    assert storage(poll) == before


@pytest.mark.parametrize(
    "kwargs",
    [
        {"candidates": []},
        {"min_picks": 0},
        {"min_picks": 3, "max_picks": 2},
        {"max_picks": 6},
        {"choose": 6},
        {"choose": 0},
        {"candidates": [services.OptionSpec("甲"), services.OptionSpec("甲")]},
        {"candidates": [services.OptionSpec(f"项目{i}") for i in range(101)]},
        {"choices": ["满意", "不满意"]},
        {"weights": {"满意": 1}},
        {"rows": [services.OptionSpec("甲")]},
    ],
)
def test_opening_a_bad_select_is_refused_and_nothing_stored(voting_world: World, kwargs: dict[str, Any]):
    with pytest.raises(BadRequest) as refused:
        open_select(voting_world, **kwargs)
    assert refused.value.message
    assert not Poll.objects.exists() and not PollOption.objects.exists()


def test_reports_and_scorecards_read_the_new_kinds(voting_world: World):
    """A published select and sheet have their own tables in the report, and a sheet row naming
    a department counts on its scorecard (tests/reports/test_kinds.py has the figures)."""
    world = voting_world
    poll = open_select(world, max_picks=1)
    pick(world, poll, world.deputies[0], ids_of(poll)[:1])
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    sheet = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[2].pk,
        by=None,
        kind="sheet",
        rows=[services.OptionSpec("甲", world.departments[1].pk)],
    )
    services.ballot_cast(
        hearing_id=world.hearing.pk,
        poll_id=sheet.pk,
        deputy=world.deputies[0],
        choices={str(ids_of(sheet)[0]): "满意"},
        ballot_id=uuid.uuid4(),
    )
    services.poll_close(hearing_id=world.hearing.pk, poll_id=sheet.pk, by=None)
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=sheet.pk, by=None)
    assert selectors.ballot_counts([poll.pk, sheet.pk]) == {}
    made = report.hearing_report(world.hearing)
    assert made.polls == []  # satisfaction polls only
    assert [p.id for p in made.selects] == [poll.pk] and [p.id for p in made.sheets] == [sheet.pk]
    cards = scorecards.department_scorecards()
    assert [(c.department_id, c.valid, c.satisfied) for c in cards] == [(world.departments[1].pk, 1, 1)]


db = database_sync_to_async


@pytest.mark.django_db(transaction=True)
async def test_select_over_the_sockets() -> None:
    world = await db(make_world)(status="live")
    hid = world.hearing.pk
    control = await open_socket(control_path(hid), user=world.moderator)
    deputy = await open_socket(deputy_path(hid), user=world.deputies[0])
    await deputy.action("checkin")
    candidates = [{"label": p} for p in PROJECTS]
    bad = await control.action("poll.open", item=world.items[1].pk, kind="select", candidates=candidates, min=3, max=2)
    assert bad["code"] == "bad_request" and bad["message"]
    opened = await control.action(
        "poll.open", item=world.items[1].pk, kind="select", candidates=candidates, min=1, max=2, choose=1
    )
    assert opened["type"] == "ack"
    poll = (await deputy.recv_type("poll.opened"))["data"]["poll"]
    assert (poll["kind"], poll["min"], poll["max"]) == ("select", 1, 2)
    ids = [c["id"] for c in poll["candidates"]]
    for picks in ([ids[0], ids[1], ids[2]], [ids[0], ids[0]], [999_999], []):
        assert (await deputy.action("vote", poll=poll["id"], ballot=str(uuid.uuid4()), picks=picks))["code"] == (
            "bad_request"
        )
    assert await db(VoteRecord.objects.count)() == 0
    ok = await deputy.action("vote", poll=poll["id"], ballot=str(uuid.uuid4()), picks=[ids[3], ids[1]])
    assert ok["type"] == "ack" and ok["duplicate"] is False
    await control.action("poll.close", poll=poll["id"])
    await control.action("poll.publish", poll=poll["id"])
    out = (await deputy.recv_type("poll.published"))["data"]["poll"]
    assert out["ranking"] == [ids[1], ids[3], ids[0], ids[2], ids[4]]
    assert out["chosen"] == [ids[1]]
    assert out["results"] == {str(i): (1 if i in (ids[1], ids[3]) else 0) for i in ids}
    assert "roll" not in out
    await control.close()
    await deputy.close()
