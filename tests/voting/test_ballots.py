"""Casting ballots: who may, once, and what a resend or a refusal leaves behind."""

from __future__ import annotations

import uuid

import pytest

from core.errors import AlreadyVoted, BadRequest, DomainError, Forbidden, NotEligible, NotFound, PollClosed
from hearings.models import Hearing
from tests.factories import World, make_user, make_world
from tests.voting.helpers import cast, stored, stored_counts
from voting import selectors, services
from voting.models import Ballot, Poll, VoteRecord


def test_checked_in_deputy_votes(voting_world: World, poll: Poll, published):
    world = voting_world
    deputy = world.deputies[0]
    published.clear()

    assert cast(world, poll, deputy, "基本满意") is False

    assert list(VoteRecord.objects.values_list("poll_id", "deputy_id")) == [(poll.pk, deputy.pk)]
    assert stored_counts(poll) == {"基本满意": 1}
    assert selectors.tally(poll) == {"满意": 0, "基本满意": 1, "不满意": 0}
    assert selectors.polls_voted(world.hearing.pk, deputy.pk) == [poll.pk]
    assert selectors.polls_voted(world.hearing.pk, world.deputies[1].pk) == []
    # "N of M voted" goes out on the counter tick, not as a state event per ballot.
    assert published == []
    assert [p.model_dump() for p in selectors.poll_progress(world.hearing.pk)] == [
        {"poll": poll.pk, "cast": 1, "eligible": 6}
    ]
    out = selectors.poll_out(poll)
    assert (out.cast, out.eligible, out.results) == (1, 6, None)


def _refused(world: World, poll: Poll, published, error: type[DomainError], **kwargs) -> None:
    """The ballot is refused with `error` and nothing at all changes."""
    before = stored(poll)
    published.clear()
    args = {"deputy": world.deputies[0], "choice": "满意", "ballot_id": uuid.uuid4(), **kwargs}

    with pytest.raises(error) as info:
        services.ballot_cast(hearing_id=world.hearing.pk, poll_id=poll.pk, **args)

    assert type(info.value) is error
    assert stored(poll) == before
    assert published == []


def test_deputy_not_checked_in_is_not_eligible(db, published):
    world = make_world(deputies=2, status=Hearing.Status.LIVE)
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[1])
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None)

    _refused(world, poll, published, NotEligible, deputy=world.deputies[0])

    # Once checked in, the same deputy may vote.
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    assert cast(world, poll, world.deputies[0], "满意") is False
    assert VoteRecord.objects.filter(deputy=world.deputies[0]).count() == 1


@pytest.mark.parametrize("who", ["stranger", "moderator", "deputy_elsewhere"])
def test_only_deputies_of_the_hearing_vote(voting_world: World, poll: Poll, published, who: str):
    world = voting_world
    other = make_world(status=Hearing.Status.LIVE)
    user = {"stranger": make_user(), "moderator": world.moderator, "deputy_elsewhere": other.deputies[0]}[who]
    services.checkin(hearing_id=other.hearing.pk, deputy=other.deputies[0])

    _refused(world, poll, published, Forbidden, deputy=user)


def test_unknown_choice_is_a_bad_request(voting_world: World, poll: Poll, published):
    ballot = uuid.uuid4()
    for choice in ["很满意", "", "满意 ", "满意,不满意"]:
        _refused(voting_world, poll, published, BadRequest, choice=choice, ballot_id=ballot)

    # The refused ballot did not count as this deputy's vote: the same UUID now votes properly.
    assert cast(voting_world, poll, voting_world.deputies[0], "满意", ballot) is False
    assert selectors.tally(poll)["满意"] == 1


def test_second_ballot_is_already_voted(voting_world: World, poll: Poll, published):
    world = voting_world
    cast(world, poll, world.deputies[0], "不满意")

    _refused(world, poll, published, AlreadyVoted, choice="满意")
    _refused(world, poll, published, AlreadyVoted, choice="不满意")

    assert stored_counts(poll) == {"不满意": 1}


