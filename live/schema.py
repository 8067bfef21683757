"""The wire contract: every server → client event and every client → server action.

This module is the one place a WebSocket frame's shape is defined; ../shared/PROTOCOL.md is
its prose. Server-made models forbid unknown fields so a typo fails in tests, not in a
client; client actions ignore unknown fields (clients may extend) but are strict on types.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, TypeAlias
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema, from_json

from core import limits
from core.text import RAW_TEXT, TextRule

MAX_FRAME_BYTES = limits.FRAME_BYTES


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNKNOWN_ACTION = "unknown_action"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_STATE = "invalid_state"
    POLL_CLOSED = "poll_closed"
    ALREADY_VOTED = "already_voted"
    NOT_ELIGIBLE = "not_eligible"
    RATE_LIMITED = "rate_limited"
    TOO_LARGE = "too_large"


class Stream(StrEnum):
    """The two sequences of a hearing: public (public and deputy sockets) and control."""

    PUBLIC = "public"
    CONTROL = "control"


# --------------------------------------------------------------------------- payloads


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DepartmentRef(_Out):
    id: int
    name: str


class AgendaItemOut(_Out):
    id: int
    title: str
    kind: Literal["opening", "questioning", "evaluation", "closing", "other"]
    department: DepartmentRef | None
    status: Literal["pending", "current", "done"]
    position: int
    planned_minutes: int
    started_at: str | None
    ended_at: str | None


QuestionStatus: TypeAlias = Literal["pending", "approved", "on_stage", "answered", "rejected", "hidden"]


class _Sparse(_Out):
    """Leaves out the fields in SPARSE that are None: they belong to some kinds of polls only,
    so a satisfaction poll's payload stays as PROTOCOL.md first gave it."""

    SPARSE: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.SPARSE:
            if data.get(name, 0) is None:
                del data[name]
        return data


class QuestionOut(_Sparse):
    """A question. `category`: one of the hearing's categories, or null. The control view's
    also has `flags` (["sensitive"] when its text or name matched the sensitive-word list) and
    the extension `matched` (the words); the public's has neither."""

    SPARSE: ClassVar[frozenset[str]] = frozenset({"flags", "matched"})
    id: int
    text: str
    asker: str
    source: Literal["deputy", "public", "moderator", "collected"]
    item: int | None
    parent: int | None
    status: QuestionStatus
    likes: int
    created_at: str
    answer_note: str = ""
    commitment: str = ""
    category: str | None = None
    flags: list[str] | None = None
    matched: list[str] | None = None


PollKind: TypeAlias = Literal["satisfaction", "sheet", "select"]


class PollOptionOut(_Sparse):
    """A sheet poll's row or a select poll's candidate; `id` is what a ballot names. Extensions:
    `department_name`, and a candidate's `budget` (万元) and `note` where given."""

    SPARSE: ClassVar[frozenset[str]] = frozenset({"department_name", "budget", "note"})
    id: int
    label: str
    department: int | None
    department_name: str | None = None
    budget: float | None = None
    note: str | None = None


class RollOut(_Sparse):
    """One deputy's ballot in a named poll's published results (记名): one of the three."""

    SPARSE: ClassVar[frozenset[str]] = frozenset({"choice", "choices", "picks"})
    deputy: str
    choice: str | None = None
    choices: dict[str, str] | None = None
    picks: list[int] | None = None


class PollOut(_Sparse):
    """A poll. results / satisfaction_rate are null until published; per kind:
    satisfaction {choice: n} and a float, sheet {"<row id>": {choice: n}} and {"<row id>":
    float|null}, select {"<candidate id>": n} (no rate) with `ranking` and `chosen`."""

    SPARSE: ClassVar[frozenset[str]] = frozenset(
        {"rows", "candidates", "min", "max", "choose", "weights", "ranking", "chosen", "roll", "opens_at", "closes_at"}
    )
    id: int
    item: int | None
    title: str
    status: Literal["draft", "open", "closed", "published"]  # a draft only on the control socket
    choices: list[str]
    secret: bool
    cast: int
    eligible: int
    results: dict[str, int] | dict[str, dict[str, int]] | None
    satisfaction_rate: float | dict[str, float | None] | None
    kind: PollKind = "satisfaction"
    rows: list[PollOptionOut] | None = None  # sheet
    candidates: list[PollOptionOut] | None = None  # select
    min: int | None = None  # select: picks per ballot, from min …
    max: int | None = None  # … to max
    choose: int | None = None  # select: how many are chosen
    weights: dict[str, float] | None = None  # sheet: a score per choice, where configured
    ranking: list[int] | None = None  # select, published: most picks first, ties by position
    chosen: list[int] | None = None  # select, published: the first `choose` of the ranking
    roll: list[RollOut] | None = None  # named and published: who chose what
    opens_at: str | None = None  # a window poll (ISO 8601): deputies vote on their own devices …
    closes_at: str | None = None  # … until it closes by itself


