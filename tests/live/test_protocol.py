"""The WebSocket protocol of PROTOCOL.md, action by action and error code by error code."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from hearings import services
from hearings.models import Hearing, Question
from live.viewer import COOKIE
from tests.factories import World, make_world
from tests.live.helpers import control_path, deputy_path, open_socket, public_path, viewer_cookie
from tests.voting.helpers import stored_total
from voting import services as voting_services

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async


@pytest.fixture
async def live() -> World:
    return await db(make_world)(status="live")


@pytest.fixture
async def draft() -> World:
    return await db(make_world)()


async def approved_question(world: World, text: str = "营商环境怎么改善？") -> Question:
    q = await db(services.question_submit)(hearing_id=world.hearing.pk, text=text, source="public")
    return await db(services.question_approve)(hearing_id=world.hearing.pk, question_id=q.pk, by=None)


# --------------------------------------------------------------------------- connecting


async def test_snapshot_is_first_frame_with_public_view(live: World) -> None:
    q = await approved_question(live)
    await db(services.question_submit)(hearing_id=live.hearing.pk, text="待审核的问题", source="public")
    sock = await open_socket(public_path(live.hearing.pk))
    data = sock.snapshot["data"]
    assert data["hearing"] == {**data["hearing"], "id": live.hearing.pk, "status": "live"}
    assert [item["id"] for item in data["agenda"]] == [item.pk for item in live.items]
    assert [question["id"] for question in data["questions"]] == [q.pk]
    assert data["polls"] == [] and data["current_item"] is None and data["on_stage"] is None
    assert set(data["counters"]) == {"online", "likes"}
    assert sock.snapshot["seq"] == (await db(Hearing.objects.get)(pk=live.hearing.pk)).public_seq
    await sock.close()


async def test_control_snapshot_has_pending_questions_and_control_seq(live: World) -> None:
    q = await db(services.question_submit)(hearing_id=live.hearing.pk, text="待审核的问题", source="public")
    sock = await open_socket(control_path(live.hearing.pk), user=live.moderator)
    assert [x["id"] for x in sock.snapshot["data"]["questions"]] == [q.pk]
    hearing = await db(Hearing.objects.get)(pk=live.hearing.pk)
    assert sock.snapshot["seq"] == hearing.control_seq != hearing.public_seq
    await sock.close()


async def test_unknown_hearing_closes_4404() -> None:
    sock = await open_socket(public_path(999_999), expect_snapshot=False)
    assert (await sock.comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4404}


@pytest.mark.parametrize("who", ["anonymous", "deputy", "other_moderator"])
async def test_control_socket_refuses_non_moderators_4403(live: World, who: str) -> None:
    user = {"anonymous": None, "deputy": live.deputies[0], "other_moderator": live.other_moderator}[who]
    sock = await open_socket(control_path(live.hearing.pk), user=user, expect_snapshot=False)
    assert (await sock.comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("who", ["anonymous", "moderator"])
async def test_deputy_socket_refuses_non_deputies_4403(live: World, who: str) -> None:
    user = None if who == "anonymous" else live.moderator
    sock = await open_socket(deputy_path(live.hearing.pk), user=user, expect_snapshot=False)
    assert (await sock.comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4403}


async def test_deputy_snapshot_adds_me(live: World) -> None:
    sock = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    me = sock.snapshot["data"]["me"]
    assert me["checked_in"] is False and me["voted"] == []
    ack = await sock.action("checkin")
    assert ack == {"type": "ack", "id": "c1", "duplicate": False}
    assert (await sock.action("checkin"))["duplicate"] is True
    await sock.close()
    again = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    assert again.snapshot["data"]["me"]["checked_in"] is True
    await again.close()


async def test_foreign_origin_is_refused(live: World) -> None:
    sock = await open_socket(public_path(live.hearing.pk), origin=b"https://evil.example", expect_snapshot=False)
    assert sock.connected is False


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('"ping"', "bad_request"),
        ('{"id": "x"}', "bad_request"),
        ('{"action": 5, "id": "x"}', "bad_request"),
        ('{"action": "ping"}', "bad_request"),
        ('{"action": "ping", "id": 7}', "bad_request"),
        ('{"action": "like", "id": "x", "question": "12"}', "bad_request"),
        ('{"action": "like", "id": "x", "question": true}', "bad_request"),
        ('{"action": "like", "id": "x"}', "bad_request"),
        ('{"action": "like", "id": "x", "question": 1, "hearing": true}', "bad_request"),
        ('{"action": "resume", "id": "x", "seq": -1}', "bad_request"),
        ('{"action": "ask", "id": "x", "text": null}', "bad_request"),
        ('{"action": "nope", "id": "x"}', "unknown_action"),
        ('{"action": "__init__", "id": "x"}', "unknown_action"),
    ],
)
async def test_malformed_frames_get_their_code_and_keep_the_connection(live: World, frame: str, code: str) -> None:
    sock = await open_socket(public_path(live.hearing.pk))
    reply = await sock.send_raw(frame)
    assert reply["type"] == "error" and reply["code"] == code, reply
    assert reply["message"]
    assert (await sock.action("ping"))["type"] == "ack"
    await sock.close()


async def test_error_echoes_client_id(live: World) -> None:
    sock = await open_socket(public_path(live.hearing.pk))
    reply = await sock.send_raw('{"action": "like", "id": "abc", "question": "1"}')
    assert reply["id"] == "abc"
    await sock.close()


async def test_binary_frame_is_bad_request(live: World) -> None:
    sock = await open_socket(public_path(live.hearing.pk))
    reply = await sock.send_raw(data=b"\x00\x01")
    assert reply["code"] == "bad_request"
    await sock.close()


async def test_too_large_frame_is_refused_and_connection_kept(live: World) -> None:
    sock = await open_socket(public_path(live.hearing.pk))
    text = json.dumps({"action": "ask", "id": "big", "text": "问" * 6000})  # > 16 KiB in UTF-8
    reply = await sock.send_raw(text)
    assert reply["code"] == "too_large"
    assert (await sock.action("ping"))["type"] == "ack"
    assert await db(Question.objects.count)() == 0
    await sock.close()


@pytest.mark.parametrize(
    ("endpoint", "action", "fields"),
    [
        ("public", "agenda.start", {"item": 1}),
        ("public", "vote", {"poll": 1, "choice": "满意", "ballot": str(uuid.uuid4())}),
        ("public", "checkin", {}),
        ("public", "poll.close", {"poll": 1}),
        ("deputy", "like", {"question": 1}),
        ("deputy", "hearing.end", {}),
        ("deputy", "question.approve", {"question": 1}),
        ("control", "vote", {"poll": 1, "choice": "满意", "ballot": str(uuid.uuid4())}),
    ],
)
async def test_action_not_allowed_on_endpoint_is_forbidden(
    live: World, endpoint: str, action: str, fields: dict[str, Any]
) -> None:
    path, user = {
        "public": (public_path(live.hearing.pk), None),
        "deputy": (deputy_path(live.hearing.pk), live.deputies[0]),
        "control": (control_path(live.hearing.pk), live.moderator),
    }[endpoint]
    sock = await open_socket(path, user=user)
    reply = await sock.action(action, **fields)
    assert reply["type"] == "error" and reply["code"] == "forbidden", reply
    await sock.close()


# --------------------------------------------------------------------------- control actions


async def test_control_actions_and_their_events(draft: World) -> None:
    hid = draft.hearing.pk
    viewer = await open_socket(public_path(hid))
    control = await open_socket(control_path(hid), user=draft.moderator)
    seq = viewer.snapshot["seq"]

    async def expect(event_type: str) -> dict[str, Any]:
        nonlocal seq
        frame = await viewer.recv_type(event_type)
        seq += 1
        assert frame["seq"] == seq
        return frame

    assert (await control.action("agenda.start", item=draft.items[0].pk))["code"] == "invalid_state"
    assert (await control.action("hearing.start"))["type"] == "ack"
    assert (await expect("hearing.status"))["data"] == {"status": "live"}
    assert (await control.action("hearing.start"))["code"] == "invalid_state"
    assert (await control.action("agenda.start", item=draft.items[1].pk))["type"] == "ack"
    assert (await expect("agenda.current"))["data"]["item"] == draft.items[1].pk
    assert (await control.action("agenda.start", item=999_999))["code"] == "not_found"

    asked = await viewer.action("ask", text="  企业开办还要跑几次？ ", name="张女士")
    assert asked["type"] == "ack" and asked["status"] == "pending"
    qid = asked["question"]
    pending = await control.recv_type("question.new")
    assert pending["data"]["question"]["status"] == "pending"
    assert pending["data"]["question"]["text"] == "企业开办还要跑几次？"
    assert (await control.action("question.approve", question=qid))["type"] == "ack"
    new = await expect("question.new")
    assert new["data"]["question"]["asker"] == "张女士"
    assert (await control.action("question.approve", question=qid))["code"] == "invalid_state"
    assert (await control.action("question.stage", question=qid))["type"] == "ack"
    assert (await expect("question.stage"))["data"] == {"question": qid, "previous": None}
    ack = await control.action("question.answered", question=qid, commitment="一个月内上线一网通办")
    assert ack["type"] == "ack"
    answered = await expect("question.updated")
    assert answered["data"]["question"]["status"] == "answered"
    assert answered["data"]["question"]["commitment"] == "一个月内上线一网通办"
    assert (await expect("question.stage"))["data"] == {"question": None, "previous": qid}

    rejected = await viewer.action("ask", text="广告")
    assert (await control.action("question.reject", question=rejected["question"]))["type"] == "ack"
    assert (await control.action("question.reject", question=rejected["question"]))["code"] == "invalid_state"

    opened = await control.action("poll.open", item=draft.items[1].pk)
    assert opened["type"] == "ack" and isinstance(opened["poll"], int)
    poll = (await expect("poll.opened"))["data"]["poll"]
    assert poll["status"] == "open" and poll["results"] is None and poll["choices"] == ["满意", "基本满意", "不满意"]
    assert (await control.action("poll.open", item=draft.items[2].pk))["code"] == "invalid_state"
    assert (await control.action("poll.publish", poll=poll["id"]))["code"] == "invalid_state"
    assert (await control.action("poll.close", poll=poll["id"]))["type"] == "ack"
    assert (await expect("poll.closed"))["data"]["poll"]["results"] is None
    assert (await control.action("poll.publish", poll=poll["id"]))["type"] == "ack"
    published = (await expect("poll.published"))["data"]["poll"]
    assert published["results"] == {"满意": 0, "基本满意": 0, "不满意": 0}
    assert (await control.action("poll.close", poll=999_999))["code"] == "not_found"

    assert (await control.action("hearing.end"))["type"] == "ack"
    assert (await expect("agenda.current"))["data"]["item"] is None
    assert (await expect("hearing.status"))["data"] == {"status": "ended"}
    assert (await control.action("agenda.start", item=draft.items[2].pk))["code"] == "invalid_state"
    assert (await viewer.action("ask", text="还能问吗"))["code"] == "invalid_state"
    await viewer.close()
    await control.close()


async def test_edit_and_merge_from_control(live: World) -> None:
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid), cookies=viewer_cookie("v-merge"))
    control = await open_socket(control_path(hid), user=live.moderator)
    a = await approved_question(live, "重复问题甲")
    b = await approved_question(live, "重复问题乙")
    assert (await viewer.action("like", question=b.pk))["likes"] == 1
    assert (await control.action("question.edit", question=a.pk, text="修正后的问题甲"))["type"] == "ack"
    edited = await viewer.recv_type("question.updated")
    assert edited["data"]["question"]["text"] == "修正后的问题甲"
    assert (await control.action("question.merge", question=b.pk, into=a.pk))["type"] == "ack"
    removed = await viewer.recv_type("question.removed")
    assert removed["data"] == {"question": b.pk, "merged_into": a.pk}
    assert (await db(Question.objects.get)(pk=a.pk)).likes == 1
    await viewer.close()
    await control.close()


# --------------------------------------------------------------------------- deputy actions


async def test_deputy_vote_errors_and_duplicate(live: World) -> None:
    hid = live.hearing.pk
    poll = await db(voting_services.poll_open)(hearing_id=hid, item_id=live.items[1].pk, by=None)
    sock = await open_socket(deputy_path(hid), user=live.deputies[0])
    ballot = str(uuid.uuid4())
    assert (await sock.action("vote", poll=poll.pk, choice="满意", ballot=ballot))["code"] == "not_eligible"
    await sock.action("checkin")
    assert (await sock.action("vote", poll=poll.pk, choice="非常好", ballot=ballot))["code"] == "bad_request"
    assert (await sock.action("vote", poll=poll.pk, choice="满意", ballot="not-a-uuid"))["code"] == "bad_request"
    ok = await sock.action("vote", poll=poll.pk, choice="满意", ballot=ballot)
    assert ok == {"type": "ack", "id": ok["id"], "poll": poll.pk, "duplicate": False}
    assert (await sock.action("vote", poll=poll.pk, choice="满意", ballot=ballot))["duplicate"] is True
    other = str(uuid.uuid4())
    assert (await sock.action("vote", poll=poll.pk, choice="不满意", ballot=other))["code"] == "already_voted"
    assert (await sock.action("vote", poll=999_999, choice="满意", ballot=other))["code"] == "not_found"
    second = await open_socket(deputy_path(hid), user=live.deputies[1])
    await second.action("checkin")
    await db(voting_services.poll_close)(hearing_id=hid, poll_id=poll.pk, by=None)
    late = await second.action("vote", poll=poll.pk, choice="满意", ballot=str(uuid.uuid4()))
    assert late["code"] == "poll_closed"
    assert await db(stored_total)(poll) == 1
    await sock.close()
    await second.close()


async def test_deputy_asks_a_follow_up(live: World) -> None:
    parent = await approved_question(live)
    viewer = await open_socket(public_path(live.hearing.pk))
    sock = await open_socket(deputy_path(live.hearing.pk), user=live.deputies[0])
    ack = await sock.action("ask", text="追问：具体时间表？", parent=parent.pk)
    assert ack["status"] == "approved"
    new = (await viewer.recv_type("question.new"))["data"]["question"]
    assert new["parent"] == parent.pk and new["source"] == "deputy"
    await viewer.close()
    await sock.close()


# --------------------------------------------------------------------------- public: likes, asks, limits


async def test_like_dedupe_per_viewer_across_sockets(live: World) -> None:
    q = await approved_question(live)
    one = await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie("v-1"))
    two = await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie("v-1"))
    assert (await one.action("like", question=q.pk)) == {"type": "ack", "id": "c1", "duplicate": False, "likes": 1}
    assert (await two.action("like", question=q.pk))["duplicate"] is True
    assert (await two.action("like", hearing=True))["duplicate"] is False
    assert (await one.action("like", hearing=True))["duplicate"] is True
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 1
    assert (await db(Hearing.objects.get)(pk=live.hearing.pk)).likes == 1
    assert (await one.action("like", question=999_999))["code"] == "not_found"
    await one.close()
    await two.close()


async def test_forged_viewer_cookie_is_ignored(live: World) -> None:
    q = await approved_question(live)
    one = await open_socket(public_path(live.hearing.pk), cookies=f"{COOKIE}=v-forged:bad-signature")
    assert one.snapshot["data"]["hearing"]["id"] == live.hearing.pk  # it may watch
    assert (await one.action("like", question=q.pk))["code"] == "forbidden"
    assert (await one.action("ask", text="伪造的身份能提问吗？"))["code"] == "forbidden"
    assert (await db(Question.objects.get)(pk=q.pk)).likes == 0
    assert await db(Question.objects.count)() == 1
    await one.close()


async def test_like_rate_limit_and_validation_first(live: World) -> None:
    questions = [await approved_question(live, f"问题{n}") for n in range(12)]
    sock = await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie("v-fast"))
    for n, q in enumerate(questions):  # a burst: all twelve before any reply
        await sock.comm.send_to(text_data=json.dumps({"action": "like", "id": f"l{n}", "question": q.pk}))
    replies: dict[str, dict[str, Any]] = {}
    while len(replies) < len(questions):
        frame = await sock.recv_type("ack", "error")
        replies[frame["id"]] = frame
    assert [replies[f"l{n}"]["type"] for n in range(10)] == ["ack"] * 10
    assert {replies["l10"]["code"], replies["l11"]["code"]} == {"rate_limited"}
    assert (await sock.send_raw('{"action": "like", "id": "m", "question": "x"}'))["code"] == "bad_request"
    assert sum([(await db(Question.objects.get)(pk=q.pk)).likes for q in questions]) == 10
    await sock.close()


async def test_ask_rate_limit(live: World) -> None:
    sock = await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie("v-asker"))
    replies = [await sock.action("ask", text=f"问题{n}") for n in range(4)]
    assert [r["type"] for r in replies[:3]] == ["ack"] * 3
    assert replies[3]["code"] == "rate_limited"
    assert (await sock.action("ask", text=""))["code"] == "bad_request"  # validation is not rate limited
    assert await db(Question.objects.count)() == 3
    await sock.close()


@pytest.mark.parametrize("text", ["", "   ", "问" * 501])
async def test_ask_text_length(live: World, text: str) -> None:
    sock = await open_socket(public_path(live.hearing.pk))
    assert (await sock.action("ask", text=text))["code"] == "bad_request"
    assert await db(Question.objects.count)() == 0
    await sock.close()


async def test_pending_text_never_reaches_a_public_socket(live: World) -> None:
    hid = live.hearing.pk
    secret = "绝密待审核内容-7f3a"
    viewer = await open_socket(public_path(hid))
    deputy = await open_socket(deputy_path(hid), user=live.deputies[0])
    control = await open_socket(control_path(hid), user=live.moderator)
    asked = await viewer.action("ask", text=secret)
    frames: list[str] = [json.dumps(viewer.seen, ensure_ascii=False)]
    assert secret in json.dumps(await control.recv_type("question.new"), ensure_ascii=False)
    await control.action("question.reject", question=asked["question"])
    await control.action("agenda.start", item=live.items[1].pk)  # an event the public does see
    for sock in (viewer, deputy):
        while True:
            frame = await sock.recv()
            frames.append(json.dumps(frame, ensure_ascii=False))
            if frame["type"] == "agenda.current":
                break
    again = await open_socket(public_path(hid))
    frames.append(json.dumps(again.snapshot, ensure_ascii=False))
    frames.append(json.dumps(await again.action("resume", seq=0), ensure_ascii=False))
    frames.extend(json.dumps(f, ensure_ascii=False) for f in again.seen)
    escaped = json.dumps(secret)[1:-1]
    assert all(secret not in frame and escaped not in frame for frame in frames)
    assert all(str(asked["question"]) not in json.dumps(f.get("data", {}).get("questions", {})) for f in again.seen)
    for sock in (viewer, deputy, control, again):
        await sock.close()


# --------------------------------------------------------------------------- seq and resume


async def test_seq_rises_by_one_per_state_event_on_each_stream(live: World) -> None:
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    control = await open_socket(control_path(hid), user=live.moderator)
    await db(services.question_submit)(hearing_id=hid, text="待审核", source="public")  # control only
    await db(services.agenda_start)(hearing_id=hid, item_id=live.items[0].pk, by=None)
    await db(services.agenda_start)(hearing_id=hid, item_id=live.items[1].pk, by=None)
    public_seqs = [(await viewer.recv_type("agenda.current"))["seq"] for _ in range(2)]
    assert public_seqs == [viewer.snapshot["seq"] + 1, viewer.snapshot["seq"] + 2]
    control_frames = [await control.recv_type("question.new", "agenda.current") for _ in range(3)]
    assert [f["seq"] for f in control_frames] == [control.snapshot["seq"] + n for n in (1, 2, 3)]
    await viewer.close()
    await control.close()


async def test_resume_after_gap_replays_missed_events_in_order(live: World) -> None:
    hid = live.hearing.pk
    # Questions on the floor, as in any real session: the snapshot outweighs the two missed
    # events (a resume whose events would weigh more gets a snapshot: tests/live/test_resume.py).
    for n in range(8):
        await approved_question(live, f"第{n}个问题：" + "营商环境怎么改善？" * 10)
    viewer = await open_socket(public_path(hid))
    base = viewer.snapshot["seq"]
    for item in live.items[:3]:
        await db(services.agenda_start)(hearing_id=hid, item_id=item.pk, by=None)
    got = [await viewer.recv_type("agenda.current") for _ in range(3)]
    assert [f["seq"] for f in got] == [base + 1, base + 2, base + 3]
    # The client lost base+2 and base+3: it resumes from base+1.
    ack = await viewer.action("resume", seq=base + 1)
    replayed = [f for f in viewer.seen if f["type"] == "agenda.current"]
    assert [f["seq"] for f in replayed] == [base + 2, base + 3]
    assert [f["data"]["item"] for f in replayed] == [live.items[1].pk, live.items[2].pk]
    assert ack["type"] == "ack" and ack["seq"] == base + 3
    # Up to date: only the ack.
    assert (await viewer.action("resume", seq=base + 3))["type"] == "ack"
    assert [f for f in viewer.seen if f["type"] not in ("likes", "presence", "attendance")] == []
    await viewer.close()


async def test_resume_from_the_future_or_too_far_back_gets_a_snapshot(live: World, settings: Any) -> None:
    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    await viewer.action("resume", seq=viewer.snapshot["seq"] + 50)
    assert [f["type"] for f in viewer.seen if f["type"] == "snapshot"] == ["snapshot"]
    await viewer.close()


async def test_seq_and_history_survive_a_restart(live: World) -> None:
    from realtime import hub as live_hub

    hid = live.hearing.pk
    for n in range(8):  # a snapshot heavier than the two events to replay (see the test above)
        await approved_question(live, f"第{n}个问题：" + "营商环境怎么改善？" * 10)
    first = await open_socket(public_path(hid))
    for item in live.items[:2]:
        await db(services.agenda_start)(hearing_id=hid, item_id=item.pk, by=None)
    await first.recv_type("agenda.current")
    last: int = (await first.recv_type("agenda.current"))["seq"]
    await first.close()
    live_hub._hubs.clear()  # a new process: no hub, no in-memory ring
    second = await open_socket(public_path(hid))
    assert second.snapshot["seq"] == last
    await second.action("resume", seq=last - 2)
    assert [f["seq"] for f in second.seen if f["type"] == "agenda.current"] == [last - 1, last]
    await second.close()


async def test_hub_fills_a_gap_from_history(live: World) -> None:
    """An event whose broadcast was lost (e.g. Redis restarted) still reaches every socket in order."""
    from live import publish as live_publish

    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    base = viewer.snapshot["seq"]
    original = live_publish.broadcast
    live_publish.broadcast = lambda hearing_id, frames: None  # lose the first broadcast
    try:
        await db(services.agenda_start)(hearing_id=hid, item_id=live.items[0].pk, by=None)
    finally:
        live_publish.broadcast = original
    await db(services.agenda_start)(hearing_id=hid, item_id=live.items[1].pk, by=None)
    frames = [await viewer.recv_type("agenda.current") for _ in range(2)]
    assert [f["seq"] for f in frames] == [base + 1, base + 2]
    await viewer.close()


async def test_lost_broadcast_without_a_follow_up_arrives_by_the_tick(live: World) -> None:
    from live import publish as live_publish

    hid = live.hearing.pk
    viewer = await open_socket(public_path(hid))
    original = live_publish.broadcast
    live_publish.broadcast = lambda hearing_id, frames: None
    try:
        await db(services.agenda_start)(hearing_id=hid, item_id=live.items[0].pk, by=None)
    finally:
        live_publish.broadcast = original
    frame = await viewer.recv_type("agenda.current", timeout=3)
    assert frame["seq"] == viewer.snapshot["seq"] + 1
    await viewer.close()


# --------------------------------------------------------------------------- counters


async def test_likes_and_presence_are_coalesced_counter_frames(live: World) -> None:
    q = await approved_question(live)
    watcher = await open_socket(public_path(live.hearing.pk))
    likers = [await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie(f"v{n}")) for n in range(20)]
    await asyncio.gather(*(s.action("like", question=q.pk) for s in likers))
    deadline = asyncio.get_running_loop().time() + 3
    likes_frames: list[dict[str, Any]] = []
    presence = None
    while asyncio.get_running_loop().time() < deadline:
        frame = await watcher.poll(0.5)
        if frame is None:
            break
        if frame["type"] == "likes":
            likes_frames.append(frame)
        if frame["type"] == "presence":
            presence = frame
    assert likes_frames and likes_frames[-1]["data"]["questions"][str(q.pk)] == 20
    assert len(likes_frames) <= 4  # 20 likes → a couple of frames, not 20
    assert all(f["seq"] == watcher.snapshot["seq"] for f in likes_frames)
    assert presence is not None and presence["data"]["online"] == 21
    for s in [watcher, *likers]:
        await s.close()


async def test_exact_counts_after_1000_concurrent_likes(live: World) -> None:
    questions = [await approved_question(live, f"问题{n}") for n in range(3)]
    # Bounds for a loaded machine (a slow tick or connect is not a failure); each wait is on its
    # condition, so a passing run takes no longer.
    sockets = [
        await open_socket(public_path(live.hearing.pk), cookies=viewer_cookie(f"crowd{n}"), timeout=30)
        for n in range(250)
    ]
    targets: list[dict[str, Any]] = [{"hearing": True}, *({"question": q.pk} for q in questions)]

    async def like_all(sock: Any) -> list[dict[str, Any]]:
        # Pipelined: all four frames go out before the first ack comes back.
        for n, target in enumerate(targets):
            await sock.comm.send_to(text_data=json.dumps({"action": "like", "id": f"l{n}", **target}))
        acks: list[dict[str, Any]] = []
        while len(acks) < len(targets):
            frame = await sock.recv(timeout=60)
            if frame["type"] in ("ack", "error"):
                acks.append(frame)
        return acks

    replies = [r for acks in await asyncio.gather(*(like_all(s) for s in sockets)) for r in acks]
    assert len(replies) == 1000 and all(r["type"] == "ack" and not r["duplicate"] for r in replies)
    assert [(await db(Question.objects.get)(pk=q.pk)).likes for q in questions] == [250, 250, 250]
    assert (await db(Hearing.objects.get)(pk=live.hearing.pk)).likes == 250
    expected = {"questions": {str(q.pk): 250 for q in questions}, "hearing": 250}
    async with asyncio.timeout(60):  # counter frames converge on the exact totals
        while (await sockets[0].recv_type("likes", timeout=60))["data"] != expected:
            pass
    for s in sockets:
        await s.close()
