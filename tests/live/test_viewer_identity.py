"""Viewer identity (PROTOCOL.md): the live page's `viewer` cookie is what the public socket
counts likes and asks by; without it a socket only watches; new viewers, likes and asks are
also limited per client address (the real one behind a trusted proxy)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import services
from hearings.models import Hearing, Like, Question
from live.viewer import COOKIE, may_mint
from realtime.consumers import ROUTES
from realtime.ratelimit import Limit, RateLimiter
from tests.factories import World, make_world
from tests.live.helpers import deputy_path, open_socket, page_cookie, public_path

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


async def approved_question(world: World, text: str = "营商环境怎么改善？") -> Question:
    q = await db(services.question_submit)(hearing_id=world.hearing.pk, text=text, source="public")
    return await db(services.question_approve)(hearing_id=world.hearing.pk, question_id=q.pk, by=None)


def set_limit(monkeypatch: pytest.MonkeyPatch, action: str, *, per_address: int) -> None:
    """Give `action` a per-address burst of `per_address` (refilling slowly), per-viewer unchanged."""
    route = ROUTES[action]
    assert route.limit is not None
    limit = Limit(
        sender=RateLimiter(rate=route.limit.sender.rate, burst=route.limit.sender.burst),
        address=RateLimiter(rate=1 / 3600, burst=per_address),
    )
    monkeypatch.setitem(ROUTES, action, dataclasses.replace(route, limit=limit))


@pytest.fixture
def trusted_loopback(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8"]


@pytest.fixture
def few_new_viewers(settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "VIEWERS_PER_MINUTE": 2}


# --------------------------------------------------------------------------- the page's cookie on the socket


async def test_a_viewer_who_reconnects_with_the_page_cookie_likes_only_once(live: World) -> None:
    q = await approved_question(live)
    cookie, response = await db(page_cookie)(live.hearing.pk)
    assert response.status_code == 200 and cookie.startswith(f"{COOKIE}=")
    first = await open_socket(public_path(live.hearing.pk), cookies=cookie)
    assert await first.action("like", question=q.pk) == {"type": "ack", "id": "c1", "duplicate": False, "likes": 1}
    assert (await first.action("like", hearing=True))["duplicate"] is False
    await first.close()
    again = await open_socket(public_path(live.hearing.pk), cookies=cookie)
    assert await again.action("like", question=q.pk) == {"type": "ack", "id": "c1", "duplicate": True, "likes": 1}
    assert (await again.action("like", hearing=True))["duplicate"] is True
    await again.close()
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 1
    assert (await db(Hearing.objects.get)(pk=live.hearing.pk)).likes == 1
    assert await db(Like.objects.count)() == 2


async def test_a_second_visit_keeps_the_viewer_cookie(live: World) -> None:
    cookie, _ = await db(page_cookie)(live.hearing.pk)
    again, response = await db(page_cookie)(live.hearing.pk, cookie=cookie)
    assert response.status_code == 200
    assert again == ""  # no new Set-Cookie: the browser keeps the one it has
    q = await approved_question(live)
    sock = await open_socket(public_path(live.hearing.pk), cookies=cookie)
    await sock.action("like", question=q.pk)
    await sock.close()
    asker = await open_socket(public_path(live.hearing.pk), cookies=cookie)
    ack = await asker.action("ask", text="同一位观众提的问题")
    await asker.close()
    like = await db(Like.objects.get)()
    question = await db(Question.objects.get)(pk=ack["question"])
    assert like.viewer == question.viewer != ""  # one viewer across visits and sockets


async def test_a_socket_without_a_viewer_cookie_may_watch_but_not_like_or_ask(live: World) -> None:
    q = await approved_question(live)
    sock = await open_socket(public_path(live.hearing.pk), viewer=False)
    assert [x["id"] for x in sock.snapshot["data"]["questions"]] == [q.pk]
    assert (await sock.action("ping"))["type"] == "ack"
    like = await sock.action("like", question=q.pk)
    assert (like["type"], like["code"]) == ("error", "forbidden")
    assert (await sock.action("like", hearing=True))["code"] == "forbidden"
    assert (await sock.action("ask", text="没有身份的提问"))["code"] == "forbidden"
    await sock.close()
    assert await db(Like.objects.count)() == 0
    assert await db(Question.objects.count)() == 1
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 0


# --------------------------------------------------------------------------- new viewers per address


@pytest.mark.usefixtures("few_new_viewers")
async def test_new_viewers_are_limited_per_address_and_the_page_then_only_watches(live: World) -> None:
    ip = "198.51.100.20"
    first, _ = await db(page_cookie)(live.hearing.pk, ip=ip)
    second, _ = await db(page_cookie)(live.hearing.pk, ip=ip)
    third, response = await db(page_cookie)(live.hearing.pk, ip=ip)
    assert first and second and first != second
    assert third == "" and response.status_code == 200  # still served, without a viewer
    assert 'id="watch-only"' in response.content.decode()
    elsewhere, response = await db(page_cookie)(live.hearing.pk, ip="198.51.100.21")
    assert elsewhere and 'id="watch-only"' not in response.content.decode()
    known, response = await db(page_cookie)(live.hearing.pk, ip=ip, cookie=first)  # a known viewer: as before
    assert known == "" and 'id="watch-only"' not in response.content.decode()


def test_the_default_lets_300_new_viewers_a_minute_in_from_one_address(db: Any) -> None:
    assert all(may_mint("192.0.2.77", now=1_000_020.0) for _ in range(300))


@pytest.mark.usefixtures("few_new_viewers")
def test_an_ipv6_client_counts_by_its_64_network(db: Any) -> None:
    assert may_mint("2001:db8:1:2::1", now=2_000_000.0) and may_mint("2001:db8:1:2::ffff", now=2_000_000.0)
    assert not may_mint("2001:db8:1:2:abcd::9", now=2_000_000.0)
    assert may_mint("2001:db8:1:3::1", now=2_000_000.0)


# --------------------------------------------------------------------------- likes and asks per address


async def test_likes_are_limited_per_address_across_viewers(live: World, monkeypatch: pytest.MonkeyPatch) -> None:
    set_limit(monkeypatch, "like", per_address=3)
    q = await approved_question(live)
    crowd = [await open_socket(public_path(live.hearing.pk), client="203.0.113.5") for _ in range(4)]
    replies = [await sock.action("like", question=q.pk) for sock in crowd]
    assert [r["type"] for r in replies] == ["ack", "ack", "ack", "error"]
    assert replies[3]["code"] == "rate_limited"
    other = await open_socket(public_path(live.hearing.pk), client="203.0.113.6")
    assert (await other.action("like", question=q.pk))["type"] == "ack"
    for sock in [*crowd, other]:
        await sock.close()
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 4


async def test_asks_are_limited_per_address_across_viewers(live: World, monkeypatch: pytest.MonkeyPatch) -> None:
    set_limit(monkeypatch, "ask", per_address=2)
    crowd = [await open_socket(public_path(live.hearing.pk), client="203.0.113.7") for _ in range(3)]
    replies = [await sock.action("ask", text=f"问题{n}") for n, sock in enumerate(crowd)]
    assert [r["type"] for r in replies] == ["ack", "ack", "error"]
    assert replies[2]["code"] == "rate_limited"
    for sock in crowd:
        await sock.close()
    assert await db(Question.objects.count)() == 2


async def test_a_deputys_asks_are_rate_limited(live: World) -> None:
    sock = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    replies = [await sock.action("ask", text=f"代表的问题{n}") for n in range(4)]
    assert [r["type"] for r in replies] == ["ack", "ack", "ack", "error"]
    assert replies[3]["code"] == "rate_limited"
    other = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[1])  # each deputy their own
    assert (await other.action("ask", text="另一位代表的问题"))["type"] == "ack"
    await sock.close()
    await other.close()
    assert await db(Question.objects.filter(source="deputy").count)() == 4


# --------------------------------------------------------------------------- X-Forwarded-For


async def test_a_socket_s_forwarded_for_is_ignored_from_an_untrusted_peer(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limit(monkeypatch, "like", per_address=1)
    q = await approved_question(live)
    one = await open_socket(public_path(live.hearing.pk), client="127.0.0.1", forwarded_for="198.51.100.1")
    two = await open_socket(public_path(live.hearing.pk), client="127.0.0.1", forwarded_for="198.51.100.2")
    assert (await one.action("like", question=q.pk))["type"] == "ack"
    assert (await two.action("like", question=q.pk))["code"] == "rate_limited"  # one address: the peer's
    await one.close()
    await two.close()


@pytest.mark.usefixtures("trusted_loopback")
async def test_a_socket_s_forwarded_for_is_honoured_from_a_trusted_proxy(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_limit(monkeypatch, "like", per_address=1)
    q = await approved_question(live)
    path = public_path(live.hearing.pk)
    one = await open_socket(path, client="127.0.0.1", forwarded_for="198.51.100.1")
    two = await open_socket(path, client="127.0.0.1", forwarded_for="198.51.100.2")
    # A client's own X-Forwarded-For entry (left of what the proxy appended) is not believed.
    forged = await open_socket(path, client="127.0.0.1", forwarded_for="198.51.100.9, 198.51.100.1")
    assert (await one.action("like", question=q.pk))["type"] == "ack"
    assert (await two.action("like", question=q.pk))["type"] == "ack"
    assert (await forged.action("like", question=q.pk))["code"] == "rate_limited"
    for sock in (one, two, forged):
        await sock.close()
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 2


@pytest.mark.usefixtures("few_new_viewers")
async def test_the_page_s_forwarded_for_is_ignored_from_an_untrusted_peer(live: World) -> None:
    made = [await db(page_cookie)(live.hearing.pk, forwarded_for=f"198.51.100.{n}") for n in range(3)]
    assert [bool(cookie) for cookie, _ in made] == [True, True, False]  # all counted as 127.0.0.1


@pytest.mark.usefixtures("few_new_viewers", "trusted_loopback")
async def test_the_page_s_forwarded_for_is_honoured_from_a_trusted_proxy(live: World) -> None:
    made = [await db(page_cookie)(live.hearing.pk, forwarded_for=f"198.51.100.{n}, 10.1.2.3") for n in range(3)]
    assert all(cookie for cookie, _ in made)  # three clients, through two trusted proxies


def test_the_live_page_loads_and_mints_when_the_cache_is_away(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis down: the per-address count cannot be kept, so it is skipped — the page still loads
    with a viewer cookie (the fault test found the page answering 500 through an outage)."""
    from django.core.cache import cache
    from django.test import Client

    def away(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("Redis is away")

    world = make_world(status="live")
    monkeypatch.setattr(cache, "add", away)
    monkeypatch.setattr(cache, "incr", away)
    assert may_mint("203.0.113.9")
    response = Client().get(f"/hearings/{world.hearing.pk}/", secure=True)
    assert response.status_code == 200
    assert COOKIE in response.cookies
