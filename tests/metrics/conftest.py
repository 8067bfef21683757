"""Socket tests here end promptly, passed or failed (as tests/live/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from realtime import hub as live_hub
from tests.live.helpers import close_left_open


@pytest.fixture
async def bounded_teardown() -> AsyncIterator[None]:
    yield
    await close_left_open(timeout=2)
    hub = live_hub._hubs.get(asyncio.get_running_loop())
    if hub is not None:
        await hub.close(timeout=2)
