"""Batching a crowd's writes: many socket actions, one transaction.

Each action is queued with the function that replies to it; one task per process and key takes what has queued (up to
MAX_BATCH, after at most MAX_WAIT) and hands it to a service that decides every request by
the rules (hearings.services.like_add_many, voting.services.ballots_cast and checkins). A batch is in
flight while the next one fills, so a burst costs one commit per batch instead of one per
action, and each action is acked only once it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar, cast

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils.translation import gettext_lazy

from core import metrics
from core.errors import DomainError
from hearings import services
from realtime import sessions
from voting import services as voting_services

log = logging.getLogger(__name__)

MAX_BATCH = 2000

Request = TypeVar("Request")
Result = TypeVar("Result")
Reply = Callable[[Result | DomainError], Awaitable[None]]


class Batcher(Generic[Request, Result]):
    def __init__(
        self,
        run: Callable[[Hashable, Sequence[Request]], Sequence[Result | DomainError]],
        *,
        wait: float,
        kind: str,
    ) -> None:
        self.run = database_sync_to_async(run, thread_sensitive=False)
        self.batched = metrics.BATCHED.labels(kind=kind)  # its figures (core/metrics.py), bound once
        self.sizes = metrics.BATCH_SIZE.labels(kind=kind)
        self.failures = metrics.BATCH_FAILURES.labels(kind=kind)
        self.wait = wait  # seconds a request waits for company before its batch goes
        self.queues: dict[Hashable, list[tuple[Request, Reply[Result]]]] = {}
        self.tasks: dict[Hashable, asyncio.Task[None]] = {}

    def submit(self, key: Hashable, request: Request, reply: Reply[Result]) -> None:
        """Queue `request` with others of the same key; `reply` gets its result or DomainError.

        No task or future per request: the batch's task stores the batch, then calls each
        reply in turn (a crowd's likes are mostly this bookkeeping)."""
        self.queues.setdefault(key, []).append((request, reply))
        task = self.tasks.get(key)
        if task is None or task.done():
            self.tasks[key] = asyncio.ensure_future(self._drain(key))

    async def _drain(self, key: Hashable) -> None:
        queue = self.queues[key]
        while queue:
            await asyncio.sleep(self.wait)
            batch = queue[:MAX_BATCH]
            del queue[:MAX_BATCH]
            self.batched.inc(len(batch))
            self.sizes.observe(len(batch))
            try:
                results: Sequence[Result | DomainError] = await self.run(key, [request for request, _ in batch])
            except Exception:
                self.failures.inc()
                log.exception("a batch of %s failed", len(batch))
                results = [DomainError(gettext_lazy("暂时无法保存，请稍后再试。"))] * len(batch)
            for (_, reply), result in zip(batch, results, strict=True):
                try:
                    await reply(result)
                except Exception:  # one client gone must not cost the others their replies
                    log.debug("reply failed", exc_info=True)
        del self.queues[key]


def _likes(key: Hashable, requests: Sequence[services.LikeRequest]) -> list[Any]:
    return services.like_add_many(requests=requests)


def _ballots(key: Hashable, requests: Sequence[voting_services.BallotRequest]) -> list[Any]:
    hearing_id, poll_id = cast(tuple[int, int], key)
    return voting_services.ballots_cast(hearing_id=hearing_id, poll_id=poll_id, requests=requests)


def _checkins(key: Hashable, requests: Sequence[int]) -> list[Any]:
    return voting_services.checkins(hearing_id=cast(int, key), deputy_ids=requests)


def _socket_checks(key: Hashable, requests: Sequence[sessions.SocketCheck]) -> list[bool]:
    return sessions.sockets_allowed(requests)


class Batchers:
    def __init__(self) -> None:
        # A like can wait a little for company (fewer, larger transactions under a crowd);
        # a ballot's ack is what a deputy watches for, so ballots go sooner.
        self.likes: Batcher[services.LikeRequest, services.LikeResult] = Batcher(_likes, wait=0.025, kind="likes")
        self.ballots: Batcher[voting_services.BallotRequest, voting_services.BallotResult] = Batcher(
            _ballots, wait=0.005, kind="ballots"
        )
        # A chamber checks in at the opening bell: one commit for the crowd, not one each (on
        # SQLite, 300 writers at once outwait the busy timeout).
        self.checkins: Batcher[int, voting_services.CheckinResult] = Batcher(_checkins, wait=0.005, kind="checkins")
        # The periodic role and session checks of deputies' and moderators' sockets: those due
        # within a moment share a few queries (one each cost four, 400 a second for 500 tablets,
        # queued in the thread pool ahead of the ballots). Waiting adds to the time a revoked
        # socket stays open at most a fraction of the period.
        self.checks: Batcher[sessions.SocketCheck, bool] = Batcher(
            _socket_checks, wait=min(0.5, settings.LIVE["ROLE_CHECK_SECONDS"] / 4), kind="socket_checks"
        )


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Batchers] = weakref.WeakKeyDictionary()


def batchers() -> Batchers:
    """This event loop's batchers (one set per server process)."""
    loop = asyncio.get_running_loop()
    found = _batchers.get(loop)
    if found is None:
        found = _batchers[loop] = Batchers()
    return found
