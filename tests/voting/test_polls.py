"""A satisfaction poll's life: open → closed → published, and the events each step sends."""

from __future__ import annotations

import pytest

from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from hearings.models import AgendaItem, Hearing
from tests.factories import World, make_user, make_world
from tests.voting.helpers import cast, event_poll, stored
from voting import selectors, services
from voting.models import Poll

# ------------------------------------------------------------------------------- poll_open


def test_open_with_defaults(voting_world: World, published):
    world = voting_world
    item = world.items[1]

    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=item.pk, by=world.moderator)

    poll.refresh_from_db()
    assert poll.hearing_id == world.hearing.pk
    assert poll.item_id == item.pk
    assert poll.department_id == world.departments[0].pk
    assert poll.title == f"对{world.departments[0].name}的满意度测评"
    assert poll.choices == ["满意", "基本满意", "不满意"]
    assert poll.satisfied == ["满意", "基本满意"]
    assert poll.secret is True
    assert poll.status == Poll.Status.OPEN
    assert (poll.eligible, poll.cast, poll.results) == (None, None, None)

    assert [(h, ctrl, pub) for (h, ctrl, pub, _) in published] == [(world.hearing.pk, "poll.opened", "poll.opened")]
    assert event_poll(published.last()[3]) == {
        "id": poll.pk,
        "item": item.pk,
        "title": poll.title,
        "status": "open",
        "choices": ["满意", "基本满意", "不满意"],
        "secret": True,
        "cast": 0,
        "eligible": 6,
        "results": None,
        "satisfaction_rate": None,
        "kind": "satisfaction",  # PROTOCOL.md "Poll kinds"; nothing else is added for this kind
    }


def test_open_title_secret_and_choices_given(voting_world: World):
    world = voting_world

    poll = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[2].pk,
        by=world.moderator,
        title="  对答复的满意度  ",
        secret=False,
        choices=["满意", " 不满意 ", ""],
    )

    assert poll.title == "对答复的满意度"
    assert poll.secret is False
    assert poll.choices == ["满意", "不满意"]
    assert poll.satisfied == ["满意"]
    assert poll.department_id == world.departments[1].pk


def test_open_item_without_department_titles_from_the_item(voting_world: World):
    opening = voting_world.items[0]
    assert opening.department is None

    poll = services.poll_open(hearing_id=voting_world.hearing.pk, item_id=opening.pk, by=None)

    assert poll.title == "开场 满意度测评"
    assert poll.department_id is None


@pytest.mark.parametrize("choices", [["满意"], ["满意", "满意"], ["满意", " ", ""]])
def test_open_refuses_bad_choices(voting_world: World, published, choices: list[str]):
    with pytest.raises(BadRequest):
        services.poll_open(
            hearing_id=voting_world.hearing.pk, item_id=voting_world.items[1].pk, by=None, choices=choices
        )

    assert not Poll.objects.exists()
    assert published == []


def test_open_refuses_satisfied_choice_not_offered(voting_world: World):
    with pytest.raises(BadRequest):
        services.poll_open(
            hearing_id=voting_world.hearing.pk,
            item_id=voting_world.items[1].pk,
            by=None,
            choices=["好", "差"],
            satisfied=["满意"],
        )
    assert not Poll.objects.exists()


@pytest.mark.parametrize("status", [Hearing.Status.DRAFT, Hearing.Status.ENDED])
def test_open_only_in_a_live_hearing(db, published, status: str):
    world = make_world(status=status)

    with pytest.raises(InvalidState):
        services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)

    assert not Poll.objects.exists()
    assert published == []


def test_open_item_of_another_hearing_is_not_found(voting_world: World, published):
    other = make_world(status=Hearing.Status.LIVE)

    with pytest.raises(NotFound):
        services.poll_open(hearing_id=voting_world.hearing.pk, item_id=other.items[1].pk, by=voting_world.moderator)
    with pytest.raises(NotFound):
        services.poll_open(hearing_id=voting_world.hearing.pk, item_id=10**9, by=voting_world.moderator)

    assert not Poll.objects.exists()
    assert published == []


