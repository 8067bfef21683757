"""Log filters: what never reaches a log line.

A tablet's seat code travels in its URL (/seat/<code>/: the seat card's QR), and Django writes
request paths into its log lines (`Not Found: /seat/…/` for a refused code, `Forbidden (CSRF
cookie not set.): /seat/…/` for a tablet whose cookie was lost, with a code still unused).
`RedactSeatCodes` on the handlers writes such a path as /seat/***/ instead.
"""

from __future__ import annotations

import logging
import re

_SEAT_PATH = re.compile(r"(/seat/)[^/?#\s\"'<>]+")
MASK = "***"


def redact(text: str) -> str:
    """The text with every seat path's code masked."""
    return _SEAT_PATH.sub(rf"\g<1>{MASK}", text)


class RedactSeatCodes(logging.Filter):
    """A handler's filter: the record's message with its seat codes masked (the record is
    changed in place, so every handler after this one sees it masked too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: left to the handler
            return True
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
