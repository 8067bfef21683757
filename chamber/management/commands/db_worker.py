"""`manage.py db_worker`: django-tasks' database worker (every option and behaviour of
django_tasks_db's command) plus the periodic schedule (chamber/schedule.py) in a thread beside
it, unless `--batch` (run what is queued, then exit) or `--no-schedule`. chamber comes before
django_tasks_db in INSTALLED_APPS, so this is the db_worker manage.py runs."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from chamber.schedule import Scheduler, housekeeping_at, reminders_at


class Command(db_worker.Command):
    help = "Run the database task worker and the periodic schedule (closing window polls, daily reminders)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--no-schedule",
            action="store_true",
            help="Only run tasks; leave the periodic jobs to another worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, read in (("REMINDERS_AT", reminders_at), ("HOUSEKEEPING_AT", housekeeping_at)):
            try:
                read()
            except ValueError:
                raise CommandError(f"{name} takes HH:MM (local time), e.g. 08:30") from None
        scheduler = None
        # With --reload the first process only watches files and restarts a child that runs
        # the worker: the schedule runs in the child.
        reloading = options.get("reload") and not options.get("batch")
        in_worker_process = not reloading or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true"
        if not options.pop("no_schedule", False) and not options.get("batch") and in_worker_process:
            scheduler = Scheduler()
            scheduler.start()
        try:
            super().handle(*args, **options)
        finally:
            # The worker returns, or a signal's sys.exit unwinds through here: stop the thread.
            if scheduler is not None:
                scheduler.stop()
