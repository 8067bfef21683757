"""Notices and reminders: the daily run that reminds departments of due and overdue
assignments and of a 回头看 coming due (in-app notices and e-mail, as each person chose), and
marking one's notices read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assignments import notes
from assignments.models import OPEN_STATUSES, Assignment, Notice, Reminder, Status
from assignments.services.transitions import liaisons, local_today, moderators, notify
from assignments.workdays import add_working_days, working_days_between

# "Due soon" this many working days (or fewer) before the due date; a 回头看 as well.
REMIND_WORKING_DAYS = 3


@dataclass(frozen=True)
class ReminderReport:
    due_soon: int
    overdue: int
    emails: int  # queued (outbound.mail: the worker sends them, retrying)
    review_due: int = 0


def reminders_send(*, today: date | None = None) -> ReminderReport:
    """The daily run (the worker's schedule, chamber/schedule.py; or `manage.py send_reminders`):
    remind the lead department's liaisons of an assignment due within REMIND_WORKING_DAYS
    working days, and, once it is overdue, them and the hearing's moderators; remind them both
    of a closed assignment's 回头看 due within as many working days (or past) and not yet
    recorded. Each reminder goes once per due date (a new due date, after an extension or a
    reopen, reminds again): an in-app notice and an e-mail, as each person chose for its kind."""
    today = today or local_today()
    horizon = add_working_days(today, REMIND_WORKING_DAYS)
    counts = {kind: 0 for kind in Reminder.Kind}
    emails = 0
    candidates = (
        Assignment.objects.filter(status__in=OPEN_STATUSES, due_date__lte=horizon)
        .select_related("lead_department", "hearing")
        .order_by("due_date", "id")
    )
    for assignment in candidates:
        kind = Reminder.Kind.OVERDUE if assignment.due_date < today else Reminder.Kind.DUE_SOON
        with transaction.atomic():
            _, created = Reminder.objects.get_or_create(assignment=assignment, kind=kind, due_date=assignment.due_date)
            if not created:
                continue
            people = liaisons(assignment)
            params: dict[str, Any] = {"title": assignment.title, "due": notes.day(assignment.due_date)}
            if kind == Reminder.Kind.OVERDUE:
                people += moderators(assignment)
                code = notes.OVERDUE
            else:
                params["left"] = working_days_between(today, assignment.due_date)
                code = notes.DUE_SOON
            emails += notify(people, assignment, code, params)
            counts[kind] += 1
    reviews = (
        Assignment.objects.filter(status=Status.CLOSED, review_due__lte=horizon, reviewed_at__isnull=True)
        .select_related("lead_department", "hearing")
        .order_by("review_due", "id")
    )
    for assignment in reviews:
        assert assignment.review_due is not None
        with transaction.atomic():
            _, created = Reminder.objects.get_or_create(
                assignment=assignment, kind=Reminder.Kind.REVIEW_DUE, due_date=assignment.review_due
            )
            if not created:
                continue
            params = {"title": assignment.title, "due": notes.day(assignment.review_due)}
            emails += notify(liaisons(assignment) + moderators(assignment), assignment, notes.REVIEW_DUE, params)
            counts[Reminder.Kind.REVIEW_DUE] += 1
    return ReminderReport(
        due_soon=counts[Reminder.Kind.DUE_SOON],
        overdue=counts[Reminder.Kind.OVERDUE],
        emails=emails,
        review_due=counts[Reminder.Kind.REVIEW_DUE],
    )


def notice_read_all(*, user: AbstractBaseUser) -> int:
    return Notice.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
