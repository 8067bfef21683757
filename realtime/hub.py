"""The per-process hub: one subscription per hearing, one serialized frame for all sockets.

Channels' per-consumer groups cost a channel-layer message and a dispatch (with a database
connection check) per viewer per event. Here each process subscribes once per hearing; a
committed event arrives once as text and is written to every local socket of its stream.

The hub also keeps each socket's stream gapless: it tracks the last seq it delivered per
stream, fills a gap (events reordered across processes, or lost while Redis was away) from
the stored history, and catches a newly attached socket up from its ring of recent frames.
Counters (likes, online, poll progress, attendance) are read on a fixed tick and sent only when changed.
The tick also keeps the audience figures (audience/): once a period (a minute) it writes the
period's sample, and at most every few seconds the viewer ids its public sockets brought: one
database call then, none on the other ticks.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol
from uuid import uuid4

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import Length

from audience import services as audience
from core import metrics
from hearings import selectors
from hearings.models import Hearing
from live import schema
from live.models import LiveEvent
from live.publish import group_name
from live.schema import Stream
from realtime import sessions
from realtime.presence import Presence, make_presence
from voting import selectors as voting_selectors
from voting import services as voting_services

log = logging.getLogger(__name__)

SNAPSHOT_MAX_AGE = 1.0  # seconds a built snapshot may be reused for newcomers at the same seq


YIELD_EVERY = 256  # sends between yields to the event loop while fanning out to a crowd

# One histogram child per stream, bound once: a fan-out pays one observe, whatever its crowd.
_FANOUT = {stream: metrics.FANOUT_SECONDS.labels(stream=stream.value) for stream in Stream}


class Socket(Protocol):
    """What the hub needs of a connected consumer."""

    stream: Stream
    sent_seq: int
    priority: bool  # deputies and moderators are served before the public crowd

    async def send_message(self, message: dict[str, Any]) -> None:
        """Send an ASGI message as is: the hub builds one per frame and shares it."""
        ...


# --------------------------------------------------------------------------- database reads


def _history(hearing_id: int, stream: str, after: int, upto: int) -> list[tuple[int, str]]:

    rows = LiveEvent.objects.filter(hearing_id=hearing_id, stream=stream, seq__gt=after, seq__lte=upto)
    return list(rows.order_by("seq").values_list("seq", "frame"))


def _history_size(hearing_id: int, stream: str, after: int, upto: int) -> tuple[int, int]:
    """How many stored events lie between the seqs, and their frames' total length."""

    rows = LiveEvent.objects.filter(hearing_id=hearing_id, stream=stream, seq__gt=after, seq__lte=upto)
    totals = rows.aggregate(n=Count("seq"), size=Sum(Length("frame")))
    return int(totals["n"]), int(totals["size"] or 0)


def _seqs(hearing_id: int) -> dict[Stream, int]:

    public, control = Hearing.objects.values_list("public_seq", "control_seq").get(pk=hearing_id)
    return {Stream.PUBLIC: public, Stream.CONTROL: control}


def _counters(hearing_id: int) -> dict[str, Any]:
    """Everything the tick compares, in one thread hop. While a poll is open, a window poll
    whose closing time has come is closed first (it closes by itself)."""

    if voting_selectors.window_polls_due(hearing_id):
        voting_services.close_due_polls(hearing_id=hearing_id)
    likes, public_seq, control_seq, percent = Hearing.objects.values_list(
        "likes", "public_seq", "control_seq", "quorum_percent"
    ).get(pk=hearing_id)
    control_likes = selectors.question_likes(hearing_id, public=False)
    public_ids = set(selectors.question_likes(hearing_id, public=True))
    return {
        "hearing_likes": likes,
        "control_likes": control_likes,
        "public_likes": {qid: n for qid, n in control_likes.items() if qid in public_ids},
        "progress": voting_selectors.poll_progress(hearing_id),
        "attendance": voting_selectors.attendance_summary(hearing_id, percent=percent),
        "seqs": {Stream.PUBLIC: public_seq, Stream.CONTROL: control_seq},
    }


