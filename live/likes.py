"""Batching likes: a crowd's likes reach the database as one transaction per batch.

Each like waits on a future; one task per process takes what has queued (up to MAX_BATCH,
after at most MAX_WAIT) and hands it to hearings.services.like_add_many, which keeps every
rule. A batch is in flight while the next one fills, so a burst costs one commit per batch
instead of one per like, and each like is acked only once it is stored.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async

from hearings import services
from hearings.errors import DomainError
from hearings.services import LikeRequest, LikeResult

log = logging.getLogger(__name__)

MAX_BATCH = 500
MAX_WAIT = 0.01  # seconds a like waits for company before its batch goes


class LikeBatcher:
    def __init__(self) -> None:
        self.queue: list[tuple[LikeRequest, asyncio.Future[LikeResult]]] = []
        self.task: asyncio.Task[None] | None = None

    async def add(self, request: LikeRequest) -> LikeResult:
        future: asyncio.Future[LikeResult] = asyncio.get_running_loop().create_future()
        self.queue.append((request, future))
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())
        return await future

    async def _run(self) -> None:
        while self.queue:
            await asyncio.sleep(MAX_WAIT)
            batch, self.queue = self.queue[:MAX_BATCH], self.queue[MAX_BATCH:]
            try:
                results = await database_sync_to_async(services.like_add_many, thread_sensitive=False)(
                    requests=[request for request, _ in batch]
                )
            except Exception as exc:
                log.exception("like batch of %s failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, DomainError):
                    future.set_exception(result)
                else:
                    future.set_result(result)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LikeBatcher] = weakref.WeakKeyDictionary()


def get_batcher() -> LikeBatcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = LikeBatcher()
    return batcher
