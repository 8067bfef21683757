"""Notices and reminders: the daily run that reminds departments of due and overdue
assignments (in-app notices and e-mail), and marking one's notices read."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation

from assignments import notes
from assignments.models import OPEN_STATUSES, Assignment, Notice, Reminder
from assignments.services.transitions import liaisons, local_today, moderators, notify
from assignments.workdays import add_working_days, working_days_between

log = logging.getLogger(__name__)

# "Due soon" this many working days (or fewer) before the due date.
REMIND_WORKING_DAYS = 3


@dataclass(frozen=True)
class ReminderReport:
    due_soon: int
    overdue: int
    emails: int


def reminders_send(*, today: date | None = None) -> ReminderReport:
    """The daily run: remind the lead department's liaisons of an assignment due within
    REMIND_WORKING_DAYS working days, and, once it is overdue, them and the hearing's
    moderators. Each reminder goes once per due date (a new due date, after an extension or a
    reopen, reminds again): an in-app notice, and an email to those with an address."""
    today = today or local_today()
    horizon = add_working_days(today, REMIND_WORKING_DAYS)
    counts = {Reminder.Kind.DUE_SOON: 0, Reminder.Kind.OVERDUE: 0}
    outbox: list[tuple[str, str, str, list[str]]] = []
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
            notify(people, assignment, code, params)
            counts[kind] += 1
            addresses = sorted({address for user in people if (address := getattr(user, "email", ""))})
            if addresses:
                # Mail is worded in the site's language (a notice, in each reader's when shown).
                with translation.override(settings.LANGUAGE_CODE):
                    text = notes.render_notice(code, params)
                outbox.append((f"【问政 Live】{text}"[:150], f"{text}\n\n{_detail_path(assignment)}", "", addresses))
    sent = 0
    for subject, body, _sender, addresses in outbox:
        try:
            sent += send_mail(subject, body, None, addresses)
        except Exception:
            # The in-app notice is there; mail is best effort and must not stop the run.
            log.exception("reminder email to %s failed", addresses)
    return ReminderReport(due_soon=counts[Reminder.Kind.DUE_SOON], overdue=counts[Reminder.Kind.OVERDUE], emails=sent)


def _detail_path(assignment: Assignment) -> str:
    return f"/assignments/{assignment.pk}/"


def notice_read_all(*, user: AbstractBaseUser) -> int:
    return Notice.objects.filter(user_id=user.pk, read_at__isnull=True).update(read_at=timezone.now())
