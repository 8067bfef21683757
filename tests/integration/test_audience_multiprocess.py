"""Audience figures across two server processes sharing Redis and PostgreSQL (issue 19): page
loads and sockets spread over both count each viewer once, every load once, and the samples
hold the cross-process online count, one per period whichever process writes it."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from audience.models import Sample
from live.viewer import COOKIE
from tests.conftest import require_service
from tests.factories import make_world
from tests.integration.servers import daphne_servers
from tests.integration.test_multiprocess import Peer, connect
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VIEWERS = 6


@pytest.fixture(autouse=True)
def _needs_real_services(monkeypatch: pytest.MonkeyPatch) -> None:
    require_service("redis")
    require_service("postgres")
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("runs in the PostgreSQL + Redis pass (DATABASE_URL and REDIS_URL set)")
    # The servers sample every second and write their sockets' viewers as often (defaults: 60, 10).
    monkeypatch.setenv("AUDIENCE_SAMPLE_SECONDS", "1")
    monkeypatch.setenv("AUDIENCE_FLUSH_SECONDS", "1")


def load_page(port: int, hearing_id: int, cookie: str = "") -> str:
    """GET the live page; the `viewer=…` cookie it set, else the one sent."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/hearings/{hearing_id}/")
    if cookie:
        request.add_header("Cookie", cookie)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        jar = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return f"{COOKIE}={jar[COOKIE].value}" if COOKIE in jar else cookie


def get_stats(port: int, hearing_id: int) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hearings/{hearing_id}/stats.json", timeout=10) as response:
        return json.loads(response.read())


async def test_figures_are_exact_across_two_processes() -> None:
    world = await database_sync_to_async(make_world)(status="live")
    hid = world.hearing.pk
    path = f"/ws/hearings/{hid}/public/"
    with daphne_servers(2) as ports:
        # Each viewer loads the page on one server, then again on the other (same cookie).
        cookies = []
        for n in range(VIEWERS):
            first, second = ports[n % 2], ports[(n + 1) % 2]
            cookie = await asyncio.to_thread(load_page, first, hid)
            assert cookie.startswith(f"{COOKIE}=")
            assert await asyncio.to_thread(load_page, second, hid, cookie) == cookie
            cookies.append(cookie)
        # Each connects to both servers at once: 2 × VIEWERS sockets online across the two.
        peers: list[Peer] = [await connect(port, path, cookie) for cookie in cookies for port in ports]

        async def sampled_all() -> bool:
            return await database_sync_to_async(Sample.objects.filter(hearing_id=hid, online=2 * VIEWERS).exists)()

        await wait_until(sampled_all, timeout=20, interval=0.2, what="a sample with the cross-process online count")
        for peer in peers:
            await peer.ws.close()
        # Reconnects, each to the other server than before: nobody new.
        peers = [await connect(ports[n % 2], path, cookie) for n, cookie in enumerate(cookies)]
        for peer in peers:
            await peer.ws.close()

        async def settled() -> bool:
            return bool((await asyncio.to_thread(get_stats, ports[0], hid))["unique_viewers"] == VIEWERS)

        await wait_until(settled, timeout=20, interval=0.2, what="unique viewers written")
        stats = await asyncio.to_thread(get_stats, ports[0], hid)
        assert await asyncio.to_thread(get_stats, ports[1], hid) == stats
    assert stats["page_views"] == 2 * VIEWERS
    assert stats["unique_viewers"] == VIEWERS
    assert stats["peak_online"] == 2 * VIEWERS
    assert stats["peak_at"] is not None

    def samples() -> list[tuple[Any, int]]:
        return list(Sample.objects.filter(hearing_id=hid).values_list("at", "online"))

    rows = await database_sync_to_async(samples)()
    assert len({at for at, _ in rows}) == len(rows)  # one sample per period, whoever wrote it
    assert max(online for _, online in rows) == stats["peak_online"]
