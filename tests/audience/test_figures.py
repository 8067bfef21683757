"""Audience figures (issue 19, docs/reports.md): page views count every load of the live page,
unique viewers the distinct viewer identities that loaded it or connected, the peak is the
largest sample; GET /hearings/<id>/stats.json says exactly what PROTOCOL.md says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from audience import selectors, services
from audience.models import Audience, Sample, Viewer
from hearings import services as hearing_services
from hearings.models import Hearing, Question
from live.viewer import COOKIE, sign
from realtime import hub as live_hub
from realtime.hub import Room
from tests.factories import World, make_world
from tests.live.helpers import deputy_path, open_socket, page_cookie, public_path
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async

T0 = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


def stats(hearing_id: int) -> Any:
    return Client().get(f"/hearings/{hearing_id}/stats.json", secure=True)


# --------------------------------------------------------------------------- page views and unique viewers


async def test_n_viewers_visiting_and_connecting_count_n_unique_viewers(live: World) -> None:
    """Four viewers each load the page twice and connect twice (a reconnect); a fifth only
    connects (its cookie came from another page). Forged cookies and a deputy's tablet add
    nobody. Unique viewers: exactly 5; page views: exactly 8."""
    hearing_id = live.hearing.pk
    cookies = []
    for _ in range(4):
        cookie, response = await db(page_cookie)(hearing_id)
        assert response.status_code == 200 and cookie
        again, response = await db(page_cookie)(hearing_id, cookie=cookie)
        assert response.status_code == 200 and again == ""  # the same viewer: no new cookie
        cookies.append(cookie)
    cookies.append(f"{COOKIE}={sign('v-only-connects')}")
    for _ in range(2):  # connect, leave, reconnect
        sockets = [await open_socket(public_path(hearing_id), cookies=c) for c in cookies]
        forged = [
            await open_socket(public_path(hearing_id), cookies=f"{COOKIE}=v-forged-no-signature"),
            await open_socket(public_path(hearing_id), cookies=f"{COOKIE}={sign('v-x')[:-3]}abc"),
        ]
        tablet = await open_socket(deputy_path(hearing_id), user=live.deputies[0])
        for sock in [*sockets, *forged, tablet]:
            await sock.close()
        # The room closes with its last socket and writes the viewers its sockets brought.
        await wait_until(lambda: hearing_id not in live_hub.get_hub().rooms, what="room dropped")
    figures = await db(selectors.figures)(hearing_id)
    assert figures.unique_viewers == 5
    assert figures.page_views == 8
    viewers = set(await db(lambda: list(Viewer.objects.values_list("viewer", flat=True)))())
    assert "v-only-connects" in viewers and "v-x" not in viewers and "v-forged-no-signature" not in viewers


async def test_an_open_room_writes_its_viewers_within_the_flush_period(live: World, settings: Any) -> None:
    settings.AUDIENCE = {**settings.AUDIENCE, "FLUSH_SECONDS": 0}
    sock = await open_socket(public_path(live.hearing.pk), cookies=f"{COOKIE}={sign('v-staying')}")

    def written() -> bool:
        return Viewer.objects.filter(hearing=live.hearing, viewer="v-staying").exists()

    await wait_until(db(written), what="viewer written while the socket stays")
    await sock.close()


def test_page_views_count_every_get_of_the_live_page_only(world: World) -> None:
    client = Client()
    for _ in range(3):
        assert client.get(f"/hearings/{world.hearing.pk}/", secure=True).status_code == 200
    client.get(f"/hearings/{world.hearing.pk}/screen/", secure=True)  # the hall's screen: not the live page
    client.get(f"/hearings/{world.hearing.pk}/stats.json", secure=True)
    assert selectors.page_views(world.hearing.pk) == 3
    assert selectors.unique_viewers(world.hearing.pk) == 1  # one browser, its cookie kept


def test_unknown_hearing_page_counts_nothing(world: World) -> None:
    assert Client().get("/hearings/999999/", secure=True).status_code == 404
    assert not Audience.objects.exists() and not Viewer.objects.exists()


def test_a_hostile_client_without_cookies_adds_at_most_the_mint_limit_of_viewers(world: World, settings: Any) -> None:
    """Cookies are signed: a forged one is no viewer. The only way to a new viewer id is a
    page load without a cookie, and those are limited per client address (VIEWERS_PER_MINUTE):
    past it the page is served watch-only, a page view but no new viewer."""
    settings.LIVE = {**settings.LIVE, "VIEWERS_PER_MINUTE": 3}
    for n in range(10):
        client = Client()
        client.cookies[COOKIE] = f"v-forged-{n}"
        assert client.get(f"/hearings/{world.hearing.pk}/", secure=True).status_code == 200
    assert selectors.unique_viewers(world.hearing.pk) == 3
    assert selectors.page_views(world.hearing.pk) == 10
    assert not Viewer.objects.filter(viewer__startswith="v-forged").exists()


# --------------------------------------------------------------------------- samples and the peak


def test_the_peak_is_the_largest_sample_and_its_time(world: World) -> None:
    hearing_id = world.hearing.pk
    assert selectors.peak(hearing_id) == (0, None)
    curve = [3, 40, 120, 95, 120, 20]
    for minute, online in enumerate(curve):
        assert services.sample(hearing_id, at=T0 + timedelta(minutes=minute), online=online)
    assert selectors.peak(hearing_id) == (120, T0 + timedelta(minutes=2))  # the first of the tie
    assert max(s.online for s in selectors.samples(hearing_id)) == 120
    # Another process writing the same minute changes nothing: the first sample stands.
    assert not services.sample(hearing_id, at=T0 + timedelta(minutes=1), online=999)
    assert Sample.objects.get(hearing_id=hearing_id, at=T0 + timedelta(minutes=1)).online == 40
    assert selectors.peak(hearing_id) == (120, T0 + timedelta(minutes=2))


def test_a_sample_holds_the_totals_at_its_time(live_world: World) -> None:
    hearing_id = live_world.hearing.pk
    services.page_view(hearing_id, "v-a")
    services.page_view(hearing_id, "v-a")
    hearing_services.like_add(hearing_id=hearing_id, viewer="v-a", question_id=None)
    services.sample(hearing_id, at=T0, online=7, viewers=["v-b", "v-a", ""])
    row = Sample.objects.get(hearing_id=hearing_id, at=T0)
    assert (row.online, row.page_views, row.unique_viewers) == (7, 2, 2)
    assert row.likes == selectors.likes(hearing_id)


def test_period_start_is_the_whole_minute() -> None:
    at = datetime(2026, 3, 5, 9, 7, 42, 500000, tzinfo=UTC)
    assert services.period_start(at.timestamp(), 60) == datetime(2026, 3, 5, 9, 7, tzinfo=UTC)


async def test_the_room_samples_once_a_period_and_calls_the_database_only_then(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Driven with fake online values and periods: one sample per period, whatever the number
    of ticks; no database call on the ticks in between."""
    calls: list[tuple[datetime, int]] = []
    hops: list[str] = []  # every call the room makes off the event loop (the database's)
    real_sample = services.sample
    real_hop = db

    def counting_sample(hearing_id: int, *, at: datetime, online: int, viewers: Any = ()) -> bool:
        calls.append((at, online))
        return real_sample(hearing_id, at=at, online=online, viewers=viewers)

    def counting_hop(func: Any) -> Any:
        hops.append(getattr(func, "__name__", ""))
        return real_hop(func)

    period = [T0]
    monkeypatch.setattr(services, "sample", counting_sample)
    monkeypatch.setattr(live_hub, "database_sync_to_async", counting_hop)
    monkeypatch.setattr(services, "period_start", lambda now, seconds: period[0])
    room = Room(live_hub.get_hub(), live.hearing.pk, {})
    for minute, online in enumerate([5, 50, 30]):
        period[0] = T0 + timedelta(minutes=minute)
        for bump in range(4):  # four ticks in the minute, online changing
            room.online = online + bump
            await room.audience_tick()
    assert calls == [(T0, 5), (T0 + timedelta(minutes=1), 50), (T0 + timedelta(minutes=2), 30)]
    assert len(hops) == 3  # twelve ticks, three database calls: one per period
    assert await db(selectors.peak)(live.hearing.pk) == (50, T0 + timedelta(minutes=1))


