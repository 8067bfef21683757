"""Events against snapshots, in the manner of Zulip's verify_action: for every change a service
makes, a client that applies what its socket receives to the snapshot it had must hold the
snapshot it would get by connecting afresh.

Each case sets a hearing up, then for both streams (public and control) takes the snapshot
(realtime/snapshot.py), performs one change through the services, and collects what a socket
of the stream receives: the published frames delivered through a real hub Room (realtime/hub.py),
followed by the counter frames of its next tick (likes, presence, poll.progress). Then:

- `apply_event` below, a line-for-line Python copy of static/live/state.js, applies them to the
  old snapshot and must give the fresh one (test_python_reducer_agrees);
- the real static/live/state.js does the same under Node (tests/live/state_harness.mjs) and must
  give the fresh one too (test_state_js_agrees).

Both compare whole states, list order included: a page shows the lists in the order it holds them.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from chamber import services as chamber_services
from hearings import services
from hearings.models import Hearing, Person, Question
from live import publish as live_publish
from live.schema import COUNTER_TYPES, STATE_EVENT_TYPES, Stream, snapshot_frame
from realtime import hub as live_hub
from realtime import snapshot
from realtime.presence import LocalPresence
from tests.factories import World, make_user, make_world
from voting import services as voting_services

pytestmark = pytest.mark.django_db

HARNESS = Path(__file__).with_name("state_harness.mjs")
STREAMS = (Stream.PUBLIC, Stream.CONTROL)
AUDIENCE = {Stream.PUBLIC: "public", Stream.CONTROL: "control"}
Json = dict[str, Any]
Change = Callable[[live_hub.Room], object]  # one change; gets the hearing's hub room


# --------------------------------------------------------------------------- the reducer
# A copy of static/live/state.js (fromSnapshot, applyEvent, applyCounter) and of how
# static/live/live.js dispatches a frame. Keep them in step: test_state_js_agrees runs the
# original on the same cases.

COUNTERS = set(COUNTER_TYPES)
PUBLIC_STATUSES = {"approved", "on_stage", "answered"}


def from_snapshot(data: Json) -> Json:
    state = data
    for q in state["questions"]:
        likes = (state.get("question_likes") or {}).get(str(q["id"]))
        if likes is not None:
            q["likes"] = likes
    return state


def _upsert(items: list[Json], item: Json) -> None:
    """Replace the entry with the same id, else insert it in id order (the snapshot's order)."""
    for i, x in enumerate(items):
        if x["id"] == item["id"]:
            items[i] = item
            return
    at = next((i for i, x in enumerate(items) if x["id"] > item["id"]), len(items))
    items.insert(at, item)


def _apply_state_event(state: Json, type_: str, data: Json, audience: str) -> None:
    if type_ == "hearing.status":
        state["hearing"]["status"] = data["status"]
    elif type_ == "hearing.updated":
        state["hearing"] = data["hearing"]
    elif type_ == "agenda.current":
        state["agenda"] = data["agenda"]
        state["current_item"] = data["item"]
    elif type_ == "agenda.updated":
        state["agenda"] = data["agenda"]
        state["current_item"] = next((i["id"] for i in data["agenda"] if i["status"] == "current"), None)
    elif type_ in ("question.new", "question.updated"):
        q = data["question"]
        if audience == "public" and q["status"] not in PUBLIC_STATUSES:
            state["questions"] = [x for x in state["questions"] if x["id"] != q["id"]]
        else:
            _upsert(state["questions"], q)
    elif type_ == "question.stage":
        for q in state["questions"]:
            if q["id"] == data["question"]:
                q["status"] = "on_stage"
            elif q["id"] == data.get("previous") and q["status"] == "on_stage":
                q["status"] = "approved"
        state["on_stage"] = data["question"]
    elif type_ == "question.removed":
        state["questions"] = [x for x in state["questions"] if x["id"] != data["question"]]
    elif type_ in ("poll.opened", "poll.closed", "poll.published"):
        _upsert(state["polls"], data["poll"])
    # Any other type changes nothing (a newer server's event).


def _apply_counter(state: Json, type_: str, data: Json) -> None:
    if type_ == "presence":
        state["counters"]["online"] = data["online"]
    elif type_ == "likes":
        state["counters"]["likes"] = data["hearing"]
        for q in state["questions"]:
            n = data["questions"].get(str(q["id"]))
            if n is not None:
                q["likes"] = n
    elif type_ == "poll.progress":
        poll = next((p for p in state["polls"] if p["id"] == data["poll"]), None)
        if poll is not None:
            poll["cast"] = data["cast"]
            poll["eligible"] = data["eligible"]
    elif type_ == "attendance":
        state["attendance"] = data
        if state.get("me"):
            state["me"]["eligible"] = data["checked_in"]


def apply_event(state: Json, frame: Json, audience: str = "public") -> Json:
    """The state after one frame, as a page holds it."""
    type_, data = frame["type"], frame["data"]
    if type_ == "snapshot":
        return from_snapshot(copy.deepcopy(data))
    if type_ in COUNTERS:
        _apply_counter(state, type_, data)
    else:
        _apply_state_event(state, type_, data, audience)
    return state


# --------------------------------------------------------------------------- one change, observed


class _Socket:
    """What the hub sees of a connected consumer; keeps every frame it is sent."""

    priority = False

    def __init__(self, stream: Stream, seq: int) -> None:
        self.stream = stream
        self.sent_seq = seq
        self.frames: list[Json] = []

    async def send_message(self, message: dict[str, Any]) -> None:
        self.frames.append(json.loads(message["text"]))


class _Hub:
    presence = LocalPresence()


def _snapshot(hearing_id: int, stream: Stream, online: int) -> tuple[int, Json]:
    seq, built = snapshot.build(hearing_id, stream, online=online)
    frame = json.loads(snapshot_frame(seq, built))  # what a socket receives, as text
    return frame["seq"], frame["data"]


@dataclass
class Observed:
    """One stream's view of a change."""

    audience: str
    before_seq: int
    before: Json
    frames: list[Json]
    after_seq: int
    after: Json

    def case(self) -> Json:
        return {"audience": self.audience, "snapshot": self.before, "frames": self.frames}


def observe(hearing_id: int, change: Change, monkeypatch: pytest.MonkeyPatch) -> dict[Stream, Observed]:
    """Snapshots before and after `change`, and what each stream's socket received for it."""
    # The hub reads through channels' database_sync_to_async, which closes the connection of a
    # test's transaction; plain sync_to_async runs the same reads on this thread's connection.
    monkeypatch.setattr(live_hub, "database_sync_to_async", sync_to_async)
    room = live_hub.Room(_Hub(), hearing_id, live_hub._seqs(hearing_id))  # type: ignore[arg-type]
    sockets = {stream: _Socket(stream, room.last[stream]) for stream in STREAMS}
    for sock in sockets.values():
        room.sockets[sock.stream].add(sock)
    async_to_sync(room.tick)()  # the counters as they are now: not part of the change
    before = {stream: _snapshot(hearing_id, stream, room.online) for stream in STREAMS}
    for sock in sockets.values():
        sock.frames.clear()

    published: list[list[tuple[str, int, str]]] = []

    def listener(_hearing_id: int, _events: list[Any], frames: list[tuple[str, int, str]]) -> None:
        published.append(list(frames))

    live_publish._listeners.append(listener)
    try:
        change(room)
    finally:
        live_publish._listeners.remove(listener)

    async def deliver_then_tick() -> None:
        for frames in published:  # one broadcast per publish, as after the commit
            await room.deliver(frames)
        await room.tick()

    async_to_sync(deliver_then_tick)()
    after = {stream: _snapshot(hearing_id, stream, room.online) for stream in STREAMS}
    return {
        stream: Observed(AUDIENCE[stream], before[stream][0], before[stream][1], sockets[stream].frames, *after[stream])
        for stream in STREAMS
    }


def check_seqs(observed: Observed) -> None:
    """State events carry before+1, before+2, … up to the fresh snapshot's seq; counters the
    seq they follow."""
    seq = observed.before_seq
    for frame in observed.frames:
        if frame["type"] not in COUNTERS:
            seq += 1
        assert frame["seq"] == seq, observed.frames
    assert seq == observed.after_seq


# --------------------------------------------------------------------------- the cases


def _live() -> World:
    return make_world(status="live")


def _ask(w: World, source: str = "public", **kw: Any) -> Question:
    asker = w.deputies[0] if source == "deputy" else w.moderator if source == "moderator" else None
    text = kw.pop("text", f"问题{uuid4().hex[:6]}")
    return services.question_submit(
        hearing_id=w.hearing.pk, text=text, source=source, asker=asker, viewer=uuid4().hex, **kw
    )


def _approved(w: World, **kw: Any) -> Question:
    q = _ask(w, **kw)
    services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    return q


def _like(w: World, q: Question | None, viewer: str | None = None) -> None:
    services.like_add(hearing_id=w.hearing.pk, viewer=viewer or uuid4().hex, question_id=q.pk if q else None)


def _checked_in(w: World, n: int) -> None:
    for deputy in w.deputies[:n]:
        voting_services.checkin(hearing_id=w.hearing.pk, deputy=deputy)


def _vote(w: World, poll_id: int, deputy: Any, choice: str) -> None:
    voting_services.ballot_cast(
        hearing_id=w.hearing.pk, poll_id=poll_id, deputy=deputy, choice=choice, ballot_id=uuid4()
    )


CASES: dict[str, Callable[[], tuple[World, Change]]] = {}


def case(fn: Callable[[], tuple[World, Change]]) -> Callable[[], tuple[World, Change]]:
    CASES[fn.__name__] = fn
    return fn


@case
def hearing_start() -> tuple[World, Change]:
    w = make_world()
    return w, lambda _room: services.hearing_start(hearing_id=w.hearing.pk, by=w.moderator)


def _staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


def _set_up(w: World, **changes: Any) -> Hearing:
    h = Hearing.objects.get(pk=w.hearing.pk)
    fields = {
        "title": h.title,
        "kind": h.kind,
        "theme": h.theme,
        "venue": h.venue,
        "starts_at": h.starts_at,
        "ends_at": h.ends_at,
        "stream_url": h.stream_url,
        "quorum_percent": h.quorum_percent,
        "deputy_questions_need_approval": h.deputy_questions_need_approval,
    }
    return services.hearing_update(hearing_id=h.pk, by=_staff(), **{**fields, **changes})


@case
def live_hearing_renamed_and_restreamed() -> tuple[World, Change]:
    w = _live()
    return w, lambda _room: _set_up(
        w, title="改名后的问政会", theme="新主题", venue="新会场", stream_url="https://live.example.cn/2.m3u8"
    )


@case
def draft_hearing_rescheduled() -> tuple[World, Change]:
    w = make_world()
    return w, lambda _room: _set_up(w, starts_at=timezone.now() + timedelta(days=2))


@case
def agenda_first_item() -> tuple[World, Change]:
    w = _live()
    return w, lambda _room: services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=w.moderator)


