"""Who may do what over the WebSocket: every role against every endpoint, every action on
every endpoint, as tables (roles and outcomes: see tests/test_permissions.py).

The action table is written out here, not read from realtime.consumers.ROUTES: a change to
ROUTES that is not also made here fails `test_routes_are_the_table`, and every cell is also
tried on a real socket.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from live import schema
from live.viewer import COOKIE
from realtime.consumers import ROUTES
from tests.live.helpers import open_socket
from tests.test_permissions import ROLES, Matrix, cells, fingerprint, make_matrix, prepare, table, viewer_cookie

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture(autouse=True)
def _tmp_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
async def m() -> Matrix:
    return await db(make_matrix)()


def path(m: Matrix, endpoint: str) -> str:
    kind, _, unknown = endpoint.partition("-")
    hearing_id = 10**9 if unknown else m.hearing.pk
    return f"/ws/hearings/{hearing_id}/{kind}/"


# ------------------------------------------------------------------------------- connecting

# `snapshot`: accepted, and the first frame is the snapshot; 4403 / 4404: closed with that code.
CONNECT = """
endpoint         anon      viewer    deputy    deputy2   liaison   liaison2  mod       mod2      admin     staff
public           snapshot  snapshot  snapshot  snapshot  snapshot  snapshot  snapshot  snapshot  snapshot  snapshot
deputy           4403      4403      snapshot  4403      4403      4403      4403      4403      4403      4403
control          4403      4403      4403      4403      4403      4403      snapshot  4403      4403      4403
public-unknown   4404      4404      4404      4404      4404      4404      4404      4404      4404      4404
deputy-unknown   4404      4404      4404      4404      4404      4404      4404      4404      4404      4404
control-unknown  4404      4404      4404      4404      4404      4404      4404      4404      4404      4404
"""


@pytest.mark.parametrize(("endpoint", "role", "expected"), cells(CONNECT))
async def test_connect(m: Matrix, endpoint: str, role: str, expected: str) -> None:
    cookies = f"{COOKIE}={viewer_cookie()}" if role == "viewer" else ""
    sock = await open_socket(
        path(m, endpoint), user=m.users[role], cookies=cookies, viewer=False, expect_snapshot=False
    )
    if expected == "snapshot":
        assert sock.connected
        frame = await sock.recv()
        assert frame["type"] == "snapshot"
        assert frame["data"]["hearing"]["id"] == m.hearing.pk
    else:
        # Accepted, then closed with the code (a browser can read it, unlike a refused handshake).
        assert sock.connected
        assert await sock.comm.receive_output(timeout=3) == {"type": "websocket.close", "code": int(expected)}
    await sock.close()


@pytest.mark.parametrize("endpoint", ["public", "deputy", "control"])
async def test_a_foreign_origin_is_refused(m: Matrix, endpoint: str) -> None:
    user = {"public": None, "deputy": m.users["deputy"], "control": m.users["mod"]}[endpoint]
    sock = await open_socket(path(m, endpoint), user=user, origin=b"https://evil.example", expect_snapshot=False)
    assert not sock.connected


# ------------------------------------------------------------------------------- actions

# Who sends each action: the endpoint's own user (public: anyone; deputy: a deputy of the
# hearing; control: a moderator of it). `ok`: acked; `forbidden`: refused with that code and
# nothing changed. `watcher`: a public socket without the live page's viewer cookie (watch only).
ACTIONS = """
action             public     deputy     control    watcher
resume             ok         ok         ok         ok
ping               ok         ok         ok         ok
like               ok         forbidden  forbidden  forbidden
ask                ok         ok         forbidden  forbidden
checkin            forbidden  ok         forbidden  forbidden
vote               forbidden  ok         forbidden  forbidden
hearing.start      forbidden  forbidden  ok         forbidden
hearing.end        forbidden  forbidden  ok         forbidden
agenda.start       forbidden  forbidden  ok         forbidden
question.approve   forbidden  forbidden  ok         forbidden
question.reject    forbidden  forbidden  ok         forbidden
question.hide      forbidden  forbidden  ok         forbidden
question.stage     forbidden  forbidden  ok         forbidden
question.answered  forbidden  forbidden  ok         forbidden
question.edit      forbidden  forbidden  ok         forbidden
question.merge     forbidden  forbidden  ok         forbidden
poll.open          forbidden  forbidden  ok         forbidden
poll.close         forbidden  forbidden  ok         forbidden
poll.publish       forbidden  forbidden  ok         forbidden
deputy.checkin     forbidden  forbidden  ok         forbidden
agenda.add         forbidden  forbidden  ok         forbidden
agenda.edit        forbidden  forbidden  ok         forbidden
agenda.move        forbidden  forbidden  ok         forbidden
agenda.remove      forbidden  forbidden  ok         forbidden
"""


def test_routes_are_the_table() -> None:
    expected: dict[str, set[str]] = {}
    needs_viewer: set[str] = set()
    for action, endpoint, outcome in table(ACTIONS):
        expected.setdefault(action, set())
        if endpoint == "watcher":
            if outcome == "forbidden" and "public" in expected[action]:
                needs_viewer.add(action)
        elif outcome == "ok":
            expected[action].add(endpoint)
    assert set(expected) == set(schema.ACTIONS)  # every action of the protocol has a row
    assert {name: set(route.roles) for name, route in ROUTES.items()} == expected
    assert {name for name, route in ROUTES.items() if route.needs_viewer} == needs_viewer


def test_connect_table_names_every_role() -> None:
    assert [column for _, column, _ in table(CONNECT)][: len(ROLES)] == ROLES


@pytest.mark.parametrize(("action", "endpoint", "expected"), cells(ACTIONS))
async def test_actions(m: Matrix, action: str, endpoint: str, expected: str) -> None:
    fields = await db(prepare)(m, action)
    user = {"public": None, "watcher": None, "deputy": m.users["deputy"], "control": m.users["mod"]}[endpoint]
    sock = await open_socket(
        path(m, "public" if endpoint == "watcher" else endpoint), user=user, viewer=endpoint != "watcher"
    )
    before = await db(fingerprint)()
    reply = await sock.action(action, **fields)
    if expected == "ok":
        assert reply["type"] == "ack", reply
    else:
        assert (reply["type"], reply["code"]) == ("error", "forbidden"), reply
        assert await db(fingerprint)() == before
    await sock.close()
