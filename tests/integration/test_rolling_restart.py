"""A rolling restart (`scripts/stack restart --rolling`) in the middle of a hearing: 1,000
viewers and 30 deputies connected through nginx, the moderator changing the agenda and running
a poll, deputies voting and viewers liking while each app process in turn is taken out of
nginx's upstream, drained, replaced and put back. docs/reliability.md records what it measured.

Every client behaves as static/live/live.js does: a socket closed by the server reconnects
after a random delay within the restart spread, resumes from the last seq it applied, and sends
again whatever it had in flight that is safe to repeat (likes, ballots). Each keeps its state as
the page does (the reducer of tests/live/test_verify_action.py, a copy of static/live/state.js).

Afterwards: every socket holds the state a fresh connection's snapshot gives, none saw a gap it
could not fill, every acked like and ballot is a row, and the processes are new ones.
"""

from __future__ import annotations

import asyncio
import copy
import random
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest
from channels.db import database_sync_to_async

from deploy import stack as stack_module
from hearings.models import Hearing, Like
from live.viewer import new_viewer_id
from tests.factories import World, make_world
from tests.integration import test_faults as faults
from tests.integration.stack import LiveClient, Stack, open_many
from tests.integration.test_faults import (
    TRACEBACK,
    approved_question,
    control_seq,
    public_seq,
    report,
    session_cookie,
)
from tests.live.helpers import viewer_cookie
from tests.live.test_verify_action import apply_event, from_snapshot
from tests.voting.helpers import stored_total
from tests.waiting import wait_until
from voting import services as voting_services
from voting.models import Poll, VoteRecord

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

db = database_sync_to_async
# The fault tests' fixtures: a private Redis, the stack (two app processes behind nginx) on the
# test database, the services check, and the clients' cleanup (closed, logged, rooms dropped).
redis_server = faults.redis_server
stack = faults.stack
_services = faults._services
clients = faults.clients
VIEWERS = 1000
DEPUTIES = 30
SPREAD = 2.0  # live.js RESTART_SPREAD_MS: a restarted process's clients come back within it
WORKLOAD = 8.0  # seconds over which likes and ballots are sent, from the restart's start
CALL_TIMEOUT = 5.0


class PageClient(LiveClient):
    """A LiveClient that keeps its state as a page does and reconnects as live.js does."""

    def __init__(self, url: str, headers: dict[str, str], audience: str) -> None:
        super().__init__(url, headers)
        self.audience = audience
        self.state: dict[str, Any] = {}
        self.ready = asyncio.Event()  # connected and caught up: actions may go
        self.close_codes: list[int | None] = []
        self.reconnect_seconds: list[float] = []  # from the close to caught up again
        self.open_seconds: list[float] = []  # of which connecting, snapshot and resume
        self.failed_opens = 0

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        first = self._first is not None and not self._first.done()
        before = self.seq
        super().on_message(message)
        if kind == "snapshot":
            # The base of the state: the first one, a resume answered with one, or a reset. A
            # reconnected socket's own first snapshot is not: the client resumes from its seq.
            if not first or before < 0:
                self.state = from_snapshot(copy.deepcopy(message["data"]))
        elif kind not in ("ack", "error") and message["seq"] == self.seq and self.seq != before:
            apply_event(self.state, message, self.audience)

    def view(self) -> dict[str, Any]:
        """The state the page shows: the last counters applied (absolute values), without the
        online count (a fresh connection adds itself) and a deputy's own `me` (its votes are
        known from acks)."""
        state = copy.deepcopy(self.state)
        for key, data in self.counters.items():
            apply_event(state, {"type": key.split(":")[0], "data": data}, self.audience)
        state["counters"].pop("online", None)
        state.pop("me", None)
        return state

    async def keep_open(self, stop: asyncio.Event) -> None:
        """Reconnect whenever the socket closes, until `stop`."""
        stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            while True:
                assert self.closed is not None
                closed: asyncio.Future[Any] = self.closed
                await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stop.is_set():
                    return
                self.ready.clear()
                self.close_codes.append(closed.result())
                lost_at = time.monotonic()
                await asyncio.sleep(random.uniform(0, SPREAD))
                opening = time.monotonic()
                for attempt in range(10):
                    try:
                        await self.open()
                        break
                    except Exception:
                        self.failed_opens += 1
                        self.close()  # a socket whose snapshot or resume did not come: given up
                        if attempt == 9:
                            raise
                        await asyncio.sleep(min(5.0, 0.25 * 2**attempt) * random.uniform(0.5, 1))
                self.reconnect_seconds.append(time.monotonic() - lost_at)
                self.open_seconds.append(time.monotonic() - opening)
                self.ready.set()
        finally:
            stopping.cancel()

    async def send_until_answered(self, action: str, **fields: Any) -> dict[str, Any]:
        """Send an action that is safe to repeat until it is answered (live.js's RETRY)."""
        while True:
            await self.ready.wait()
            try:
                return await self.call(action, timeout=CALL_TIMEOUT, **fields)
            except (ConnectionError, TimeoutError):
                await asyncio.sleep(0.05)  # the supervisor sees the close and reconnects


