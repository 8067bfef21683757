"""A tablet logged in by a seat code opens its own hearing's deputy socket (and public ones) and
nothing else; the periodic check closes it (4403) once its code is revoked or its hearing ends,
made together with the other sockets' checks in a few queries."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hearings import selectors, services
from hearings.models import Hearing, Person
from realtime.sessions import SocketCheck, socket_allowed, sockets_allowed
from tests.factories import World, make_user, make_world
from tests.live.helpers import Socket, control_path, deputy_path, open_socket, public_path

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


def seat_world() -> tuple[World, Hearing, Any, dict[int, str]]:
    """A live hearing with codes for its deputies; the first deputy is also a deputy and a
    moderator of another live hearing."""
    world = make_world(status="live")
    other = make_world(status="live").hearing
    other.deputies.add(world.deputies[0])
    other.moderators.add(world.deputies[0])
    staff = make_user()
    Person.objects.create(user=staff, name="会务甲", role=Person.Role.STAFF)
    made = services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    return world, other, staff, {c.deputy_id: selectors.seat_code_text(c) for c in made}


def seat_login(code: str) -> str:
    """A tablet logs in by the code: its session cookie."""
    client = Client()
    response = client.post(f"/seat/{code}/", secure=True)
    assert response.status_code == 302, response
    return f"sessionid={client.cookies['sessionid'].value}"


def password_login(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def closed_with(sock: Socket, timeout: float = 3) -> int:
    while True:
        output = await sock.comm.receive_output(timeout=timeout)
        if output["type"] == "websocket.close":
            return int(output["code"])


async def refused_at_connect(path: str, cookie: str) -> int:
    sock = await open_socket(path, cookies=cookie, viewer=False, expect_snapshot=False)
    assert sock.connected
    return await closed_with(sock)


async def test_a_seat_session_opens_its_hearings_deputy_socket_and_public_ones_only(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 3600}
    world, other, _, codes = await db(seat_world)()
    deputy = world.deputies[0]
    cookie = await db(seat_login)(codes[deputy.pk])
    mine = await open_socket(deputy_path(world.hearing.pk), cookies=cookie)
    assert mine.snapshot["data"]["me"]["name"] == deputy.get_username()  # a deputy's tablet snapshot
    for hearing in (world.hearing, other):
        public = await open_socket(public_path(hearing.pk), cookies=cookie)
        assert public.snapshot["type"] == "snapshot"
    # Another hearing's deputy and control sockets, though the same person holds both roles there.
    assert await refused_at_connect(deputy_path(other.pk), cookie) == 4403
    assert await refused_at_connect(control_path(other.pk), cookie) == 4403
    # The same deputy logged in by password reaches them (the restriction is the seat session's).
    password = await db(password_login)(deputy)
    assert (await open_socket(deputy_path(other.pk), cookies=password)).snapshot["type"] == "snapshot"
    assert (await mine.action("ping"))["type"] == "ack"


async def test_a_revoked_codes_tablet_socket_is_closed_at_the_next_check(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 0.1}
    world, _, staff, codes = await db(seat_world)()
    gone, kept = world.deputies[0], world.deputies[1]
    gone_socket = await open_socket(deputy_path(world.hearing.pk), cookies=await db(seat_login)(codes[gone.pk]))
    kept_cookie = await db(seat_login)(codes[kept.pk])
    kept_socket = await open_socket(deputy_path(world.hearing.pk), cookies=kept_cookie)
    await gone_socket.nothing(timeout=0.4)  # checks passed while its code stood
    # Revoked in the office: no HTTP request from the tablet, no logout signal; the check sees it.
    await db(services.seat_code_revoke)(hearing_id=world.hearing.pk, deputy_id=gone.pk, by=staff)
    assert await closed_with(gone_socket) == 4403
    await kept_socket.nothing(timeout=0.4)
    assert (await kept_socket.action("ping"))["type"] == "ack"


async def test_a_revoked_codes_session_cannot_open_the_deputy_socket(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 3600}
    world, _, staff, codes = await db(seat_world)()
    deputy = world.deputies[0]
    cookie = await db(seat_login)(codes[deputy.pk])
    await db(services.seat_code_revoke)(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    assert await refused_at_connect(deputy_path(world.hearing.pk), cookie) == 4403


async def test_a_tablet_socket_is_closed_when_its_hearing_ends(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "ROLE_CHECK_SECONDS": 0.1}
    world, _, _, codes = await db(seat_world)()
    deputy = world.deputies[0]
    sock = await open_socket(deputy_path(world.hearing.pk), cookies=await db(seat_login)(codes[deputy.pk]))
    password = await open_socket(deputy_path(world.hearing.pk), cookies=await db(password_login)(world.deputies[1]))
    await db(services.hearing_end)(hearing_id=world.hearing.pk, by=world.moderator)
    assert await closed_with(sock) == 4403
    # A deputy logged in by password keeps watching the ended hearing.
    assert (await password.action("ping"))["type"] == "ack"


def test_together_as_alone_with_seat_sessions_in_a_few_queries() -> None:
    world, other, staff, codes = seat_world()
    d = world.deputies
    keys = [seat_login(codes[user.pk]).split("=", 1)[1] for user in d]
    plain = password_login(d[0]).split("=", 1)[1]
    hid = world.hearing.pk
    checks = [
        SocketCheck(hid, d[0].pk, "deputy", keys[0]),  # its own hearing: allowed
        SocketCheck(hid, d[0].pk, "deputy", plain),  # a password login: allowed
        SocketCheck(other.pk, d[0].pk, "deputy", plain),  # a password login, the other hearing: allowed
        SocketCheck(other.pk, d[0].pk, "deputy", keys[0]),  # the other hearing: no
        SocketCheck(other.pk, d[0].pk, "control", keys[0]),  # a control socket: no
        SocketCheck(hid, d[1].pk, "deputy", keys[1]),  # its code revoked: no
        SocketCheck(hid, d[2].pk, "deputy", keys[2]),  # allowed until the hearing ends below
    ]
    services.seat_code_revoke(hearing_id=hid, deputy_id=d[1].pk, by=staff)

    def one_by_one() -> list[bool]:
        return [
            socket_allowed(hearing_id=c.hearing_id, user_id=c.user_id, role=c.role, session_key=c.session_key)
            for c in checks
        ]

    expected = [True, True, True, False, False, False, True]
    with CaptureQueriesContext(connection) as queries:
        assert sockets_allowed([c for i, c in enumerate(checks) if expected[i]]) == [True] * expected.count(True)
    assert len(queries) <= 6  # users, two role tables, sessions, users, seat codes
    assert sockets_allowed(checks) == expected == one_by_one()
    Hearing.objects.filter(pk=hid).update(status=Hearing.Status.ENDED)
    assert sockets_allowed(checks)[6] is False and one_by_one()[6] is False
    assert sockets_allowed(checks)[1] is True  # the password login is not a seat's