@case
def agenda_next_item() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=w.moderator)
    return w, lambda _room: services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)


@case
def agenda_back_to_an_earlier_item() -> tuple[World, Change]:
    w = _live()
    for item in w.items[:3]:
        services.agenda_start(hearing_id=w.hearing.pk, item_id=item.pk, by=w.moderator)
    return w, lambda _room: services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)


@case
def agenda_item_added_to_a_draft() -> tuple[World, Change]:
    w = make_world()
    return w, lambda _room: services.agenda_add(hearing_id=w.hearing.pk, by=w.moderator, title="新增议程")


@case
def agenda_item_added_after_the_current_item() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    return w, lambda _room: services.agenda_add(
        hearing_id=w.hearing.pk,
        by=w.moderator,
        title="临时增加",
        kind="evaluation",
        department_id=w.departments[2].pk,
        minutes=5,
        after_id=w.items[1].pk,
    )


@case
def current_agenda_item_edited() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    return w, lambda _room: services.agenda_edit(
        hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator, title="改名", department_id=None, minutes=30
    )


@case
def current_agenda_item_moved() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[2].pk, by=w.moderator)
    return w, lambda _room: services.agenda_move(
        hearing_id=w.hearing.pk, item_id=w.items[2].pk, by=w.moderator, position=1
    )


