"""The sentences the system words about an assignment: timeline notes and in-app notices.

They are stored as a code and its parameters (JSON), never as a finished sentence, and worded
here in the reader's language each time they are shown (pages, REST, e-mail). What a person
typed (a reply, a reason, a comment) stays their text: a timeline entry keeps it in public_note,
and a note's sentence may quote it ("退回：<reason>").

Dates are parameters as "YYYY-MM-DD" and shown so. A notice whose sentence was not recognised
when notices became codes (migration 0003) is LEGACY: its old text, shown as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assignments.models import Notice, ReviewOutcome, TimelineEntry
from hearings.labels import label

Params = dict[str, Any]


@dataclass(frozen=True)
class Note:
    """A timeline entry's public note: a person's text, a code with parameters, or both."""

    text: str = ""
    code: str = ""
    params: Params = field(default_factory=dict)


def typed(text: str) -> Note:
    return Note(text=text)


def day(value: date) -> str:
    return f"{value:%Y-%m-%d}"


# ------------------------------------------------------------------------------- timeline notes

CREATED = "created"
ACCEPTED = "accepted"
RETURNED = "returned"
VERDICT = "verdict"
VERDICT_COMMENT = "verdict_comment"
REOPENED = "reopened"
CLOSED = "closed"
REVIEWED = "reviewed"
EXTENSION_REQUESTED = "extension_requested"
EXTENSION_APPROVED = "extension_approved"
EXTENSION_REFUSED = "extension_refused"
REASSIGNED = "reassigned"
RELAPSE_REOPENED = "relapse_reopened"
DUE_RECOMPUTED = "due_recomputed"
# A reassignment's entry whose parameters hold this key gave a new time limit (its working days,
# or None for a date): the due date counts from that entry's day (selectors.due_date_start).
NEW_LIMIT = "new_limit"


def _closed(p: Params, text: str) -> str:
    closing = _("办结，问题已解决") if p["resolved"] else _("办结，问题未解决")
    if p.get("review_due"):
        return _("%(closing)s；%(due)s前回头看") % {"closing": closing, "due": p["review_due"]}
    return closing


def _outcome(value: str) -> str:
    return str(ReviewOutcome(value).label) if value in ReviewOutcome.values else value


NOTES: dict[str, Callable[[Params, str], str]] = {
    CREATED: lambda p, t: _("交办%(department)s办理，期限%(due)s") % p,
    ACCEPTED: lambda p, t: _("承办单位已签收"),
    RETURNED: lambda p, t: _("退回：%(text)s") % {"text": t},
    VERDICT: lambda p, t: label(p["verdict"]),
    VERDICT_COMMENT: lambda p, t: _("%(verdict)s。%(text)s") % {"verdict": label(p["verdict"]), "text": t},
    REOPENED: lambda p, t: _("代表不满意，第%(loop)s次重新办理，期限%(due)s") % p,
    CLOSED: _closed,
    REVIEWED: lambda p, t: _("回头看：%(outcome)s。%(text)s") % {"outcome": _outcome(p["outcome"]), "text": t},
    EXTENSION_REQUESTED: lambda p, t: _("申请延期至%(due)s：%(text)s") % {"due": p["due"], "text": t},
    EXTENSION_APPROVED: lambda p, t: _("同意延期至%(due)s") % p,
    EXTENSION_REFUSED: lambda p, t: _("不同意延期"),
    REASSIGNED: lambda p, t: _("重新交办%(department)s办理，期限%(due)s") % p,
    RELAPSE_REOPENED: lambda p, t: _("回头看发现问题反弹，第%(loop)s次重新办理，期限%(due)s") % p,
    DUE_RECOMPUTED: lambda p, t: _("节假日安排调整，%(days)s个工作日的期限由%(old)s改为%(due)s") % p,
}


def render_note(code: str, params: Params, text: str) -> str:
    """The note in the active language; a person's text alone as it is."""
    render = NOTES.get(code)
    if render is None:
        return text
    try:
        return render(params, text)
    except (KeyError, TypeError, ValueError):
        return text or code


def entry_note(entry: TimelineEntry) -> str:
    return render_note(entry.note_code, entry.note_params, entry.public_note)


# ------------------------------------------------------------------------------- notices

LEGACY = "legacy"
OVERDUE = "overdue"
DUE_SOON = "due_soon"
REVIEW_DUE = "review_due"  # 回头看 due (services/reminders.py)
# Notices after an action carry the code of the timeline entry it wrote (TimelineEntry.Action).
Action = TimelineEntry.Action


def _due_soon(p: Params) -> str:
    text = ngettext(
        "交办件将于 %(due)s 到期（还有 %(left)s 个工作日）：%(title)s",
        "交办件将于 %(due)s 到期（还有 %(left)s 个工作日）：%(title)s",
        p["left"],
    )
    return text % p


NOTICES: dict[str, Callable[[Params], str]] = {
    Action.CREATED: lambda p: _("新交办件：%(title)s（期限 %(due)s）") % p,
    Action.REASSIGNED: lambda p: _("新交办件：%(title)s（期限 %(due)s）") % p,
    Action.RETURNED: lambda p: _("交办件被退回：%(title)s（%(reason)s）") % p,
    Action.REPLIED: lambda p: _("交办件已答复，请评价：%(title)s") % p,
    Action.EXTENSION_REQUESTED: lambda p: _("延期申请待审核：%(title)s") % p,
    Action.EXTENSION_APPROVED: lambda p: _("延期申请已同意：%(title)s") % p,
    Action.EXTENSION_REFUSED: lambda p: _("延期申请未同意：%(title)s") % p,
    Action.REOPENED: lambda p: _("交办件重新办理：%(title)s") % p,
    Action.DUE_RECOMPUTED: lambda p: _("交办件期限随节假日调整改为 %(due)s（原为 %(old)s）：%(title)s") % p,
    Action.EVALUATED: lambda p: _("代表评价「%(verdict)s」：%(title)s") % {**p, "verdict": label(p["verdict"])},
    OVERDUE: lambda p: _("交办件已超期（期限 %(due)s）：%(title)s") % p,
    DUE_SOON: _due_soon,
    REVIEW_DUE: lambda p: _("回头看于 %(due)s 到期，请安排：%(title)s") % p,
    LEGACY: lambda p: str(p["text"]),
}


def render_notice(code: str, params: Params) -> str:
    """The notice in the active language."""
    render = NOTICES.get(code)
    try:
        return render(params) if render else str(params.get("text", code))
    except (KeyError, TypeError, ValueError):
        return str(params.get("text", code))


def notice_text(notice: Notice) -> str:
    return render_notice(notice.code, notice.params)
