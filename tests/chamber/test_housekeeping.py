"""chamber/housekeeping.py: a task left running by a worker that died runs again (a webhook attempt
it had claimed but not recorded is made for real, once), and the nightly run prunes old task results
(mail tasks hold addresses and bodies) and erases old contacts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from chamber import housekeeping, schedule
from outbound import webhooks
from outbound.models import DeliveryAttempt, WebhookDelivery
from tests.outbound.conftest import SECRET
from tests.outbound.receiver import Receiver
from tests.tasks import queued

pytestmark = pytest.mark.django_db

Work = Callable[[], int]


def died_mid_attempt(capture: Any, url: str, *, minutes_ago: int) -> tuple[WebhookDelivery, DBTaskResult[Any, Any]]:
    """A delivery whose first attempt a worker claimed, then died before recording it."""
    webhooks.register(url, SECRET)
    with capture(execute=True):
        (delivery,) = webhooks.emit("assignment.accept", {"id": 7, "title": "路灯"}, None)
    (task,) = queued("deliver")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=1)  # the claim
    DBTaskResult.objects.filter(pk=task.pk).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=minutes_ago), worker_ids=["gone"]
    )
    return delivery, task


def test_a_delivery_whose_worker_died_is_delivered_once_after_recovery(
    settings: Any, receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    delivery, task = died_mid_attempt(
        django_capture_on_commit_callbacks, receiver.url(), minutes_ago=settings.TASK_STALE_MINUTES + 1
    )
    assert work() == 0  # nothing ready: without recovery it would wait forever
    assert housekeeping.recover_stale() == 1
    assert DBTaskResult.objects.get(pk=task.pk).status == "READY"
    assert work() == 1
    assert len(receiver.received()) == 1
    fresh = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (fresh.status, fresh.attempts) == ("delivered", 1)
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1
    assert housekeeping.recover_stale() == 0


def test_a_task_running_for_less_than_the_stale_time_is_left_alone(
    settings: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery, task = died_mid_attempt(
        django_capture_on_commit_callbacks, receiver.url(), minutes_ago=settings.TASK_STALE_MINUTES - 1
    )
    assert housekeeping.recover_stale() == 0
    assert DBTaskResult.objects.get(pk=task.pk).status == "RUNNING"
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1


def test_an_attempt_already_recorded_is_not_released(
    receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    delivery, _ = died_mid_attempt(django_capture_on_commit_callbacks, receiver.url(), minutes_ago=60)
    DeliveryAttempt.objects.create(delivery=delivery, at=timezone.now(), status_code=500, error="", duration_ms=3)
    assert webhooks.release(str(delivery.pk), 1) is False
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1
    assert webhooks.release(str(delivery.pk), 2) is False  # not the attempt claimed


def test_old_finished_results_are_pruned_and_nothing_else(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 30
    for _ in range(4):
        housekeeping.recover_tasks.enqueue()
    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    long_ago = timezone.now() - timedelta(days=31)
    DBTaskResult.objects.filter(pk=rows[0].pk).update(status="SUCCESSFUL", finished_at=long_ago)
    DBTaskResult.objects.filter(pk=rows[1].pk).update(status="FAILED", finished_at=long_ago)
    DBTaskResult.objects.filter(pk=rows[2].pk).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=29)
    )
    # rows[3] is still waiting
    assert housekeeping.prune_results() == 2
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {rows[2].pk, rows[3].pk}


def test_the_schedule_runs_both_jobs(settings: Any, work: Work) -> None:
    settings.HOUSEKEEPING_AT = "03:30"
    now = timezone.make_aware(datetime(2026, 3, 9, 3, 31))
    assert {"recover_tasks", "housekeeping"} <= set(schedule.tick(now))
    assert work() >= 2
    done = DBTaskResult.objects.filter(task_path__endswith=".housekeeping").get()
    assert done.status == "SUCCESSFUL"
    assert done.return_value == {"task_results": 0, "contacts": 0}
