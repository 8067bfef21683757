"""`manage.py purge_contacts [--days N]`: erase the contacts (phone or e-mail) of collected
questions whose hearing ended more than N days ago (default QUESTION_CONTACT_DAYS, 90).

Run it daily (cron or a systemd timer) beside send_reminders; it prints how many it erased, and
running it again erases nothing more.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from hearings import services


class Command(BaseCommand):
    help = "Erase collected questions' contacts some days after their hearing ended."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="days after the hearing (default QUESTION_CONTACT_DAYS)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = services.contacts_purge(days=options["days"])
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(f"erased {count} contacts")