# --------------------------------------------------------------------------- stats.json


def test_stats_json_has_exactly_the_protocol_fields(world: World) -> None:
    hearing = world.hearing
    for source in ["public", "public", "deputy", "collected", "moderator"]:
        Question.objects.create(hearing=hearing, text="问题", source=source)
    Question.objects.create(hearing=hearing, text="屏蔽观众的问题", source="public", dropped=True)
    Question.objects.create(hearing=hearing, text="未采用", source="public", status=Question.Status.REJECTED)
    Hearing.objects.filter(pk=hearing.pk).update(likes=11)
    Question.objects.filter(hearing=hearing, source="deputy").update(likes=4)
    services.page_view(hearing.pk, "v-a")
    services.page_view(hearing.pk, None)  # a watch-only load: a page view, no viewer
    services.sample(hearing.pk, at=T0, online=2)
    response = stats(hearing.pk)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "page_views": 2,
        "unique_viewers": 1,
        "peak_online": 2,
        "peak_at": "2026-03-05T09:00:00+00:00",
        "likes": 15,
        "questions": {"public": 3, "deputy": 1, "collected": 1},
    }
    assert datetime.fromisoformat(json.loads(response.content)["peak_at"]) == T0


def test_stats_json_before_anything_happened(world: World) -> None:
    """A draft hearing answers too (its live page is public): zeros and a null peak time."""
    assert world.hearing.status == Hearing.Status.DRAFT
    assert json.loads(stats(world.hearing.pk).content) == {
        "page_views": 0,
        "unique_viewers": 0,
        "peak_online": 0,
        "peak_at": None,
        "likes": 0,
        "questions": {"public": 0, "deputy": 0, "collected": 0},
    }


