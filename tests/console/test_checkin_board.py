"""The check-in board: 代签 on the control socket and the panel, the `attendance` figures on
every socket, and the board on the control panel, the big screen and the tablet."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from hearings.models import Hearing, Person
from realtime import hub as live_hub
from tests.factories import World, make_user, make_world
from tests.live.helpers import Socket, close_left_open, control_path, deputy_path, open_socket, public_path
from voting import services as voting_services
from voting.models import Attendance

db = database_sync_to_async
TICK = settings.LIVE["TICK_MS"] / 1000


@pytest.fixture(autouse=True)
async def _bounded_teardown() -> AsyncIterator[None]:
    # As tests/live/conftest.py: sockets a failed test left open are closed, the hub stops.
    yield
    await close_left_open(timeout=2)
    hub = live_hub._hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.close(timeout=2)


def _world(deputies: int = 4, **kw: Any) -> World:
    world = make_world(deputies=deputies, status=Hearing.Status.LIVE, **kw)
    for n, deputy in enumerate(world.deputies, start=1):
        Person.objects.create(
            user=deputy, name=f"代表{n}", role=Person.Role.DEPUTY, delegation="城关代表团", seat=f"{n}排"
        )
    return world


def _stored(world: World) -> list[tuple[int, int | None]]:
    return sorted(Attendance.objects.filter(hearing=world.hearing).values_list("deputy_id", "checked_in_by_id"))


async def attendance_frame(sock: Socket, checked_in: int, timeout: float) -> dict[str, Any]:
    """The first `attendance` counter frame showing `checked_in`, within `timeout` s."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        frame = await sock.poll(left)
        if frame is not None and frame["type"] == "attendance" and frame["data"]["checked_in"] == checked_in:
            return frame
    raise AssertionError(f"no attendance frame with checked_in={checked_in} within {timeout} s")


# ------------------------------------------------------------------------------- sockets


