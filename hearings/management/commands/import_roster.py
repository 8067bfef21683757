"""`manage.py import_roster PATH [--dry-run]`: people from a CSV or XLSX roster (PROTOCOL.md,
"Commands"; the rules are hearings/services/roster.py).

Any bad row: one `row N: column: reason` line per problem on stderr, exit 1, nothing stored.
Otherwise one summary line on stdout, exit 0. `--dry-run` checks and stores nothing."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import limits
from core.errors import BadRequest
from hearings.services.roster import RosterInvalid, roster_import


class Command(BaseCommand):
    help = "Create or update people from a roster file (.csv in UTF-8, or .xlsx); all rows or none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the roster: .csv (UTF-8, BOM allowed) or .xlsx")
        parser.add_argument("--dry-run", action="store_true", help="check the file and say what would change")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        try:
            if path.stat().st_size > limits.ROSTER_BYTES:
                raise CommandError(f"{path}: larger than {limits.ROSTER_BYTES} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            summary = roster_import(data=data, filename=path.name, by=None, dry_run=options["dry_run"])
        except RosterInvalid as exc:
            for problem in exc.roster.problems:
                self.stderr.write(f"row {problem.row}: {problem.column}: {problem.reason}")
            sys.exit(1)
        except BadRequest as exc:
            raise CommandError(f"{path}: {exc.message}") from None
        if summary.dry_run:
            self.stdout.write(
                f"dry run, nothing stored: {summary.rows} rows would create {summary.created}, "
                f"update {summary.updated}, leave {summary.unchanged} unchanged"
            )
        else:
            self.stdout.write(
                f"roster imported: {summary.rows} rows, {summary.created} created, "
                f"{summary.updated} updated, {summary.unchanged} unchanged"
            )
