"""Every state change of an assignment after a hearing, by concern: the workflow's transitions
(assignments/workflow.py is the table they read), leftover questions assigned in one batch
(书面答复), reminders and notices, API tokens. Callers import them from here
(`from assignments import services`). Holidays and make-up working days (calendar.py) are the
office staff's, with the recounting of due dates they move (assignments_due_recompute)."""

from assignments.services.calendar import (
    OverrideReport,
    YearOverview,
    workdays_listed,
    workdays_override,
    workdays_remove,
    workdays_years,
)
from assignments.services.following import follow_request, follower_confirm, follower_get, follower_unsubscribe
from assignments.services.leftovers import BatchResult, leftovers_assign
from assignments.services.preferences import preferences_set
from assignments.services.reminders import REMIND_WORKING_DAYS, ReminderReport, notice_read_all, reminders_send
from assignments.services.tokens import api_token_issue
from assignments.services.transitions import (
    ATTACHMENT_SUFFIXES,
    DEFAULT_WORKING_DAYS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_NOTE,
    MAX_REPLY,
    MAX_REVIEW_MONTHS,
    MAX_TITLE,
    MAX_WORKING_DAYS,
    REVIEW_MONTHS,
    RecomputeReport,
    assignment_accept,
    assignment_close,
    assignment_create,
    assignment_decide_extension,
    assignment_evaluate,
    assignment_progress,
    assignment_reassign,
    assignment_reopen,
    assignment_reply,
    assignment_request_extension,
    assignment_return,
    assignment_review,
    assignment_set_review,
    assignments_create_each,
    assignments_due_recompute,
)

__all__ = [
    "ATTACHMENT_SUFFIXES",
    "DEFAULT_WORKING_DAYS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_NOTE",
    "MAX_REPLY",
    "MAX_REVIEW_MONTHS",
    "MAX_TITLE",
    "MAX_WORKING_DAYS",
    "REMIND_WORKING_DAYS",
    "REVIEW_MONTHS",
    "BatchResult",
    "OverrideReport",
    "RecomputeReport",
    "ReminderReport",
    "YearOverview",
    "api_token_issue",
    "assignment_accept",
    "assignment_close",
    "assignment_create",
    "assignment_decide_extension",
    "assignment_evaluate",
    "assignment_progress",
    "assignment_reassign",
    "assignment_reopen",
    "assignment_reply",
    "assignment_request_extension",
    "assignment_return",
    "assignment_review",
    "assignment_set_review",
    "assignments_create_each",
    "assignments_due_recompute",
    "follow_request",
    "follower_confirm",
    "follower_get",
    "follower_unsubscribe",
    "leftovers_assign",
    "notice_read_all",
    "preferences_set",
    "reminders_send",
    "workdays_listed",
    "workdays_override",
    "workdays_remove",
    "workdays_years",
]
