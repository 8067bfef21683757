"""`manage.py verify_audit [--head SEQ:HASH]`: walk the audit chain; exit 1 at the first bad entry."""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import verify

HEAD = re.compile(r"([0-9]{1,18}):([0-9a-f]{64})")


def _head(value: str) -> tuple[int, str]:
    """SEQ:HASH as `verify_audit` prints it and `/audit/head.json` publishes it ({seq}:{hash})."""
    found = HEAD.fullmatch(value.strip().lower())
    if found is None:
        raise CommandError("--head is SEQ:HASH, as an earlier run printed it or /audit/head.json published it")
    return int(found[1]), found[2]


class Command(BaseCommand):
    help = "Check the audit log's hash chain: every entry unedited, none deleted or inserted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            help=(
                "SEQ:HASH printed by an earlier run or published at /audit/head.json: also proves the chain "
                "still contains it, so nothing was cut off the end or rewritten since"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify(head=_head(options["head"]) if options["head"] is not None else None)
        if result.broken is not None:
            bad = result.broken
            raise CommandError(
                f"audit chain broken at entry {bad.seq} (id {bad.entry_id}): {bad.reason}; "
                f"{result.count} entries before it hold"
            )
        self.stdout.write(f"audit chain ok: {result.count} entries; head {result.head_seq}:{result.head_hash}")
