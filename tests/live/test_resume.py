"""`resume` costs at most about a snapshot and is rate-limited per socket: a 41-byte resume from
seq 0 must not bring back the whole history, nor a loop of them a multiple of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import services
from hearings.models import Hearing
from live.models import LiveEvent
from live.schema import COUNTER_TYPES
from realtime import hub as live_hub
from tests.factories import World, make_world
from tests.live.helpers import Socket, open_socket, public_path

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
COUNTERS = COUNTER_TYPES


def hearing_with_questions() -> World:
    """A live hearing with ten approved questions: a snapshot of a few KB."""
    world = make_world(status="live")
    for n in range(10):
        q = services.question_submit(
            hearing_id=world.hearing.pk, text=f"关于营商环境的第{n}个问题？" * 3, source="public"
        )
        services.question_approve(hearing_id=world.hearing.pk, question_id=q.pk, by=None)
    return world


@pytest.fixture
async def live() -> World:
    return await db(hearing_with_questions)()


def churn(world: World, events: int) -> int:
    """`events` small public state events (questions staged in turn); returns the public seq after."""
    from hearings.models import Question

    questions = list(Question.objects.filter(hearing=world.hearing).order_by("pk"))
    for n in range(events):
        services.question_stage(hearing_id=world.hearing.pk, question_id=questions[n % len(questions)].pk, by=None)
    return int(Hearing.objects.values_list("public_seq", flat=True).get(pk=world.hearing.pk))


def history_chars(hearing_id: int, after: int) -> int:
    frames = LiveEvent.objects.filter(hearing_id=hearing_id, stream="public", seq__gt=after)
    return sum(len(f) for f in frames.values_list("frame", flat=True))


async def drain_to(sock: Socket, seq: int) -> None:
    """Read until the socket has applied `seq`."""
    frame = sock.snapshot
    while frame["seq"] < seq or frame["type"] in COUNTERS:
        frame = await sock.recv_type("question.stage", "snapshot", timeout=10)


async def resume(sock: Socket, seq: int) -> tuple[list[str], dict[str, Any]]:
    """Send `resume` and return the raw state frames that came before its reply, and the reply."""
    sock.n += 1
    client_id = f"r{sock.n}"
    await sock.comm.send_to(text_data=json.dumps({"action": "resume", "id": client_id, "seq": seq}))
    texts: list[str] = []
    while True:
        text = await sock.comm.receive_from(timeout=5)
        frame = json.loads(text)
        if frame["type"] in ("ack", "error") and frame.get("id") == client_id:
            return texts, frame
        if frame["type"] not in COUNTERS:
            texts.append(text)


async def test_resume_from_far_back_gets_a_snapshot_not_the_history(live: World) -> None:
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    final = await db(churn)(live, 80)
    await drain_to(viewer, final)
    history = await db(history_chars)(hid, 0)

    texts, ack = await resume(viewer, 0)
    frames = [json.loads(t) for t in texts]
    assert [f["type"] for f in frames] == ["snapshot"]  # not 80 events
    fresh = await open_socket(public_path(hid))
    snapshot_size = len(json.dumps(fresh.snapshot, ensure_ascii=False, separators=(",", ":")))
    assert sum(len(t) for t in texts) <= snapshot_size * 1.05 < history
    # The client's state after the reply is a fresh snapshot's, at the seq the ack names.
    assert ack["type"] == "ack" and ack["seq"] == frames[0]["seq"] == fresh.snapshot["seq"] == final

    def without_online(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "counters": {**data["counters"], "online": None}}

    assert without_online(frames[0]["data"]) == without_online(fresh.snapshot["data"])
    # And the stream goes on from there, gapless.
    await db(services.agenda_start)(hearing_id=hid, item_id=live.items[0].pk, by=None)
    assert (await viewer.recv_type("agenda.current"))["seq"] == final + 1


async def test_resume_of_a_small_gap_still_gets_the_events(live: World) -> None:
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    final = await db(churn)(live, 80)
    await drain_to(viewer, final)
    texts, ack = await resume(viewer, final - 2)
    frames = [json.loads(t) for t in texts]
    assert [(f["type"], f["seq"]) for f in frames] == [("question.stage", final - 1), ("question.stage", final)]
    assert ack["seq"] == final


async def test_after_a_restart_a_far_resume_is_measured_in_the_history_not_read(
    live: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hid = live.hearing.pk
    final = await db(churn)(live, 80)
    live_hub._hubs.clear()  # a new process: nothing in the ring
    viewer = await open_socket(public_path(hid))
    read: list[tuple[int, int]] = []
    original = live_hub._history

    def recording(hearing_id: int, stream: str, after: int, upto: int) -> list[tuple[int, str]]:
        read.append((after, upto))
        return original(hearing_id, stream, after, upto)

    monkeypatch.setattr(live_hub, "_history", recording)
    texts, ack = await resume(viewer, 0)
    assert [json.loads(t)["type"] for t in texts] == ["snapshot"] and ack["seq"] == final
    assert read == []  # the sizes were compared by one aggregate query, no frame was loaded
    texts, ack = await resume(viewer, final - 2)
    assert [json.loads(t)["seq"] for t in texts] == [final - 1, final] and ack["seq"] == final


async def test_rapid_resumes_are_rate_limited_per_socket(live: World, settings: Any) -> None:
    settings.LIVE = {**settings.LIVE, "RESUME_BURST": 3, "RESUMES_PER_MINUTE": 6}
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    other = await open_socket(public_path(hid))
    seq = viewer.snapshot["seq"]
    replies = [(await resume(viewer, seq))[1] for _ in range(4)]
    assert [r["type"] for r in replies] == ["ack", "ack", "ack", "error"]
    assert replies[-1]["code"] == "rate_limited" and replies[-1]["message"]
    # Validation first: a malformed resume still gets bad_request.
    assert (await viewer.send_raw('{"action": "resume", "id": "x", "seq": -1}'))["code"] == "bad_request"
    # Refused, it changed nothing: the stream goes on from where the socket was.
    await db(services.agenda_start)(hearing_id=hid, item_id=live.items[0].pk, by=None)
    assert (await viewer.recv_type("agenda.current", "snapshot"))["seq"] == seq + 1
    assert (await viewer.action("ping"))["type"] == "ack"
    # The budget is the socket's: another socket (another phone) resumes as usual.
    assert (await resume(other, seq))[1]["type"] == "ack"
