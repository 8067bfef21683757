"""Errors a service raises when a rule refuses a change, as data.

A DomainError is one of the protocol's codes (../shared/PROTOCOL.md) and a translatable message
with its parameters:

    raise BadRequest(_("%(what)s最多 %(limit)s 字。"), what=FIELD_REPLY, limit=10000)

CODES gives each code its HTTP status and its one-line title. The message is rendered when it
is read (`error.message`, `str(error)`), in the active language: lazy parameters (field names)
in that language, numbers grouped ("10,000"). So the WebSocket `error` frame, the REST API's
{"error", "message"} and the pages all say the same sentence, each in its reader's language
(docs/architecture.md, "Errors"). A refused change has changed nothing: services raise before
they write, inside their transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.text import TextError, clean_text


@dataclass(frozen=True)
class Code:
    """What a protocol code means to HTTP and, in one line, to a person."""

    status: int
    title: Promise


CODES: dict[str, Code] = {
    "bad_request": Code(400, _("输入有误")),
    "unauthorized": Code(401, _("需要有效的单位令牌")),
    "forbidden": Code(403, _("无权进行此操作")),
    "not_found": Code(404, _("找不到要操作的对象")),
    "invalid_state": Code(409, _("当前状态下不能这样做")),
    "poll_closed": Code(409, _("测评已结束")),
    "already_voted": Code(409, _("已经投过票")),
    "not_eligible": Code(409, _("请先签到")),
    "rate_limited": Code(429, _("操作太频繁，请稍后再试")),
}


def render(message: str | Promise, params: Mapping[str, object]) -> str:
    """`message` % `params` in the active language: a lazy value (a field's name) as its text
    there, a whole number grouped as the language groups it, anything else as str()."""
    if not params:
        return str(message)
    values: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, int) and not isinstance(value, bool):
            values[name] = number_format(value, force_grouping=True)
        else:
            values[name] = str(value)
    return str(message) % values


class DomainError(Exception):
    """A refusal: `code` (a CODES key), a translatable `template` and its `params`."""

    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str | Promise, /, **params: object) -> None:
        super().__init__(message)
        self.template = message
        self.params = params

    @property
    def message(self) -> str:
        """The sentence, in the active language."""
        return render(self.template, self.params)

    @property
    def status(self) -> int:
        return CODES[self.code].status

    @property
    def title(self) -> str:
        """The code's one line, in the active language."""
        return str(CODES[self.code].title)

    def payload(self) -> dict[str, str]:
        """{"error": code, "message": text}: the REST API's body (PROTOCOL.md)."""
        return {"error": self.code, "message": self.message}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.template!s}, {self.params!r})"


class BadRequest(DomainError):
    code = "bad_request"


class Unauthorized(DomainError):
    code = "unauthorized"


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class InvalidState(DomainError):
    code = "invalid_state"


class PollClosed(DomainError):
    code = "poll_closed"


class AlreadyVoted(DomainError):
    code = "already_voted"


class NotEligible(DomainError):
    code = "not_eligible"


class RateLimited(DomainError):
    code = "rate_limited"


# ------------------------------------------------------------------------------- text fields

# A text field as a sentence names it ("%(what)s最多 %(limit)s 字。").
FIELD_TITLE = pgettext_lazy("field in a sentence", "标题")
FIELD_COMMITMENT = pgettext_lazy("field in a sentence", "现场承诺")
FIELD_INTERNAL_NOTE = pgettext_lazy("field in a sentence", "内部备注")
FIELD_NOTE = pgettext_lazy("field in a sentence", "说明")
FIELD_REASON = pgettext_lazy("field in a sentence", "理由")
FIELD_REPLY = pgettext_lazy("field in a sentence", "答复内容")
FIELD_COMMENT = pgettext_lazy("field in a sentence", "评价意见")
FIELD_QUESTION = pgettext_lazy("field in a sentence", "问题内容")
FIELD_NAME = pgettext_lazy("field in a sentence", "提问人姓名")
FIELD_ANSWER_NOTE = pgettext_lazy("field in a sentence", "答复要点")
FIELD_OPTION = pgettext_lazy("field in a sentence", "测评项或候选项的名称")

# The same by the name a service or a payload calls the field (`what="note"`, the REST body's "note").
FIELDS: dict[str, Promise] = {
    "title": FIELD_TITLE,
    "commitment": FIELD_COMMITMENT,
    "internal note": FIELD_INTERNAL_NOTE,
    "note": FIELD_NOTE,
    "reason": FIELD_REASON,
    "reply": FIELD_REPLY,
    "comment": FIELD_COMMENT,
    "question": FIELD_QUESTION,
    "name": FIELD_NAME,
    "answer note": FIELD_ANSWER_NOTE,
    "option": FIELD_OPTION,
}

# What went wrong with a text (core.text.TextError.problem), after the field's name.
TEXT_PROBLEMS: dict[str, Promise] = {
    "not_text": _("%(what)s不是文字。"),
    "forbidden_char": _("%(what)s不能包含控制字符。"),
    "line_break": _("%(what)s只能填写一行。"),
    "invisible": _("%(what)s没有可见的文字。"),
    "empty": _("请填写%(what)s。"),
    "too_long": _("%(what)s最多 %(limit)s 字。"),
}


def field(what: str | Promise) -> Promise:
    """A field's name for a sentence: a FIELD_* as it is, or the FIELDS entry of its name
    (KeyError for a name not there: every text a service stores is named)."""
    return what if isinstance(what, Promise) else FIELDS[what]


def clean_or_refuse(
    value: str, *, what: str | Promise, max_length: int, multiline: bool = True, required: bool = True
) -> str:
    """Text a client sent, cleaned by core.text.clean_text, or its BadRequest ("The note cannot
    contain control characters."). Services call it on every text they store, whoever called them."""
    name = field(what)  # looked up on every call, so a field without a name fails in any test
    try:
        return clean_text(value, max_length=max_length, multiline=multiline, required=required)
    except TextError as exc:
        raise text_refused(name, exc) from None


def text_refused(what: str | Promise, error: TextError) -> BadRequest:
    """The refusal of the text field `what` (a FIELD_* or a FIELDS name) for `error`'s problem."""
    if error.problem == "too_long":
        return BadRequest(TEXT_PROBLEMS["too_long"], what=field(what), limit=error.limit or 0)
    return BadRequest(TEXT_PROBLEMS[error.problem], what=field(what))
