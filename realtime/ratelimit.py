"""Token buckets for public actions, and an action's limits (this process).

A socket lives on one process, so a viewer's (or deputy's) bucket is exact. A client address's
sockets are spread over the processes, so its per-address bucket here holds per process: one
address gets at most the app processes' count times the limit. That bounds a flood at no cost
to the hot path (a like is one dictionary lookup, not a round trip to Redis); the limit that
must hold across processes, new viewer ids per address, is counted in the shared cache
(live/viewer.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass


class RateLimiter:
    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate = rate  # tokens per second
        self.burst = burst
        self.buckets: dict[str, tuple[float, float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, stamp = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1, now)
        if len(self.buckets) > 100_000:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they carry no information."""
        for key, (tokens, stamp) in list(self.buckets.items()):
            if tokens + (now - stamp) * self.rate >= self.burst:
                del self.buckets[key]


@dataclass(frozen=True)
class Limit:
    """An action's limits: per sender (a viewer or a deputy) and per client address."""

    sender: RateLimiter
    address: RateLimiter

    def allow(self, sender: str, address: str | None) -> bool:
        """`address` None: a signed-in sender (a deputy), limited as a person, not by network."""
        if not self.sender.allow(sender):
            return False  # a sender over its own limit spends none of its address's tokens
        return address is None or self.address.allow(address)