def test_stats_json_attacks(world: World) -> None:
    """Unknown hearings are 404; only GET; nothing private (no viewer id, no asker, no contact)."""
    assert stats(999999).status_code == 404
    assert Client().get("/hearings/abc/stats.json", secure=True).status_code == 404
    assert Client().post(f"/hearings/{world.hearing.pk}/stats.json", secure=True).status_code == 405
    Question.objects.create(
        hearing=world.hearing, text="秘密问题", source="collected", asker_name="张三", contact="13800000000"
    )
    services.page_view(world.hearing.pk, "v-secret-viewer")
    body = stats(world.hearing.pk).content.decode()
    for private in ["v-secret-viewer", "张三", "13800000000", "秘密问题", "127.0.0.1"]:
        assert private not in body
    assert stats(world.hearing.pk)["Cache-Control"].startswith("max-age=0")


async def test_with_the_database_away_the_room_tries_once_a_period_and_keeps_its_viewers(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    tries: list[set[str]] = []

    def failing_sample(hearing_id: int, *, at: datetime, online: int, viewers: Any = ()) -> bool:
        tries.append(set(viewers))
        raise ConnectionError("database away")

    monkeypatch.setattr(services, "sample", failing_sample)
    monkeypatch.setattr(services, "period_start", lambda now, seconds: T0)
    room = Room(live_hub.get_hub(), live.hearing.pk, {})
    room.seen("v-kept")
    with pytest.raises(ConnectionError):
        await room.audience_tick()
    for _ in range(5):
        await room.audience_tick()  # the same period: no new try, tick after tick
    assert tries == [{"v-kept"}]
    assert room.new_viewers == {"v-kept"}  # written once the database answers
    monkeypatch.undo()
    await room.audience_tick(closing=True)
    assert await db(selectors.unique_viewers)(live.hearing.pk) == 1
