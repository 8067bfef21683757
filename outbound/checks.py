"""`manage.py check --deploy`: webhooks with no host allowlist can be aimed anywhere the server reaches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning

W001 = CheckWarning(
    "WEBHOOK_ALLOWED_HOSTS is empty: office staff can register a webhook to any host, internal services included.",
    hint="Set WEBHOOK_ALLOWED_HOSTS to the hosts (host or host:port, comma-separated) of the platforms that "
    "receive webhooks (docs/webhooks.md).",
    id="outbound.W001",
)


def webhook_hosts_allowlist(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """Registered by outbound.apps (deploy only, tagged security)."""
    return [] if settings.WEBHOOK_ALLOWED_HOSTS else [W001]
