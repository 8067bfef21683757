"""`manage.py send_reminders [--today YYYY-MM-DD]`: run daily (cron or a systemd timer)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assignments import services


class Command(BaseCommand):
    help = "Remind departments of assignments due soon or overdue (email and in-app notice), once per due date."

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
        self.stdout.write(f"due soon: {report.due_soon}, overdue: {report.overdue}, emails sent: {report.emails}")
