"""Every state change of a hearing, its agenda, its questions and its likes, one module per
aggregate; callers import them from here (`from hearings import services`).

Each function is one rule-checked change in one transaction that publishes its events on
commit. Arguments are keyword-only; `by` is the acting user (None for the system: seed
data, management commands). A refused change raises a DomainError and changes nothing.
"""

from hearings.services.agenda import UNCHANGED, agenda_add, agenda_edit, agenda_move, agenda_remove, agenda_start
from hearings.services.hearing import hearing_end, hearing_start
from hearings.services.likes import LikeRequest, LikeResult, like_add, like_add_many
from hearings.services.questions import (
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    MAX_QUESTION_LENGTH,
    question_answered,
    question_approve,
    question_edit,
    question_merge,
    question_reject,
    question_stage,
    question_submit,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_NOTE_LENGTH",
    "MAX_QUESTION_LENGTH",
    "UNCHANGED",
    "LikeRequest",
    "LikeResult",
    "agenda_add",
    "agenda_edit",
    "agenda_move",
    "agenda_remove",
    "agenda_start",
    "hearing_end",
    "hearing_start",
    "like_add",
    "like_add_many",
    "question_answered",
    "question_approve",
    "question_edit",
    "question_merge",
    "question_reject",
    "question_stage",
    "question_submit",
]