@pytest.mark.django_db(transaction=True)
async def test_every_view_gets_the_figures_in_its_snapshot_and_the_control_view_who() -> None:
    world = await db(_world)()
    await db(voting_services.checkin)(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    hid = world.hearing.pk

    public = await open_socket(public_path(hid))
    deputy = await open_socket(deputy_path(hid), user=world.deputies[1])
    control = await open_socket(control_path(hid), user=world.moderator)

    figures = {"checked_in": 1, "deputies": 4, "needed": 3, "quorum": False}
    assert public.snapshot["data"]["attendance"] == figures
    assert deputy.snapshot["data"]["attendance"] == figures
    assert control.snapshot["data"]["attendance"] == {**figures, "present": [world.deputies[0].pk]}
    for sock in (public, deputy, control):
        await sock.close()


@pytest.mark.django_db(transaction=True)
async def test_a_moderator_checks_a_deputy_in_and_every_socket_sees_it_within_a_tick() -> None:
    world = await db(_world)()
    hid = world.hearing.pk
    first, second, third = world.deputies[:3]
    await db(voting_services.checkin)(hearing_id=hid, deputy=first)
    await db(voting_services.checkin)(hearing_id=hid, deputy=second)
    public = await open_socket(public_path(hid))
    deputy = await open_socket(deputy_path(hid), user=first)
    control = await open_socket(control_path(hid), user=world.moderator)
    for sock in (public, deputy, control):  # a socket's first tick brings the figures as they are
        await attendance_frame(sock, 2, timeout=5)

    reply = await control.action("deputy.checkin", deputy=third.pk)
    acked = time.monotonic()

    assert reply == {"type": "ack", "id": reply["id"], "duplicate": False}
    assert await db(_stored)(world) == [(first.pk, None), (second.pk, None), (third.pk, world.moderator.pk)]
    quorum = {"checked_in": 3, "deputies": 4, "needed": 3, "quorum": True}
    # The control socket may have had it while it waited for the ack.
    seen = [f for f in control.seen if f["type"] == "attendance" and f["data"]["checked_in"] == 3]
    control_frame = seen[0] if seen else await attendance_frame(control, 3, timeout=5)
    assert control_frame["data"] == {**quorum, "present": sorted([first.pk, second.pk, third.pk])}
    assert control_frame["seq"] == control.snapshot["seq"]  # a counter: the socket's seq, not a new one
    for sock in (public, deputy):
        frame = await attendance_frame(sock, 3, timeout=5)
        assert frame["data"] == quorum  # no `present` for the public
        assert frame["seq"] == sock.snapshot["seq"]
    # Within a tick or so of the ack (generous for a loaded test machine).
    assert time.monotonic() - acked < 4 * TICK + 2

    again = await control.action("deputy.checkin", deputy=third.pk)
    assert again == {"type": "ack", "id": again["id"], "duplicate": True}
    assert await db(Attendance.objects.filter(hearing_id=hid, deputy=third).count)() == 1
    for sock in (public, deputy, control):
        await sock.close()


@pytest.mark.django_db(transaction=True)
async def test_a_deputys_own_check_in_reaches_the_control_view() -> None:
    world = await db(_world)()
    hid = world.hearing.pk
    control = await open_socket(control_path(hid), user=world.moderator)
    tablet = await open_socket(deputy_path(hid), user=world.deputies[2])

    reply = await tablet.action("checkin")

    assert reply["type"] == "ack" and reply["duplicate"] is False
    frame = await attendance_frame(control, 1, timeout=5)
    assert frame["data"]["present"] == [world.deputies[2].pk]
    entry = await db(AuditEntry.objects.get)(action="checkin")
    assert (entry.actor_id, entry.payload) == (world.deputies[2].pk, {"deputy": world.deputies[2].pk})
    for sock in (control, tablet):
        await sock.close()


@pytest.mark.django_db(transaction=True)
async def test_deputy_checkin_is_refused_on_other_sockets_and_for_others() -> None:
    world = await db(_world)()
    hid = world.hearing.pk
    target = world.deputies[1].pk
    public = await open_socket(public_path(hid))
    tablet = await open_socket(deputy_path(hid), user=world.deputies[0])

    for sock in (public, tablet):
        reply = await sock.action("deputy.checkin", deputy=target)
        assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    control = await open_socket(control_path(hid), user=world.moderator)
    bad = await control.action("deputy.checkin", deputy="x")
    assert bad["code"] == "bad_request"
    unknown = await control.action("deputy.checkin", deputy=world.moderator.pk)
    assert unknown["code"] == "not_found"

    assert await db(_stored)(world) == []
    for sock in (public, tablet, control):
        await sock.close()


@pytest.mark.django_db(transaction=True)
async def test_a_deputy_removed_from_the_hearing_changes_the_figures_at_the_next_tick() -> None:
    world = await db(_world)()
    hid = world.hearing.pk
    for deputy in world.deputies[:3]:
        await db(voting_services.checkin)(hearing_id=hid, deputy=deputy)
    public = await open_socket(public_path(hid))
    await attendance_frame(public, 3, timeout=5)

    await db(world.hearing.deputies.remove)(world.deputies[0])  # by staff's roster service

    frame = await attendance_frame(public, 2, timeout=5)
    assert frame["data"] == {"checked_in": 2, "deputies": 3, "needed": 2, "quorum": True}
    await public.close()


# ------------------------------------------------------------------------------- the panel


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(user: Any, world: World, deputy: int | str, *, htmx: bool = True) -> Any:
    url = reverse("control_action", args=[world.hearing.pk, "deputy-checkin"])
    headers = {"HX-Request": "true"} if htmx else None
    return _client(user).post(url, {"deputy": str(deputy)}, secure=True, headers=headers)


@pytest.mark.django_db
def test_the_panel_checks_a_deputy_in() -> None:
    world = _world()
    deputy = world.deputies[1]

    response = _post(world.moderator, world, deputy.pk)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="action-result ok"' in html and "代表2" in html
    assert _stored(world) == [(deputy.pk, world.moderator.pk)]
    again = _post(world.moderator, world, deputy.pk).content.decode()
    assert "此前已签到" in again
    assert _stored(world) == [(deputy.pk, world.moderator.pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["deputy", "other_moderator", "staff", "liaison"])
def test_the_panel_refuses_anyone_but_a_moderator_of_the_hearing(who: str) -> None:
    world = _world()
    makers: dict[str, Callable[[], Any]] = {
        "deputy": lambda: world.deputies[0],
        "other_moderator": lambda: world.other_moderator,
        "staff": lambda: Person.objects.create(user=make_user(), name="会务", role=Person.Role.STAFF).user,
        "liaison": lambda: Person.objects.create(user=make_user(), name="联络员", role=Person.Role.LIAISON).user,
    }
    user = makers[who]()

    response = _post(user, world, world.deputies[1].pk)

    assert response.status_code == 403
    assert 'class="action-result failed"' in response.content.decode()
    assert _stored(world) == []
    assert not AuditEntry.objects.filter(action="checkin").exists()


@pytest.mark.django_db
def test_the_panel_refuses_a_bad_or_unknown_deputy_and_an_ended_hearing() -> None:
    world = _world()
    assert _post(world.moderator, world, "abc").status_code == 400
    assert _post(world.moderator, world, world.other_moderator.pk).status_code == 404
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    assert _post(world.moderator, world, world.deputies[0].pk).status_code == 409
    assert _stored(world) == []
    anonymous = Client().post(
        reverse("control_action", args=[world.hearing.pk, "deputy-checkin"]),
        {"deputy": world.deputies[0].pk},
        secure=True,
    )
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert _stored(world) == []


@pytest.mark.django_db
def test_the_control_panel_shows_the_board() -> None:
    world = _world()
    voting_services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    voting_services.checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=world.deputies[1].pk, by=world.moderator)

    html = _client(world.moderator).get(reverse("hearing_control", args=[world.hearing.pk]), secure=True)
    page = html.content.decode()

    assert 'id="control-checkin"' in page
    assert '<strong id="attendance-checked-in">2</strong>' in page
    assert '<span id="attendance-deputies">4</span>' in page
    assert '<strong id="attendance-needed">3</strong>' in page
    assert "quorum-no" in page
    for n in (1, 2, 3, 4):
        assert f"代表{n}" in page
    assert "城关代表团" in page and "3排" in page
    action = reverse("control_action", args=[world.hearing.pk, "deputy-checkin"])
    # A 代签 button for each deputy not checked in, none for those who are.
    assert page.count(f'hx-post="{action}"') == 2
    for deputy in world.deputies[2:]:
        assert f"hx-vals='{{\"deputy\": {deputy.pk}}}'" in page
    assert "已代签" in page and "已签到" in page
    assert f'data-present="{world.deputies[0].pk},{world.deputies[1].pk}"' in page


@pytest.mark.django_db
def test_the_board_part_is_the_moderators_only() -> None:
    world = _world()
    url = reverse("control_part", args=[world.hearing.pk, "checkin"])
    part = _client(world.moderator).get(url, secure=True)
    assert part.status_code == 200
    assert part.content.decode().startswith('<section class="card checkin-board" id="control-checkin"')
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    ended = _client(world.moderator).get(url, secure=True).content.decode()
    assert "deputy-checkin" not in ended and "未签到" in ended  # no 代签 once the hearing ended
    for user in (world.deputies[0], world.other_moderator):
        assert _client(user).get(url, secure=True).status_code == 403


@pytest.mark.django_db
def test_the_big_screen_and_the_tablet_have_a_place_for_the_figures() -> None:
    world = _world()
    screen = Client().get(reverse("hearing_screen", args=[world.hearing.pk]), secure=True).content.decode()
    assert 'id="attendance-checked-in"' in screen and 'id="attendance-quorum"' in screen
    tablet = _client(world.deputies[0]).get(reverse("hearing_tablet", args=[world.hearing.pk]), secure=True)
    assert 'id="attendance-line"' in tablet.content.decode()


async def _frames_for(sock: Socket, seconds: float) -> list[dict[str, Any]]:
    frames, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        frame = await sock.poll(left)
        if frame is not None:
            frames.append(frame)
    return frames


@pytest.mark.django_db(transaction=True)
async def test_a_tablet_learns_its_deputy_was_checked_in_on_their_behalf() -> None:
    """代签: the deputy's open tablet gets a fresh snapshot whose `me` says checked in (else it
    would still offer the 签到 button); a tablet that checked in itself gets no extra snapshot."""
    world = await db(_world)()
    hid = world.hearing.pk
    absent, own = world.deputies[0], world.deputies[1]
    tablet = await open_socket(deputy_path(hid), user=absent)
    other = await open_socket(deputy_path(hid), user=own)
    control = await open_socket(control_path(hid), user=world.moderator)
    assert tablet.snapshot["data"]["me"]["checked_in"] is False

    assert (await other.action("checkin"))["duplicate"] is False
    assert (await control.action("deputy.checkin", deputy=absent.pk))["duplicate"] is False

    deadline = time.monotonic() + 5
    snapshot = None
    while snapshot is None and time.monotonic() < deadline:
        frame = await tablet.poll(deadline - time.monotonic())
        if frame is not None and frame["type"] == "snapshot":
            snapshot = frame
    assert snapshot is not None, "no fresh snapshot reached the tablet"
    assert snapshot["data"]["me"]["checked_in"] is True
    # The figures follow with the next tick, even when the snapshot was a shared, older one.
    await attendance_frame(tablet, 2, timeout=5)
    # The tablet that checked in itself knew from its ack: no snapshot for it.
    assert [f for f in await _frames_for(other, 4 * TICK + 0.5) if f["type"] == "snapshot"] == []
    for sock in (tablet, other, control):
        await sock.close()
