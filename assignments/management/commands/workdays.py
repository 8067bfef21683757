"""`manage.py workdays --holiday YYYY-MM-DD [...] --workday YYYY-MM-DD [...]` and `--list YEAR`
(PROTOCOL.md "Commands"): the staff's holidays and make-up working days over the library's."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assignments.services.calendar import workdays_listed, workdays_override
from core.errors import DomainError


class Command(BaseCommand):
    help = "Add holidays and make-up working days (调休上班) over the calendar library's, or list a year's."

    def add_arguments(self, parser: CommandParser) -> None:
        # "extend": an option given twice keeps the days of both (the default "store" kept the last).
        parser.add_argument("--holiday", nargs="+", action="extend", default=[], metavar="YYYY-MM-DD", help="days off")
        parser.add_argument(
            "--workday", nargs="+", action="extend", default=[], metavar="YYYY-MM-DD", help="make-up working days"
        )
        parser.add_argument("--list", type=int, metavar="YEAR", help="print a year's overrides")

    def handle(self, *args: Any, **options: Any) -> None:
        holidays: list[str] = options["holiday"]
        workdays: list[str] = options["workday"]
        year: int | None = options["list"]
        if not (holidays or workdays or year is not None):
            raise CommandError("give --holiday and/or --workday days, or --list YEAR")
        if year is not None and not 1 <= year <= 9999:
            raise CommandError("--list needs a year")  # before storing anything given with it
        if holidays or workdays:
            try:
                report = workdays_override(holidays=holidays, workdays=workdays)
            except DomainError as exc:
                raise CommandError(str(exc.message)) from None
            if options["verbosity"] > 1:
                self.stderr.write(
                    f"added {len(report.added)}, changed {len(report.changed)}, unchanged {len(report.unchanged)}"
                )
        if year is not None:
            for row in workdays_listed(year):
                self.stdout.write(f"{row.day.isoformat()} {row.kind}")
