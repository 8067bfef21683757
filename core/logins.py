"""Login attempt limits: django-axes' database handler with a second, higher limit per address.

AXES_LOCKOUT_PARAMETERS names two groups, [username, address] and [address]; axes compares
only the larger of their failure counts with one limit, which would lock an office's shared
address as soon as one person mistyped five times. Here each group has its own limit:
AXES_FAILURE_LIMIT for a username from an address, LOGIN_ADDRESS_FAILURE_LIMIT for an address
across usernames (a client spraying many usernames).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from django.conf import settings
from django.db.models import QuerySet, Sum
from django.http import HttpRequest


def _failures(attempts: QuerySet[Any]) -> int:
    return int(attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0)


class LoginLimitHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        pair, address = (_failures(attempts) for attempts in self.get_user_attempts(request, credentials))
        if address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            # Axes locks when this count reaches its (per-pair) limit.
            return max(pair, get_failure_limit(request, credentials))
        return pair

    def reset_user_attempts(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        """A successful login clears that username's failures from that address (which also
        takes them off the address's count), never the other usernames' ones."""
        pair = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair.delete()
        return count
