"""A batch of question likes and the moderator's question.stage, interleaved on the real
PostgreSQL: the batch has locked its questions' counters when the moderator's action takes the
hearing and waits for one of those questions. The like rows' foreign keys are checked at
COMMIT (deferred), which needs the hearing row: before hearings/services/likes_sql.py
lock_hearings, the two deadlocked (found by the rolling-restart fault test, one batch in a few
runs). Now the batch holds the hearing from its start and the moderator's action waits for it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from hearings import services
from hearings.models import Hearing, Like, Question
from hearings.services import likes_sql
from tests.factories import make_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass")


def _in_thread(target: Callable[[], Any], outcome: dict[str, Any], name: str) -> threading.Thread:
    def run() -> None:
        try:
            outcome[name] = target()
        except Exception as exc:
            outcome[name] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _waiting_on_a_lock() -> int:
    """Other backends of this database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


def test_question_likes_and_a_stage_queue_instead_of_deadlocking(monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(status=Hearing.Status.LIVE)
    hid = world.hearing.pk
    question = services.question_submit(hearing_id=hid, text="菜市场什么时候改造？", source="public")
    services.question_approve(hearing_id=hid, question_id=question.pk, by=world.moderator)

    counted = threading.Event()
    go_on = threading.Event()
    original = likes_sql.add_to_counters

    def pausing(model: type[Question] | type[Hearing], increments: Counter[int]) -> None:
        original(model, increments)
        if model is Question:  # the question's row is locked now, in the batch's transaction
            counted.set()
            assert go_on.wait(20)

    monkeypatch.setattr(likes_sql, "add_to_counters", pausing)
    outcome: dict[str, Any] = {}
    batch = _in_thread(
        lambda: services.like_add_many(requests=[services.LikeRequest(hid, "viewer-1", question.pk)]),
        outcome,
        "likes",
    )
    assert counted.wait(20)
    stage = _in_thread(
        lambda: services.question_stage(hearing_id=hid, question_id=question.pk, by=world.moderator),
        outcome,
        "stage",
    )
    deadline = time.monotonic() + 20
    while _waiting_on_a_lock() == 0:  # the moderator's action is blocked (on the hearing, or the question)
        assert time.monotonic() < deadline, "the stage never waited"
        time.sleep(0.01)
    go_on.set()
    batch.join(30)
    stage.join(30)

    assert not isinstance(outcome["likes"], Exception), outcome["likes"]
    assert not isinstance(outcome["stage"], Exception), outcome["stage"]
    assert Like.objects.filter(question=question).count() == 1
    question.refresh_from_db()
    assert (question.likes, question.status) == (1, Question.Status.ON_STAGE)
