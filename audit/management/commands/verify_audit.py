"""`manage.py verify_audit [--head SEQ:HASH]`: walk the audit chain; exit 1 at the first bad entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import verify


def _head(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise CommandError("--head is SEQ:HASH, as an earlier run printed it")
    return int(seq), digest


class Command(BaseCommand):
    help = "Check the audit log's hash chain: every entry unedited, none deleted or inserted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            help="SEQ:HASH printed by an earlier run: also proves nothing was cut off the end since",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify(head=_head(options["head"]) if options["head"] else None)
        if result.broken is not None:
            bad = result.broken
            raise CommandError(
                f"audit chain broken at entry {bad.seq} (id {bad.entry_id}): {bad.reason}; "
                f"{result.count} entries before it hold"
            )
        self.stdout.write(f"audit chain ok: {result.count} entries; head {result.head_seq}:{result.head_hash}")
