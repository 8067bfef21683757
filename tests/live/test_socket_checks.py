"""The periodic checks of deputies' and moderators' sockets made together (realtime.sessions.
sockets_allowed) decide exactly as each made alone (socket_allowed), in a few queries for all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime.sessions import SocketCheck, socket_allowed, sockets_allowed
from tests.factories import make_user, make_world

pytestmark = pytest.mark.django_db


def login(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def one_by_one(checks: list[SocketCheck]) -> list[bool]:
    return [
        socket_allowed(hearing_id=c.hearing_id, user_id=c.user_id, role=c.role, session_key=c.session_key)
        for c in checks
    ]


def test_together_as_alone_for_every_way_a_socket_loses_its_right() -> None:
    world = make_world(deputies=8, status="live")
    hid = world.hearing.pk
    d = world.deputies
    keys = [login(user) for user in d]
    moderator_key = login(world.moderator)
    outsider = make_user()
    checks = [
        SocketCheck(hid, d[0].pk, "deputy", keys[0]),  # allowed
        SocketCheck(hid, world.moderator.pk, "control", moderator_key),  # allowed
        SocketCheck(hid, d[1].pk, "deputy", keys[1]),  # removed from the hearing
        SocketCheck(hid, d[2].pk, "deputy", keys[2]),  # session deleted
        SocketCheck(hid, d[3].pk, "deputy", keys[3]),  # session expired
        SocketCheck(hid, d[4].pk, "deputy", keys[4]),  # password changed
        SocketCheck(hid, d[5].pk, "deputy", keys[5]),  # account deactivated
        SocketCheck(hid, d[6].pk, "deputy", keys[0]),  # another deputy's session
        SocketCheck(hid, d[7].pk, "deputy", keys[7]),  # a backend not among AUTHENTICATION_BACKENDS
        SocketCheck(hid, d[0].pk, "control", keys[0]),  # a deputy is no moderator
        SocketCheck(hid, outsider.pk, "deputy", login(outsider)),  # never a deputy
        SocketCheck(hid, d[0].pk, "deputy", None),  # no session
        SocketCheck(hid, None, "deputy", keys[0]),  # no user
        SocketCheck(hid, d[0].pk, "deputy", "no-such-session-key"),
    ]
    world.hearing.deputies.remove(d[1])
    Session.objects.filter(session_key=keys[2]).delete()
    Session.objects.filter(session_key=keys[3]).update(expire_date=timezone.now() - timedelta(seconds=1))
    d[4].set_password("a-new-password-123")
    d[4].save()
    d[5].is_active = False
    d[5].save()
    store = SessionStore(keys[7])
    store[BACKEND_SESSION_KEY] = "tests.nowhere.Backend"
    store.save()

    together = sockets_allowed(checks)
    assert together == [True, True] + [False] * (len(checks) - 2)
    assert together == one_by_one(checks)


def test_a_chamber_costs_a_few_queries_not_a_few_each() -> None:
    world = make_world(deputies=30, status="live")
    checks = [SocketCheck(world.hearing.pk, user.pk, "deputy", login(user)) for user in world.deputies]
    with CaptureQueriesContext(connection) as queries:
        assert sockets_allowed(checks) == [True] * len(checks)
    assert len(queries) <= 4