@case
def agenda_item_removed() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=w.moderator)
    return w, lambda _room: services.agenda_remove(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)


@case
def public_question_waits_for_moderation() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    return w, lambda _room: _ask(w)


@case
def deputy_question_appears_at_once() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    return w, lambda _room: _ask(w, "deputy")


@case
def deputy_question_waits_when_the_hearing_says_so() -> tuple[World, Change]:
    w = _live()
    Hearing.objects.filter(pk=w.hearing.pk).update(deputy_questions_need_approval=True)
    return w, lambda _room: _ask(w, "deputy")


@case
def moderator_question() -> tuple[World, Change]:
    w = _live()
    return w, lambda _room: _ask(w, "moderator")


@case
def follow_up_question() -> tuple[World, Change]:
    w = _live()
    parent = _approved(w)
    return w, lambda _room: _ask(w, "deputy", parent_id=parent.pk)


@case
def pending_question_approved() -> tuple[World, Change]:
    w = _live()
    q = _ask(w)
    return w, lambda _room: services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)


@case
def older_pending_question_approved_after_a_newer_one_appeared() -> tuple[World, Change]:
    # The public list is in id order in a snapshot: the older question goes before the newer.
    w = _live()
    older = _ask(w)
    _ask(w, "deputy")
    _approved(w)
    return w, lambda _room: services.question_approve(hearing_id=w.hearing.pk, question_id=older.pk, by=w.moderator)