class HearingOut(_Out):
    id: int
    title: str
    theme: str
    venue: str
    starts_at: str
    stream_url: str
    status: Literal["draft", "live", "ended"]


class Counters(_Out):
    online: int
    likes: int


class DeputyMe(_Out):
    """What a deputy's own tablet adds to the public snapshot."""

    name: str
    checked_in: bool
    voted: list[int]
    eligible: int


class AttendanceOut(_Out):
    """签到 N / M and the quorum (法定人数): `checked_in` of the hearing's `deputies` have checked
    in; `needed` is the smallest count that is a quorum, `quorum` whether it is reached
    (voting.selectors.attendance_summary). In every view's snapshot and `attendance` counter."""

    checked_in: int
    deputies: int
    needed: int
    quorum: bool


class ControlAttendanceOut(AttendanceOut):
    """The control view's: also who has checked in (user ids of the hearing's deputies)."""

    present: list[int]


class Snapshot(_Out):
    hearing: HearingOut
    agenda: list[AgendaItemOut]
    current_item: int | None
    on_stage: int | None
    questions: list[QuestionOut]
    polls: list[PollOut]
    counters: Counters
    attendance: ControlAttendanceOut | AttendanceOut
    question_likes: dict[str, int] = Field(default_factory=dict)
    me: DeputyMe | None = None


# --------------------------------------------------------------------------- state events


class HearingStatusData(_Out):
    status: Literal["draft", "live", "ended"]


class HearingUpdatedData(_Out):
    """The hearing's set-up changed (title, theme, venue, start, stream) while pages are open:
    `hearing` replaces what a client holds; extension of the protocol."""

    hearing: HearingOut


class AgendaCurrentData(_Out):
    item: int | None
    previous: int | None
    agenda: list[AgendaItemOut]


class AgendaUpdatedData(_Out):
    agenda: list[AgendaItemOut]


class QuestionData(_Out):
    question: QuestionOut


class QuestionStageData(_Out):
    """The stage moved: `question` is now on_stage (None: the stage is empty) and `previous`,
    if any, left it (back to approved, or answered when a question.updated said so)."""

    question: int | None
    previous: int | None = None


class QuestionRemovedData(_Out):
    """A question leaves this audience's list (merged into another); extension of the protocol."""

    question: int
    merged_into: int | None


class PollData(_Out):
    poll: PollOut


StateData: TypeAlias = (
    HearingStatusData
    | HearingUpdatedData
    | AgendaCurrentData
    | AgendaUpdatedData
    | QuestionData
    | QuestionStageData
    | QuestionRemovedData
    | PollData
)

STATE_EVENT_TYPES: dict[str, type[_Out]] = {
    "hearing.status": HearingStatusData,
    "hearing.updated": HearingUpdatedData,
    "agenda.current": AgendaCurrentData,
    "agenda.updated": AgendaUpdatedData,
    "question.new": QuestionData,
    "question.updated": QuestionData,
    "question.stage": QuestionStageData,
    "question.removed": QuestionRemovedData,
    "poll.opened": PollData,
    "poll.closed": PollData,
    "poll.published": PollData,
    # Extensions, control stream only: the office prepared a poll (a draft) or deleted one.
    "poll.prepared": PollData,
    "poll.discarded": PollData,
}


class Event(_Out):
    """A state event before it has a seq: what a service publishes."""

    type: str
    data: StateData

    @model_validator(mode="after")
    def _data_matches_type(self) -> Event:
        expected = STATE_EVENT_TYPES.get(self.type)
        if expected is None or not isinstance(self.data, expected):
            raise ValueError(f"event {self.type!r} cannot carry {type(self.data).__name__}")
        return self


# --------------------------------------------------------------------------- counter events


class LikesData(_Out):
    questions: dict[str, int]
    hearing: int


class PresenceData(_Out):
    online: int


class PollProgressData(_Out):
    poll: int
    cast: int
    eligible: int


