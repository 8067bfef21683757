"""`manage.py sensitive_words --add W [W …] | --remove W [W …] | --list`: the sensitive-word list.

A question whose text or name holds a listed word waits for a moderator, flagged, whoever asked
(docs/live.md, "Screening"). Matching ignores case, full/half width, spaces and punctuation.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from hearings import services
from hearings.models import SensitiveWord


class Command(BaseCommand):
    help = "Add, remove or list the sensitive words (敏感词) that hold a question for a moderator."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--add", nargs="+", metavar="W", help="add these words")
        group.add_argument("--remove", nargs="+", metavar="W", help="remove these words")
        group.add_argument("--list", action="store_true", help="print the list, one word a line")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for word in SensitiveWord.objects.order_by("word").values_list("word", flat=True):
                self.stdout.write(word)
            return
        try:
            if options["add"]:
                result = services.sensitive_words_add(words=options["add"], by=None)
                self.stdout.write(f"added {len(result.changed)}, already listed {len(result.unchanged)}")
            else:
                result = services.sensitive_words_remove(words=options["remove"], by=None)
                self.stdout.write(f"removed {len(result.changed)}, not listed {len(result.unchanged)}")
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
