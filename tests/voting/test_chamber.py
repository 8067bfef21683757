"""A chamber at once: every deputy's tablet checks in and votes in the same moment.

Over the real ASGI stack (session login, deputy endpoint), on whichever database the pass
runs: SQLite (the demo's default), where one writer at a time must queue rather than fail
with `database is locked`, and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.db import connection

from hearings.models import Hearing
from tests.factories import World, make_world
from tests.live.helpers import Socket, deputy_path, open_socket
from tests.voting.helpers import stored_counts
from voting import services
from voting.models import Attendance, Poll, VoteRecord

pytestmark = pytest.mark.django_db(transaction=True)

CHAMBER = 300
SERVER_THREADS = 64
CHOICES = ["满意", "基本满意", "不满意"]


def _chamber(n: int) -> tuple[World, list[Any], Poll, list[str]]:
    """A live hearing with `n` deputies (none checked in), an open secret poll, and a session
    cookie per deputy (made in bulk: a login per deputy would take longer than the test)."""
    world = make_world(deputies=0, status=Hearing.Status.LIVE)
    users = get_user_model()
    tag = uuid.uuid4().hex[:8]
    deputies = users.objects.bulk_create([users(username=f"chamber-{tag}-{i:04d}") for i in range(n)])
    through = Hearing.deputies.through
    through.objects.bulk_create([through(hearing_id=world.hearing.pk, user_id=d.pk) for d in deputies])
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    cookies = []
    for deputy in deputies:
        session = store()
        session[SESSION_KEY] = str(deputy.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = deputy.get_session_auth_hash()
        session.create()
        cookies.append(f"{django_settings.SESSION_COOKIE_NAME}={session.session_key}")
    poll = services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    return world, deputies, poll, cookies


async def _until_reply(sock: Socket, client_id: str, timeout: float) -> dict[str, Any]:
    """The ack or error of `client_id`; a close (1011 on a server error) is returned as such."""
    deadline = time.monotonic() + timeout
    while True:
        message = await sock.comm.receive_output(timeout=max(0.1, deadline - time.monotonic()))
        if message["type"] == "websocket.close":
            return {"type": "closed", "code": message.get("code")}
        frame = json.loads(message["text"])
        if frame["type"] in ("ack", "error") and frame.get("id") == client_id:
            return dict(frame)


async def _tablet(sock: Socket, poll: int, choice: str, ballot: str, go: asyncio.Event) -> list[dict[str, Any]]:
    """Check in, then vote as soon as the check-in is acked: a tablet's two taps."""
    await go.wait()
    await sock.comm.send_to(text_data=json.dumps({"action": "checkin", "id": "in"}))
    checked = await _until_reply(sock, "in", timeout=60)
    if checked["type"] != "ack":
        return [checked]
    await sock.comm.send_to(
        text_data=json.dumps({"action": "vote", "id": "v", "poll": poll, "choice": choice, "ballot": ballot})
    )
    return [checked, await _until_reply(sock, "v", timeout=60)]


async def test_a_chamber_checks_in_and_votes_at_once():
    # The database work of sockets runs on the event loop's default thread pool: min(32, cores
    # + 4) threads, or ASGI_THREADS under daphne. A server's many cores mean that many
    # writers at once; this machine's few would hide the contention.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(SERVER_THREADS))
    world, _deputies, poll, cookies = await database_sync_to_async(_chamber)(CHAMBER)
    hid = world.hearing.pk
    socks: list[Socket] = []
    for start in range(0, CHAMBER, 25):  # the tablets were on before the session began
        socks += await asyncio.gather(
            *(open_socket(deputy_path(hid), cookies=cookie) for cookie in cookies[start : start + 25])
        )
    assert all(sock.connected for sock in socks)
    choices = [CHOICES[i % 3] for i in range(CHAMBER)]
    go = asyncio.Event()
    tablets = [
        asyncio.ensure_future(_tablet(sock, poll.pk, choice, str(uuid.uuid4()), go))
        for sock, choice in zip(socks, choices, strict=True)
    ]
    go.set()
    replies = await asyncio.gather(*tablets)

    failed = [r for pair in replies for r in pair if r["type"] != "ack"]
    assert failed == [], Counter(json.dumps(r, ensure_ascii=False)[:120] for r in failed).most_common(5)
    assert [r[0].get("duplicate") for r in replies] == [False] * CHAMBER
    assert [r[1] for r in replies] == [{"type": "ack", "id": "v", "poll": poll.pk, "duplicate": False}] * CHAMBER

    def stored() -> tuple[int, int, Counter[str]]:
        return (
            Attendance.objects.filter(hearing_id=hid).count(),
            VoteRecord.objects.filter(poll=poll).count(),
            stored_counts(poll),
        )

    attended, recorded, counted = await database_sync_to_async(stored)()
    assert (attended, recorded) == (CHAMBER, CHAMBER)
    assert counted == Counter(choices)
    for sock in socks:
        await sock.close()


def test_each_sqlite_pragma_of_the_settings_is_in_force(settings):
    """Django runs every ;-separated statement of init_command: the writer waits (busy timeout,
    IMMEDIATE) rather than fails, and freed space is zeroed."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's settings")
    connection.close()  # a fresh connection, as every server thread opens
    with connection.cursor() as cursor:
        values = {}
        for pragma in ("journal_mode", "synchronous", "busy_timeout", "secure_delete"):
            cursor.execute(f"PRAGMA {pragma}")
            values[pragma] = cursor.fetchone()[0]
    assert values == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": settings.SQLITE_BUSY_TIMEOUT_MS,
        "secure_delete": 1,
    }
    assert settings.SQLITE_BUSY_TIMEOUT_MS == 20_000
    assert getattr(connection, "transaction_mode", None) == "IMMEDIATE"
