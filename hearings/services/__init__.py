"""Every state change of a hearing, its agenda, its questions, its likes and its seat codes, one module per
aggregate; callers import them from here (`from hearings import services`).

Each function is one rule-checked change in one transaction that publishes its events on
commit. Arguments are keyword-only; `by` is the acting user (None for the system: seed
data, management commands). A refused change raises a DomainError and changes nothing.
"""

from hearings.services.agenda import UNCHANGED, agenda_add, agenda_edit, agenda_move, agenda_remove, agenda_start
from hearings.services.collection import contacts_purge, question_collect
from hearings.services.hearing import (
    hearing_copy,
    hearing_create,
    hearing_end,
    hearing_set_replay,
    hearing_set_roster,
    hearing_start,
    hearing_update,
)
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
    question_assign,
    question_edit,
    question_hide,
    question_merge,
    question_reject,
    question_stage,
    question_submit,
    questions_approve,
    questions_reject,
)
from hearings.services.roster import Roster, RosterInvalid, Summary, roster_import, roster_validate
from hearings.services.screening import (
    WordsChanged,
    sensitive_words_add,
    sensitive_words_remove,
    viewer_block,
)
from hearings.services.seats import (
    seat_code_redeem,
    seat_code_reissue,
    seat_code_revoke,
    seat_codes_issue,
    seat_codes_revoke_unused,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_NOTE_LENGTH",
    "MAX_QUESTION_LENGTH",
    "UNCHANGED",
    "FieldErrors",
    "LikeRequest",
    "LikeResult",
    "PersonData",
    "Roster",
    "RosterInvalid",
    "SavedPerson",
    "Summary",
    "WordsChanged",
    "agenda_add",
    "agenda_edit",
    "agenda_move",
    "agenda_remove",
    "agenda_start",
    "contacts_purge",
    "department_create",
    "department_update",
    "hearing_copy",
    "hearing_create",
    "hearing_end",
    "hearing_set_replay",
    "hearing_set_roster",
    "hearing_start",
    "hearing_update",
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
    "question_assign",
    "question_collect",
    "question_edit",
    "question_hide",
    "question_merge",
    "question_reject",
    "question_stage",
    "question_submit",
    "questions_approve",
    "questions_reject",
    "roster_import",
    "roster_validate",
    "seat_code_redeem",
    "seat_code_reissue",
    "seat_code_revoke",
    "seat_codes_issue",
    "seat_codes_revoke_unused",
    "sensitive_words_add",
    "sensitive_words_remove",
    "viewer_block",
]