# --------------------------------------------------------------------------- frames


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def state_frame(event_type: str, seq: int, data: BaseModel) -> str:
    """Serialize a state event once; the same text goes to every socket of the stream."""
    return f'{{"type":{_dumps(event_type)},"seq":{seq},"data":{data.model_dump_json()}}}'


def snapshot_frame(seq: int, snapshot: Snapshot) -> str:
    return state_frame("snapshot", seq, snapshot)


CounterType: TypeAlias = Literal["likes", "presence", "poll.progress", "attendance"]
# The counter frames (coalesced on the hub's tick, absolute values, the socket's current seq).
COUNTER_TYPES: tuple[CounterType, ...] = ("likes", "presence", "poll.progress", "attendance")


def counter_frame(event_type: CounterType, seq: int, data: BaseModel) -> str:
    return state_frame(event_type, seq, data)


def ack_frame(client_id: str | None, **extra: Any) -> str:
    return _dumps({"type": "ack", "id": client_id, **extra})


def error_frame(client_id: str | None, code: ErrorCode, message: str) -> str:
    return _dumps({"type": "error", "id": client_id, "code": str(code), "message": message})


# --------------------------------------------------------------------------- client actions

ClientId = Annotated[str, StringConstraints(max_length=limits.CLIENT_ID)]
PositiveId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class _Action(BaseModel):
    # Unknown fields are ignored (clients may extend); known ones are strictly typed.
    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    id: ClientId


# A client action's model, as the moderator's command table (chamber/commands.py) names it.
ActionModel = _Action


class Resume(_Action):
    action: Literal["resume"]
    seq: Annotated[int, Field(ge=0, le=2**63 - 1)]


class Ping(_Action):
    action: Literal["ping"]


class Like(_Action):
    action: Literal["like"]
    question: PositiveId | None = None
    hearing: bool | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Like:
        if (self.question is None) == (self.hearing is not True):
            raise ValueError('give either "question": id or "hearing": true')
        return self


# Every text a client sends is cleaned by core.text.clean_text (control characters refused, NUL
# among them: PostgreSQL text cannot hold it; bidi controls removed; invisible-only text refused;
# trimmed); a refusal is a `bad_request`. The limits are core/limits.py's, as the services'.
Name = Annotated[str, TextRule(max_length=limits.ASKER_NAME, multiline=False, required=False)]
Title = Annotated[str, TextRule(max_length=limits.POLL_TITLE, multiline=False, required=False)]
Category = Annotated[str, Field(max_length=limits.QUESTION_CATEGORY)]
Reason = Annotated[str, TextRule(max_length=limits.HIDE_REASON, multiline=False)]
Note = Annotated[str, TextRule(max_length=limits.ANSWER_NOTE, required=False)]
QuestionText = Annotated[str, TextRule(max_length=limits.QUESTION_TEXT)]


class _Question(_Action):
    """A new question's fields (a follow-up, 追问, with `parent`)."""

    text: QuestionText
    item: PositiveId | None = None
    parent: PositiveId | None = None
    name: Name | None = None
    category: Category | None = None  # one of the hearing's categories


class Ask(_Question):
    action: Literal["ask"]


class QuestionAdd(_Question):
    """The moderator records a question, approved at once: a command of the control panel
    only (chamber/commands.py), not an action of the socket, so not in `Action`."""

    action: Literal["question.add"]


class ViewerBlock(_Action):
    """Block the viewer who asked a question: their further asks go to the hidden list. A
    command of the control panel only (chamber/commands.py), not an action of the socket."""

    action: Literal["viewer.block"]
    question: PositiveId
    reason: Annotated[str, TextRule(max_length=limits.HIDE_REASON, multiline=False, required=False)] | None = None


class Checkin(_Action):
    action: Literal["checkin"]


class DeputyCheckin(_Action):
    """A moderator checks a deputy of the hearing in on their behalf (代签; extension)."""

    action: Literal["deputy.checkin"]
    deputy: PositiveId


Choice = Annotated[str, StringConstraints(min_length=1, max_length=limits.POLL_CHOICE)]


class Vote(_Action):
    """Exactly one of `choice` (satisfaction poll), `choices` (sheet: {"<row id>": choice}) and
    `picks` (select: candidate ids); which one the poll takes, the service checks."""

    action: Literal["vote"]
    poll: PositiveId
    choice: Choice | None = None
    choices: Annotated[dict[str, Choice], Field(min_length=1, max_length=limits.POLL_ROWS)] | None = None
    picks: Annotated[list[PositiveId], Field(min_length=1, max_length=limits.POLL_CANDIDATES)] | None = None
    ballot: UUID

    @model_validator(mode="after")
    def _one_answer(self) -> Vote:
        if sum(x is not None for x in (self.choice, self.choices, self.picks)) != 1:
            raise ValueError('give exactly one of "choice", "choices" or "picks"')
        return self