async def page_client(running: Stack, hearing_id: int, role: str, cookie: str) -> PageClient:
    audience = "control" if role == "control" else "public"
    return PageClient(running.ws_url(f"/ws/hearings/{hearing_id}/{role}/"), {"Cookie": cookie}, audience)


def check_in_everyone(world: World) -> None:
    for deputy in world.deputies:
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)


def stored_likes(hearing_id: int) -> set[tuple[str, int | None]]:
    return set(Like.objects.filter(hearing_id=hearing_id).values_list("viewer", "question_id"))


def hearing_likes(hearing_id: int) -> int:
    return int(Hearing.objects.values_list("likes", flat=True).get(pk=hearing_id))


def _open_polls(state: dict[str, Any]) -> list[int]:
    return [p["id"] for p in state["polls"] if p["status"] == "open"]


def _happened(action: str, fields: dict[str, Any], state: dict[str, Any]) -> bool:
    """Does the control state show the action's effect (sent before a drop, answer lost)?"""
    if action == "agenda.start":
        return bool(state["current_item"] == fields["item"])
    if action == "poll.open":
        return bool(_open_polls(state))
    return bool(state["on_stage"] == fields["question"])


async def moderate(control: PageClient, world: World, done: Callable[[], bool], polls: list[int]) -> list[str]:
    """The moderator's side while the restart runs: agenda changes, a poll opened, questions
    staged. An action whose socket dropped before its answer is checked in the control state
    after the resume and sent again only if it did not happen."""
    questions = [q["id"] for q in control.state["questions"] if q["status"] in ("approved", "on_stage")]
    items = [item.pk for item in world.items]
    steps: list[tuple[str, dict[str, Any]]] = []
    for n in range(12):
        steps.append(("agenda.start", {"item": items[(n + 1) % len(items)]}))
        if n == 1:
            steps.append(("poll.open", {"item": items[(n + 1) % len(items)], "title": "满意度测评"}))
        steps.append(("question.stage", {"question": questions[n % len(questions)]}))
    log = []
    for n, (action, fields) in enumerate(steps):
        if n >= 8 and done():
            break
        while True:
            await control.ready.wait()
            if _happened(action, fields, control.state):
                if action == "poll.open":
                    polls.extend(_open_polls(control.state))
                break
            try:
                answer = await control.call(action, timeout=CALL_TIMEOUT, **fields)
            except (ConnectionError, TimeoutError):
                continue
            assert answer["type"] == "ack", (action, answer)
            if action == "poll.open":
                polls.append(answer["poll"])
            break
        log.append(action)
        await asyncio.sleep(0.4)
    return log


