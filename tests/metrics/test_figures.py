"""Each figure of /metrics is there and moves when its thing happens (docs/metrics.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core import metrics
from hearings import services
from realtime.hub import Hub
from tests.factories import World, make_world
from tests.live.helpers import control_path, deputy_path, open_socket, public_path, viewer_cookie
from tests.metrics.helpers import Scrape, scrape
from tests.waiting import wait_until
from voting import services as voting_services

db = database_sync_to_async
sockets = pytest.mark.usefixtures("bounded_teardown")
live_db = pytest.mark.django_db(transaction=True)


async def ascrape() -> Scrape:
    return await db(scrape)()


# --------------------------------------------------------------------------- sockets, events, fan-out


@live_db
@sockets
@pytest.mark.timeout(30)
async def test_sockets_events_fanout_and_snapshots() -> None:
    world: World = await db(make_world)(status="live")
    hid = world.hearing.pk
    before = await ascrape()
    viewer = await open_socket(public_path(hid))
    control = await open_socket(control_path(hid), user=world.moderator)
    opened = await ascrape()
    assert (
        opened.value("wenzheng_sockets_open", endpoint="public")
        == before.value("wenzheng_sockets_open", endpoint="public") + 1
    )
    assert (
        opened.value("wenzheng_sockets_open", endpoint="control")
        == before.value("wenzheng_sockets_open", endpoint="control") + 1
    )
    for stream in ("public", "control"):  # each socket's snapshot was built (none cached yet)
        built = opened.value("wenzheng_snapshot_builds_total", stream=stream)
        assert built >= before.value("wenzheng_snapshot_builds_total", stream=stream) + 1

    ack = await control.action("agenda.start", item=world.items[1].pk)
    assert ack["type"] == "ack", ack
    await viewer.recv_type("agenda.current")
    after = await ascrape()
    published = "wenzheng_events_published_total"
    assert after.value(published, type="agenda.current") == before.value(published, type="agenda.current") + 1
    for stream in ("public", "control"):  # one fan-out per stream, one observation each
        fanouts = after.value("wenzheng_fanout_seconds_count", stream=stream)
        assert fanouts == before.value("wenzheng_fanout_seconds_count", stream=stream) + 1
    assert after.labels(published, "type") <= set(_event_types())

    await viewer.close()
    await control.close()

    async def closed() -> bool:
        now = await ascrape()
        return all(
            now.value("wenzheng_sockets_open", endpoint=e) == before.value("wenzheng_sockets_open", endpoint=e)
            for e in ("public", "control")
        )

    await wait_until(closed, 5, what="the gauge back down")


def _event_types() -> list[str]:
    from live.schema import STATE_EVENT_TYPES

    return list(STATE_EVENT_TYPES)


@live_db
@sockets
@pytest.mark.timeout(30)
async def test_a_refused_socket_counts_until_it_is_gone() -> None:
    before = (await ascrape()).value("wenzheng_sockets_open", endpoint="public")
    sock = await open_socket(public_path(999_999), expect_snapshot=False)
    closing = await sock.comm.receive_output(3)
    assert closing["type"] == "websocket.close" and closing["code"] == 4404
    assert (await ascrape()).value("wenzheng_sockets_open", endpoint="public") == before + 1
    await sock.close()
    assert (await ascrape()).value("wenzheng_sockets_open", endpoint="public") == before


# --------------------------------------------------------------------------- batches


@live_db
@sockets
@pytest.mark.timeout(30)
async def test_likes_and_ballots_are_counted_with_their_batch_sizes() -> None:
    world: World = await db(make_world)(status="live")
    hid = world.hearing.pk
    q = await db(services.question_submit)(hearing_id=hid, text="营商环境怎么改善？", source="public")
    await db(services.question_approve)(hearing_id=hid, question_id=q.pk, by=None)
    poll = await db(voting_services.poll_open)(hearing_id=hid, item_id=world.items[1].pk, by=None)
    before = await ascrape()

    viewers = [await open_socket(public_path(hid), cookies=viewer_cookie()) for _ in range(3)]
    for viewer in viewers:
        assert (await viewer.action("like", question=q.pk))["type"] == "ack"
    deputy = await open_socket(deputy_path(hid), user=world.deputies[0])
    assert (await deputy.action("checkin"))["type"] == "ack"
    voted = await deputy.action("vote", poll=poll.pk, choice="满意", ballot=str(uuid.uuid4()))
    assert voted["type"] == "ack", voted
    after = await ascrape()

    def grew(name: str, kind: str) -> float:
        return after.value(name, kind=kind) - before.value(name, kind=kind)

    assert grew("wenzheng_batched_actions_total", "likes") == 3
    assert grew("wenzheng_batch_size_sum", "likes") == 3  # the sizes add up to the actions
    assert 1 <= grew("wenzheng_batch_size_count", "likes") <= 3
    assert grew("wenzheng_batched_actions_total", "ballots") == 1
    assert grew("wenzheng_batch_size_count", "ballots") == 1
    assert grew("wenzheng_batched_actions_total", "checkins") == 1
    assert grew("wenzheng_batch_failures_total", "likes") == 0
    for sock in [*viewers, deputy]:
        await sock.close()


# --------------------------------------------------------------------------- Redis resubscribes


class FlakyLayer:
    """A channel layer (Redis) that refuses while `down`."""

    def __init__(self) -> None:
        self.down = True

    async def new_channel(self, prefix: str = "") -> str:
        if self.down:
            raise ConnectionError("Redis away")
        return prefix + "x"

    async def group_add(self, group: str, channel: str) -> None:
        if self.down:
            raise ConnectionError("Redis away")

    async def receive(self, channel: str) -> dict[str, Any]:
        raise ConnectionError("not read in this test")


@live_db
async def test_a_subscription_taken_again_is_counted() -> None:
    hub = Hub()
    hub.layer = FlakyLayer()
    resubscribes = metrics.REDIS_RESUBSCRIBES._value.get()
    failures = metrics.REDIS_SUBSCRIBE_FAILURES._value.get()
    assert await hub.subscribe(1) is False
    assert await hub.subscribe(1, retry=True) is False
    hub.layer.down = False
    assert await hub.subscribe(1, retry=True) is True
    if hub.reader is not None:
        hub.reader.cancel()
    assert metrics.REDIS_SUBSCRIBE_FAILURES._value.get() == failures + 2
    assert metrics.REDIS_RESUBSCRIBES._value.get() == resubscribes + 1
    figures = await db(scrape)()
    assert figures.value("wenzheng_redis_resubscribes_total") == resubscribes + 1


# --------------------------------------------------------------------------- HTTP


@pytest.mark.django_db
def test_http_requests_are_timed_by_route_never_by_path() -> None:
    world = make_world()
    name = "wenzheng_http_request_duration_seconds_count"
    before = scrape()
    client = Client()
    assert client.get("/healthz", secure=True).status_code == 200
    assert client.get(f"/hearings/{world.hearing.pk}/", secure=True).status_code == 200
    assert client.get("/hearings/987654321/", secure=True).status_code == 404
    assert client.get("/no/such/page/", secure=True).status_code == 404
    assert client.generic("BREW", "/healthz", secure=True).status_code == 200
    after = scrape()

    def grew(**labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert grew(route="healthz", method="GET", status="2xx") == 1
    assert grew(route="healthz", method="OTHER", status="2xx") == 1  # methods a client invents: one label
    hearing_routes = {r for r in after.labels(name, "route") if r.startswith("hearings/<")}
    assert any(grew(route=r, status="2xx") == 1 and grew(route=r, status="4xx") == 1 for r in hearing_routes)
    assert grew(route="<unmatched>", status="4xx") == 1
    assert "987654321" not in after.text and "no/such" not in after.text  # no path becomes a label
    assert after.labels(name, "method") <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}


# --------------------------------------------------------------------------- the task queue


def _task(status: str, **fields: Any) -> DBTaskResult[Any, Any]:
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="outbound.tasks.deliver",
        backend_name="default",
        run_after=fields.pop("run_after", timezone.now()),
        **fields,
    )


@pytest.mark.django_db
def test_the_task_queue_is_read_at_scrape_time() -> None:
    empty = scrape()
    assert empty.value("wenzheng_task_queue_depth") == 0
    assert empty.value("wenzheng_tasks", status="FAILED") == 0
    now = timezone.now()
    waiting = _task(TaskResultStatus.READY, run_after=now - timedelta(minutes=10))
    DBTaskResult.objects.filter(pk=waiting.pk).update(enqueued_at=now - timedelta(minutes=10))
    # A retry enqueued an hour ago, due two minutes ago: it has waited two minutes, not an hour.
    retry = _task(TaskResultStatus.READY, run_after=now - timedelta(minutes=2))
    DBTaskResult.objects.filter(pk=retry.pk).update(enqueued_at=now - timedelta(hours=1))
    _task(TaskResultStatus.READY, run_after=now + timedelta(hours=1))  # not due yet
    _task(TaskResultStatus.FAILED)
    _task(TaskResultStatus.FAILED)
    _task(TaskResultStatus.SUCCESSFUL)
    figures = scrape()
    assert figures.value("wenzheng_tasks", status="READY") == 3
    assert figures.value("wenzheng_tasks", status="FAILED") == 2
    assert figures.value("wenzheng_tasks", status="SUCCESSFUL") == 1
    assert figures.value("wenzheng_tasks", status="RUNNING") == 0
    assert figures.value("wenzheng_task_queue_depth") == 2
    assert 600 <= figures.value("wenzheng_task_oldest_due_seconds") < 1200