def test_resend_is_a_duplicate_counted_once(voting_world: World, poll: Poll, published):
    world = voting_world
    ballot = uuid.uuid4()
    assert cast(world, poll, world.deputies[0], "满意", ballot) is False
    before = stored(poll)
    published.clear()

    assert cast(world, poll, world.deputies[0], "满意", ballot) is True
    # A resend is recognised by its UUID; a changed choice in it changes nothing.
    assert cast(world, poll, world.deputies[0], "不满意", ballot) is True

    assert stored(poll) == before
    assert published == []
    assert selectors.tally(poll) == {"满意": 1, "基本满意": 0, "不满意": 0}


def test_resend_after_close_and_publish_is_still_a_duplicate(voting_world: World, poll: Poll, published):
    world = voting_world
    ballot = uuid.uuid4()
    cast(world, poll, world.deputies[0], "满意", ballot)
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    closed = stored(poll)
    published.clear()

    assert cast(world, poll, world.deputies[0], "满意", ballot) is True
    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    assert cast(world, poll, world.deputies[0], "满意", ballot) is True

    poll.refresh_from_db()
    assert (poll.cast, poll.results) == (1, {"满意": 1, "基本满意": 0, "不满意": 0})
    assert stored(poll)["ballots"] == closed["ballots"]
    assert stored(poll)["records"] == closed["records"]
    assert published.types() == ["poll.published"]


def test_closed_poll_refuses_new_ballots(voting_world: World, poll: Poll, published):
    world = voting_world
    cast(world, poll, world.deputies[1], "满意")
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)

    _refused(world, poll, published, PollClosed)
    # A deputy who did vote hears that they voted, whatever the poll's state.
    _refused(world, poll, published, AlreadyVoted, deputy=world.deputies[1])

    services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    _refused(world, poll, published, PollClosed)
    poll.refresh_from_db()
    assert poll.cast == 1


def test_poll_of_another_hearing_or_unknown_is_not_found(voting_world: World, poll: Poll):
    world = voting_world
    other = make_world(status=Hearing.Status.LIVE)
    elsewhere = services.poll_open(hearing_id=other.hearing.pk, item_id=other.items[1].pk, by=None)

    for poll_id in (elsewhere.pk, 10**9):
        with pytest.raises(NotFound):
            services.ballot_cast(
                hearing_id=world.hearing.pk,
                poll_id=poll_id,
                deputy=world.deputies[0],
                choice="满意",
                ballot_id=uuid.uuid4(),
            )
    assert not VoteRecord.objects.exists()
    assert not Ballot.objects.exists()


def test_a_ballot_uuid_belongs_to_its_deputy(voting_world: World, poll: Poll):
    """Another deputy sending the same UUID neither learns of it (no `duplicate`) nor is blocked."""
    world = voting_world
    ballot = uuid.uuid4()

    assert cast(world, poll, world.deputies[0], "满意", ballot) is False
    assert cast(world, poll, world.deputies[1], "不满意", ballot) is False

    assert selectors.tally(poll) == {"满意": 1, "基本满意": 0, "不满意": 1}


def test_one_ballot_per_poll_not_per_hearing(voting_world: World, poll: Poll):
    world = voting_world
    deputy = world.deputies[0]
    ballot = uuid.uuid4()
    cast(world, poll, deputy, "不满意", ballot)
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    second = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[2].pk, by=None)

    # A tablet that reuses a UUID in the next poll still votes there.
    assert cast(world, second, deputy, "满意", ballot) is False

    assert selectors.polls_voted(world.hearing.pk, deputy.pk) == [poll.pk, second.pk]
    assert selectors.tally(poll) == {"满意": 0, "基本满意": 0, "不满意": 1}
    assert selectors.tally(second) == {"满意": 1, "基本满意": 0, "不满意": 0}


def test_custom_choices_are_tallied_in_order(voting_world: World):
    world = voting_world
    poll = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[1].pk,
        by=None,
        choices=["好", "较好", "差"],
        satisfied=["好", "较好"],
    )
    for deputy, choice in zip(world.deputies, ["差", "好", "差", "较好"], strict=False):
        cast(world, poll, deputy, choice)

    closed = services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    published = services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)

    assert list(closed.results or {}) == ["好", "较好", "差"]
    assert closed.results == {"好": 1, "较好": 1, "差": 2}
    assert selectors.poll_out(published).satisfaction_rate == 0.5
