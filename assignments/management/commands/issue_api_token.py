"""`manage.py issue_api_token <department id or short name>`: print a new API token for it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from assignments import services
from hearings.models import Department


class Command(BaseCommand):
    help = "Issue a REST API token for a department (printed once; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("department", help="department id or short name")

    def handle(self, *args: Any, **options: Any) -> None:
        key: str = options["department"].strip()
        match = Q(short_name=key) | Q(name=key)
        if key.isdigit():
            match |= Q(pk=int(key))
        department = Department.objects.filter(match).first()
        if department is None:
            raise CommandError(f"no department {key!r}")
        self.stdout.write(services.api_token_issue(department=department))
