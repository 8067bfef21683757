"""`manage.py add_webhook URL --secret S [--department SHORT]`: register an endpoint; prints its id."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from hearings.models import Department
from outbound import webhooks


class Command(BaseCommand):
    help = (
        'Register a webhook endpoint (PROTOCOL.md "Webhooks"): every assignment transition and published '
        "poll is POSTed to URL, signed with the secret; --department: only that department's assignments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="http(s) URL; its host must be on WEBHOOK_ALLOWED_HOSTS when that is set")
        parser.add_argument("--secret", required=True, help="the signing secret (16 to 200 visible ASCII characters)")
        parser.add_argument("--department", help="a department's short name: only its assignments")

    def handle(self, *args: Any, **options: Any) -> None:
        department = None
        if options["department"] is not None:
            short_name = options["department"].strip()
            department = Department.objects.filter(short_name=short_name).first()
            if department is None:
                raise CommandError(f"no department with the short name {short_name!r}")
        try:
            endpoint = webhooks.register(options["url"], options["secret"], department=department, by=None)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(str(endpoint.pk))
