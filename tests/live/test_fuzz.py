"""Fuzzing the socket actions: hostile frames through the real ASGI stack (WebsocketCommunicator).

Every action of live/schema.py, on all three endpoints, gets malformed frames (wrong types, huge
numbers, odd unicode, missing fields, over 16 KiB, binary, not JSON, deep nesting) and
well-formed ones it must refuse (wrong endpoint, things that do not exist). Every reply is an
error with a code of PROTOCOL.md (the exact one where the frame decides it), sendable as UTF-8
text, nothing is logged at ERROR, and nothing changes: row counts and the hearing's seqs stay
as they were. A last campaign sends odd text that is *accepted*: it must be stored intact.

Sizes (examples per campaign) are in CAMPAIGNS; docs/reliability.md records the runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import limits
from core.text import TextError, clean_text
from hearings import services
from hearings.models import AgendaItem, Hearing, Like, Question
from live.models import LiveEvent
from live.schema import ACTIONS, MAX_FRAME_BYTES, ErrorCode
from realtime.consumers import ROUTES
from tests.factories import World, make_world
from tests.live.helpers import Socket, control_path, deputy_path, open_socket, public_path, reset_limits
from tests.text_cases import REFUSED, REFUSED_ONE_LINE
from voting import services as voting_services
from voting.models import Attendance, Ballot, Poll, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db(transaction=True)

CODES = {str(code) for code in ErrorCode}  # PROTOCOL.md's list
ROLES = ("public", "deputy", "control")
CAMPAIGNS = {  # examples per campaign
    "malformed_action": 400,
    "raw_text": 150,
    "json_not_object": 80,
    "binary": 60,
    "oversized": 40,
    "refused": 300,
    "stored_text": 120,
}


def fuzz_settings(campaign: str) -> Callable[[Any], Any]:
    return settings(
        max_examples=CAMPAIGNS[campaign],
        deadline=None,
        derandomize=True,  # the same examples on every run: CI stays reproducible
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------- the arena


@dataclass
class Arena:
    """A live hearing with a deputy checked in, an open poll and an approved question; one socket
    per endpoint, all on one event loop kept for the whole test (hypothesis's examples are sync)."""

    loop: asyncio.AbstractEventLoop
    world: World
    poll: Poll
    question: Question
    sockets: dict[str, Socket]
    caplog: pytest.LogCaptureFixture

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 10))

    def fingerprint(self) -> dict[str, Any]:
        """What a refused frame must not change."""
        hearing = Hearing.objects.values("public_seq", "control_seq", "likes", "status").get(pk=self.world.hearing.pk)
        return {
            **hearing,
            **{
                model.__name__: model.objects.count()
                for model in (Question, Like, Poll, Ballot, SecretTally, VoteRecord, Attendance, LiveEvent)
            },
            "items": list(AgendaItem.objects.order_by("pk").values_list("status", flat=True)),
            "questions": list(Question.objects.order_by("pk").values_list("status", "text")),
            "polls": list(Poll.objects.order_by("pk").values_list("status", flat=True)),
            "tallies": list(SecretTally.objects.order_by("pk").values_list("counts", flat=True)),
        }

    def send(self, role: str, text: str | None = None, data: bytes | None = None) -> tuple[dict[str, Any], str]:
        """Send one frame; return the reply (ack or error) and its raw text."""
        sock = self.sockets[role]

        async def exchange() -> tuple[dict[str, Any], str]:
            # As a server delivers it (send_to() cannot send an empty frame).
            message = (
                {"type": "websocket.receive", "text": text}
                if data is None
                else {"type": "websocket.receive", "bytes": data}
            )
            await sock.comm.send_input(message)
            while True:
                raw = await sock.comm.receive_from(timeout=5)
                frame = json.loads(raw)
                if frame["type"] in ("ack", "error"):
                    return frame, raw

        return self.run(exchange())

    def refused(self, role: str, text: str | None = None, data: bytes | None = None) -> dict[str, Any]:
        """Send a frame that must be refused: an error with a protocol code, valid UTF-8, no
        ERROR logged, nothing changed, and the socket still answers."""
        before = self.fingerprint()
        reply, raw = self.send(role, text, data)
        raw.encode("utf-8")  # what a real server must be able to send as a text frame
        assert reply["type"] == "error", (reply, text if text is None else text[:300])
        assert reply["code"] in CODES and isinstance(reply["message"], str) and reply["message"]
        assert self.fingerprint() == before, (reply, text if text is None else text[:300])
        errors = [r for r in self.caplog.records if r.levelno >= logging.ERROR]
        assert errors == [], [r.getMessage() for r in errors]
        return reply