def test_one_open_poll_per_hearing(voting_world: World, poll: Poll, published):
    world = voting_world
    published.clear()

    with pytest.raises(InvalidState):
        services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[2].pk, by=world.moderator)
    with pytest.raises(InvalidState):
        services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    assert list(Poll.objects.values_list("pk", flat=True)) == [poll.pk]

    # Another hearing has its own poll meanwhile.
    other = make_world(status=Hearing.Status.LIVE)
    elsewhere = services.poll_open(hearing_id=other.hearing.pk, item_id=other.items[1].pk, by=other.moderator)

    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    second = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[2].pk, by=world.moderator)

    assert Poll.objects.filter(hearing=world.hearing, status=Poll.Status.OPEN).get() == second
    assert Poll.objects.get(pk=elsewhere.pk).status == Poll.Status.OPEN
    assert [(h, ctrl) for (h, ctrl, _, _) in published] == [
        (other.hearing.pk, "poll.opened"),
        (world.hearing.pk, "poll.closed"),
        (world.hearing.pk, "poll.opened"),
    ]


@pytest.mark.parametrize("who", ["other_moderator", "deputy", "stranger"])
def test_only_a_moderator_of_this_hearing_opens(voting_world: World, published, who: str):
    world = voting_world
    user = {"other_moderator": world.other_moderator, "deputy": world.deputies[0], "stranger": make_user()}[who]

    with pytest.raises(Forbidden):
        services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=user)

    assert not Poll.objects.exists()
    assert published == []


def test_moderator_of_another_hearing_cannot_close_or_publish(voting_world: World, poll: Poll, published):
    world = voting_world
    published.clear()
    before = stored(poll)

    with pytest.raises(Forbidden):
        services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.other_moderator)
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    closed = stored(poll)
    with pytest.raises(Forbidden):
        services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.other_moderator)

    assert before["poll"][0] == "open"
    assert stored(poll) == closed
    assert closed["poll"][0] == "closed"
    assert published.types() == ["poll.closed"]


def test_poll_of_another_hearing_is_not_found(voting_world: World, poll: Poll):
    other = make_world(status=Hearing.Status.LIVE)

    with pytest.raises(NotFound):
        services.poll_close(hearing_id=other.hearing.pk, poll_id=poll.pk, by=other.moderator)
    with pytest.raises(NotFound):
        services.poll_publish(hearing_id=other.hearing.pk, poll_id=poll.pk, by=other.moderator)

    poll.refresh_from_db()
    assert poll.status == Poll.Status.OPEN


# ------------------------------------------------------------------------------- close and publish


def _vote_321(world: World, poll: Poll) -> None:
    """3 × 满意, 2 × 基本满意, 1 × 不满意: 满意率 5/6."""
    for deputy, choice in zip(world.deputies, ["满意"] * 3 + ["基本满意"] * 2 + ["不满意"], strict=True):
        assert cast(world, poll, deputy, choice) is False


def test_close_fixes_eligible_cast_and_results(voting_world: World, poll: Poll, published):
    world = voting_world
    late = make_user()
    world.hearing.deputies.add(late)
    _vote_321(world, poll)
    published.clear()

    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED
    assert poll.closed_at is not None
    assert (poll.eligible, poll.cast) == (6, 6)
    assert poll.results == {"满意": 3, "基本满意": 2, "不满意": 1}
    assert (closed.eligible, closed.cast, closed.results) == (poll.eligible, poll.cast, poll.results)

    # The event tells the counts, not the results: those wait for publishing.
    assert published.types() == ["poll.closed"]
    assert published.types("public") == ["poll.closed"]
    out = event_poll(published.last()[3])
    assert (out["status"], out["cast"], out["eligible"]) == ("closed", 6, 6)
    assert out["results"] is None
    assert out["satisfaction_rate"] is None

    # A deputy checking in after the close changes nothing.
    services.checkin(hearing_id=world.hearing.pk, deputy=late)
    poll.refresh_from_db()
    assert poll.eligible == 6
    out_now = selectors.poll_out(poll)
    assert (out_now.eligible, out_now.cast, out_now.results) == (6, 6, None)