class HearingStart(_Action):
    action: Literal["hearing.start"]


class HearingEnd(_Action):
    action: Literal["hearing.end"]


class AgendaStart(_Action):
    action: Literal["agenda.start"]
    item: PositiveId


# An agenda item's fields (agenda.add / agenda.edit). A title is one line, as core.text cleans it;
# the panel's forms leave titles and numbers as sent (RAW_TEXT), for the services to refuse in
# the page's words.
AgendaTitle = Annotated[str, TextRule(max_length=limits.AGENDA_TITLE, multiline=False)]
AgendaKind = Literal["opening", "questioning", "evaluation", "closing", "other"]


@dataclass(frozen=True)
class Between:
    """pydantic metadata: a whole number from `low` to `high` (the JSON schema says so); not
    checked under the RAW_TEXT context (the control panel's forms: the service checks it and
    words the refusal for the page)."""

    low: int
    high: int

    def _validate(self, value: int, info: core_schema.ValidationInfo) -> int:
        if isinstance(info.context, dict) and info.context.get(RAW_TEXT):
            return value
        if not self.low <= value <= self.high:
            raise PydanticCustomError(
                "out_of_range", "must be from {low} to {high}", {"low": self.low, "high": self.high}
            )
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {**handler(schema), "minimum": self.low, "maximum": self.high}


Minutes = Annotated[int, Between(1, limits.AGENDA_MINUTES)]


class AgendaAdd(_Action):
    """A new item, after the item `after` (default: last)."""

    action: Literal["agenda.add"]
    title: AgendaTitle
    kind: AgendaKind | None = None
    department: PositiveId | None = None
    minutes: Minutes | None = None
    after: PositiveId | None = None


class AgendaEdit(_Action):
    """Change any of an item's fields; one left out stays as it is. `department`: null takes the
    department away (so a field sent is not the same as a field left out: `model_fields_set`)."""

    action: Literal["agenda.edit"]
    item: PositiveId
    title: AgendaTitle | None = None
    kind: AgendaKind | None = None
    department: PositiveId | None = None
    minutes: Minutes | None = None


class AgendaMove(_Action):
    action: Literal["agenda.move"]
    item: PositiveId
    position: Annotated[int, Between(1, limits.AGENDA_ITEMS)]


class AgendaRemove(_Action):
    """Only an item never started, with no question or poll."""

    action: Literal["agenda.remove"]
    item: PositiveId


class QuestionApprove(_Action):
    action: Literal["question.approve"]
    question: PositiveId


class QuestionReject(_Action):
    action: Literal["question.reject"]
    question: PositiveId


class QuestionHide(_Action):
    """Withdraw an approved (or answered) question from public view; the reason is kept."""

    action: Literal["question.hide"]
    question: PositiveId
    reason: Reason


class QuestionStage(_Action):
    action: Literal["question.stage"]
    question: PositiveId | None


class QuestionAnswered(_Action):
    action: Literal["question.answered"]
    question: PositiveId
    note: Note | None = None
    commitment: Note | None = None


class QuestionEdit(_Action):
    """Fix a typo before approving (extension)."""

    action: Literal["question.edit"]
    question: PositiveId
    text: QuestionText


class QuestionMerge(_Action):
    """Merge a duplicate into another question, likes combined (extension)."""

    action: Literal["question.merge"]
    question: PositiveId
    into: PositiveId


OptionLabel = Annotated[str, TextRule(max_length=limits.POLL_OPTION_LABEL, multiline=False)]


