"""A socket closed while its likes and ballots wait in a batch (realtime/batch.py): its consumer
ends only once they are stored, so a process stopping (SIGTERM: uvicorn closes every socket
with 1012 and waits for the consumers, deploy/stack.py restart) loses nothing it took. Bounded:
a batch that hangs does not hold the socket past SETTLE_SECONDS."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from channels.db import database_sync_to_async

from hearings import services
from hearings.models import Like
from realtime import consumers
from realtime.batch import batchers
from tests.factories import World, make_world
from tests.live.helpers import deputy_path, open_socket, public_path
from voting import services as voting_services
from voting.models import Poll, VoteRecord

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
RESTART = 1012  # what uvicorn tells the application about each socket when it stops


def hearing_with_poll() -> tuple[World, Poll, int]:
    world = make_world(status="live", deputies=1)
    voting_services.checkin(hearing_id=world.hearing.pk, deputy=world.deputies[0])
    poll = voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    question = services.question_submit(hearing_id=world.hearing.pk, text="停车难怎么办？", source="public")
    services.question_approve(hearing_id=world.hearing.pk, question_id=question.pk, by=world.moderator)
    return world, poll, question.pk


def frame(action: str, **fields: object) -> str:
    return json.dumps({"action": action, "id": "x1", **fields})


async def test_closing_socket_ends_only_once_its_queued_like_and_ballot_are_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, poll, question = await db(hearing_with_poll)()
    viewer = await open_socket(public_path(world.hearing.pk))
    deputy = await open_socket(deputy_path(world.hearing.pk), user=world.deputies[0])
    # The batches wait for company longer than the sockets take to close.
    monkeypatch.setattr(batchers().likes, "wait", 0.4)
    monkeypatch.setattr(batchers().ballots, "wait", 0.4)
    await viewer.comm.send_to(text_data=frame("like", question=question))
    await deputy.comm.send_to(text_data=frame("vote", poll=poll.pk, choice="满意", ballot=str(uuid.uuid4())))

    started = time.monotonic()
    await viewer.comm.disconnect(code=RESTART, timeout=3)
    await deputy.comm.disconnect(code=RESTART, timeout=3)
    viewer.closed = deputy.closed = True
    waited = time.monotonic() - started
    assert await db(Like.objects.filter(question_id=question).count)() == 1
    assert await db(VoteRecord.objects.filter(poll=poll).count)() == 1
    assert waited >= 0.3  # the consumers waited for their batches


async def test_a_hung_batch_holds_a_closing_socket_no_longer_than_the_settle_bound(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world, _poll, question = await db(hearing_with_poll)()
    viewer = await open_socket(public_path(world.hearing.pk))
    monkeypatch.setattr(consumers, "SETTLE_SECONDS", 0.2)
    monkeypatch.setattr(batchers().likes, "wait", 1.5)
    await viewer.comm.send_to(text_data=frame("like", question=question))

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="realtime.consumers"):
        await viewer.comm.disconnect(code=RESTART, timeout=3)
    viewer.closed = True
    assert time.monotonic() - started < 1.0
    assert "1 actions still queued" in caplog.text
