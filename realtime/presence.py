"""Online counts: sockets per hearing in this process, summed across processes via Redis."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import redis.asyncio as redis
from django.conf import settings

log = logging.getLogger(__name__)

STALE_AFTER = 5.0  # seconds without a heartbeat before a process's count is ignored


class Presence(Protocol):
    async def report(self, hearing_id: int, local: int) -> int:
        """Record this process's count and return the total across processes."""
        ...


class LocalPresence:
    async def report(self, hearing_id: int, local: int) -> int:
        return local


class RedisPresence:
    def __init__(self, url: str, process_id: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.process_id = process_id
        self.prefix = prefix
        self.failed_at = 0.0
        self.last_total: dict[int, int] = {}

    async def report(self, hearing_id: int, local: int) -> int:
        key = f"{self.prefix}:presence:{hearing_id}"
        now = time.time()
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hset(key, self.process_id, f"{local}:{now:.3f}")
                pipe.expire(key, 60)
                pipe.hgetall(key)
                _, _, entries = await pipe.execute()
        except Exception:
            # Redis away: keep serving with the last total rather than failing the tick.
            if now - self.failed_at > 10:
                log.warning("presence: Redis unavailable, online count is this process's only")
                self.failed_at = now
            return max(local, self.last_total.get(hearing_id, 0))
        total = 0
        for value in entries.values():
            count, _, stamp = value.decode().partition(":")
            if now - float(stamp or 0) <= STALE_AFTER:
                total += int(count)
        self.last_total[hearing_id] = total
        return total


def make_presence(process_id: str) -> Presence:
    url = getattr(settings, "REDIS_URL", "")
    if url:
        return RedisPresence(url, process_id, prefix=getattr(settings, "REDIS_PREFIX", "wenzheng"))
    return LocalPresence()
