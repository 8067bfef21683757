"""`manage.py send_reminders [--today YYYY-MM-DD]`: the daily reminders, now, in this process
(the worker's schedule runs them daily by itself, chamber/schedule.py; this is for a catch-up or a
given date). The e-mails are queued: the worker (`manage.py db_worker`) sends them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assignments import services


class Command(BaseCommand):
    help = (
        "Remind departments of assignments due soon or overdue and of 回头看 due (in-app notice and queued "
        "e-mail), once per due date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="run as if on this date (YYYY-MM-DD)")

    def handle(self, *args: Any, **options: Any) -> None:
        today = None
        if options["today"]:
            try:
                today = date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError("--today takes YYYY-MM-DD") from None
        report = services.reminders_send(today=today)
        self.stdout.write(
            f"due soon: {report.due_soon}, overdue: {report.overdue}, review due: {report.review_due}, "
            f"emails queued: {report.emails}"
        )
