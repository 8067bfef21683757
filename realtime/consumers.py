"""WebSocket endpoints: authenticate, parse, call a service, reply. No rules here.

Broadcasts do not pass through these consumers' dispatch: the hub writes pre-serialized
frames straight to each socket (see hub.py). A consumer only handles its own client's frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from chamber import commands
from core import metrics
from core.clientaddr import limit_key, scope_address
from core.errors import DomainError, Forbidden, RateLimited
from hearings import services
from hearings.services import LikeRequest
from live import schema
from live.schema import ActionError, ErrorCode, Stream
from live.viewer import viewer_from_cookies
from realtime import sessions
from realtime.batch import batchers
from realtime.hub import Room, get_hub
from realtime.ratelimit import Limit, RateLimiter
from realtime.snapshot import build as build_snapshot
from realtime.snapshot import deputy_me
from voting import services as voting_services

log = logging.getLogger(__name__)

PUBLIC, DEPUTY, CONTROL = "public", "deputy", "control"
# How long a closing socket waits for its queued actions (a batch is stored within
# milliseconds). Below the app server's graceful shutdown (uvicorn --timeout-graceful-shutdown
# 5 in deploy/stack.py), which cancels what still runs after it.
SETTLE_SECONDS = 4.0

# Sockets being served, by endpoint (core/metrics.py): one gauge child per role, bound once.
_OPEN = {role: metrics.SOCKETS_OPEN.labels(endpoint=role) for role in (PUBLIC, DEPUTY, CONTROL)}


def _per_second(rate: int) -> RateLimiter:
    return RateLimiter(rate=rate, burst=rate)


def _per_minute(rate: int) -> RateLimiter:
    return RateLimiter(rate=rate / 60, burst=rate)


_LIKE = Limit(
    sender=_per_second(settings.LIVE["LIKES_PER_SECOND"]),
    address=_per_second(settings.LIVE["ADDRESS_LIKES_PER_SECOND"]),
)
_ASK = Limit(
    sender=_per_minute(settings.LIVE["ASK_PER_MINUTE"]),
    address=_per_minute(settings.LIVE["ADDRESS_ASK_PER_MINUTE"]),
)

Handler = Callable[["LiveConsumer", Any], Awaitable[dict[str, Any] | None]]

NOT_HERE = _("这个连接不能进行这项操作。")
NO_VIEWER = _("无法识别这台设备，请刷新页面后再试。")
TOO_MANY = _("操作太频繁，请稍后再试。")


def scope_language(scope: Any) -> str:
    """The language of the socket's `error` messages: the one Django picks for a page from the
    same handshake (django.utils.translation.get_language_from_request: the language cookie the
    page's switch sets, then Accept-Language, then LANGUAGE_CODE). Pages and their sockets are
    on one origin, so the socket speaks the language of the page that opened it."""
    request = HttpRequest()
    request.COOKIES = dict(scope.get("cookies") or {})
    for name, value in scope.get("headers") or ():
        if name.lower() == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


@dataclass(frozen=True)
class Route:
    roles: frozenset[str]
    handler: Handler
    limit: Limit | None = None
    queued: bool = False  # handler queues the action and returns at once; replied to later
    # On the public socket: only a viewer with the live page's cookie (one like per viewer).
    needs_viewer: bool = False


ROUTES: dict[str, Route] = {}


def route(
    name: str, *roles: str, limit: Limit | None = None, queued: bool = False, needs_viewer: bool = False
) -> Callable[[Any], Any]:
    def register(handler: Any) -> Any:
        assert name in schema.ACTIONS, name
        ROUTES[name] = Route(frozenset(roles), handler, limit, queued, needs_viewer)
        return handler

    return register


def call(service: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a (sync, ORM) service off the event loop. Not thread-sensitive: services share no
    thread state, so a crowd's actions use the pool's threads (each with its own database
    connection) instead of queueing on one."""
    return database_sync_to_async(service, thread_sensitive=False)


class LiveConsumer(AsyncWebsocketConsumer):
    role: ClassVar[str] = PUBLIC

    stream: Stream
    sent_seq: int = 0
    room: Room | None = None
    priority: bool = False
    role_watch: asyncio.Task[None] | None = None
    viewer: str | None = None  # the public socket's viewer id (its cookie's), else None
    sender: str = ""  # who the rate limits count: the viewer, or the signed-in user
    address: str | None = None  # the client address the public socket's limits count
    session_key: str | None = None  # deputy and control sockets: the login session they belong to
    session_tag: str | None = None
    revoked: bool = False  # closed by the server (role or session gone): the client's frames are dropped
    resumes: RateLimiter | None = None  # this socket's `resume` budget, made on its first resume
    language: str | None = None  # its `error` messages' (scope_language), found at its first error
    # A deputy's socket whose snapshot said "not checked in" and who has not checked in on it
    # since: the hub sends it a fresh snapshot once the deputy is present (代签 by a moderator).
    absent_deputy: int | None = None
    # Queued actions (likes, ballots, check-ins) not yet decided: a closing socket waits for
    # them (settle), so a process stopping (SIGTERM: uvicorn closes every socket with 1012)
    # stores what it took before it exits.
    queued: int = 0
    settled: asyncio.Event | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Sockets take no channel-layer subscription of their own (the hub holds the only one
        # per process and hearing), so no need for Channels' two-source
        # dispatch loop, which pays a task and an asyncio.wait for every client frame.
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        sockets = _OPEN[self.role]
        sockets.inc()  # counted from the handshake to the end of this call, however it ends
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            sockets.dec()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels checks old database connections before every message; our handlers reach
        # the database only through database_sync_to_async, which does that check itself.
        if message["type"] == "websocket.receive":  # the hot path: a client's frame
            if self.revoked:
                return  # closed for a lost role or an ended session: nothing more happens for it
            await self.receive(text_data=message.get("text"), bytes_data=message.get("bytes"))
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # ---------------------------------------------------------------- lifecycle

    async def connect(self) -> None:
        self.stream = Stream.CONTROL if self.role == CONTROL else Stream.PUBLIC
        self.user = self.scope.get("user")
        await self.accept()
        try:
            self.hearing_id = int(self.scope["url_route"]["kwargs"]["hearing_id"])
        except (KeyError, ValueError):
            await self.close(code=4404)
            return
        hub = get_hub()
        if self.role == PUBLIC and self.hearing_id in hub.rooms:
            access = "ok"  # the hearing exists: this process serves it (saves a query per viewer in a storm)
        else:
            access = await call(sessions.socket_access)(
                hearing_id=self.hearing_id, user=self.user, role=self.role, session=self.scope.get("session")
            )
        if access != "ok":
            await self.close(code=4404 if access == "not_found" else 4403)
            return
        if self.role == PUBLIC:
            self.viewer = viewer_from_cookies(self.scope.get("cookies", {}))
            self.sender = self.viewer or ""
            self.address = limit_key(scope_address(self.scope))
        else:
            self.sender = f"user:{getattr(self.user, 'pk', '')}"
            self.session_key = getattr(self.scope.get("session"), "session_key", None)
            self.session_tag = sessions.session_tag(self.session_key)
        self.hub = hub
        self.batchers = batchers()
        self.room = await hub.join(self.hearing_id)
        await self.send_snapshot()
        while not await self.room.attach(self):
            # The room was dropped while the snapshot was on its way: the hearing's new room
            # catches this socket up from its snapshot's seq.
            self.room = await hub.join(self.hearing_id)
        if self.role == PUBLIC and self.viewer is not None:
            self.room.seen(self.viewer)  # a unique viewer (audience figures), written by the room's tick
        if self.role != PUBLIC:
            self.role_watch = asyncio.ensure_future(self.watch_role())

    async def watch_role(self) -> None:
        """Close a deputy's or moderator's socket once its role or its login session is gone:
        pending questions and control events must stop reaching someone removed from the
        hearing or logged out (a logout also closes it at once: realtime/sessions.py)."""
        user_id = getattr(self.user, "pk", None)
        period = settings.LIVE["ROLE_CHECK_SECONDS"]
        # A chamber's tablets connect within seconds of each other: a random first offset spreads
        # their checks over the period instead of queueing 500 at once before the ballots.
        delay = period * random.uniform(0.5, 1.0)
        while not self.revoked:
            await asyncio.sleep(delay)
            delay = period
            checked: asyncio.Future[bool | DomainError] = asyncio.get_running_loop().create_future()

            async def reply(outcome: bool | DomainError, checked: asyncio.Future[bool | DomainError] = checked) -> None:
                if not checked.done():
                    checked.set_result(outcome)

            # Made with the other sockets' checks due now (realtime/batch.py): a few queries for all.
            check = sessions.SocketCheck(self.hearing_id, user_id, self.role, self.session_key)
            self.batchers.checks.submit(None, check, reply)
            allowed = await checked
            if isinstance(allowed, DomainError):  # the database away: keep the socket, check again next time
                log.warning("role check failed")
                continue
            if not allowed:
                await self.revoke("role removed or session ended")
                return

    async def revoke(self, reason: str) -> None:
        """Leave the room and close with 4403; frames the client still sends are dropped."""
        if self.revoked:
            return
        self.revoked = True
        log.info("closing a %s socket of hearing %s: %s", self.role, self.hearing_id, reason)
        if self.role_watch is not None and self.role_watch is not asyncio.current_task():
            self.role_watch.cancel()
        if self.room is not None:
            room, self.room = self.room, None
            await self.hub.leave(room, self)
        await self.close(code=4403)

    async def disconnect(self, code: int) -> None:
        await self.settle()
        if self.role_watch is not None and self.role_watch is not asyncio.current_task():
            self.role_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.role_watch
            self.role_watch = None
        if self.room is not None:
            await self.hub.leave(self.room, self)
            self.room = None

    async def settle(self) -> None:
        """Wait (at most SETTLE_SECONDS) until every action this socket queued is decided and
        stored. Its replies may find the socket closed: the client, not knowing, sends them
        again on its next socket and gets `duplicate` (likes and ballots are safe to repeat)."""
        if self.queued == 0:
            return
        self.settled = asyncio.Event()
        try:
            await asyncio.wait_for(self.settled.wait(), SETTLE_SECONDS)
        except TimeoutError:
            log.warning("a %s socket closed with %s actions still queued", self.role, self.queued)

    async def send_message(self, message: dict[str, Any]) -> None:
        await self.base_send(message)

    async def send_snapshot(self) -> None:
        """Send a fresh snapshot; the socket's seq becomes the snapshot's."""
        assert self.room is not None
        room = self.room

        async def build() -> tuple[int, Any]:
            seq, snapshot = await call(build_snapshot)(self.hearing_id, self.stream, online=room.online)
            return seq, (snapshot, schema.snapshot_frame(seq, snapshot))

        seq, (snapshot, frame) = await room.snapshot(self.stream, build)
        if self.role == DEPUTY:
            me = await call(deputy_me)(self.hearing_id, self.user)
            frame = schema.snapshot_frame(seq, snapshot.model_copy(update={"me": me}))
            self.absent_deputy = None if me.checked_in else self.user.pk
        self.sent_seq = seq
        await self.send(text_data=frame)

    # ---------------------------------------------------------------- actions

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            action = schema.parse_action(text_data, bytes_data)
        except ActionError as exc:  # a malformed frame: its message is for the client's developer
            await self.send(text_data=schema.error_frame(exc.client_id, exc.code, exc.message))
            return
        spec = ROUTES.get(action.action)  # type: ignore[attr-defined]
        refusal = Forbidden(NOT_HERE) if spec is None else self.refusal(spec)
        if refusal is not None:
            await self.send(text_data=self.error_frame(action.id, refusal))
            return
        assert spec is not None
        if spec.queued:
            # Batched (likes, ballots): queued now, replied to when the batch is stored; the
            # socket's next frame is read meanwhile.
            spec.handler(self, action)
        else:
            await self.run(spec, action)

    def refusal(self, spec: Route) -> DomainError | None:
        """Why this socket may not send this action now, if it may not."""
        if self.role not in spec.roles:
            return Forbidden(NOT_HERE)
        if spec.needs_viewer and self.role == PUBLIC and self.viewer is None:
            return Forbidden(NO_VIEWER)
        if spec.limit is not None and not spec.limit.allow(self.sender, self.address):
            return RateLimited(TOO_MANY)
        return None

    def error_frame(self, client_id: str | None, error: DomainError) -> str:
        """The `error` frame of a refusal: its code, and its message in the socket's language."""
        if self.language is None:
            self.language = scope_language(self.scope)
        with translation.override(self.language):
            return schema.error_frame(client_id, ErrorCode(error.code), error.message)

    def replier(self, client_id: str, ack: Callable[[Any], dict[str, Any]]) -> Callable[[Any], Awaitable[None]]:
        """The reply to a queued action: its ack (with `ack(result)` fields) or its error.
        Counted in `queued` from now until it has run (settle)."""
        self.queued += 1

        async def reply(outcome: Any) -> None:
            try:
                if isinstance(outcome, DomainError):
                    text = self.error_frame(client_id, outcome)
                else:
                    text = schema.ack_frame(client_id, **ack(outcome))
                await self.base_send({"type": "websocket.send", "text": text})
            finally:
                self.queued -= 1
                if self.queued == 0 and self.settled is not None:
                    self.settled.set()

        return reply

    async def run(self, spec: Route, action: Any) -> None:
        try:
            extra = await spec.handler(self, action)
        except DomainError as exc:
            await self.send(text_data=self.error_frame(action.id, exc))
            return
        await self.send(text_data=schema.ack_frame(action.id, **(extra or {})))


class PublicConsumer(LiveConsumer):
    role = PUBLIC


class DeputyConsumer(LiveConsumer):
    role = DEPUTY
    priority = True


class ControlConsumer(LiveConsumer):
    role = CONTROL
    priority = True


# ------------------------------------------------------------------------------- handlers

ALL = (PUBLIC, DEPUTY, CONTROL)


@route("ping", *ALL)
async def _ping(consumer: LiveConsumer, action: schema.Ping) -> dict[str, Any] | None:
    return None


@route("resume", *ALL)
async def _resume(consumer: LiveConsumer, action: schema.Resume) -> dict[str, Any] | None:
    # Per socket: a resume may cost up to a snapshot, so a loop of them must not (a flaky
    # phone's few quick ones pass within the burst).
    if consumer.resumes is None:
        consumer.resumes = RateLimiter(
            rate=settings.LIVE["RESUMES_PER_MINUTE"] / 60, burst=settings.LIVE["RESUME_BURST"]
        )
    if not consumer.resumes.allow(""):
        raise RateLimited(_("重新连接太频繁，请稍后再试。"))
    assert consumer.room is not None
    await consumer.room.resume(consumer, action.seq)
    return {"seq": consumer.sent_seq}


@route("like", PUBLIC, limit=_LIKE, queued=True, needs_viewer=True)
def _like(consumer: LiveConsumer, action: schema.Like) -> None:
    assert consumer.viewer is not None
    consumer.batchers.likes.submit(
        consumer.hearing_id,
        LikeRequest(consumer.hearing_id, consumer.viewer, action.question),
        consumer.replier(action.id, lambda result: {"duplicate": result.duplicate, "likes": result.likes}),
    )


@route("ask", PUBLIC, DEPUTY, limit=_ASK, needs_viewer=True)
async def _ask(consumer: LiveConsumer, action: schema.Ask) -> dict[str, Any] | None:
    deputy = consumer.role == DEPUTY
    question = await call(services.question_submit)(
        hearing_id=consumer.hearing_id,
        text=action.text,
        source="deputy" if deputy else "public",
        asker=consumer.user if deputy else None,
        asker_name="" if deputy else (action.name or ""),
        viewer="" if deputy else (consumer.viewer or ""),
        item_id=action.item,
        parent_id=action.parent,
        category=action.category,
    )
    return {"question": question.pk, "status": question.status}


@route("checkin", DEPUTY, queued=True)
def _checkin(consumer: LiveConsumer, action: schema.Checkin) -> None:
    def acked(result: voting_services.CheckinResult) -> dict[str, Any]:
        consumer.absent_deputy = None  # the tablet knows from this ack
        return {"duplicate": result.duplicate}

    consumer.batchers.checkins.submit(consumer.hearing_id, consumer.user.pk, consumer.replier(action.id, acked))


@route("vote", DEPUTY, queued=True)
def _vote(consumer: LiveConsumer, action: schema.Vote) -> None:
    consumer.batchers.ballots.submit(
        (consumer.hearing_id, action.poll),
        voting_services.BallotRequest(
            consumer.user.pk,
            action.choice,
            action.ballot,
            choices=action.choices,
            picks=tuple(action.picks) if action.picks is not None else None,
        ),
        consumer.replier(action.id, lambda result: {"poll": action.poll, "duplicate": result.duplicate}),
    )


def _command(name: str) -> Handler:
    """A control action: the moderator's command of that name (chamber/commands.py)."""

    async def handler(consumer: LiveConsumer, action: Any) -> dict[str, Any] | None:
        result = await call(commands.execute)(name, hearing_id=consumer.hearing_id, by=consumer.user, fields=action)
        return commands.COMMANDS[name].ack(result)

    return handler


for _name in commands.SOCKET_COMMANDS:
    route(_name, CONTROL)(_command(_name))