@case
def approved_question_hidden() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    _approved(w)
    return w, lambda _room: services.question_hide(
        hearing_id=w.hearing.pk, question_id=q.pk, reason="涉及个人隐私", by=w.moderator
    )


@case
def sensitive_question_asked_by_a_deputy() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    services.sensitive_words_add(words=["回扣"], by=None)
    return w, lambda _room: services.question_submit(
        hearing_id=w.hearing.pk, text="工程有回扣吗", source="deputy", asker=w.deputies[0]
    )


@case
def pending_question_rejected() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    q = _ask(w)
    return w, lambda _room: services.question_reject(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)


@case
def pending_question_edited() -> tuple[World, Change]:
    w = _live()
    q = _ask(w)
    return w, lambda _room: services.question_edit(
        hearing_id=w.hearing.pk, question_id=q.pk, text="改过的", by=w.moderator
    )


@case
def approved_question_edited() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    return w, lambda _room: services.question_edit(
        hearing_id=w.hearing.pk, question_id=q.pk, text="改过的", by=w.moderator
    )


@case
def public_duplicate_merged_with_its_likes_and_follow_ups() -> tuple[World, Change]:
    w = _live()
    target = _approved(w)
    duplicate = _approved(w)
    _ask(w, "deputy", parent_id=duplicate.pk)  # a public follow-up
    pending_child = _ask(w, parent_id=duplicate.pk)  # a follow-up still waiting
    assert pending_child.status == Question.Status.PENDING
    shared = uuid4().hex
    for q in (target, duplicate):
        _like(w, q, shared)
    _like(w, duplicate)
    return w, lambda _room: services.question_merge(
        hearing_id=w.hearing.pk, question_id=duplicate.pk, into_id=target.pk, by=w.moderator
    )


@case
def pending_duplicate_merged() -> tuple[World, Change]:
    w = _live()
    target = _approved(w)
    duplicate = _ask(w)
    return w, lambda _room: services.question_merge(
        hearing_id=w.hearing.pk, question_id=duplicate.pk, into_id=target.pk, by=w.moderator
    )


@case
def pending_merged_into_pending() -> tuple[World, Change]:
    w = _live()
    target = _ask(w)
    duplicate = _ask(w)
    return w, lambda _room: services.question_merge(
        hearing_id=w.hearing.pk, question_id=duplicate.pk, into_id=target.pk, by=w.moderator
    )


@case
def question_staged_on_an_empty_stage() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    return w, lambda _room: services.question_stage(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)


@case
def question_staged_while_another_is_on_stage() -> tuple[World, Change]:
    w = _live()
    first, second = _approved(w), _approved(w)
    services.question_stage(hearing_id=w.hearing.pk, question_id=first.pk, by=w.moderator)
    return w, lambda _room: services.question_stage(hearing_id=w.hearing.pk, question_id=second.pk, by=w.moderator)


@case
def stage_cleared() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    services.question_stage(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    return w, lambda _room: services.question_stage(hearing_id=w.hearing.pk, question_id=None, by=w.moderator)


@case
def question_on_stage_answered() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    services.question_stage(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    return w, lambda _room: services.question_answered(
        hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator, note="已答复", commitment="一个月内整改"
    )


@case
def waiting_question_answered_while_another_is_on_stage() -> tuple[World, Change]:
    w = _live()
    staged, waiting = _approved(w), _approved(w)
    services.question_stage(hearing_id=w.hearing.pk, question_id=staged.pk, by=w.moderator)
    return w, lambda _room: services.question_answered(hearing_id=w.hearing.pk, question_id=waiting.pk, by=w.moderator)


@case
def poll_opened() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 2)
    return w, lambda _room: voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)