class PollOptionIn(BaseModel):
    """A sheet's row or a select's candidate as poll.open gives it."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True)
    label: OptionLabel
    department: PositiveId | None = None
    budget: Annotated[float, Field(ge=0, lt=limits.POLL_OPTION_BUDGET, allow_inf_nan=False)] | None = None
    note: Annotated[str, Field(max_length=limits.POLL_OPTION_NOTE)] | None = None


Picks = Annotated[int, Field(ge=1, le=limits.POLL_CANDIDATES)]
Weight = Annotated[float, Field(gt=-limits.POLL_WEIGHT, lt=limits.POLL_WEIGHT, allow_inf_nan=False)]


class PollOpen(_Action):
    """`kind` satisfaction (default), sheet (with `rows`) or select (with `candidates`, `min`,
    `max`); `choices` (sheet / satisfaction: default 满意 / 基本满意 / 不满意), and the
    extensions `choose` (select: how many are chosen, default `max`), `satisfied` (the choices
    that count towards 满意率) and `weights` ({choice: number}). The service checks how they fit."""

    action: Literal["poll.open"]
    item: PositiveId | None = None  # required, unless `draft` names a poll prepared on an item
    draft: PositiveId | None = None  # extension: open the poll the office prepared, as it stands
    title: Title | None = None
    secret: bool = True
    kind: PollKind = "satisfaction"
    rows: Annotated[list[PollOptionIn], Field(max_length=limits.POLL_ROWS)] | None = None
    candidates: Annotated[list[PollOptionIn], Field(max_length=limits.POLL_CANDIDATES)] | None = None
    choices: Annotated[list[Choice], Field(max_length=limits.POLL_CHOICES)] | None = None
    min: Picks | None = None
    max: Picks | None = None
    choose: Picks | None = None
    satisfied: Annotated[list[Choice], Field(max_length=limits.POLL_CHOICES)] | None = None
    weights: Annotated[dict[str, Weight], Field(max_length=limits.POLL_CHOICES)] | None = None

    @model_validator(mode="after")
    def _item_or_draft(self) -> PollOpen:
        if self.item is None and self.draft is None:
            raise ValueError('give "item" (or "draft")')
        return self


class PollClose(_Action):
    action: Literal["poll.close"]
    poll: PositiveId


class PollPublish(_Action):
    action: Literal["poll.publish"]
    poll: PositiveId


Action: TypeAlias = (
    Resume
    | Ping
    | Like
    | Ask
    | Checkin
    | Vote
    | HearingStart
    | HearingEnd
    | AgendaStart
    | AgendaAdd
    | AgendaEdit
    | AgendaMove
    | AgendaRemove
    | QuestionApprove
    | QuestionReject
    | QuestionHide
    | QuestionStage
    | QuestionAnswered
    | QuestionEdit
    | QuestionMerge
    | PollOpen
    | PollClose
    | PollPublish
    | DeputyCheckin
)

ACTIONS: dict[str, type[_Action]] = {
    model.model_fields["action"].annotation.__args__[0]: model for model in Action.__args__
}

_frame_object = TypeAdapter(dict[str, Any])


class ActionError(Exception):
    def __init__(self, client_id: str | None, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.client_id = client_id
        self.code = code
        self.message = message


def parse_action(text: str | None, raw: bytes | None = None) -> _Action:
    """Validate one client frame; raise ActionError with the protocol's code."""
    if text is None:
        size = len(raw or b"")
        if size > MAX_FRAME_BYTES:
            raise ActionError(None, ErrorCode.TOO_LARGE, f"frame over {MAX_FRAME_BYTES} bytes")
        raise ActionError(None, ErrorCode.BAD_REQUEST, "frames are JSON text, not binary")
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise ActionError(None, ErrorCode.TOO_LARGE, f"frame over {MAX_FRAME_BYTES} bytes")
    try:
        obj = from_json(text)  # pydantic-core's parser: several times faster than json.loads
    except (ValueError, RecursionError):
        raise ActionError(None, ErrorCode.BAD_REQUEST, "not JSON") from None
    if not isinstance(obj, dict):
        raise ActionError(None, ErrorCode.BAD_REQUEST, "a frame is a JSON object")
    raw_id = obj.get("id")
    client_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= limits.CLIENT_ID else None
    name = obj.get("action")
    if not isinstance(name, str):
        raise ActionError(client_id, ErrorCode.BAD_REQUEST, '"action" must be a string')
    model = ACTIONS.get(name)
    if model is None:
        raise ActionError(client_id, ErrorCode.UNKNOWN_ACTION, f"no action {name[:50]!r}")
    if model is Vote and isinstance(obj.get("ballot"), str):
        # UUIDs arrive as JSON strings; strict mode would refuse the string form.
        try:
            obj = {**obj, "ballot": UUID(obj["ballot"])}
        except ValueError:
            raise ActionError(client_id, ErrorCode.BAD_REQUEST, '"ballot" must be a UUID') from None
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "frame"
        raise ActionError(client_id, ErrorCode.BAD_REQUEST, f"{where}: {first.get('msg', 'invalid')}") from None
