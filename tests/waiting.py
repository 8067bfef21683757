"""Waiting on conditions, not on time: a test that waits for something polls it with a bound."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def wait_until(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 5, interval: float = 0.01, what: str = ""
) -> float:
    """Poll `check` (sync or async) until it is true; fail after `timeout` s with `what` in the
    message. Returns the seconds waited."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        result = check()
        if await result if inspect.isawaitable(result) else result:
            return time.monotonic() - started
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout} s: {what or getattr(check, '__name__', 'condition')}")
        await asyncio.sleep(interval)


async def settle(awaitable: Awaitable[object], timeout: float) -> bool:
    """Await `awaitable` for at most `timeout` s without cancelling it when time is up (a
    cancellation may itself wait, e.g. on a database call in a thread). True when it finished."""
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        return False
    if not task.cancelled():
        task.exception()  # retrieved: a failed close is not reported as "never retrieved"
    return True
