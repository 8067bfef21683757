"""Fixtures of the outbound tests, shared with the attacks on them (registered in tests/conftest.py):
a local webhook receiver and a task runner that commits as the worker would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.outbound.receiver import Receiver
from tests.tasks import run_tasks


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