async def test_rolling_restart_during_agenda_change_and_poll(stack: Stack, clients: list[LiveClient]) -> None:
    world = await db(make_world)(status="live", deputies=DEPUTIES)
    hid = world.hearing.pk
    await db(check_in_everyone)(world)
    questions = [await db(approved_question)(world) for _ in range(2)]
    control = await page_client(stack, hid, "control", await db(session_cookie)(world.moderator))
    deputies = [await page_client(stack, hid, "deputy", await db(session_cookie)(d)) for d in world.deputies]
    viewer_ids = [new_viewer_id() for _ in range(VIEWERS)]
    viewers = [await page_client(stack, hid, "public", viewer_cookie(v)) for v in viewer_ids]
    everyone = [control, *deputies, *viewers]
    clients.extend(everyone)
    started = time.monotonic()
    await open_many(everyone, concurrency=100)
    connect_seconds = time.monotonic() - started
    for c in everyone:
        c.ready.set()
    assert (await control.call("agenda.start", item=world.items[0].pk))["type"] == "ack"
    opened = await db(public_seq)(hid)
    await wait_until(lambda: all(c.seq >= opened for c in everyone if c is not control), 30, 0.05)
    pids_before = [stack.app_pid(n) for n in range(len(stack.cfg.app_ports))]
    offsets = stack.offsets()

    stop = asyncio.Event()
    supervisors = [asyncio.ensure_future(c.keep_open(stop)) for c in everyone]
    restart_done = asyncio.Event()
    took: dict[str, float] = {}

    async def restart() -> str:
        try:
            return await asyncio.to_thread(stack.command, "restart", "--rolling")
        finally:
            restart_done.set()
            took["restart"] = time.monotonic() - restart_started

    likes_acked: set[tuple[str, int | None]] = set()
    like_answers: list[dict[str, Any]] = []

    async def like(viewer: PageClient, viewer_id: str) -> None:
        targets: list[dict[str, Any]] = [{"question": q.pk} for q in questions] + [{"hearing": True}]
        for target in targets:
            await asyncio.sleep(random.uniform(0, WORKLOAD / len(targets)))
            answer = await viewer.send_until_answered("like", **target)
            like_answers.append(answer)
            if answer["type"] == "ack":
                likes_acked.add((viewer_id, target.get("question")))

    polls: list[int] = []
    ballots_acked: dict[int, dict[str, Any]] = {}

    async def vote(deputy: PageClient, n: int) -> None:
        await wait_until(lambda: bool(polls), 30, 0.05, what="the poll opened")
        await asyncio.sleep(random.uniform(0, WORKLOAD / 2))
        ballot = str(uuid.uuid4())
        answer = await deputy.send_until_answered("vote", poll=polls[0], choice="满意", ballot=ballot)
        assert answer["type"] == "ack", answer
        ballots_acked[n] = answer

    restart_started = time.monotonic()
    restarting = asyncio.ensure_future(restart())
    await asyncio.sleep(0.3)  # the first process is being taken out of the upstream
    results = await asyncio.wait_for(
        asyncio.gather(
            moderate(control, world, restart_done.is_set, polls),
            *(like(v, vid) for v, vid in zip(viewers, viewer_ids, strict=True)),
            *(vote(d, n) for n, d in enumerate(deputies)),
            restarting,
        ),
        timeout=120,
    )
    moderator_log, restart_output = cast(list[str], results[0]), cast(str, results[-1])
    workload_seconds = time.monotonic() - restart_started
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in everyone)), 30)

    # The poll closes and is published after the restart: the tablets see it on their new sockets.
    for action in ("poll.close", "poll.publish"):
        assert (await control.call(action, poll=polls[0], timeout=10))["type"] == "ack"
    final = await db(public_seq)(hid)
    final_control = await db(control_seq)(hid)
    sockets = [*deputies, *viewers]
    await wait_until(lambda: all(c.seq >= final for c in sockets), 30, 0.05, what="every socket at the last seq")
    await wait_until(lambda: control.seq >= final_control, 10, 0.05)
    stop.set()
    await asyncio.gather(*supervisors)

    # ---- every process is a new one; the restart said what it did
    pids_after = [stack.app_pid(n) for n in range(len(stack.cfg.app_ports))]
    assert not set(pids_before) & set(pids_after), (pids_before, pids_after)
    assert restart_output.count("drained in") == len(pids_before), restart_output
    lost = [c for c in everyone if c.close_codes]
    codes = {code for c in lost for code in c.close_codes}
    assert codes == {1012}, codes  # told "service restart", never cut off
    assert len(lost) >= len(everyone) * 0.9  # both processes drained: (nearly) every socket moved

    # ---- no socket saw a gap it could not fill; each holds what a fresh snapshot says
    for c in [*sockets, control]:
        assert c.gaps == [] and c.resets == 0, (c.url, c.gaps, c.resets)
    assert all(c.seq == final for c in sockets)
    fresh_viewer = await page_client(stack, hid, "public", viewer_cookie())
    fresh_control = await page_client(stack, hid, "control", await db(session_cookie)(world.moderator))
    clients.extend([fresh_viewer, fresh_control])
    await open_many([fresh_viewer, fresh_control], concurrency=2)

    def differing() -> list[PageClient]:
        public, private = fresh_viewer.view(), fresh_control.view()
        return [c for c in everyone if c.view() != (private if c is control else public)]

    try:
        await wait_until(lambda: not differing(), 10, 0.1, what="every state equal to a fresh snapshot")
    except TimeoutError:
        odd = differing()
        raise AssertionError((len(odd), odd[0].view(), fresh_viewer.view())) from None
    assert fresh_viewer.state["polls"][0]["status"] == "published"

    # ---- every acked like and ballot is a row, each once
    assert all(a["type"] == "ack" for a in like_answers), [a for a in like_answers if a["type"] != "ack"][:3]
    assert len(likes_acked) == VIEWERS * (len(questions) + 1)
    stored = await db(stored_likes)(hid)
    assert likes_acked <= stored and len(stored) == len(likes_acked)
    assert await db(hearing_likes)(hid) == VIEWERS
    poll = await db(Poll.objects.get)(pk=polls[0])
    assert len(ballots_acked) == DEPUTIES
    assert await db(VoteRecord.objects.filter(poll=poll).count)() == DEPUTIES
    assert await db(stored_total)(poll) == DEPUTIES
    assert fresh_viewer.state["polls"][0]["cast"] == DEPUTIES

    # ---- nothing failed on the way
    log = stack.access_since(offsets)
    assert [e for e in log if e["status"] >= 500] == []
    assert TRACEBACK.search(stack.app_log_since(offsets)) is None
    assert "actions still queued" not in stack.app_log_since(offsets)
    assert stack_module.healthy(stack.cfg)
    times = sorted(t for c in lost for t in c.reconnect_seconds)
    opening = sorted(t for c in lost for t in c.open_seconds)
    report(
        "rolling restart",
        viewers=VIEWERS,
        deputies=DEPUTIES,
        first_connect_seconds=round(connect_seconds, 1),
        restart_seconds=round(took["restart"], 1),
        restart_and_workload_seconds=round(workload_seconds, 1),
        restart=[line for line in restart_output.splitlines() if "drained in" in line or "stopped in" in line],
        sockets_moved=len(lost),
        reconnects=len(times),
        reconnect_and_resume_p50=round(statistics.median(times), 2),
        p95=round(times[int(len(times) * 0.95)], 2),
        max=round(times[-1], 2),
        of_which_connect_snapshot_resume_p50=round(statistics.median(opening), 2),
        connect_p95=round(opening[int(len(opening) * 0.95)], 2),
        connect_max=round(opening[-1], 2),
        failed_opens=sum(c.failed_opens for c in everyone),
        moved_twice=sum(len(c.close_codes) > 1 for c in everyone),
        resumed_by_snapshot=sum(c.resumed_by_snapshot for c in everyone),
        dropped_while_resuming=sum(c.dropped for c in everyone),
        moderator_actions=len(moderator_log),
        likes_acked=len(likes_acked),
        likes_acked_duplicate=sum(bool(a.get("duplicate")) for a in like_answers),
        ballots_acked=len(ballots_acked),
        ballots_acked_duplicate=sum(bool(a.get("duplicate")) for a in ballots_acked.values()),
        events=final,
    )