@pytest.fixture
def arena(transactional_db: Any, caplog: pytest.LogCaptureFixture) -> Iterator[Arena]:
    caplog.set_level(logging.WARNING)
    world = make_world(status="live", deputies=2)
    hid = world.hearing.pk
    voting_services.checkin(hearing_id=hid, deputy=world.deputies[0])
    poll = voting_services.poll_open(hearing_id=hid, item_id=world.items[1].pk, by=world.moderator)
    q = services.question_submit(hearing_id=hid, text="审批还要跑几次？", source="public")
    question = services.question_approve(hearing_id=hid, question_id=q.pk, by=world.moderator)
    loop = asyncio.new_event_loop()
    sockets = {
        "public": loop.run_until_complete(open_socket(public_path(hid))),
        "deputy": loop.run_until_complete(open_socket(deputy_path(hid), user=world.deputies[0])),
        "control": loop.run_until_complete(open_socket(control_path(hid), user=world.moderator)),
    }
    yield Arena(loop, world, poll, question, sockets, caplog)
    for sock in sockets.values():
        loop.run_until_complete(sock.close())
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


# --------------------------------------------------------------------------- strategies

ODD = [
    "\x00",  # NUL: PostgreSQL text cannot hold it
    "\u202e",  # right-to-left override
    "\ufeff",  # byte order mark
    "\u200b\u200d",  # zero-width space, joiner
    "\u2028\u2029",  # line and paragraph separators (JavaScript line ends)
    "\U0001f600\U0001f3f3\ufe0f\u200d\U0001f308",  # emoji, a ZWJ sequence
    "e\u0301\u0301\u0301",  # stacked combining marks
    "\uffff\ufffe",  # noncharacters
    "\x7f\x1b[31m",  # DEL, an ANSI escape
    "问政",
    "\\u0000",  # an escaped escape
    '"},{"',
]
odd_text = st.lists(st.one_of(st.sampled_from(ODD), st.text(max_size=8)), max_size=12).map("".join)


def acceptable(text: str, *, multiline: bool = True) -> str:
    """`text` without what core.text refuses (control characters; line ends in one-line text);
    "" when what is left has nothing visible."""
    kept = "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cs"))
    if not multiline:
        kept = "".join(ch for ch in kept if ch not in "\n\r\u2028\u2029")
    try:
        clean_text(kept, max_length=len(kept) + 10, multiline=multiline, required=False)
    except TextError:
        return ""
    return kept


storable_text = odd_text.map(acceptable)  # what the rule accepts for a note
refused_text = st.sampled_from(sorted(REFUSED.values()))
refused_one_line = st.sampled_from(sorted(REFUSED_ONE_LINE.values()))
with_nul = st.builds(lambda a, b: a[:20] + "\x00" + b[:20], odd_text, odd_text)
huge = st.one_of(st.integers(min_value=2**63), st.integers(max_value=0))
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), odd_text
)
json_value = st.recursive(
    json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3), max_leaves=8
)
not_int = st.one_of(
    st.floats(),
    st.booleans(),
    odd_text,
    st.integers().map(str),
    st.lists(json_scalar, max_size=2),
    st.dictionaries(odd_text, json_scalar, max_size=2),
)
not_str = st.one_of(
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(json_scalar, max_size=2),
    st.dictionaries(odd_text, json_scalar, max_size=2),
)
not_bool = st.one_of(st.integers(), st.floats(), odd_text, st.lists(json_scalar, max_size=2), st.none())


