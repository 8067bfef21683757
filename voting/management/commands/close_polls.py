"""`manage.py close_polls [--every SECONDS]`: close the window polls whose closing time has come.

Each page and live room that shows a window poll closes it first when it is due, so a poll
closes by itself whoever looks; this command does it when nobody looks (cron, a systemd timer,
or `--every 30` beside the server)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from voting import services


class Command(BaseCommand):
    help = "Close the window polls (事后测评) whose closing time has come; with --every, keep doing it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, help="repeat every SECONDS until stopped")

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        if every is not None and every < 1:
            raise CommandError("--every takes at least 1 second")
        while True:
            closed = services.close_due_polls()
            for poll in closed:
                self.stdout.write(f"closed poll {poll.pk}: {poll.cast} of {poll.eligible} voted")
            if every is None:
                if not closed:
                    self.stdout.write("no poll due")
                return
            time.sleep(every)
