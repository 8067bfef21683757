from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

SECRET = "s3cret-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _plain_http_fast_retries(settings: Any, tmp_path: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.OUTBOUND_RETRY_SECONDS = 30


def due() -> int:
    """Make every deferred task ready now (as if its backoff had passed)."""
    return DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
