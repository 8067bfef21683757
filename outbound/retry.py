"""One backoff for everything the worker retries: e-mail and webhook deliveries."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

# Attempts in all, the first included; after the last, the delivery is failed and shown to staff.
ATTEMPTS = 8
# The longest wait between two attempts.
MAX_DELAY = timedelta(hours=6)


def delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): OUTBOUND_RETRY_SECONDS, doubled
    each time, at most MAX_DELAY. 30 s by default: 30 s, 1 min, 2 min, … about an hour in all."""
    base = settings.OUTBOUND_RETRY_SECONDS
    return min(timedelta(seconds=base * 2 ** (attempt - 1)), MAX_DELAY)
