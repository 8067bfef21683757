"""Every live test ends promptly, passed or failed: what it left open is closed with a bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from realtime import hub as live_hub
from tests.live.helpers import close_left_open


@pytest.fixture(autouse=True)
async def _bounded_teardown() -> AsyncIterator[None]:
    yield
    # A failed test may leave a socket half-open (its consumer still in connect, or mid-call):
    # closed here within seconds, instead of the event loop's teardown waiting on it until the
    # run's timeout. Then the loop's hub stops ticking and reading.
    await close_left_open(timeout=2)
    hub = live_hub._hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.close(timeout=2)
