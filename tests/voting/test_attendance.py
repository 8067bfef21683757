"""The quorum (法定人数) and a moderator's check-in on a deputy's behalf (代签)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.chain import verify
from audit.models import AuditEntry
from core.errors import Forbidden, InvalidState, NotFound
from hearings.models import Hearing, Person
from tests.factories import World, make_user, make_world
from voting import selectors, services
from voting.models import Attendance

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------- the quorum


@pytest.mark.parametrize(
    ("deputies", "percent", "needed"),
    [
        (30, 50, 16),  # more than half of 30: 15 is half, not more
        (31, 50, 16),
        (4, 50, 3),
        (2, 50, 2),
        (1, 50, 1),
        (0, 50, 1),  # no deputies: no quorum
        (30, 66, 20),  # 19.8 → 20
        (30, 60, 19),  # 18 exactly is not more than 60 %
        (10, 0, 1),
    ],
)
def test_quorum_needed_is_the_smallest_count_over_the_percent(deputies: int, percent: int, needed: int) -> None:
    assert selectors.quorum_needed(deputies, percent) == needed
    # The rule itself: `needed` is more than the percent, one fewer is not.
    assert needed * 100 > deputies * percent
    assert (needed - 1) * 100 <= deputies * percent


def _world_with(deputies: int, *, percent: int = 50, checked_in: int = 0) -> World:
    world = make_world(deputies=deputies, status=Hearing.Status.LIVE, quorum_percent=percent)
    for deputy in world.deputies[:checked_in]:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    return world


@pytest.mark.parametrize(
    ("deputies", "percent", "checked_in", "needed", "reached"),
    [
        (30, 50, 15, 16, False),
        (30, 50, 16, 16, True),
        (4, 50, 2, 3, False),
        (4, 50, 3, 3, True),
        (1, 50, 0, 1, False),
        (1, 50, 1, 1, True),
        (30, 66, 19, 20, False),
        (30, 66, 20, 20, True),
    ],
)
def test_attendance_summary_at_the_boundaries(
    deputies: int, percent: int, checked_in: int, needed: int, reached: bool
) -> None:
    world = _world_with(deputies, percent=percent, checked_in=checked_in)

    summary = selectors.attendance_summary(world.hearing.pk)

    assert (summary.checked_in, summary.deputies, summary.needed, summary.reached) == (
        checked_in,
        deputies,
        needed,
        reached,
    )
    assert summary.present == tuple(sorted(d.pk for d in world.deputies[:checked_in]))
    assert selectors.attendance_summary(world.hearing.pk, percent=percent) == summary


def test_a_deputy_removed_after_checking_in_does_not_count() -> None:
    world = _world_with(4, checked_in=3)
    assert selectors.attendance_summary(world.hearing.pk).reached

    world.hearing.deputies.remove(world.deputies[0])

    summary = selectors.attendance_summary(world.hearing.pk)
    assert (summary.checked_in, summary.deputies, summary.needed, summary.reached) == (2, 3, 2, True)
    assert world.deputies[0].pk not in summary.present
    # Nor among a poll's eligible voters (they can no longer vote).
    assert selectors.checked_in_count(world.hearing.pk) == 2
    world.hearing.deputies.remove(world.deputies[1])
    summary = selectors.attendance_summary(world.hearing.pk)
    assert (summary.checked_in, summary.deputies, summary.needed, summary.reached) == (1, 2, 2, False)


def test_check_ins_of_another_hearing_do_not_count() -> None:
    world = _world_with(2)
    other = Hearing.objects.exclude(pk=world.hearing.pk).get()
    other.deputies.add(world.deputies[0])
    services.checkin(hearing_id=other.pk, deputy=world.deputies[0])

    assert selectors.attendance_summary(world.hearing.pk).checked_in == 0
    assert selectors.attendance_summary(other.pk).checked_in == 1


def test_the_wire_payload_lists_who_only_for_the_control_view() -> None:
    world = _world_with(3, checked_in=2)
    summary = selectors.attendance_summary(world.hearing.pk)

    assert summary.out(control=False).model_dump() == {"checked_in": 2, "deputies": 3, "needed": 2, "quorum": True}
    assert summary.out(control=True).model_dump()["present"] == sorted(d.pk for d in world.deputies[:2])


# ------------------------------------------------------------------------------- 代签


def _state(world: World) -> dict[str, Any]:
    """What a check-in could change."""
    return {
        "attendance": sorted(Attendance.objects.values_list("hearing_id", "deputy_id", "checked_in_by_id")),
        "audit": AuditEntry.objects.count(),
    }


def test_a_moderator_checks_a_deputy_in_on_their_behalf() -> None:
    world = _world_with(3)
    deputy = world.deputies[1]
    Person.objects.create(user=deputy, name="王代表", role=Person.Role.DEPUTY)

    result = services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=world.moderator)

    assert (result.deputy, result.name, result.duplicate) == (deputy.pk, "王代表", False)
    row = Attendance.objects.get()
    assert (row.hearing_id, row.deputy_id, row.checked_in_by_id) == (world.hearing.pk, deputy.pk, world.moderator.pk)
    entry = AuditEntry.objects.get(action="checkin")
    assert (entry.actor_kind, entry.actor_id, entry.actor) == ("user", world.moderator.pk, world.moderator.username)
    assert entry.subject == f"hearings.hearing:{world.hearing.pk}"
    assert entry.payload == {"deputy": deputy.pk, "on_behalf": True}
    assert selectors.is_checked_in(world.hearing.pk, deputy.pk)
    assert verify().ok


def test_in_a_draft_hearing_too() -> None:
    world = make_world(deputies=2)  # draft: a deputy may check in before the start, so may a moderator
    services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[0].pk, by=world.moderator)
    assert selectors.checked_in_count(world.hearing.pk) == 1


def test_already_checked_in_is_a_duplicate_and_changes_nothing() -> None:
    world = _world_with(3, checked_in=1)
    before = _state(world)

    result = services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[0].pk, by=world.moderator)
    assert result.duplicate is True
    assert _state(world) == before
    # And again after a 代签: still one row, the moderator's.
    services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[1].pk, by=world.moderator)
    again = services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[1].pk, by=world.moderator)
    assert again.duplicate is True
    assert Attendance.objects.filter(deputy=world.deputies[1]).count() == 1
    assert services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[1]) is False  # the deputy's own: known


def _staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


@pytest.mark.parametrize("who", ["deputy", "stranger", "other_moderator", "staff", "superuser"])
def test_only_a_moderator_of_the_hearing_may(who: str) -> None:
    world = _world_with(3)
    makers: dict[str, Callable[[], Any]] = {
        "deputy": lambda: world.deputies[0],
        "stranger": make_user,
        "other_moderator": lambda: world.other_moderator,
        "staff": _staff,  # 会务工作人员 who is not a moderator of this hearing
        "superuser": lambda: make_user(is_superuser=True, is_staff=True),
    }
    by = makers[who]()
    before = _state(world)

    with pytest.raises(Forbidden):
        services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[1].pk, by=by)

    assert _state(world) == before


@pytest.mark.parametrize("whom", ["unknown", "stranger", "moderator", "deputy_elsewhere"])
def test_only_a_deputy_of_the_hearing_is_checked_in(whom: str) -> None:
    world = _world_with(3)
    other = Hearing.objects.exclude(pk=world.hearing.pk).get()
    elsewhere = make_user()
    other.deputies.add(elsewhere)
    deputy_id = {
        "unknown": 10**9,
        "stranger": make_user().pk,
        "moderator": world.moderator.pk,
        "deputy_elsewhere": elsewhere.pk,
    }[whom]
    before = _state(world)

    with pytest.raises(NotFound):
        services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=deputy_id, by=world.moderator)

    assert _state(world) == before


def test_an_ended_hearing_refuses() -> None:
    world = _world_with(3)
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    before = _state(world)

    with pytest.raises(InvalidState):
        services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[0].pk, by=world.moderator)

    assert _state(world) == before


def test_an_unknown_hearing_refuses() -> None:
    world = _world_with(1)
    with pytest.raises(NotFound):
        services.checkin_on_behalf(hearing_id=world.hearing.pk + 1000, deputy_id=world.deputies[0].pk, by=None)
    assert not Attendance.objects.exists()


# ------------------------------------------------------------------------------- the deputy's own, on record


def test_a_deputys_own_check_in_is_audited_once() -> None:
    world = _world_with(3)

    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])  # again: nothing new
    services.checkins(hearing_id=world.hearing.pk, deputy_ids=[world.deputies[2].pk, world.deputies[1].pk])

    entries = list(AuditEntry.objects.filter(action="checkin").values_list("actor_id", "payload"))
    deputies = world.deputies
    assert entries == [
        (deputies[0].pk, {"deputy": deputies[0].pk}),
        (deputies[1].pk, {"deputy": deputies[1].pk}),
        (deputies[2].pk, {"deputy": deputies[2].pk}),
    ]
    assert list(Attendance.objects.values_list("checked_in_by", flat=True)) == [None, None, None]
    assert verify().ok


def test_a_refused_check_in_is_not_on_record() -> None:
    world = _world_with(1)
    with pytest.raises(Forbidden):
        services.checkin(hearing_id=world.hearing.pk, deputy=make_user())
    assert not AuditEntry.objects.exists()
