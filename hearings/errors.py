"""Errors a service raises when a rule refuses a change.

Each carries one of the protocol's codes (../shared/PROTOCOL.md), so a socket, the REST API
and a form can all report it the same way. A refused change has changed nothing: services
raise before they write, inside their transaction.
"""

from __future__ import annotations


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


class RateLimited(DomainError):
    code = "rate_limited"
