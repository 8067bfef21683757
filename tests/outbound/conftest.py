from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.outbound.receiver import Receiver
from tests.tasks import run_tasks

SECRET = "s3cret-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _plain_http_fast_retries(settings: Any, tmp_path: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.OUTBOUND_RETRY_SECONDS = 30


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


Capture = Callable[..., Any]


@pytest.fixture
def work(django_capture_on_commit_callbacks: Capture) -> Callable[[], int]:
    """Run every ready task, committing as the worker would (their on-commit enqueues included),
    until none is ready; returns how many ran. A task deferred (a retry) waits: see `due`."""

    def run() -> int:
        total = 0
        while True:
            with django_capture_on_commit_callbacks(execute=True):
                ran = run_tasks()
            total += ran
            if not ran:
                return total

    return run


def due() -> int:
    """Make every deferred task ready now (as if its backoff had passed)."""
    return DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