@case
def poll_closed() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 3)
    poll = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    _vote(w, poll.pk, w.deputies[0], "满意")
    return w, lambda _room: voting_services.poll_close(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)


def _published_poll(secret: bool) -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 3)
    earlier = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    voting_services.poll_close(hearing_id=w.hearing.pk, poll_id=earlier.pk, by=w.moderator)
    poll = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[2].pk, by=w.moderator, secret=secret)
    for deputy, choice in zip(w.deputies, ["满意", "基本满意", "不满意"], strict=True):
        _vote(w, poll.pk, deputy, choice)
    voting_services.poll_close(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)
    return w, lambda _room: voting_services.poll_publish(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)


@case
def secret_poll_published() -> tuple[World, Change]:
    return _published_poll(secret=True)


@case
def named_poll_published() -> tuple[World, Change]:
    return _published_poll(secret=False)


# Sheet and select polls (PROTOCOL.md "Poll kinds"): whole POLL objects replaced on poll events,
# cast / eligible on poll.progress, as for satisfaction polls.


def _kind_poll(w: World, kind: str, *, secret: bool = True) -> Any:
    options = [voting_services.OptionSpec(d.name, d.pk) for d in w.departments]
    extra: dict[str, Any] = {"rows": options} if kind == "sheet" else {"candidates": options, "max_picks": 2}
    return voting_services.poll_open(
        hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator, kind=kind, secret=secret, **extra
    )


def _kind_vote(w: World, poll: Any, deputy: Any, n: int) -> None:
    ids = [o.pk for o in poll.options.order_by("position")]
    if poll.kind == "sheet":
        answer: dict[str, Any] = {
            "choices": {str(pk): ["满意", "基本满意", "不满意"][(n + i) % 3] for i, pk in enumerate(ids)}
        }
    else:
        answer = {"picks": [ids[n % len(ids)]]}
    voting_services.ballot_cast(hearing_id=w.hearing.pk, poll_id=poll.pk, deputy=deputy, ballot_id=uuid4(), **answer)


def _kind_case(kind: str, step: str, *, secret: bool = True) -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 3)
    if step == "opened":
        return w, lambda _room: _kind_poll(w, kind, secret=secret)
    poll = _kind_poll(w, kind, secret=secret)
    if step == "voted":
        _kind_vote(w, poll, w.deputies[0], 0)
        return w, lambda _room: _kind_vote(w, poll, w.deputies[1], 1)
    for n, deputy in enumerate(w.deputies):
        _kind_vote(w, poll, deputy, n)
    if step == "closed":
        return w, lambda _room: voting_services.poll_close(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)
    voting_services.poll_close(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)
    return w, lambda _room: voting_services.poll_publish(hearing_id=w.hearing.pk, poll_id=poll.pk, by=w.moderator)


for _kind in ("sheet", "select"):
    for _step in ("opened", "voted", "closed", "published"):
        CASES[f"{_kind}_poll_{_step}"] = partial(_kind_case, _kind, _step)
    CASES[f"named_{_kind}_poll_published"] = partial(_kind_case, _kind, "published", secret=False)


# Polls the office prepares: a draft is told to the control stream only (the pages keep no
# drafts), opening it is a poll.opened like any other.


def _draft(w: World) -> Any:
    options = [voting_services.OptionSpec(d.name, d.pk) for d in w.departments]
    return voting_services.poll_prepare(
        hearing_id=w.hearing.pk, by=_staff(), kind="sheet", item_id=w.items[1].pk, rows=options
    )


@case
def poll_prepared_by_the_office() -> tuple[World, Change]:
    w = _live()
    return w, lambda _room: _draft(w)


@case
def prepared_poll_discarded() -> tuple[World, Change]:
    w = _live()
    poll = _draft(w)
    staff = _staff()
    return w, lambda _room: voting_services.poll_discard(hearing_id=w.hearing.pk, poll_id=poll.pk, by=staff)


@case
def prepared_poll_opened_from_the_panel() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 2)
    poll = _draft(w)
    return w, lambda _room: voting_services.poll_open(
        hearing_id=w.hearing.pk, item_id=None, draft_id=poll.pk, by=w.moderator
    )


