"""One validation for every text a client sends: socket frames, forms, the REST API, the admin.

`clean_text` is the rule; `TextRule` (pydantic: live/schema.py, assignments/schema.py) and
`CleanTextField` (Django forms) are built on it, and the services call it again (through their
own `_text` helpers) so a caller that forgot still cannot store bad text.

The rule, in order:

1. Refused (`forbidden_char`): C0 controls except TAB, LF and CR (so NUL, which PostgreSQL text
   cannot hold, and ANSI escapes), DEL, C1 controls (U+0080–U+009F) and unpaired surrogates
   (they cannot be encoded to UTF-8 for the database). None of them has a use in a question, a
   note or a name, and silently dropping them would store something the sender did not write.
2. Line ends: CRLF and CR become LF, as do U+2028/U+2029 (JavaScript reads them as line ends).
   Single-line text (names, titles) with any line end is refused (`line_break`).
3. Bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) are removed,
   not refused: they are invisible, so a person who pasted one could neither see nor fix what an
   error complained about, while removing them keeps every visible character and takes away the
   reordering (U+202E makes a name or a question read backwards on the big screen, and
   "Trojan Source" text show one thing and say another). The interface is Chinese and English;
   neither needs explicit direction marks.
4. NFC normalisation: one spelling for the same visible text (composed accents), so equal texts
   compare equal; it does not change CJK text in practice.
5. Trimmed at both ends (`str.strip`, as before).
6. Text that is left non-empty but has nothing visible (only whitespace, format characters —
   category Cf: zero-width space, BOM, word joiner … —, combining marks without a base, Hangul
   fillers, the blank braille pattern) is refused (`invisible`); zero-width characters inside
   visible text stay (ZWJ builds emoji sequences). Empty text is refused when the field is
   required (`empty`) and returned as "" when it is optional.
7. At most `max_length` characters (code points) after all this (`too_long`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

TextProblem: TypeAlias = Literal["not_text", "forbidden_char", "line_break", "invisible", "empty", "too_long"]

# C0 except TAB, LF, CR; DEL; C1; surrogates (a JSON "\ud800" decodes to one in Python).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI = re.compile(f"[{''.join(sorted(BIDI_CONTROLS))}]")  # str.translate is 30x slower on CJK text
_LINE_ENDS = ("\r\n", "\r", "\u2028", "\u2029")
# Letters and symbols that render as nothing (Hangul fillers, the blank braille pattern).
_BLANK_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"})


class TextError(ValueError):
    """Text a client sent was refused; `problem` says why, `str()` says it in one English clause
    without the field's name (callers prefix it: "note contains …")."""

    def __init__(self, problem: TextProblem, message: str, *, limit: int | None = None) -> None:
        super().__init__(message)
        self.problem: TextProblem = problem
        self.message = message
        self.limit = limit


def _visible(ch: str) -> bool:
    return not (ch.isspace() or ch in _BLANK_GLYPHS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES)


def clean_text(value: object, *, max_length: int, multiline: bool = True, required: bool = True) -> str:
    """The text as it is stored, or TextError (the module docstring lists the rule)."""
    if not isinstance(value, str):
        raise TextError("not_text", "is not text")
    if forbidden := _FORBIDDEN.search(value):
        raise TextError("forbidden_char", f"contains a control character (U+{ord(forbidden.group()):04X})")
    text = value
    for end in _LINE_ENDS:
        if end in text:
            text = text.replace(end, "\n")
    if not multiline and "\n" in text:
        raise TextError("line_break", "must be one line")
    if text and not text.isspace() and not any(_visible(ch) for ch in text):
        raise TextError("invisible", "has no visible characters")
    text = unicodedata.normalize("NFC", _BIDI.sub("", text)).strip()
    if not text and required:
        raise TextError("empty", "is required")
    if len(text) > max_length:
        raise TextError("too_long", f"has at most {max_length} characters", limit=max_length)
    return text


# Validation context key: `model.model_validate(data, context={RAW_TEXT: True})` leaves every
# TextRule field as sent (type still checked), for a caller whose service cleans the text itself
# and words a refusal for its page (the control panel's forms).
RAW_TEXT = "raw_text"


@dataclass(frozen=True)
class TextRule:
    """pydantic metadata: `Note = Annotated[str, TextRule(max_length=2000, required=False)]`.
    The value is cleaned with `clean_text` (left as sent under the RAW_TEXT context); a refusal
    is a ValidationError (the socket's `bad_request`, the REST API's 400). The JSON schema
    states the length limit."""

    max_length: int
    multiline: bool = True
    required: bool = True

    def __call__(self, value: str) -> str:
        try:
            return clean_text(value, max_length=self.max_length, multiline=self.multiline, required=self.required)
        except TextError as exc:
            # The message reads after the field's name: "text: contains a control character (U+0000)".
            # `limit` lets a caller word a too_long refusal itself (the REST API: core.errors.TEXT_PROBLEMS).
            raise PydanticCustomError(f"text_{exc.problem}", exc.message, {"limit": exc.limit or 0}) from None

    def _validate(self, value: str, info: core_schema.ValidationInfo) -> str:
        if isinstance(info.context, dict) and info.context.get(RAW_TEXT):
            return value
        return self(value)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema = dict(handler(schema))
        json_schema["maxLength"] = self.max_length
        if self.required:
            json_schema["minLength"] = 1
        return json_schema


# What a form says (in the reader's language) for the problems a form field's own validators
# do not already cover (CharField checks required and max_length).
FORM_MESSAGES: dict[TextProblem, Any] = {
    "forbidden_char": _("不能包含控制字符（%(char)s）。"),
    "line_break": _("只能填写一行。"),
    "invisible": _("没有可见的文字。"),
}


class CleanTextField(forms.CharField):
    """A Django form field that cleans with `clean_text` (`multiline` defaults to whether the
    widget is a textarea). Length and required are CharField's, with its messages."""

    def __init__(self, *, multiline: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = isinstance(self.widget, forms.Textarea) if multiline is None else multiline

    def to_python(self, value: Any) -> str:
        if value in self.empty_values:
            return ""
        text = value if isinstance(value, str) else str(value)
        try:
            return clean_text(text, max_length=len(text) * 2 + 8, multiline=self.multiline, required=False)
        except TextError as exc:
            forbidden = _FORBIDDEN.search(text)
            char = f"U+{ord(forbidden.group()):04X}" if forbidden else ""
            raise ValidationError(FORM_MESSAGES[exc.problem], code=exc.problem, params={"char": char}) from None


# The largest primary key a database row can have (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1


def row_id(value: str) -> int | None:
    """A row's id as a form or query string sends it: ASCII digits for 1 to MAX_ROW_ID, else None.
    ("²".isdigit() is true, yet int() refuses it; a 20-digit id overflows the database.)"""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ROW_ID else None
