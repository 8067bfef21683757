"""Faults against the production-like stack (scripts/stack: nginx, two uvicorn processes, the
test's PostgreSQL database and a private Redis): Redis restarted mid-session, an app process
killed, a reconnect storm of 2,000 viewers, a tablet dropped mid-vote. docs/reliability.md
records what these runs measured.

Every socket is a client of nginx, and every state change after the sockets connect goes through
a socket too (the test process's own channel layer is not the stack's Redis).
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import ssl
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client

from deploy import stack as stack_module
from hearings import services
from hearings.models import Hearing, Like, Question
from realtime.presence import STALE_AFTER
from tests.conftest import require_service
from tests.factories import World, make_world
from tests.integration.stack import (
    LiveClient,
    PrivateRedis,
    Stack,
    established,
    http_async,
    open_many,
    require_binary,
    wait_all,
)
from tests.live.helpers import viewer_cookie
from tests.voting.helpers import stored_total
from tests.waiting import wait_until
from voting import services as voting_services
from voting.models import Poll, VoteRecord

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

db = database_sync_to_async
STORM = 2000
QUIET = 1.0  # four counter ticks: a room still ticking reports within it
OUTAGE = 6.0  # seconds Redis stays away
TRACEBACK = re.compile(r"Traceback|Exception in ASGI application")


def _real_services() -> None:
    require_service("redis")
    require_service("postgres")
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL set)")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis(require_binary("redis-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(
    redis_server: PrivateRedis, django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    _real_services()
    require_binary("nginx")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the storm's 2,000 sockets live here
    running = Stack(tmp_path_factory.mktemp("stack"), redis_server.url)
    running.up()
    yield running
    running.down()


@pytest.fixture(autouse=True)
def _services() -> None:
    _real_services()


# --------------------------------------------------------------------------- helpers


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def public_seq(hearing_id: int) -> int:
    return int(Hearing.objects.values_list("public_seq", flat=True).get(pk=hearing_id))


def control_seq(hearing_id: int) -> int:
    return int(Hearing.objects.values_list("control_seq", flat=True).get(pk=hearing_id))


def prepare_vote(world: World) -> Poll:
    """Every deputy checked in, a poll open on the first questioning item (before any socket)."""
    for deputy in world.deputies:
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    return voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)


def approved_question(world: World) -> Question:
    q = services.question_submit(hearing_id=world.hearing.pk, text="企业开办还能再快吗？", source="public")
    return services.question_approve(hearing_id=world.hearing.pk, question_id=q.pk, by=world.moderator)


async def client(stack: Stack, hearing_id: int, role: str, user: Any = None, **kw: Any) -> LiveClient:
    """A socket of `role`: a public one carries a viewer cookie (signed with the stack's key, by
    the live page's own helper), a deputy's or moderator's one the user's session."""
    headers = {"Cookie": await db(session_cookie)(user)} if user is not None else {}
    if role == "public":
        headers = {"Cookie": viewer_cookie()}
    return LiveClient(stack.ws_url(f"/ws/hearings/{hearing_id}/{role}/"), headers, **kw)


@pytest.fixture
async def clients(stack: Stack) -> AsyncIterator[list[LiveClient]]:
    """Every client a test makes goes in here and is closed at the end, and the end waits until
    nginx has logged each of their connections as finished: the processes drop the test's rooms
    before its database is flushed."""
    made: list[LiveClient] = []
    offsets = stack.offsets()
    yield made
    for c in made:
        c.close()
    opened = sum(c.connects for c in made if c.url.startswith(stack.ws_url("/")))  # through nginx

    def logged() -> int:
        return sum(e["request"].startswith("GET /ws/") for e in stack.access_since(offsets))

    await wait_until(lambda: logged() >= opened, 30, 0.05, what="nginx logged every connection as finished")
    # Every room the test used is dropped by every process: each process that held one said so
    # (its last report is 0; a killed process's stays behind, stale, ignored as the online count
    # ignores it), and then no report comes for a quiet window of several ticks.
    hearings = {int(m.group(1)) for c in made if (m := re.search(r"/ws/hearings/(\d+)/", c.url))}

    def reports() -> dict[int, dict[str, tuple[int, float]]]:
        return {h: stack.presence_reports(h) for h in hearings}

    async def dropped_and_quiet() -> bool:
        before = reports()
        now = time.time()
        if not all(
            entries and all(count == 0 or now - stamp > STALE_AFTER for count, stamp in entries.values())
            for entries in before.values()
        ):
            return False
        await asyncio.sleep(QUIET)
        return reports() == before

    await wait_until(dropped_and_quiet, 30, 0.1, what="rooms dropped (does one still tick after its last socket left?)")


def assert_gapless(clients: list[LiveClient], seq: int) -> None:
    for c in clients:
        assert c.gaps == [], (c.url, c.gaps)
        assert c.seq == seq, (c.url, c.seq, seq)
        assert c.resets == 0


def report(name: str, **numbers: Any) -> None:
    """Measured numbers, printed for docs/reliability.md (pytest -s, or -rA shows them)."""
    print(f"\n[{name}] " + json.dumps(numbers, ensure_ascii=False, default=str))


# --------------------------------------------------------------------------- the stack itself


async def test_stack_serves_pages_static_files_and_sockets_through_nginx(
    stack: Stack, clients: list[LiveClient]
) -> None:
    world = await db(make_world)(status="live")
    status, headers, body = await http_async(f"{stack.url}/static/live/live.js")
    assert status == 200 and headers["Server"] == "nginx"  # from disk, not a Python process
    assert body == (Path(settings.BASE_DIR) / "static/live/live.js").read_bytes()
    assert (await http_async(f"{stack.url}/healthz"))[0] == 200
    status, _, body = await http_async(f"{stack.url}/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok", "redis": "ok"})
    status, headers, _ = await http_async(f"{stack.url}/hearings/{world.hearing.pk}/")
    assert status == 200 and "Secure" not in headers.get("Set-Cookie", "")  # HTTPS=0 on loopback

    viewer = await client(stack, world.hearing.pk, "public")
    clients.append(viewer)
    assert (await viewer.open())["data"]["hearing"]["status"] == "live"
    assert (await viewer.call("ping"))["type"] == "ack"
    evil = LiveClient(viewer.url, {"Origin": "http://evil.example"})
    with pytest.raises(Exception, match="403"):
        await evil.open()
    # Beside the app processes, the task worker runs: `status` reports it and needs it.
    assert stack_module.worker_pid(stack.cfg) is not None
    status_text = stack.command("status")
    assert "worker: pid " in status_text and "worker: pid down" not in status_text


async def test_login_and_secure_cookies_over_tls_with_the_proxy_header(
    redis_server: PrivateRedis, tmp_path: Path
) -> None:
    """HTTPS=1 behind nginx ending TLS: X-Forwarded-Proto makes Django see https, so a login over
    https works, cookies are Secure, HSTS is sent and nothing redirects in a loop."""
    require_binary("nginx")
    world = await db(make_world)(status="live")
    tls = Stack(tmp_path / "tls", redis_server.url, apps=1, tls=True)
    await asyncio.to_thread(tls.up)
    try:
        status, headers, body = await http_async(f"{tls.url}/accounts/login/")
        assert status == 200 and headers["Strict-Transport-Security"].startswith("max-age=31536000")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        cookie = headers["Set-Cookie"].split(";")[0]
        assert token is not None and "Secure" in headers["Set-Cookie"]
        # The stack hashes as production does (the tests' fast MD5 hasher is not among its hashers).
        hasher = PBKDF2PasswordHasher()
        world.moderator.password = await asyncio.to_thread(hasher.encode, "tls-pass-123", hasher.salt())
        await db(world.moderator.save)()
        form = f"csrfmiddlewaretoken={token.group(1).decode()}&username={world.moderator.username}"
        form += "&password=tls-pass-123"
        status, headers, _ = await http_async(
            f"{tls.url}/accounts/login/",
            data=form.encode(),
            headers={"Cookie": cookie, "Origin": tls.url, "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302 and "sessionid=" in headers["Set-Cookie"] and "Secure" in headers["Set-Cookie"]
        session = re.search(r"sessionid=[^;]+", headers["Set-Cookie"])
        assert session is not None
        trust = ssl.create_default_context(cafile=str(tls.cfg.run / "tls.crt"))  # the stack's own certificate
        control = LiveClient(
            tls.ws_url(f"/ws/hearings/{world.hearing.pk}/control/"), {"Cookie": session.group(0)}, ssl_context=trust
        )
        await control.open()  # wss through nginx, authenticated by the session made over https
        assert (await control.call("agenda.start", item=world.items[0].pk))["type"] == "ack"
        control.close()
        # The app port itself (no proxy header) redirects plain http to https.
        port = tls.cfg.app_ports[0]
        status, headers, _ = await http_async(f"http://127.0.0.1:{port}/hearings/{world.hearing.pk}/")
        assert status == 301 and headers["Location"].startswith("https://")
    finally:
        await asyncio.to_thread(tls.down)


# --------------------------------------------------------------------------- faults


async def test_redis_restarted_mid_session(stack: Stack, redis_server: PrivateRedis, clients: list[LiveClient]) -> None:
    world = await db(make_world)(status="live", deputies=10)
    hid = world.hearing.pk
    poll = await db(prepare_vote)(world)
    question = await db(approved_question)(world)
    other = await db(make_world)(status="live")
    control = await client(stack, hid, "control", world.moderator)
    deputies = [await client(stack, hid, "deputy", d) for d in world.deputies]
    viewers = [await client(stack, hid, "public") for _ in range(20)]
    clients.extend([control, *deputies, *viewers])
    await open_many([control, *deputies, *viewers], concurrency=10)
    sockets = [*viewers, *deputies]
    group = f"{stack.cfg.redis_prefix}__group__hearing.{hid}"
    r = redis.Redis.from_url(redis_server.url)
    assert r.pubsub_numsub(group)[0][1] == 2  # both processes hold the hearing's subscription

    likes = [await v.call("like", question=question.pk) for v in viewers[:10]]
    offsets = stack.offsets()

    # ---- Redis goes away
    redis_server.stop()
    down_at = time.monotonic()
    pages = [await http_async(f"{stack.url}{path}") for path in (f"/hearings/{hid}/", "/", "/healthz") * 3]
    assert [status for status, _, _ in pages] == [200] * 9
    status, _, body = await http_async(f"{stack.url}/readyz")
    assert (status, json.loads(body)["redis"]) == (503, "unavailable")

    likes += await asyncio.gather(*(v.call("like", question=question.pk) for v in viewers[10:]))
    likes += await asyncio.gather(*(v.call("like", hearing=True) for v in viewers))
    ballots = {d: str(uuid.uuid4()) for d in deputies}

    def vote(deputy: LiveClient, choice: str) -> Awaitable[dict[str, Any]]:
        return deputy.call("vote", poll=poll.pk, choice=choice, ballot=ballots[deputy])

    votes = await asyncio.gather(*(vote(d, "满意") for d in deputies[:5]))

    # A state event made now cannot be broadcast: each process fills it from the stored history.
    started = time.monotonic()
    assert (await control.call("agenda.start", item=world.items[1].pk))["type"] == "ack"
    await wait_all(sockets, await db(public_seq)(hid), timeout=10)
    outage_delivery = time.monotonic() - started

    # Sockets that drop during the outage reconnect (to either process) and resume.
    for v in viewers[:5]:
        v.drop()
    assert (await control.call("question.stage", question=question.pk))["type"] == "ack"
    await asyncio.gather(*(v.open() for v in viewers[:5]))
    await wait_all(sockets, await db(public_seq)(hid), timeout=10)
    # The first viewers of another hearing arrive: no process serves it yet.
    latecomers = [await client(stack, other.hearing.pk, "public") for _ in range(4)]
    clients.extend(latecomers)
    await open_many(latecomers, concurrency=4)
    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))  # past redis-py's retries
    outage = time.monotonic() - down_at

    # ---- Redis comes back, empty
    redis_server.start()
    back_at = time.monotonic()

    async def ready() -> bool:
        return (await http_async(f"{stack.url}/readyz"))[0] == 200

    await wait_until(ready, 15, 0.1)
    ready_after = time.monotonic() - back_at
    await wait_until(lambda: r.pubsub_numsub(group)[0][1] == 2, 15, 0.1)  # the hubs' subscriptions are back
    resubscribed_after = time.monotonic() - back_at
    await wait_until(lambda: viewers[-1].counters.get("presence", {}).get("online") == len(sockets), 15)  # summed again
    presence_after = time.monotonic() - back_at

    votes += await asyncio.gather(*(vote(d, "不满意") for d in deputies[5:]))
    after_delivery = []  # the first pays redis-py's reconnect backoff on the publishing side
    for item in world.items[2:4]:
        started = time.monotonic()
        assert (await control.call("agenda.start", item=item.pk))["type"] == "ack"
        await wait_all(sockets, await db(public_seq)(hid), timeout=10)
        after_delivery.append(round(time.monotonic() - started, 3))
    assert after_delivery[-1] < 0.5  # broadcast through Redis again, not the history fill

    # The latecomers' rooms, made while Redis was away, subscribe once it is back: on a later tick
    # (a tick whose attempt was still in redis-py's backoff when Redis returned tries again next).
    other_group = f"{stack.cfg.redis_prefix}__group__hearing.{other.hearing.pk}"
    await wait_until(lambda: r.pubsub_numsub(other_group)[0][1] >= 1, 15, 0.1)
    other_control = await client(stack, other.hearing.pk, "control", other.moderator)
    clients.append(other_control)
    await other_control.open()
    started = time.monotonic()
    assert (await other_control.call("agenda.start", item=other.items[0].pk))["type"] == "ack"
    await wait_all(latecomers, await db(public_seq)(other.hearing.pk), timeout=10)
    latecomer_delivery = time.monotonic() - started
    assert_gapless(latecomers, await db(public_seq)(other.hearing.pk))

    # Nothing lost: every ack is a row, and the counters every socket shows say so.
    assert all(a["type"] == "ack" and a["duplicate"] is False for a in likes), likes
    assert all(a["type"] == "ack" and a["duplicate"] is False for a in votes), votes
    assert await db(Like.objects.filter(question=question).count)() == 20
    assert await db(Like.objects.filter(hearing_id=hid, question=None).count)() == 20
    assert await db(VoteRecord.objects.filter(poll=poll).count)() == 10
    assert await db(stored_total)(poll) == 10
    await wait_until(
        lambda: (
            all(
                v.counters.get("likes", {}).get("hearing") == 20
                and v.counters["likes"]["questions"].get(str(question.pk)) == 20
                for v in viewers
            )
            and deputies[0].counters.get(f"poll.progress:{poll.pk}", {}).get("cast") == 10
        ),
        5,
    )
    assert_gapless(sockets, await db(public_seq)(hid))
    assert_gapless([control], await db(control_seq)(hid))
    failed = [e for e in stack.access_since(offsets) if e["status"] >= 500 and "/readyz" not in e["request"]]
    assert failed == []  # only the readiness probe said "not ready" while Redis was away
    report(
        "redis restart",
        outage_seconds=round(outage, 2),
        event_during_outage_seconds=round(outage_delivery, 2),
        ready_after_seconds=round(ready_after, 2),
        resubscribed_after_seconds=round(resubscribed_after, 2),
        presence_summed_after_seconds=round(presence_after, 2),
        events_after_seconds=after_delivery,
        latecomers=len(latecomers),
        latecomer_event_seconds=round(latecomer_delivery, 3),
        likes=len(likes),
        ballots=len(votes),
        reconnected=5,
        dropped_while_resuming=sum(v.dropped for v in viewers),
    )


async def test_app_process_killed_viewers_resume_on_the_other(stack: Stack, clients: list[LiveClient]) -> None:
    world = await db(make_world)(status="live", deputies=4)
    hid = world.hearing.pk
    control = await client(stack, hid, "control", world.moderator)
    deputies = [await client(stack, hid, "deputy", d) for d in world.deputies]
    viewers = [await client(stack, hid, "public") for _ in range(40)]
    everyone = [control, *deputies, *viewers]
    clients.extend(everyone)
    await open_many(everyone, concurrency=10)
    sockets = [*viewers, *deputies]
    assert (await control.call("agenda.start", item=world.items[0].pk))["type"] == "ack"
    await wait_all(sockets, await db(public_seq)(hid))
    offsets = stack.offsets()

    killed_at = time.monotonic()
    stack.kill_app(0)
    await wait_until(lambda: any(c.is_closed for c in everyone), 10, 0.02)

    # Something happens while they are away (from the surviving process, or the moderator's
    # reconnected socket if the moderator was on the killed one).
    try:
        if control.is_closed:
            await control.open()
        started = await control.call("agenda.start", item=world.items[1].pk)
    except ConnectionError:  # on the killed process, noticed only now
        await control.open()
        started = await control.call("agenda.start", item=world.items[1].pk)
    assert started["type"] == "ack"
    missed = await db(public_seq)(hid)
    # Whoever was on the killed process reconnects (whenever its socket noticed) and resumes,
    # until every socket is back and has the event.
    refused: list[int] = []

    async def all_back() -> bool:
        closed = [c for c in everyone if c.is_closed and c is not control]
        if closed:
            refused.extend(await open_many(closed, concurrency=50))
        return not any(c.is_closed for c in everyone) and all(c.seq >= missed for c in sockets)

    await wait_until(all_back, 30, 0.1, what="every socket of the killed process back and resumed")
    resumed_after = time.monotonic() - killed_at
    assert refused == []  # nginx sent every handshake to the live process
    lost = [c for c in everyone if c.connects > 1]
    kept = [c for c in everyone if c.connects == 1]
    assert lost and kept, "least_conn spreads the sockets over both processes"
    assert (await control.call("agenda.start", item=world.items[2].pk))["type"] == "ack"
    final = await db(public_seq)(hid)
    await wait_all(sockets, final)
    assert_gapless(sockets, final)
    for c in lost:
        if c is not control:
            assert missed in c.seqs()  # the event made while it was away, replayed by resume

    # `scripts/stack up` restarts what died; the new process serves the same stream.
    await asyncio.to_thread(stack.up)
    newcomers = [await client(stack, hid, "public") for _ in range(3)]
    # nginx keeps the restarted process out for fail_timeout (5 s): reach it directly too.
    direct = f"ws://127.0.0.1:{stack.cfg.app_ports[0]}/ws/hearings/{hid}/public/"
    newcomers += [LiveClient(direct) for _ in range(3)]
    clients.extend(newcomers)
    await open_many(newcomers, concurrency=6)
    assert (await control.call("agenda.start", item=world.items[3].pk))["type"] == "ack"
    final = await db(public_seq)(hid)
    await wait_all([*sockets, *newcomers], final)
    assert_gapless([*sockets, *newcomers], final)
    on_restarted = established(stack.cfg.app_ports[0])
    assert on_restarted >= 3
    statuses = [e["status"] for e in stack.access_since(offsets)]
    assert all(s < 500 for s in statuses), statuses
    assert TRACEBACK.search(stack.app_log_since(offsets)) is None
    report(
        "app process killed",
        sockets=len(everyone),
        lost=len(lost),
        moderator_lost=control in lost,
        all_resumed_after_seconds=round(resumed_after, 2),
        replayed_missed_event=sum(1 for c in lost if c is not control and missed in c.seqs()),
        nginx_refused_upstream=stack.nginx_errors_since(offsets).count("connect() failed (111"),
        connections_on_restarted_process=on_restarted,
    )


async def test_reconnect_storm_of_2000_viewers(stack: Stack, clients: list[LiveClient]) -> None:
    world = await db(make_world)(status="live")
    hid = world.hearing.pk
    question = await db(approved_question)(world)
    control = await client(stack, hid, "control", world.moderator)
    viewers = [await client(stack, hid, "public", counters=False) for _ in range(STORM)]
    clients.extend([control, *viewers])
    await control.open()
    started = time.monotonic()
    await open_many(viewers, concurrency=200)
    connect_seconds = time.monotonic() - started
    assert (await control.call("agenda.start", item=world.items[0].pk))["type"] == "ack"
    await wait_all(viewers, await db(public_seq)(hid), timeout=30)
    offsets = stack.offsets()

    # Everyone loses the line at once and comes back at once, resuming from where they were,
    # while the moderator goes on and pages are loaded.
    for v in viewers:
        v.drop()
    storm_at = time.monotonic()
    per_client: list[float] = []

    async def back(v: LiveClient) -> None:
        t = time.monotonic()
        await v.open()
        per_client.append(time.monotonic() - t)

    async def moderator() -> None:
        for item in world.items[1:3]:
            await asyncio.sleep(0.5)
            assert (await control.call("agenda.start", item=item.pk, timeout=30))["type"] == "ack"
        assert (await control.call("question.stage", question=question.pk, timeout=30))["type"] == "ack"

    async def pages() -> list[int]:
        return [(await http_async(f"{stack.url}/hearings/{hid}/", timeout=30))[0] for _ in range(20)]

    gate = asyncio.Semaphore(STORM)  # all at once: nginx's and the servers' backlogs take them

    async def one(v: LiveClient) -> None:
        async with gate:
            for attempt in range(3):
                try:
                    await back(v)
                    return
                except Exception as exc:
                    failures.append(repr(exc)[:200])
                    if attempt == 2:
                        raise
                    await asyncio.sleep(0.5)

    failures: list[str] = []
    results = await asyncio.gather(asyncio.gather(*(one(v) for v in viewers)), moderator(), pages())
    page_statuses = results[2]
    final = await db(public_seq)(hid)
    await wait_all(viewers, final, timeout=30)
    storm_seconds = time.monotonic() - storm_at
    assert_gapless(viewers, final)
    assert page_statuses == [200] * 20

    # Every socket is live again, not only caught up: the next event reaches all of them through
    # the hubs, and the online count is everyone.
    started = time.monotonic()
    assert (await control.call("agenda.start", item=world.items[3].pk))["type"] == "ack"
    final = await db(public_seq)(hid)
    await wait_all(viewers, final, timeout=10)
    next_event = time.monotonic() - started
    await wait_until(lambda: control.counters.get("presence", {}).get("online") == STORM, 10)
    assert_gapless(viewers, final)
    log = stack.access_since(offsets)
    assert [e for e in log if e["status"] >= 500] == []
    assert TRACEBACK.search(stack.app_log_since(offsets)) is None
    per_client.sort()
    report(
        "reconnect storm",
        viewers=STORM,
        first_connect_seconds=round(connect_seconds, 1),
        storm_resynced_seconds=round(storm_seconds, 1),
        reconnect_and_resume_p50=round(statistics.median(per_client), 2),
        p95=round(per_client[int(len(per_client) * 0.95)], 2),
        max=round(per_client[-1], 2),
        retried=len(failures),
        why=sorted(set(failures)),
        events_during_storm=3,
        next_event_to_all_seconds=round(next_event, 2),
        dropped_while_resuming=sum(v.dropped for v in viewers),
        dropped_sockets_per_process={
            u: sum(1 for e in log if e["upstream"] == u and e["status"] == 101) for u in {e["upstream"] for e in log}
        },
    )


async def test_tablet_dropped_mid_vote_resends_and_counts_once(stack: Stack, clients: list[LiveClient]) -> None:
    world = await db(make_world)(status="live", deputies=16)
    hid = world.hearing.pk
    poll = await db(prepare_vote)(world)
    tablets = [await client(stack, hid, "deputy", d) for d in world.deputies]
    viewer = await client(stack, hid, "public")
    clients.extend([*tablets, viewer])
    await open_many([*tablets, viewer], concurrency=16)
    offsets = stack.offsets()
    dropped, racing = tablets[:12], tablets[12:]

    # The vote goes out and the line drops before the ack comes back.
    ballots = {t: str(uuid.uuid4()) for t in tablets}
    for tablet in dropped:
        tablet.send("vote", poll=poll.pk, choice="满意", ballot=ballots[tablet])
        tablet.drop()
    await wait_until(lambda: all(t.is_closed for t in dropped), 10, 0.02, what="the dropped tablets closed")

    # Each tablet reconnects (nginx may pick the other process) and resends the same ballot;
    # the first four also resend it on a second socket at the same moment (an old socket the
    # tablet had not given up yet).
    seconds = [await client(stack, hid, "deputy", d) for d in world.deputies[:4]]
    # Four more tablets send their first ballot twice at once, on two sockets (maybe on both
    # processes): neither copy is stored yet, so the two race to the unique constraint.
    twins = [await client(stack, hid, "deputy", d) for d in world.deputies[12:]]
    clients.extend([*seconds, *twins])
    await open_many([*dropped, *seconds, *twins], concurrency=24)
    stored_before_resend = sum(poll.pk in t.snapshot["data"]["me"]["voted"] for t in dropped)

    def vote(socket: LiveClient, tablet: LiveClient) -> Awaitable[dict[str, Any]]:
        return socket.call("vote", poll=poll.pk, choice="满意", ballot=ballots[tablet])

    resends = await asyncio.gather(
        *(vote(t, t) for t in dropped), *(vote(s, t) for s, t in zip(seconds, dropped[:4], strict=True))
    )
    races = await asyncio.gather(
        *(vote(t, t) for t in racing), *(vote(w, t) for w, t in zip(twins, racing, strict=True))
    )
    refused = [r for r in [*resends, *races] if r["type"] != "ack"]
    assert not refused, (refused[:2], re.findall(r"(?m)^.*(?:Error|failed).*$", stack.app_log_since(offsets)))
    for n in range(len(dropped)):
        copies = [resends[n], *([resends[len(dropped) + n]] if n < 4 else [])]
        # Counted once per deputy: before the drop (every resend a duplicate), or by one resend.
        assert [r["duplicate"] for r in copies].count(False) <= 1
    for n in range(len(racing)):
        assert sorted(r["duplicate"] for r in (races[n], races[len(racing) + n])) == [False, True]

    assert await db(VoteRecord.objects.filter(poll=poll).count)() == 16
    assert await db(stored_total)(poll) == 16
    other = await tablets[0].call("vote", poll=poll.pk, choice="不满意", ballot=str(uuid.uuid4()))
    assert other["code"] == "already_voted"
    await wait_until(lambda: viewer.counters.get(f"poll.progress:{poll.pk}", {}).get("cast") == 16, 5)
    assert TRACEBACK.search(stack.app_log_since(offsets)) is None
    report(
        "tablet dropped mid-vote",
        tablets=len(tablets),
        dropped_mid_vote=len(dropped),
        stored_before_the_drop=stored_before_resend,
        resends=len(resends),
        resends_acked_duplicate=sum(r["duplicate"] for r in resends),
        racing_pairs=len(racing),
        ballots=16,
    )
