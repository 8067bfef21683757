"""Two office staff add the same threshold rule at the same moment, on the real PostgreSQL,
while no rule is active yet: it is stored once, the other add refused."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import pytest
from django.db import connection

import audit
from core.errors import BadRequest
from hearings.models import Person
from tests.factories import make_user
from voting import thresholds
from voting.models import Threshold

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")


def test_the_same_rule_added_twice_at_once_is_stored_once() -> None:
    staff = []
    for _ in range(2):
        user = make_user()
        Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
        staff.append(user)
    # Both adds stop after storing their rule, before they commit: without a lock between them,
    # neither sees the other's rule.
    barrier = threading.Barrier(2)
    record = audit.record

    def held(**kwargs: Any) -> Any:
        # Broken when the other add waits for this one: it sees the rule once this one commits.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(2)
        return record(**kwargs)

    def add(user: Any) -> str:
        try:
            thresholds.threshold_add(metric="dissatisfied", percent=30, by=user)
            return "added"
        except BadRequest:
            return "refused"
        finally:
            connection.close()

    with mock.patch("voting.thresholds.audit.record", held), ThreadPoolExecutor(2) as pool:
        outcomes = sorted(f.result(timeout=30) for f in [pool.submit(add, user) for user in staff])
    assert outcomes == ["added", "refused"]
    assert Threshold.objects.filter(active=True, metric="dissatisfied", percent=30).count() == 1