async def test_plain_restart_replaces_every_process_at_once(stack: Stack, clients: list[LiveClient]) -> None:
    """`scripts/stack restart` (not rolling): every app process at once; their sockets are told
    1012 and come back to the new processes, resuming where they were."""
    world = await db(make_world)(status="live")
    hid = world.hearing.pk
    viewers = [await page_client(stack, hid, "public", viewer_cookie()) for _ in range(10)]
    control = await page_client(stack, hid, "control", await db(session_cookie)(world.moderator))
    clients.extend([*viewers, control])
    await open_many([*viewers, control], concurrency=11)
    pids_before = [stack.app_pid(n) for n in range(len(stack.cfg.app_ports))]

    output = await asyncio.to_thread(stack.command, "restart")
    assert "app processes restarted" in output and "task worker restarted" in output, output
    assert not {stack.app_pid(n) for n in range(len(stack.cfg.app_ports))} & set(pids_before)
    assert stack_module.healthy(stack.cfg)
    await wait_until(lambda: all(c.is_closed for c in [*viewers, control]), 10, 0.05, what="every socket closed")
    assert {c.closed.result() for c in [*viewers, control] if c.closed is not None} == {1012}

    await open_many([*viewers, control], concurrency=11)
    assert (await control.call("agenda.start", item=world.items[1].pk))["type"] == "ack"
    final = await db(public_seq)(hid)
    await wait_until(lambda: all(v.seq == final for v in viewers), 10, 0.05)
    assert all(v.gaps == [] and v.resets == 0 for v in viewers)
