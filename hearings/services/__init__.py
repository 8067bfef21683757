"""Every state change of a hearing, its agenda, its questions and its likes, one module per
aggregate; callers import them from here (`from hearings import services`).

Each function is one rule-checked change in one transaction that publishes its events on
commit. Arguments are keyword-only; `by` is the acting user (None for the system: seed
data, management commands). A refused change raises a DomainError and changes nothing.
"""

from hearings.services.agenda import agenda_start
from hearings.services.hearing import hearing_end, hearing_start
from hearings.services.likes import LikeRequest, LikeResult, like_add, like_add_many
from hearings.services.people import (
    FieldErrors,
    PersonData,
    SavedPerson,
    department_create,
    department_update,
    people_plan,
    person_activate,
    person_clean,
    person_deactivate,
    person_plan,
    person_save,
    person_set_password,
)
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
from hearings.services.roster import Roster, RosterInvalid, Summary, roster_import, roster_validate

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_NOTE_LENGTH",
    "MAX_QUESTION_LENGTH",
    "FieldErrors",
    "LikeRequest",
    "LikeResult",
    "PersonData",
    "Roster",
    "RosterInvalid",
    "SavedPerson",
    "Summary",
    "agenda_start",
    "department_create",
    "department_update",
    "hearing_end",
    "hearing_start",
    "like_add",
    "like_add_many",
    "people_plan",
    "person_activate",
    "person_clean",
    "person_deactivate",
    "person_plan",
    "person_save",
    "person_set_password",
    "question_answered",
    "question_approve",
    "question_edit",
    "question_merge",
    "question_reject",
    "question_stage",
    "question_submit",
    "roster_import",
    "roster_validate",
]
