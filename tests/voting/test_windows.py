"""Polls the office prepares (drafts the moderator opens from the panel) and window polls
(现场或事后: opens and closes at set times, voted by the hearing's deputies on their own
devices, closing by itself). Time is a clock the test controls: `timezone.now` patched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, InvalidState, NotFound, PollClosed
from hearings.models import Hearing, Person
from tests.factories import World, make_user, make_world
from voting import selectors, services
from voting.models import Poll, PollOption, VoteRecord

pytestmark = pytest.mark.django_db


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def staff_user() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    return user


def rows(world: World) -> list[services.OptionSpec]:
    return [services.OptionSpec(d.name, d.pk) for d in world.departments]


def sheet_choices(poll: Poll, choice: str = "满意") -> dict[str, str]:
    return {str(pk): choice for pk in selectors.option_ids(poll)}


def cast(world: World, poll: Poll, deputy: Any, ballot: uuid.UUID | None = None) -> bool:
    return services.ballot_cast(
        hearing_id=world.hearing.pk,
        poll_id=poll.pk,
        deputy=deputy,
        choices=sheet_choices(poll),
        ballot_id=ballot or uuid.uuid4(),
    ).duplicate


# ------------------------------------------------------------------ drafts


def test_the_office_prepares_a_sheet_on_an_item_and_the_moderator_opens_it_as_it_stands():
    world = make_world(status=Hearing.Status.LIVE)
    staff = staff_user()
    draft = services.poll_prepare(
        hearing_id=world.hearing.pk, by=staff, kind="sheet", item_id=world.items[1].pk, rows=rows(world)
    )
    assert draft.status == Poll.Status.DRAFT and PollOption.objects.filter(poll=draft).count() == 3
    # Not public: not in the hearing's polls, takes no ballot.
    assert [p.id for p in selectors.polls_out(world.hearing.pk)] == []
    assert [p.id for p in selectors.drafts_out(world.hearing.pk)] == [draft.pk]
    deputy = world.deputies[0]
    services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    with pytest.raises(InvalidState):
        cast(world, draft, deputy)
    assert VoteRecord.objects.count() == 0

    opened = services.poll_open(
        hearing_id=world.hearing.pk, item_id=world.items[2].pk, draft_id=draft.pk, by=world.moderator
    )
    assert opened.status == Poll.Status.OPEN and opened.item_id == world.items[1].pk  # the item it was prepared on
    assert cast(world, opened, deputy) is False
    with pytest.raises(InvalidState):  # once
        services.poll_open(hearing_id=world.hearing.pk, item_id=None, draft_id=draft.pk, by=world.moderator)
    entry = AuditEntry.objects.filter(action="poll.open").get()
    assert entry.payload["draft"] is True


def test_only_staff_prepare_and_only_the_hearings_moderator_opens_a_draft():
    world = make_world(status=Hearing.Status.LIVE)
    for outsider in (world.moderator, world.deputies[0], make_user()):
        with pytest.raises(Forbidden):
            services.poll_prepare(hearing_id=world.hearing.pk, by=outsider, kind="sheet", rows=rows(world))
    assert Poll.objects.count() == 0
    draft = services.poll_prepare(hearing_id=world.hearing.pk, by=staff_user(), kind="sheet", rows=rows(world))
    for outsider in (world.other_moderator, world.deputies[0]):
        with pytest.raises(Forbidden):
            services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, draft_id=draft.pk, by=outsider)
    draft.refresh_from_db()
    assert draft.status == Poll.Status.DRAFT


def test_a_draft_without_an_item_opens_on_the_item_given_and_refuses_fields_of_its_own():
    world = make_world(status=Hearing.Status.LIVE)
    draft = services.poll_prepare(hearing_id=world.hearing.pk, by=staff_user(), kind="sheet", rows=rows(world))
    with pytest.raises(NotFound):
        services.poll_open(hearing_id=world.hearing.pk, item_id=None, draft_id=draft.pk, by=world.moderator)
    with pytest.raises(BadRequest):
        services.poll_open(
            hearing_id=world.hearing.pk,
            item_id=world.items[3].pk,
            draft_id=draft.pk,
            by=world.moderator,
            rows=[services.OptionSpec("别的")],
        )
    opened = services.poll_open(
        hearing_id=world.hearing.pk, item_id=world.items[3].pk, draft_id=draft.pk, by=world.moderator, title="总测评"
    )
    assert (opened.item_id, opened.title, opened.department_id) == (
        world.items[3].pk,
        "总测评",
        world.departments[2].pk,
    )


def test_a_draft_waits_while_another_live_poll_is_open_and_is_discarded_only_unopened():
    world = make_world(status=Hearing.Status.LIVE)
    staff = staff_user()
    draft = services.poll_prepare(hearing_id=world.hearing.pk, by=staff, kind="sheet", rows=rows(world))
    live = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    with pytest.raises(InvalidState):
        services.poll_open(
            hearing_id=world.hearing.pk, item_id=world.items[1].pk, draft_id=draft.pk, by=world.moderator
        )
    services.poll_close(hearing_id=world.hearing.pk, poll_id=live.pk, by=world.moderator)
    with pytest.raises(InvalidState):
        services.poll_discard(hearing_id=world.hearing.pk, poll_id=live.pk, by=staff)
    with pytest.raises(Forbidden):
        services.poll_discard(hearing_id=world.hearing.pk, poll_id=draft.pk, by=world.moderator)
    services.poll_discard(hearing_id=world.hearing.pk, poll_id=draft.pk, by=staff)
    assert list(Poll.objects.values_list("pk", flat=True)) == [live.pk]


def test_a_draft_of_an_ended_hearing_must_be_given_a_window():
    world = make_world(status=Hearing.Status.ENDED)
    with pytest.raises(InvalidState):
        services.poll_prepare(hearing_id=world.hearing.pk, by=staff_user(), kind="sheet", rows=rows(world))
    assert Poll.objects.count() == 0


def test_candidates_carry_budget_and_note_and_bad_ones_store_nothing():
    world = make_world()
    staff = staff_user()
    poll = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="select",
        candidates=[
            services.OptionSpec("城区老旧小区改造", world.departments[0].pk, Decimal("1200.5"), "12 个小区"),
            services.OptionSpec("农村饮水安全提升", world.departments[1].pk),
        ],
        max_picks=1,
    )
    out = selectors.poll_out(poll)
    assert out.candidates is not None
    first = out.candidates[0].model_dump()
    assert first["budget"] == 1200.5 and first["note"] == "12 个小区"
    assert first["department_name"] == world.departments[0].name
    assert "budget" not in out.candidates[1].model_dump() and "note" not in out.candidates[1].model_dump()
    for bad in (Decimal("-1"), Decimal("1e12"), Decimal("NaN")):
        with pytest.raises(BadRequest):
            services.poll_prepare(
                hearing_id=world.hearing.pk, by=staff, kind="select", candidates=[services.OptionSpec("x", None, bad)]
            )
    with pytest.raises(BadRequest):
        services.poll_prepare(
            hearing_id=world.hearing.pk, by=staff, kind="select", candidates=[services.OptionSpec("x", note="长" * 501)]
        )
    assert Poll.objects.count() == 1


# ------------------------------------------------------------------ window polls


def window_world(status: str = Hearing.Status.ENDED) -> tuple[World, Any, datetime]:
    world = make_world(status=status, deputies=4)
    return world, staff_user(), timezone.now()


def prepare_window(world: World, staff: Any, start: datetime, **kwargs: Any) -> Poll:
    return services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="sheet",
        rows=rows(world),
        opens_at=start + timedelta(hours=1),
        closes_at=start + timedelta(hours=2),
        **kwargs,
    )


def test_a_window_poll_takes_ballots_only_between_its_times_and_closes_by_itself():
    world, staff, start = window_world()
    poll = prepare_window(world, staff, start)
    assert poll.status == Poll.Status.OPEN and poll.is_window
    deputy, other = world.deputies[0], world.deputies[1]

    with clock(start + timedelta(minutes=59)), pytest.raises(InvalidState):  # not yet
        cast(world, poll, deputy)
    assert services.close_due_polls() == []

    ballot = uuid.uuid4()
    with clock(start + timedelta(hours=1)):  # opening time: no check-in needed
        assert cast(world, poll, deputy, ballot) is False
        assert selectors.poll_out(poll).eligible == 4  # the hearing's deputies
    with clock(start + timedelta(hours=2) - timedelta(seconds=1)):
        assert cast(world, poll, deputy, ballot) is True  # a resend
        assert services.close_due_polls() == []

    with clock(start + timedelta(hours=2)):  # closing time: refused before anyone closes it
        with pytest.raises(PollClosed):
            cast(world, poll, other)
        poll.refresh_from_db()
        assert poll.status == Poll.Status.OPEN
        closed = services.close_due_polls()
    assert [p.pk for p in closed] == [poll.pk]
    poll.refresh_from_db()
    assert (poll.status, poll.cast, poll.eligible) == (Poll.Status.CLOSED, 1, 4)
    assert poll.closed_at == start + timedelta(hours=2)
    entry = AuditEntry.objects.filter(action="poll.close").get()
    assert entry.actor_id is None  # the system closed it
    assert services.close_due_polls() == []  # once
    assert VoteRecord.objects.filter(poll=poll).count() == 1


def test_only_the_hearings_deputies_vote_in_a_window_poll():
    world, staff, start = window_world()
    poll = prepare_window(world, staff, start)
    with clock(start + timedelta(hours=1, minutes=1)):
        for outsider in (make_user(), world.moderator, staff):
            with pytest.raises(Forbidden):
                cast(world, poll, outsider)
    assert VoteRecord.objects.count() == 0


def test_window_times_are_checked():
    world, staff, start = window_world()
    bad = [
        (start + timedelta(hours=1), None),
        (None, start + timedelta(hours=1)),
        (start + timedelta(hours=2), start + timedelta(hours=1)),
        (start - timedelta(hours=2), start - timedelta(hours=1)),
        (start, start + timedelta(days=91)),
        (datetime(2030, 1, 1, 8), datetime(2030, 1, 1, 9)),  # no time zone
    ]
    for opens_at, closes_at in bad:
        with pytest.raises(BadRequest):
            services.poll_prepare(
                hearing_id=world.hearing.pk,
                by=staff,
                kind="sheet",
                rows=rows(world),
                opens_at=opens_at,
                closes_at=closes_at,
            )
    assert Poll.objects.count() == 0


def test_no_window_poll_is_scheduled_while_the_hearing_is_live():
    world, staff, start = window_world(Hearing.Status.LIVE)
    with pytest.raises(InvalidState):
        prepare_window(world, staff, start)
    assert Poll.objects.count() == 0
    draft = services.poll_prepare(hearing_id=world.hearing.pk, by=staff, kind="sheet", rows=rows(world))
    with pytest.raises(InvalidState):
        services.poll_schedule(
            hearing_id=world.hearing.pk,
            poll_id=draft.pk,
            opens_at=start,
            closes_at=start + timedelta(hours=1),
            by=staff,
        )
    draft.refresh_from_db()
    assert draft.status == Poll.Status.DRAFT


def test_window_polls_run_side_by_side_and_the_office_closes_and_publishes_them():
    world, staff, start = window_world(Hearing.Status.DRAFT)  # an annual 评议 round, never live
    sheet = prepare_window(world, staff, start)
    select = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="select",
        candidates=[services.OptionSpec(f"项目{n}") for n in range(4)],
        max_picks=2,
        opens_at=start,
        closes_at=start + timedelta(days=7),
    )
    with clock(start + timedelta(minutes=70)):
        cast(world, sheet, world.deputies[0])
        picks = selectors.option_ids(select)[:2]
        services.ballot_cast(
            hearing_id=world.hearing.pk,
            poll_id=select.pk,
            deputy=world.deputies[0],
            picks=picks,
            ballot_id=uuid.uuid4(),
        )
    with pytest.raises(Forbidden):
        services.poll_close(hearing_id=world.hearing.pk, poll_id=select.pk, by=world.deputies[0])
    services.poll_close(hearing_id=world.hearing.pk, poll_id=select.pk, by=staff)  # early, by the office
    published = services.poll_publish(hearing_id=world.hearing.pk, poll_id=select.pk, by=staff)
    out = selectors.poll_out(published)
    assert out.chosen == picks and out.eligible == 4 and out.cast == 1
    sheet.refresh_from_db()
    assert sheet.status == Poll.Status.OPEN


def test_a_draft_scheduled_afterwards_becomes_a_window_poll():
    world, staff, start = window_world(Hearing.Status.LIVE)
    draft = services.poll_prepare(hearing_id=world.hearing.pk, by=staff, kind="sheet", rows=rows(world))
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    with pytest.raises(Forbidden):
        services.poll_schedule(
            hearing_id=world.hearing.pk,
            poll_id=draft.pk,
            opens_at=start,
            closes_at=start + timedelta(hours=1),
            by=world.moderator,
        )
    poll = services.poll_schedule(
        hearing_id=world.hearing.pk, poll_id=draft.pk, opens_at=start, closes_at=start + timedelta(hours=1), by=staff
    )
    assert poll.status == Poll.Status.OPEN and poll.closes_at == start + timedelta(hours=1)
    out = selectors.poll_out(poll).model_dump()
    assert out["opens_at"] == start.isoformat() and out["closes_at"] == (start + timedelta(hours=1)).isoformat()


def test_close_polls_closes_what_is_due_and_a_live_room_closes_it_on_its_tick():
    from io import StringIO

    from django.core.management import call_command

    from realtime.hub import _counters

    world, staff, start = window_world()
    poll = prepare_window(world, staff, start)
    out = StringIO()
    call_command("close_polls", stdout=out)
    assert out.getvalue().strip() == "no poll due"
    with clock(start + timedelta(hours=3)):
        _counters(world.hearing.pk)  # a room's tick
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED

    other = prepare_window(world, staff, start)
    with clock(start + timedelta(hours=3)):
        call_command("close_polls", stdout=out)
    other.refresh_from_db()
    assert other.status == Poll.Status.CLOSED and f"closed poll {other.pk}: 0 of 4 voted" in out.getvalue()
