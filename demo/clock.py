"""A controlled clock, to play history through the services (seed_demo).

Inside `controlled_clock(start)`, `django.utils.timezone.now()` returns the clock's time in the
thread that entered it; other threads keep the real time. That one function is what every stamp
goes through: the services' `timezone.now()` and `timezone.localdate()` (so due dates are counted
from the clock's day), `auto_now`/`auto_now_add` fields and the audit chain's times. The clock
only moves forward (`at`, `advance`) and never past the real time it was entered at: what it
plays lies in the past, in order.

`Stage` runs several scripts together in time order: a script is a generator that yields when it
acts next; the stage sets the clock to the earliest such time and resumes that script.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone

# One controlled clock at a time, in the whole process.
_lock = threading.Lock()

# A script yields the time it acts next; resumed at that time, it acts, then yields again.
Script = Iterator[datetime]


class Clock:
    def __init__(self, start: datetime, *, limit: datetime) -> None:
        if timezone.is_naive(start):
            raise ValueError("the clock keeps aware times")
        self._now = start
        self._limit = limit
        self._check(start)

    def _check(self, moment: datetime) -> None:
        if moment > self._limit:
            raise ValueError(f"the clock plays the past: {moment.isoformat()} is after {self._limit.isoformat()}")

    def now(self) -> datetime:
        return self._now

    def at(self, moment: datetime) -> datetime:
        """Set the clock to `moment`: never back, never past the real time."""
        if timezone.is_naive(moment):
            raise ValueError("the clock keeps aware times")
        if moment < self._now:
            raise ValueError(f"the clock does not go back: {moment.isoformat()} is before {self._now.isoformat()}")
        self._check(moment)
        self._now = moment
        return moment

    def advance(self, **delta: float) -> datetime:
        """Move the clock forward by `timedelta(**delta)` (minutes=…, seconds=…, days=…)."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("the clock does not go back")
        return self.at(self._now + step)


@contextmanager
def controlled_clock(start: datetime) -> Iterator[Clock]:
    """Make `django.utils.timezone.now()` return the clock's time in this thread until exit."""
    if not _lock.acquire(blocking=False):
        raise RuntimeError("a controlled clock is already running")
    real_now: Callable[[], datetime] = timezone.now
    try:
        clock = Clock(start, limit=real_now())
        owner = threading.get_ident()

        def now() -> datetime:
            return clock.now() if threading.get_ident() == owner else real_now()

        timezone.now = now
        try:
            yield clock
        finally:
            timezone.now = real_now
    finally:
        _lock.release()


class Stage:
    """Scripts played together on one clock, each action at its time, all in time order."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._queue: list[tuple[datetime, int, Script]] = []
        self._order = itertools.count()

    def add(self, script: Script) -> None:
        """Start `script` (also from within a running one): it acts first at the time it yields."""
        self._next(script)

    def _next(self, script: Script) -> None:
        moment = next(script, None)
        if moment is not None:
            heapq.heappush(self._queue, (moment, next(self._order), script))

    def run(self) -> None:
        while self._queue:
            moment, _, script = heapq.heappop(self._queue)
            self.clock.at(moment)
            self._next(script)
