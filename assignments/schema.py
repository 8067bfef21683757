"""The REST API's payloads (shared/PROTOCOL.md, "REST API (assignments)")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from core import limits
from core.text import TextRule

StatusName = Literal["assigned", "accepted", "in_progress", "replied", "evaluated", "closed", "returned", "reopened"]
VerdictName = Literal["满意", "基本满意", "不满意"]
ActionName = Literal["accept", "return", "progress", "reply", "request_extension"]
MAX_ID = 2**63 - 1
# Cleaned by core.text.clean_text (control characters refused, bidi controls removed, invisible-only
# text refused, trimmed): a refusal is a 400 bad_request, like any invalid body.
NoteText = Annotated[str, TextRule(max_length=limits.ASSIGNMENT_REPLY, required=False)]
ReasonText = Annotated[str, TextRule(max_length=limits.ASSIGNMENT_NOTE, required=False)]
Score = Annotated[int, Field(strict=True, ge=1, le=5)]


class DepartmentOut(Schema):
    id: int
    name: str


class TimelineOut(Schema):
    at: str = Field(description="ISO 8601")
    status: StatusName
    action: str
    actor: str
    note: str


class AssignmentOut(Schema):
    id: int
    hearing: int
    questions: list[int]
    title: str
    lead_department: DepartmentOut
    co_departments: list[DepartmentOut]
    status: StatusName
    due_date: date
    overdue: bool
    loop: int
    commitment: str
    reply: str | None
    verdict: VerdictName | None
    resolved: bool | None
    timeline: list[TimelineOut]
    actions: list[ActionName] = Field(
        default_factory=list,
        description="the transitions the requesting token's department may make now (empty without a token)",
    )


class AssignmentListOut(Schema):
    count: int
    results: list[AssignmentOut]


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    action: ActionName
    note: NoteText = ""
    reason: ReasonText = Field(default="", description="why it is misrouted (return)")
    due_date: date | None = Field(default=None, description="the requested due date (request_extension)")
    # 双向评议 (reply only; optional, so the protocol's body stays valid): the department rates the
    # question or suggestion, both scores or none. Not part of the public ASSIGNMENT.
    science: Score | None = Field(default=None, description="reply: 科学性 of the question, 1 (很低) to 5 (很高)")
    feasibility: Score | None = Field(default=None, description="reply: 可行性 of the question, 1 (很低) to 5 (很高)")
    comment: ReasonText = Field(default="", description="reply: the department's comment on the question")


# The codes the REST API answers with (PROTOCOL.md); core.errors.CODES gives each its status.
ErrorName = Literal["bad_request", "unauthorized", "forbidden", "not_found", "invalid_state"]


class ErrorOut(Schema):
    error: ErrorName
    message: str = Field(description="what was refused, in the request's language (Accept-Language)")