# --------------------------------------------------------------------------- room


class Room:
    """One hearing's live state in this process."""

    def __init__(self, hub: Hub, hearing_id: int, seqs: dict[Stream, int]) -> None:
        self.hub = hub
        self.hearing_id = hearing_id
        self.last: dict[Stream, int] = dict(seqs)
        history = settings.LIVE["HISTORY"]
        self.ring: dict[Stream, deque[tuple[int, str]]] = {s: deque(maxlen=history) for s in Stream}
        self.sockets: dict[Stream, set[Socket]] = {s: set() for s in Stream}
        self.priority: set[Socket] = set()
        self.fresh: set[Socket] = set()
        self.catching_up: set[Socket] = set()
        self.lagging: set[Socket] = set()  # resnapshotted behind the room: caught up on the tick
        self.lock = asyncio.Lock()  # orders deliveries, catch-ups and gap fills
        self.online = 0
        self.sent_counters: dict[str, Any] = {}
        self.behind_since: dict[Stream, float] = {}
        self.snapshots: dict[Stream, tuple[int, float, tuple[Any, str]]] = {}
        self.snapshot_size: dict[Stream, int] = {}  # the latest snapshot frame's length, per stream
        self.snapshot_builds: dict[Stream, asyncio.Task[tuple[int, Any]]] = {}
        self.ticker: asyncio.Task[None] | None = None
        self.subscribed = True  # False while the channel layer (Redis) refuses: retried on the tick
        self.closed = False  # dropped by the hub: its ticker stops
        # Audience figures: viewer ids seen by this room's public sockets, not yet written, and
        # the sampling period last written (or found written by another process).
        self.new_viewers: set[str] = set()
        self.sampled: datetime | None = None
        self.viewers_flushed = time.monotonic()

    @property
    def size(self) -> int:
        return sum(len(s) for s in self.sockets.values())

    # ---------------------------------------------------------------- delivery

    def targets(self, stream: Stream) -> list[Socket]:
        """The stream's sockets, deputies and moderators first: the crowd never delays them."""
        sockets = self.sockets[stream]
        first = [sock for sock in self.priority if sock.stream == stream]
        return first + [sock for sock in sockets if not sock.priority] if first else list(sockets)

    async def deliver(self, frames: list[tuple[str, int, str]]) -> None:
        async with self.lock:
            # The control stream first: moderators are few and must not wait for the crowd.
            for stream_name, seq, frame in sorted(frames, key=lambda f: f[0] != Stream.CONTROL):
                await self._deliver(Stream(stream_name), int(seq), frame)

    async def _deliver(self, stream: Stream, seq: int, frame: str) -> None:
        last = self.last[stream]
        if seq <= last:
            return  # already delivered (reordered or duplicate)
        if seq > last + 1:
            await self._fill(stream, seq - 1)
        await self._push(stream, seq, frame)

    async def _fill(self, stream: Stream, upto: int) -> None:
        """Deliver the stored events between what we have and `upto`."""
        missing = await database_sync_to_async(_history)(self.hearing_id, stream, self.last[stream], upto)
        expected = self.last[stream] + 1
        if not missing or missing[0][0] != expected:
            # The history no longer reaches back: every socket of the stream starts afresh.
            log.warning("hearing %s %s: history gap at %s, resnapshotting", self.hearing_id, stream, expected)
            self.last[stream] = upto
            self.ring[stream].clear()
            for sock in list(self.sockets[stream]):
                await self.hub.resnapshot(sock)
            return
        for seq, frame in missing:
            await self._push(stream, seq, frame)

    async def _push(self, stream: Stream, seq: int, frame: str) -> None:
        self.ring[stream].append((seq, frame))
        self.last[stream] = seq
        message = _message(frame)  # one message object for every socket
        started = time.perf_counter()
        for n, sock in enumerate(self.targets(stream), start=1):
            if sock.sent_seq == seq - 1:
                sock.sent_seq = seq
                try:
                    await sock.send_message(message)
                except Exception:  # a socket that went away mid-send is detached by its own disconnect
                    log.debug("send failed", exc_info=True)
            elif sock.sent_seq < seq - 1 and sock not in self.catching_up:
                await self._catch_up(sock)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let control and deputy actions in during a big fan-out
        _FANOUT[stream].observe(time.perf_counter() - started)

    async def _catch_up(self, sock: Socket) -> None:
        """Send `sock` what it misses up to the room's last seq: from the ring, else history,
        else a fresh snapshot."""
        stream = sock.stream
        target = self.last[stream]
        if sock.sent_seq >= target:
            return
        ring = self.ring[stream]
        self.catching_up.add(sock)
        try:
            if ring and ring[0][0] <= sock.sent_seq + 1:
                frames = [(s, f) for s, f in ring if sock.sent_seq < s <= target]
            else:
                frames = await database_sync_to_async(_history)(self.hearing_id, stream, sock.sent_seq, target)
            if not frames or frames[0][0] != sock.sent_seq + 1:
                await self.hub.resnapshot(sock)
                return
            for seq, frame in frames:
                sock.sent_seq = seq
                await _send(sock, _message(frame))
        finally:
            self.catching_up.discard(sock)

    # ---------------------------------------------------------------- sockets

    async def attach(self, sock: Socket) -> bool:
        """Start delivering to `sock`, whose state is at `sock.sent_seq`. False when the room
        was dropped meanwhile (its last socket left while this one was connecting): the caller
        joins the hearing's new room and attaches there."""
        async with self.lock:
            if self.closed:
                return False
            self.sockets[sock.stream].add(sock)
            if sock.priority:
                self.priority.add(sock)
            self.fresh.add(sock)
            if sock.sent_seq < self.last[sock.stream]:
                await self._catch_up(sock)
            return True

    async def resume(self, sock: Socket, seq: int) -> None:
        """The client has applied everything up to `seq`: send what follows, or a snapshot when
        that is smaller (a resume from far back must not cost more than reconnecting)."""
        async with self.lock:
            if seq > sock.sent_seq or await self._snapshot_is_smaller(sock.stream, seq):
                await self.hub.resnapshot(sock)
                return
            sock.sent_seq = seq
            await self._catch_up(sock)

    async def _snapshot_is_smaller(self, stream: Stream, seq: int) -> bool:
        """Would the events after `seq` weigh more than a snapshot? Counted from the ring,
        newest first, stopping as soon as they do; only what the ring lacks is measured in
        the stored history (one aggregate query, no frames read)."""
        size = self.snapshot_size.get(stream)
        target = self.last[stream]
        if size is None or seq >= target:
            return False
        total = 0
        oldest = target + 1  # the oldest seq counted so far
        for ring_seq, frame in reversed(self.ring[stream]):
            if ring_seq <= seq:
                return False
            total += len(frame)
            oldest = ring_seq
            if total > size:
                return True
        if oldest == seq + 1:
            return False
        count, stored = await database_sync_to_async(_history_size)(self.hearing_id, stream, seq, oldest - 1)
        if count != oldest - 1 - seq:
            return True  # the history no longer reaches back
        return total + stored > size

    def seen(self, viewer: str) -> None:
        """A public socket of `viewer` connected: a unique viewer, written on a later tick."""
        self.new_viewers.add(viewer)

    async def audience_tick(self, *, closing: bool = False) -> None:
        """Write this period's sample once (the first tick in it), and the viewers seen when
        there are some and FLUSH_SECONDS have passed (or the room is closing). No database
        call otherwise."""
        now = time.time()
        period = audience.period_start(now, settings.AUDIENCE["SAMPLE_SECONDS"])
        due_sample = not closing and period != self.sampled
        due_viewers = bool(self.new_viewers) and (
            closing or due_sample or time.monotonic() - self.viewers_flushed >= settings.AUDIENCE["FLUSH_SECONDS"]
        )
        if not due_sample and not due_viewers:
            return
        viewers, self.new_viewers = self.new_viewers, set()
        self.viewers_flushed = time.monotonic()
        if due_sample:
            self.sampled = period  # one try per period, even with the database away
        try:
            if due_sample:
                await database_sync_to_async(audience.sample)(
                    self.hearing_id, at=period, online=self.online, viewers=viewers
                )
            else:
                await database_sync_to_async(audience.record_viewers)(self.hearing_id, viewers)
        except Exception:
            self.new_viewers |= viewers  # the database away: tried again on a later tick
            raise

    def detach(self, sock: Socket) -> None:
        self.sockets[sock.stream].discard(sock)
        self.priority.discard(sock)
        self.lagging.discard(sock)
        self.fresh.discard(sock)
        self.catching_up.discard(sock)

    async def snapshot(
        self, stream: Stream, build: Callable[[], Awaitable[tuple[int, tuple[Any, str]]]]
    ) -> tuple[int, tuple[Any, str]]:
        """A snapshot at a known seq, built once and shared by a crowd arriving together.
        `build` returns (seq, (snapshot, its serialized frame))."""
        cached = self.snapshots.get(stream)
        if cached is not None:
            seq, built_at, value = cached
            if seq == self.last[stream] and time.monotonic() - built_at < SNAPSHOT_MAX_AGE:
                return seq, value
        task = self.snapshot_builds.get(stream)
        if task is None or task.done():
            task = asyncio.ensure_future(build())
            self.snapshot_builds[stream] = task
        seq, value = await asyncio.shield(task)
        self.snapshots[stream] = (seq, time.monotonic(), value)
        self.snapshot_size[stream] = len(value[1])
        return seq, value

    # ---------------------------------------------------------------- counters

    async def tick(self) -> None:
        if not self.subscribed:
            self.subscribed = await self.hub.subscribe(self.hearing_id, retry=True)
        local = len(self.sockets[Stream.PUBLIC])  # viewers and deputies; moderators are not "online"
        self.online = await self.hub.presence.report(self.hearing_id, local)
        try:
            await self.audience_tick()
        except Exception:
            log.warning("hearing %s: audience figures not written", self.hearing_id, exc_info=True)
        state = await database_sync_to_async(_counters)(self.hearing_id)
        await self._check_behind(state["seqs"])
        fresh, self.fresh = self.fresh, set()
        attendance = state["attendance"]
        public_attendance = (attendance.checked_in, attendance.deputies, attendance.needed, attendance.reached)
        changed = {
            "presence": self.sent_counters.get("online") != self.online,
            "public_likes": self.sent_counters.get("public_likes") != (state["hearing_likes"], state["public_likes"]),
            "control_likes": self.sent_counters.get("control_likes")
            != (state["hearing_likes"], state["control_likes"]),
            "progress": self.sent_counters.get("progress") != state["progress"],
            # The public figures (签到 N / M, quorum); the control view's also change with who.
            "public_attendance": self.sent_counters.get("public_attendance") != public_attendance,
            "control_attendance": self.sent_counters.get("control_attendance") != attendance,
        }
        self.sent_counters = {
            "online": self.online,
            "public_likes": (state["hearing_likes"], state["public_likes"]),
            "control_likes": (state["hearing_likes"], state["control_likes"]),
            "progress": state["progress"],
            "public_attendance": public_attendance,
            "control_attendance": attendance,
        }
        for stream in Stream:
            likes_key = "public_likes" if stream == Stream.PUBLIC else "control_likes"
            attendance_key = "public_attendance" if stream == Stream.PUBLIC else "control_attendance"
            seq = self.last[stream]
            if not any(changed.values()) and not fresh:
                continue  # nothing to say: don't even walk the crowd
            frames: list[tuple[bool, str]] = [
                (
                    changed["presence"],
                    schema.counter_frame("presence", seq, schema.PresenceData(online=self.online)),
                ),
                (
                    changed[likes_key],
                    schema.counter_frame(
                        "likes",
                        seq,
                        schema.LikesData(
                            questions={str(k): v for k, v in state[likes_key].items()},
                            hearing=state["hearing_likes"],
                        ),
                    ),
                ),
            ]
            frames.extend(
                (changed["progress"], schema.counter_frame("poll.progress", seq, progress))
                for progress in state["progress"]
            )
            frames.append(
                (
                    changed[attendance_key],
                    schema.counter_frame("attendance", seq, attendance.out(control=stream == Stream.CONTROL)),
                )
            )
            changed_messages = [_message(text) for is_changed, text in frames if is_changed]
            all_messages = [_message(text) for _, text in frames]
            for n, sock in enumerate(self.targets(stream), start=1):
                if n % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if sock.sent_seq != seq or sock in self.catching_up:
                    continue  # behind: it gets counters once it has caught up
                for message in all_messages if sock in fresh else changed_messages:
                    await _send(sock, message)
        if changed["control_attendance"]:
            await self._tell_deputies_checked_in(attendance.present)
        for sock in list(self.lagging):
            self.lagging.discard(sock)
            if sock in self.sockets[sock.stream] and sock not in self.catching_up:
                async with self.lock:
                    await self._catch_up(sock)

    async def _tell_deputies_checked_in(self, present: Iterable[int]) -> None:
        """A deputy checked in by a moderator (代签) learns it on their tablet: its socket gets a
        fresh snapshot, whose `me` says so (a server may send one at any time, PROTOCOL.md). A
        tablet that checked in itself knows from its ack and gets none."""
        here = set(present)
        for sock in [s for s in self.priority if s.stream == Stream.PUBLIC]:
            deputy = getattr(sock, "absent_deputy", None)
            if deputy is None or deputy not in here or sock in self.catching_up:
                continue
            sock.absent_deputy = None  # type: ignore[attr-defined]
            async with self.lock:
                await self.hub.resnapshot(sock)
            self.fresh.add(sock)  # a shared snapshot's counters may be older: the next tick sends them all

    async def _check_behind(self, seqs: dict[Stream, int]) -> None:
        """Safety net: if the database is ahead of what arrived for two ticks, fill from history
        (an event whose broadcast was lost, e.g. while Redis restarted)."""
        now = time.monotonic()
        for stream in Stream:
            if seqs[stream] <= self.last[stream]:
                self.behind_since.pop(stream, None)
                continue
            since = self.behind_since.setdefault(stream, now)
            if now - since >= 2 * settings.LIVE["TICK_MS"] / 1000:
                async with self.lock:
                    if seqs[stream] > self.last[stream]:
                        await self._fill(stream, seqs[stream])
                self.behind_since.pop(stream, None)

    async def run_ticker(self) -> None:
        interval = settings.LIVE["TICK_MS"] / 1000
        # Not only cancellation: a library may swallow the CancelledError of a cancelled tick
        # (seen with redis-py inside the presence report), and the room would tick forever.
        while not self.closed:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hearing %s: counter tick failed", self.hearing_id)