def _not_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return True
    return False


# Each field of each action, with values that are never valid for it. A new action or field in
# live/schema.py fails test_fuzz_table_covers_every_action until it is added here.
ID = st.one_of(not_int, huge)
OPTIONAL_ID = st.one_of(not_int.filter(lambda v: v is not None), huge)
TEXT = st.one_of(
    not_str,
    st.none(),
    st.just(""),
    st.text(alphabet=" \t\n\u3000", min_size=1, max_size=5),
    st.text(min_size=501, max_size=600).filter(lambda t: len(t.strip()) > 500),
    with_nul,  # PostgreSQL cannot store it: refused on every database
    refused_text,  # control characters, only invisible characters (tests/text_cases.py)
)


def too_long(n: int) -> st.SearchStrategy[str]:
    """Over n characters after trimming and NFC (visible characters only)."""
    visible = st.characters(exclude_categories=("Z", "C", "M"))
    return st.text(alphabet=visible, min_size=n + 1, max_size=n + 40).filter(
        lambda t: len(unicodedata.normalize("NFC", t)) > n
    )


# An agenda item's title (one line, 1–AGENDA_TITLE), kind, minutes and position.
AGENDA_TITLE = st.one_of(
    not_str,
    st.just(""),
    st.text(alphabet=" \t\u3000", min_size=1, max_size=5),
    too_long(limits.AGENDA_TITLE),
    with_nul,
    refused_one_line,
)
AGENDA_KIND = st.one_of(not_str, odd_text.filter(lambda t: t not in AgendaItem.Kind.values))
MINUTES = st.one_of(
    not_int.filter(lambda v: v is not None),
    st.integers(max_value=0),
    st.integers(min_value=limits.AGENDA_MINUTES + 1),
)
POSITION = st.one_of(not_int, st.integers(max_value=0), st.integers(min_value=limits.AGENDA_ITEMS + 1))

# A poll's rows or candidates, choices and numbers of picks (poll.open), broken.
POLL_LABEL = st.one_of(not_str, st.just(""), too_long(limits.POLL_OPTION_LABEL), with_nul, refused_one_line)
POLL_OPTIONS = st.one_of(
    not_str.filter(lambda v: v is not None and not isinstance(v, list)),
    st.lists(
        st.one_of(not_str.filter(lambda v: not isinstance(v, dict)), st.builds(lambda x: {"label": x}, POLL_LABEL)),
        min_size=1,
        max_size=3,
    ),
    st.just([{"label": "部门", "department": 0}]),
    st.builds(lambda b: [{"label": "项目", "budget": b}], st.one_of(not_int, st.just(-1), st.just(1e12))),
    st.just([{"label": "项目", "note": "说明" * 300}]),
)
POLL_CHOICES = st.one_of(
    not_str.filter(lambda v: v is not None and not isinstance(v, list)),
    st.lists(st.one_of(not_str, st.just(""), too_long(limits.POLL_CHOICE)), min_size=1, max_size=3),
)
PICKS = st.one_of(
    not_int.filter(lambda v: v is not None),
    st.integers(max_value=0),
    st.integers(min_value=limits.POLL_CANDIDATES + 1),
)

FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "resume": {"seq": st.one_of(not_int, st.integers(max_value=-1), st.integers(min_value=2**63), st.none())},
    "ping": {},
    "like": {"question": OPTIONAL_ID, "hearing": not_bool.filter(lambda v: v is not None)},
    "ask": {
        "text": TEXT,
        "item": OPTIONAL_ID,
        "parent": OPTIONAL_ID,
        "name": st.one_of(not_str, too_long(50), with_nul, refused_one_line),
        "category": st.one_of(not_str.filter(lambda v: v is not None), too_long(30), st.just("没有的类别")),
    },
    "checkin": {},
    "vote": {
        "poll": st.one_of(ID, st.none()),
        "choice": st.one_of(not_str, st.none(), st.just(""), too_long(50)),
        "ballot": st.one_of(not_str, st.none(), odd_text.filter(_not_uuid)),
        # With the valid frame's "choice": a second answer is refused, a broken one too.
        "choices": st.one_of(not_str.filter(lambda v: v is not None), st.just({}), st.just({"1": "满意"})),
        "picks": st.one_of(not_str.filter(lambda v: v is not None), st.just([]), st.just([1]), st.just([0])),
    },
    "hearing.start": {},
    "hearing.end": {},
    "agenda.start": {"item": st.one_of(ID, st.none())},
    "agenda.add": {
        "title": st.one_of(AGENDA_TITLE, st.none()),
        "kind": AGENDA_KIND,
        "department": OPTIONAL_ID,
        "minutes": MINUTES,
        "after": OPTIONAL_ID,
    },
    "agenda.edit": {
        "item": st.one_of(ID, st.none()),
        "title": AGENDA_TITLE,
        "kind": AGENDA_KIND,
        "department": OPTIONAL_ID,
        "minutes": MINUTES,
    },
    "agenda.move": {"item": st.one_of(ID, st.none()), "position": st.one_of(POSITION, st.none())},
    "agenda.remove": {"item": st.one_of(ID, st.none())},
    "question.approve": {"question": st.one_of(ID, st.none())},
    "question.reject": {"question": st.one_of(ID, st.none())},
    "question.hide": {
        "question": st.one_of(ID, st.none()),
        "reason": st.one_of(not_str, st.just(""), too_long(200), with_nul),
    },
    "question.stage": {"question": OPTIONAL_ID},
    "question.answered": {
        "question": st.one_of(ID, st.none()),
        "note": st.one_of(not_str, too_long(2000), with_nul, refused_text),
        "commitment": st.one_of(not_str, too_long(2000), with_nul, refused_text),
    },
    "question.edit": {"question": st.one_of(ID, st.none()), "text": TEXT},
    "question.merge": {"question": st.one_of(ID, st.none()), "into": st.one_of(ID, st.none())},
    "poll.open": {
        "item": st.one_of(ID, st.none()),
        "draft": ID,
        "title": st.one_of(not_str, too_long(200), with_nul, refused_one_line),
        "secret": not_bool.filter(lambda v: v is not None),
        "kind": st.one_of(not_str, odd_text.filter(lambda t: t not in ("satisfaction", "sheet", "select"))),
        "rows": POLL_OPTIONS,
        "candidates": POLL_OPTIONS,
        "choices": POLL_CHOICES,
        "min": PICKS,
        "max": PICKS,
        "choose": PICKS,
        "satisfied": POLL_CHOICES,
        "weights": st.one_of(
            not_str.filter(lambda v: v is not None and not isinstance(v, dict)),
            st.dictionaries(st.sampled_from(["满意", "不满意"]), st.one_of(odd_text, st.none()), min_size=1),
        ),
    },
    "poll.close": {"poll": st.one_of(ID, st.none())},
    "poll.publish": {"poll": st.one_of(ID, st.none())},
    "deputy.checkin": {"deputy": st.one_of(ID, st.none())},
}
MISSING = object()  # a required field left out