@case
def hearing_end_with_an_open_poll_a_question_on_stage_and_a_current_item() -> tuple[World, Change]:
    w = _live()
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    q = _approved(w)
    _approved(w)
    _ask(w)
    services.question_stage(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    _checked_in(w, 2)
    poll = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    _vote(w, poll.pk, w.deputies[0], "满意")
    return w, lambda _room: chamber_services.hearing_end(hearing_id=w.hearing.pk, by=w.moderator)


@case
def hearing_end_with_nothing_under_way() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    return w, lambda _room: chamber_services.hearing_end(hearing_id=w.hearing.pk, by=w.moderator)


# Counter frames (the hub's tick): absolute values, no seq of their own.


@case
def question_liked() -> tuple[World, Change]:
    w = _live()
    q = _approved(w)
    _approved(w)
    _ask(w)
    return w, lambda _room: _like(w, q)


@case
def hearing_liked() -> tuple[World, Change]:
    w = _live()
    _approved(w)
    return w, lambda _room: _like(w, None)


@case
def deputy_checks_in_while_a_poll_is_open() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 1)
    voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    return w, lambda _room: voting_services.checkin(hearing_id=w.hearing.pk, deputy=w.deputies[1])


@case
def deputy_checks_in() -> tuple[World, Change]:
    # 1 of 3 → 2 of 3: the quorum (more than half) is reached.
    w = _live()
    _checked_in(w, 1)
    return w, lambda _room: voting_services.checkin(hearing_id=w.hearing.pk, deputy=w.deputies[1])


@case
def moderator_checks_a_deputy_in() -> tuple[World, Change]:
    w = _live()
    return w, lambda _room: voting_services.checkin_on_behalf(
        hearing_id=w.hearing.pk, deputy_id=w.deputies[2].pk, by=w.moderator
    )


@case
def deputy_removed_from_the_hearing_after_checking_in() -> tuple[World, Change]:
    # The roster is staff's (another service): the figures follow at the next tick.
    w = _live()
    _checked_in(w, 2)
    return w, lambda _room: w.hearing.deputies.remove(w.deputies[0])


@case
def deputy_added_to_the_hearing() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 2)
    return w, lambda _room: w.hearing.deputies.add(make_user())


@case
def deputy_votes() -> tuple[World, Change]:
    w = _live()
    _checked_in(w, 2)
    poll = voting_services.poll_open(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=w.moderator)
    return w, lambda _room: _vote(w, poll.pk, w.deputies[1], "基本满意")


@case
def viewer_connects() -> tuple[World, Change]:
    w = _live()

    def connect(room: live_hub.Room) -> None:
        room.sockets[Stream.PUBLIC].add(_Socket(Stream.PUBLIC, room.last[Stream.PUBLIC]))

    return w, connect


# --------------------------------------------------------------------------- the checks


def _observe(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[Stream, Observed]:
    world, change = CASES[name]()
    observed = observe(world.hearing.pk, change, monkeypatch)
    for view in observed.values():
        check_seqs(view)
    return observed


@pytest.mark.parametrize("name", list(CASES))
def test_python_reducer_agrees(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    observed = _observe(name, monkeypatch)
    assert observed[Stream.CONTROL].frames, "the change reached no control socket"
    for stream, view in observed.items():
        state = from_snapshot(copy.deepcopy(view.before))
        for frame in view.frames:
            state = apply_event(state, frame, view.audience)
        assert state == view.after, f"{stream}: {[f['type'] for f in view.frames]}"


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires Node.js to run static/live/state.js")
        pytest.skip("Node.js is not installed")
    return node


def run_state_js(cases: list[Json]) -> list[Json]:
    """static/live/state.js applied to each case's frames (tests/live/state_harness.mjs)."""
    done = subprocess.run(
        [_node(), str(HARNESS)], input=json.dumps(cases), capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    result: list[Json] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", list(CASES))
def test_state_js_agrees(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _node()
    observed = _observe(name, monkeypatch)
    states = run_state_js([view.case() for view in observed.values()])
    for (stream, view), state in zip(observed.items(), states, strict=True):
        assert state == view.after, f"{stream}: {[f['type'] for f in view.frames]}"


def test_the_cases_cover_every_state_event_and_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every event type the services publish, and every counter (`attendance` included, on both
    streams), is met by some case."""
    seen: set[str] = set()
    for name in CASES:
        for stream, view in _observe(name, monkeypatch).items():
            seen.update(frame["type"] for frame in view.frames)
            seen.update(f"{frame['type']}@{stream}" for frame in view.frames if frame["type"] == "attendance")
    assert seen >= set(STATE_EVENT_TYPES) | COUNTERS
    assert {"attendance@public", "attendance@control"} <= seen