def test_eligible_is_the_checked_in_count_not_the_registered_one(db):
    world = make_world(deputies=5, status=Hearing.Status.LIVE)
    for deputy in world.deputies[:3]:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None)
    cast(world, poll, world.deputies[0], "满意")

    assert selectors.poll_out(poll).eligible == 3
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[3])
    assert (selectors.poll_out(poll).cast, selectors.poll_out(poll).eligible) == (1, 4)

    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert (closed.eligible, closed.cast) == (4, 1)
    assert closed.results == {"满意": 1, "基本满意": 0, "不满意": 0}


def test_close_is_idempotent(voting_world: World, poll: Poll, published):
    world = voting_world
    _vote_321(world, poll)
    first = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    after_first = stored(poll)
    published.clear()

    again = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    assert (again.status, again.eligible, again.cast, again.results, again.closed_at) == (
        first.status,
        first.eligible,
        first.cast,
        first.results,
        first.closed_at,
    )
    assert stored(poll) == after_first
    assert published == []


def test_publish_reveals_results_and_rate(voting_world: World, poll: Poll, published):
    world = voting_world
    _vote_321(world, poll)
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    published.clear()

    result = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    poll.refresh_from_db()
    assert poll.status == result.status == Poll.Status.PUBLISHED
    assert poll.published_at is not None
    assert poll.results == {"满意": 3, "基本满意": 2, "不满意": 1}
    assert published.types() == ["poll.published"]
    assert published.types("public") == ["poll.published"]
    out = event_poll(published.last()[3])
    assert out["status"] == "published"
    assert (out["cast"], out["eligible"]) == (6, 6)
    assert out["results"] == {"满意": 3, "基本满意": 2, "不满意": 1}
    assert list(out["results"]) == ["满意", "基本满意", "不满意"]  # in the order of the choices
    assert out["satisfaction_rate"] == pytest.approx(0.8333, abs=1e-4)
    assert out["satisfaction_rate"] == 0.8333
    assert selectors.poll_out(poll).model_dump() == out


def test_publish_is_idempotent(voting_world: World, poll: Poll, published):
    world = voting_world
    _vote_321(world, poll)
    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    first = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    after_first = stored(poll)
    published.clear()

    again = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    closed_again = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    for later in (again, closed_again):
        assert (later.status, later.eligible, later.cast, later.results, later.published_at) == (
            "published",
            closed.eligible,
            closed.cast,
            closed.results,
            first.published_at,
        )
    assert stored(poll) == after_first
    assert published == []


def test_publish_refused_while_open(voting_world: World, poll: Poll, published):
    world = voting_world
    cast(world, poll, world.deputies[0], "满意")
    before = stored(poll)
    published.clear()

    with pytest.raises(InvalidState):
        services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    assert stored(poll) == before
    assert published == []
    out = selectors.poll_out(poll)
    assert (out.status, out.results, out.satisfaction_rate, out.cast) == ("open", None, None, 1)


def test_results_hidden_until_published(voting_world: World, poll: Poll):
    world = voting_world
    _vote_321(world, poll)

    def outs() -> list[tuple[str, object, object]]:
        return [(p.status, p.results, p.satisfaction_rate) for p in selectors.polls_out(world.hearing.pk)]

    assert outs() == [("open", None, None)]
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert outs() == [("closed", None, None)]
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert outs() == [("published", {"满意": 3, "基本满意": 2, "不满意": 1}, 0.8333)]


def test_nobody_voted_rate_is_null(voting_world: World, poll: Poll):
    world = voting_world
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    published_poll = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)

    out = selectors.poll_out(published_poll)
    assert (out.cast, out.eligible) == (0, 6)
    assert out.results == {"满意": 0, "基本满意": 0, "不满意": 0}
    assert out.satisfaction_rate is None


def test_close_works_after_the_hearing_ended(voting_world: World, poll: Poll):
    """An open poll left behind when the hearing ends can still be closed and published."""
    world = voting_world
    cast(world, poll, world.deputies[0], "不满意")
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)

    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    result = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)

    out = selectors.poll_out(result)
    assert (out.status, out.cast, out.satisfaction_rate) == ("published", 1, 0.0)


def test_agenda_item_deleted_keeps_the_poll(voting_world: World, poll: Poll):
    AgendaItem.objects.filter(pk=voting_world.items[1].pk).delete()
    poll.refresh_from_db()
    assert poll.item_id is None
    assert selectors.poll_out(poll).item is None