def valid_fields(action: str, arena: Arena) -> dict[str, Any]:
    """Fields that make a valid frame of `action` (so that one corrupted field decides it)."""
    w = arena.world
    fields: dict[str, dict[str, Any]] = {
        "resume": {"seq": 0},
        "like": {"question": arena.question.pk},
        "ask": {"text": "营商环境还有哪些堵点？"},
        "vote": {"poll": arena.poll.pk, "choice": "满意", "ballot": str(uuid.uuid4())},
        "agenda.start": {"item": w.items[0].pk},
        "agenda.add": {"title": "新增议程"},
        "agenda.edit": {"item": w.items[1].pk, "title": "改过的议程"},
        "agenda.move": {"item": w.items[1].pk, "position": 1},
        "agenda.remove": {"item": w.items[1].pk},
        "question.approve": {"question": arena.question.pk},
        "question.reject": {"question": arena.question.pk},
        "question.hide": {"question": arena.question.pk, "reason": "涉及隐私"},
        "question.stage": {"question": arena.question.pk},
        "question.answered": {"question": arena.question.pk},
        "question.edit": {"question": arena.question.pk, "text": "改过的问题"},
        "question.merge": {"question": arena.question.pk, "into": arena.question.pk},
        "poll.open": {"item": w.items[2].pk},
        "poll.close": {"poll": arena.poll.pk},
        "poll.publish": {"poll": arena.poll.pk},
        "deputy.checkin": {"deputy": w.deputies[0].pk},
    }
    return fields.get(action, {})


def encode(frame: dict[str, Any], ascii_only: bool) -> str:
    return json.dumps(frame, ensure_ascii=ascii_only)


def expected_size_code(text: str) -> str | None:
    return "too_large" if len(text.encode("utf-8")) > MAX_FRAME_BYTES else None


# --------------------------------------------------------------------------- campaigns


def test_fuzz_table_covers_every_action() -> None:
    assert set(FIELDS) == set(ACTIONS)
    for name, model in ACTIONS.items():
        assert set(FIELDS[name]) == set(model.model_fields) - {"action", "id"}, name


@fuzz_settings("malformed_action")
@given(data=st.data(), role=st.sampled_from(ROLES), action=st.sampled_from(sorted(ACTIONS)), ascii_only=st.booleans())
def test_malformed_actions_are_bad_requests(arena: Arena, data: Any, role: str, action: str, ascii_only: bool) -> None:
    """A valid frame with one field broken (or left out, or the id broken): `bad_request` on every
    endpoint, even where the action is not allowed (validation comes first)."""
    frame: dict[str, Any] = {"action": action, "id": "fuzz", **valid_fields(action, arena)}
    target = data.draw(st.sampled_from(["id", *FIELDS[action]]), label="field")
    if target == "id":
        bad = data.draw(st.one_of(not_str, st.none(), too_long(100), st.just(MISSING)), label="id")
    else:
        required = ACTIONS[action].model_fields[target].is_required()
        options = [FIELDS[action][target], *([st.just(MISSING)] if required else [])]
        bad = data.draw(st.one_of(*options), label=target)
    if bad is MISSING:
        frame.pop(target)
    else:
        frame[target] = bad
    if action == "like" and target == "hearing":
        frame.pop("question")  # otherwise "both targets" decides it, which is also a bad request
    frame.update(
        data.draw(st.dictionaries(st.sampled_from(["x", "extra", "Action"]), json_value, max_size=2), label="extra")
    )
    text = encode(frame, ascii_only)
    reply = arena.refused(role, text)
    assert reply["code"] == (expected_size_code(text) or "bad_request"), (reply, frame)


