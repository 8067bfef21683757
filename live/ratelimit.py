"""Per-viewer token buckets for public actions (this process; a viewer's socket lives on one)."""

from __future__ import annotations

import time


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