def _message(frame: str) -> dict[str, Any]:
    return {"type": "websocket.send", "text": frame}


async def _send(sock: Socket, message: dict[str, Any]) -> None:
    try:
        await sock.send_message(message)
    except Exception:  # a socket that went away mid-send is detached by its own disconnect
        log.debug("send failed", exc_info=True)


# --------------------------------------------------------------------------- hub


class Hub:
    def __init__(self) -> None:
        self.process_id = uuid4().hex
        self.rooms: dict[int, Room] = {}
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.reader: asyncio.Task[None] | None = None
        self.presence: Presence = make_presence(self.process_id)
        self.sessions_subscribed = False  # to logouts (realtime/sessions.py), with the first hearing
        self._join_lock = asyncio.Lock()

    async def join(self, hearing_id: int) -> Room:
        room = self.rooms.get(hearing_id)
        if room is not None:
            return room
        async with self._join_lock:
            room = self.rooms.get(hearing_id)
            if room is not None:
                return room
            # Subscribe first, then read the seqs: nothing committed in between is missed.
            subscribed = await self.subscribe(hearing_id)
            seqs = await database_sync_to_async(_seqs)(hearing_id)
            room = Room(self, hearing_id, seqs)
            room.subscribed = subscribed
            room.ticker = asyncio.ensure_future(room.run_ticker())
            self.rooms[hearing_id] = room
            return room

    async def subscribe(self, hearing_id: int, *, retry: bool = False) -> bool:
        """Take this process's subscription to the hearing's group. False when the channel layer
        is unreachable (Redis restarting): the room still serves its sockets, with events
        filled from the stored history by the tick's check, and the tick tries again."""
        if self.layer is None:
            return True
        try:
            if self.channel is None:
                self.channel = await self.layer.new_channel("hub.")
                self.reader = asyncio.ensure_future(self._read())
            if not self.sessions_subscribed:
                await self.layer.group_add(sessions.GROUP, self.channel)
                self.sessions_subscribed = True
            await self.layer.group_add(group_name(hearing_id), self.channel)
        except Exception as exc:
            metrics.REDIS_SUBSCRIBE_FAILURES.inc()
            level = logging.DEBUG if retry else logging.WARNING
            log.log(level, "live hub: hearing %s not subscribed (%s)", hearing_id, exc)
            return False
        if retry:
            metrics.REDIS_RESUBSCRIBES.inc()
            log.info("live hub: hearing %s subscribed", hearing_id)
        return True

    async def leave(self, room: Room, sock: Socket) -> None:
        room.detach(sock)
        if room.size == 0 and self.rooms.get(room.hearing_id) is room:
            del self.rooms[room.hearing_id]
            room.closed = True
            if room.ticker is not None:
                room.ticker.cancel()
            await self.hub_presence_clear(room.hearing_id)
            try:
                await room.audience_tick(closing=True)  # the viewers its sockets brought
            except Exception:
                log.warning("hearing %s: audience viewers not written", room.hearing_id, exc_info=True)
            if self.layer is not None and self.channel is not None:
                # Under the join lock: a socket arriving meanwhile makes a new room for the hearing,
                # whose subscription this leave must not take away.
                async with self._join_lock:
                    if room.hearing_id in self.rooms:
                        return
                    try:
                        await self.layer.group_discard(group_name(room.hearing_id), self.channel)
                    except Exception as exc:  # Redis away: a stale subscription only brings frames nobody takes
                        log.warning("live hub: hearing %s not unsubscribed (channel layer: %s)", room.hearing_id, exc)

    async def close(self, timeout: float = 2) -> None:
        """Stop this hub (its event loop is ending): rooms stop ticking, the reader stops.
        Waits at most `timeout` s for them to finish."""
        tasks = [room.ticker for room in self.rooms.values() if room.ticker is not None]
        for room in self.rooms.values():
            room.closed = True
        self.rooms.clear()
        if self.reader is not None:
            tasks.append(self.reader)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def hub_presence_clear(self, hearing_id: int) -> None:
        try:
            await self.presence.report(hearing_id, 0)
        except Exception:
            log.debug("presence clear failed", exc_info=True)

    async def resnapshot(self, sock: Socket) -> None:
        resend = getattr(sock, "send_snapshot", None)
        if resend is not None:
            await resend()
        room = getattr(sock, "room", None)
        if room is not None and sock.sent_seq < room.last[sock.stream]:
            room.lagging.add(sock)

    async def end_session(self, tag: str) -> None:
        """A login session ended (logout, in any process): close this process's sockets opened
        with it. Only deputies' and moderators' sockets carry a session."""
        for room in list(self.rooms.values()):
            for sock in list(room.priority):
                revoke = getattr(sock, "revoke", None)
                if revoke is not None and getattr(sock, "session_tag", None) == tag:
                    try:
                        await revoke("session ended")
                    except Exception:
                        log.exception("closing a socket of an ended session failed")

    async def _read(self) -> None:
        assert self.layer is not None and self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live hub: channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message.get("type") == sessions.ENDED:
                await self.end_session(str(message.get("session")))
                continue
            room = self.rooms.get(message.get("hearing"))
            if room is None:
                continue
            try:
                await room.deliver(message["frames"])
            except Exception:
                log.exception("live hub: delivery to hearing %s failed", room.hearing_id)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop (one per process when served)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    return hub
