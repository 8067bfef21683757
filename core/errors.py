"""Errors a service raises when a rule refuses a change.

Each carries one of the protocol's codes (../shared/PROTOCOL.md), so a socket, the REST API
and a form can all report it the same way. A refused change has changed nothing: services
raise before they write, inside their transaction.
"""

from __future__ import annotations

from core.text import TextError, clean_text


class DomainError(Exception):
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    code = "bad_request"


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


def clean_or_refuse(value: str, *, what: str, max_length: int, multiline: bool = True, required: bool = True) -> str:
    """Text a client sent, cleaned by core.text.clean_text, or BadRequest("<what> <problem>"),
    e.g. "note contains a control character (U+0000)" (hearings/error_text.py words each for a
    page). Services call it on every text they store, whoever called them."""
    try:
        return clean_text(value, max_length=max_length, multiline=multiline, required=required)
    except TextError as exc:
        raise text_refused(what, exc) from None


def text_refused(what: str, error: TextError) -> BadRequest:
    """The refusal of the text field `what`: "<what> <problem>"."""
    return BadRequest(f"{what} {error.message}")


class RateLimited(DomainError):
    code = "rate_limited"
