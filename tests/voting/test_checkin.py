"""Check-in (签到): only the hearing's deputies, once, before the hearing ends."""

from __future__ import annotations

import pytest

from core.errors import Forbidden, InvalidState, NotFound
from hearings.models import Hearing
from tests.factories import World, make_user
from voting import selectors, services
from voting.models import Attendance


def test_deputy_checks_in_once(world: World, published):
    deputy = world.deputies[0]

    assert services.checkin(hearing_id=world.hearing.pk, deputy=deputy) is True
    assert services.checkin(hearing_id=world.hearing.pk, deputy=deputy) is False

    assert list(Attendance.objects.values_list("hearing_id", "deputy_id")) == [(world.hearing.pk, deputy.pk)]
    assert selectors.is_checked_in(world.hearing.pk, deputy.pk)
    assert not selectors.is_checked_in(world.hearing.pk, world.deputies[1].pk)
    assert selectors.checked_in_count(world.hearing.pk) == 1
    assert published == []


def test_checkin_in_draft_and_live_hearing(world: World):
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.LIVE)
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[1])

    assert selectors.checked_in_count(world.hearing.pk) == 2


@pytest.mark.parametrize("who", ["stranger", "moderator", "other_moderator"])
def test_only_a_deputy_of_the_hearing_checks_in(world: World, who: str):
    user = {"stranger": make_user(), "moderator": world.moderator, "other_moderator": world.other_moderator}[who]

    with pytest.raises(Forbidden):
        services.checkin(hearing_id=world.hearing.pk, deputy=user)

    assert not Attendance.objects.exists()


def test_deputy_of_another_hearing_cannot_check_in_here(world: World):
    other = Hearing.objects.exclude(pk=world.hearing.pk).get()
    other.deputies.add(world.deputies[0])
    stranger_here = make_user()
    other.deputies.add(stranger_here)

    with pytest.raises(Forbidden):
        services.checkin(hearing_id=world.hearing.pk, deputy=stranger_here)
    assert services.checkin(hearing_id=other.pk, deputy=world.deputies[0]) is True

    assert list(Attendance.objects.values_list("hearing_id", "deputy_id")) == [(other.pk, world.deputies[0].pk)]


def test_ended_hearing_refuses_checkin(world: World):
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)

    with pytest.raises(InvalidState):
        services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[1])
    with pytest.raises(InvalidState):
        services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])

    assert list(Attendance.objects.values_list("deputy_id", flat=True)) == [world.deputies[0].pk]


def test_unknown_hearing(world: World):
    with pytest.raises(NotFound):
        services.checkin(hearing_id=world.hearing.pk + 1000, deputy=world.deputies[0])


def test_a_batch_of_checkins_decides_each_deputy(world: World, django_assert_max_num_queries):
    """One transaction for a crowd's check-ins, a result per request in order: new, again in the
    same batch or before (duplicate), not a deputy here (forbidden)."""
    hid = world.hearing.pk
    first, second, third = world.deputies
    stranger = make_user()
    services.checkin(hearing_id=hid, deputy=first)

    # The batch's audit entries (one per new check-in) cost a constant few: users, the chain's
    # head (and its lock on PostgreSQL), one insert.
    with django_assert_max_num_queries(12):
        results = services.checkins(hearing_id=hid, deputy_ids=[second.pk, first.pk, stranger.pk, second.pk, third.pk])

    assert [getattr(r, "duplicate", type(r).__name__) for r in results] == [False, True, "Forbidden", True, False]
    assert sorted(Attendance.objects.values_list("deputy_id", flat=True)) == sorted(d.pk for d in world.deputies)


def test_a_batch_of_checkins_in_an_ended_hearing_changes_nothing(world: World):
    hid = world.hearing.pk
    services.checkin(hearing_id=hid, deputy=world.deputies[0])
    Hearing.objects.filter(pk=hid).update(status=Hearing.Status.ENDED)

    results = services.checkins(hearing_id=hid, deputy_ids=[d.pk for d in world.deputies])

    assert [type(r) for r in results] == [InvalidState] * 3
    assert list(Attendance.objects.values_list("deputy_id", flat=True)) == [world.deputies[0].pk]
    assert [type(r) for r in services.checkins(hearing_id=hid + 1000, deputy_ids=[world.deputies[1].pk])] == [NotFound]