@fuzz_settings("raw_text")
@given(
    role=st.sampled_from(ROLES),
    text=st.one_of(st.text(max_size=200), odd_text, st.text(alphabet='{}[]":,0123456789.eE-+ tfnaul\\', max_size=80)),
)
def test_arbitrary_text_is_refused(arena: Arena, role: str, text: str) -> None:
    """Any text that is not a JSON object naming an action."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("action"), str):
        return  # a (rare) well-formed frame: the other campaigns cover those
    reply = arena.refused(role, text)
    assert reply["code"] == "bad_request", (reply, text)


DEEP = ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, '{"action":' * 2000 + '"ping"' + "}" * 2000]
not_an_action = st.one_of(
    json_value.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    st.dictionaries(odd_text, json_value).filter(lambda d: not isinstance(d.get("action"), str)).map(json.dumps),
    st.sampled_from(DEEP),  # nesting past the parser's limit
    st.sampled_from(["NaN", "Infinity", "-Infinity", '{"action": "ping", "id": "x"', "\ufeff{}", "{'action': 'ping'}"]),
)


@fuzz_settings("json_not_object")
@given(role=st.sampled_from(ROLES), text=not_an_action)
def test_json_that_is_not_an_action_object_is_a_bad_request(arena: Arena, role: str, text: str) -> None:
    reply = arena.refused(role, text)
    assert reply["code"] == (expected_size_code(text) or "bad_request"), (reply, text[:200])


@fuzz_settings("binary")
@given(
    role=st.sampled_from(ROLES),
    payload=st.one_of(
        st.binary(max_size=64),
        st.binary(min_size=MAX_FRAME_BYTES - 2, max_size=MAX_FRAME_BYTES + 2),
        st.builds(lambda a: json.dumps({"action": a, "id": "b"}).encode(), st.sampled_from(sorted(ACTIONS))),
    ),
)
def test_binary_frames_are_refused(arena: Arena, role: str, payload: bytes) -> None:
    """Frames are JSON text: a binary frame, even one holding a valid action, is refused."""
    reply = arena.refused(role, data=payload)
    assert reply["code"] == ("too_large" if len(payload) > MAX_FRAME_BYTES else "bad_request")


@fuzz_settings("oversized")
@given(
    role=st.sampled_from(ROLES),
    action=st.sampled_from(sorted(ACTIONS)),
    filler=st.sampled_from(["a", "问", "\U0001f600", "\x00"]),
    extra=st.integers(min_value=1, max_value=40_000),
)
def test_frames_over_16_kib_are_too_large(arena: Arena, role: str, action: str, filler: str, extra: int) -> None:
    """Over 16 KiB in UTF-8 (even when shorter than that in characters): `too_large`, connection kept."""
    frame = {"action": action, "id": "big", **valid_fields(action, arena), "padding": ""}
    base = len(json.dumps(frame, ensure_ascii=False).encode("utf-8"))
    per = len(json.dumps(filler, ensure_ascii=False).encode("utf-8")) - 2
    frame["padding"] = filler * ((MAX_FRAME_BYTES - base) // per + 1 + extra // per)
    text = json.dumps(frame, ensure_ascii=False)
    assert len(text.encode("utf-8")) > MAX_FRAME_BYTES
    assert arena.refused(role, text)["code"] == "too_large"
    assert arena.send(role, json.dumps({"action": "ping", "id": "still"}))[0] == {"type": "ack", "id": "still"}


def refused_frame(arena: Arena, action: str, draw: Callable[..., Any]) -> dict[str, Any] | None:
    """A valid-shaped frame naming things that do not exist (or None when `action` has no such
    form): it must change nothing wherever it is sent."""
    far = st.integers(min_value=10**9, max_value=2**63 - 1)
    uuid_text = st.uuids().map(str)
    forms: dict[str, dict[str, Any]] = {
        "like": {"question": draw(far)},
        "vote": {
            "poll": draw(far),
            "choice": draw(st.sampled_from(["满意", "不满意", "非常满意\u202e"])),
            "ballot": draw(uuid_text),
        },
        "hearing.start": {},  # the hearing is live: invalid_state
        "agenda.start": {"item": draw(far)},
        "agenda.add": {"title": "新增议程", "department": draw(far)},
        "agenda.edit": {"item": draw(far), "title": "改过的议程"},
        "agenda.move": {"item": draw(far), "position": 1},
        "agenda.remove": {"item": draw(far)},
        "question.approve": {"question": draw(far)},
        "question.reject": {"question": draw(far)},
        "question.hide": {"question": draw(far), "reason": "理由"},
        "question.stage": {"question": draw(far)},
        "question.answered": {"question": draw(far), "note": draw(storable_text), "commitment": draw(storable_text)},
        "question.edit": {"question": draw(far), "text": "x" + draw(storable_text)},
        "question.merge": {"question": draw(far), "into": arena.question.pk},
        "poll.open": {
            "item": draw(far),
            "title": draw(odd_text.map(lambda t: acceptable(t[:200], multiline=False))),
        },  # a poll is open
        "poll.close": {"poll": draw(far)},
        "poll.publish": {"poll": draw(far)},
        "deputy.checkin": {"deputy": draw(far)},
    }
    fields = forms.get(action)
    return None if fields is None else {"action": action, "id": draw(odd_text.map(lambda t: t[:100])), **fields}


@fuzz_settings("refused")
@given(data=st.data(), role=st.sampled_from(ROLES), action=st.sampled_from(sorted(ACTIONS)))
def test_well_formed_hostile_actions_are_refused_without_effect(
    arena: Arena, data: Any, role: str, action: str
) -> None:
    """Where the action is not allowed: `forbidden`; where it is, naming what does not exist (or
    what cannot be done now): `not_found` / `invalid_state` (or `rate_limited`). Never a change."""
    allowed = role in ROUTES[action].roles
    frame = refused_frame(arena, action, data.draw)
    if frame is None:
        if allowed:
            return  # ping, resume, ask, checkin, hearing.end, hearing likes: real effects, tested elsewhere
        frame = {"action": action, "id": "f", **valid_fields(action, arena)}
    reply = arena.refused(role, json.dumps(frame, ensure_ascii=data.draw(st.booleans())))
    if not allowed:
        assert reply["code"] == "forbidden", (reply, frame)
    else:
        assert reply["code"] in {"not_found", "invalid_state", "rate_limited"}, (reply, frame)
    assert reply["id"] == frame["id"]  # echoed, whatever characters it holds


@fuzz_settings("stored_text")
@given(data=st.data(), text=odd_text.filter(lambda t: 1 <= len(t.strip()) <= 500))
def test_odd_text_that_is_accepted_is_stored_as_sent(arena: Arena, data: Any, text: str) -> None:
    """A deputy's question and a moderator's edit with odd characters: refused as a bad request
    exactly when core.text refuses it, else stored as it cleans it (trimmed, bidi controls
    removed, NFC) — never an exception, on SQLite as on PostgreSQL."""
    hid = arena.world.hearing.pk
    reset_limits()  # many examples, one deputy: this is a test of text, not of the ask limit
    reply, raw = arena.send(
        "deputy", json.dumps({"action": "ask", "id": "t", "text": text}, ensure_ascii=data.draw(st.booleans()))
    )
    raw.encode("utf-8")
    errors = [r.getMessage() for r in arena.caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], errors
    expected = cleaned_or_none(text)
    if expected is None:
        assert reply.get("code") == "bad_request", reply
        return
    assert reply["type"] == "ack", reply
    stored = Question.objects.get(pk=reply["question"], hearing_id=hid)
    assert stored.text == expected
    edit = "再改：" + data.draw(odd_text.filter(lambda t: len(t.strip()) <= 490))
    reply, raw = arena.send(
        "control", json.dumps({"action": "question.edit", "id": "e", "question": stored.pk, "text": edit})
    )
    raw.encode("utf-8")
    expected = cleaned_or_none(edit)
    if reply["type"] == "ack":
        stored.refresh_from_db()
        assert stored.text == expected
    else:
        assert reply["code"] == ("bad_request" if expected is None else "invalid_state"), reply


def cleaned_or_none(text: str) -> str | None:
    try:
        return clean_text(text, max_length=500)
    except TextError:
        return None
