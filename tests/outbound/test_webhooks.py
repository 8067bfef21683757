"""outbound/webhooks.py: registering (URL, secret, host allowlist), emitting, and the delivery task
against a real receiver on loopback: the signature, retries with backoff, the attempt log, the
allowlist at delivery time, no redirects, idempotency, the department filter."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from core import limits
from core.errors import BadRequest, Forbidden, InvalidState
from outbound import retry, webhooks
from outbound.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import make_department, make_user
from tests.hearings.people_helpers import make_staff
from tests.outbound.conftest import SECRET, due
from tests.outbound.receiver import Receiver
from tests.tasks import queued

pytestmark = pytest.mark.django_db

Work = Callable[[], int]


def emit(capture: Any, event: str = "assignment.accept", data: Any = None, department_id: int | None = None) -> Any:
    with capture(execute=True):
        deliveries = webhooks.emit(event, data if data is not None else {"id": 7, "title": "路灯"}, department_id)
    return deliveries


def attempts(delivery: WebhookDelivery) -> list[tuple[int | None, str]]:
    return list(
        DeliveryAttempt.objects.filter(delivery=delivery).order_by("at", "id").values_list("status_code", "error")
    )


def fresh(delivery: WebhookDelivery) -> WebhookDelivery:
    return WebhookDelivery.objects.get(pk=delivery.pk)


def endpoints_and_audit() -> tuple[list[Any], int]:
    return list(WebhookEndpoint.objects.values_list("url", "secret")), AuditEntry.objects.filter(
        action__startswith="webhook."
    ).count()


# ------------------------------------------------------------------ the signature and the body


def test_a_delivery_is_posted_signed_and_verifiable(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    (delivery,) = emit(django_capture_on_commit_callbacks, data={"id": 7, "title": "工业园区路灯"})
    assert work() == 1
    (hit,) = receiver.received()
    assert (hit.method, hit.path, hit.headers["content-type"]) == ("POST", "/hook", "application/json")
    assert hit.verified(SECRET)
    assert not hit.verified(SECRET + "x")
    assert hit.body == fresh(delivery).body.encode()  # stored exactly as sent: the signature can be recomputed
    body = json.loads(hit.body)
    assert set(body) == {"id", "event", "at", "data"}
    assert body["id"] == str(delivery.pk)
    assert (body["event"], body["data"]) == ("assignment.accept", {"id": 7, "title": "工业园区路灯"})
    assert abs(datetime.fromisoformat(body["at"]) - timezone.now()) < timedelta(minutes=1)
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.next_at) == ("delivered", 1, None)
    assert attempts(delivery) == [(200, "")]
    assert DeliveryAttempt.objects.get(delivery=delivery).duration_ms >= 0


def test_a_change_rolled_back_sends_nothing(receiver: Receiver, work: Work) -> None:
    webhooks.register(receiver.url(), SECRET)

    def change_that_fails() -> None:
        with transaction.atomic():
            webhooks.emit("assignment.accept", {"id": 1})
            raise RuntimeError("the change fails")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert WebhookDelivery.objects.count() == 0
    assert work() == 0 and receiver.received() == []


# ------------------------------------------------------------------ retries and the log


def test_a_non_2xx_answer_is_retried_with_backoff_and_lands(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 500
    (delivery,) = emit(django_capture_on_commit_callbacks)
    before = timezone.now()
    work()
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_at is not None
    assert before + retry.delay(1) - timedelta(seconds=5) <= delivery.next_at <= timezone.now() + retry.delay(1)
    (waiting,) = queued("deliver")
    assert waiting.run_after == delivery.next_at  # deferred by the backoff, not run again at once
    assert work() == 0 and len(receiver.received()) == 1
    receiver.status = 204
    due()
    work()
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.next_at) == ("delivered", 2, None)
    assert [code for code, _ in attempts(delivery)] == [500, 204]
    first, second = receiver.received()
    assert first.body == second.body  # the same id and body on the retry
    assert second.verified(SECRET)
    assert queued("deliver") == []


def test_connection_refused_is_retried_and_lands_once_the_receiver_is_back(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.stop()
    (delivery,) = emit(django_capture_on_commit_callbacks)
    work()
    due()
    work()
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    log = attempts(delivery)
    assert [code for code, _ in log] == [None, None]
    assert all("ConnectionRefused" in error for _, error in log)
    receiver.start()
    due()
    work()
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert attempts(delivery)[-1] == (200, "")
    (hit,) = receiver.received()
    assert json.loads(hit.body)["id"] == str(delivery.pk) and hit.verified(SECRET)


def test_the_backoff_doubles_and_the_delivery_fails_after_the_last_attempt(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 503
    (delivery,) = emit(django_capture_on_commit_callbacks)
    waits = []
    for attempt in range(1, retry.ATTEMPTS + 1):
        due()
        assert work() == 1
        delivery = fresh(delivery)
        if attempt < retry.ATTEMPTS:
            last = DeliveryAttempt.objects.filter(delivery=delivery).latest("at")
            assert delivery.next_at is not None
            waits.append(round((delivery.next_at - last.at).total_seconds() / 30))
    assert waits == [1, 2, 4, 8, 16, 32, 64][: retry.ATTEMPTS - 1]  # 30 s, doubled each time
    assert (delivery.status, delivery.attempts, delivery.next_at) == ("failed", retry.ATTEMPTS, None)
    assert len(attempts(delivery)) == retry.ATTEMPTS == len(receiver.received())
    assert queued("deliver") == []


def test_a_redirect_is_not_followed(receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 302
    (delivery,) = emit(django_capture_on_commit_callbacks)
    work()
    assert [(hit.method, hit.path) for hit in receiver.received()] == [("POST", "/hook")]
    ((code, error),) = attempts(fresh(delivery))
    assert code == 302 and "elsewhere" in error
    assert fresh(delivery).status == "pending"  # a failure: retried, never followed


# ------------------------------------------------------------------ idempotency


def test_a_delivery_is_sent_once_however_often_its_task_runs(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    (delivery,) = emit(django_capture_on_commit_callbacks)
    # The same task queued twice more, and a later attempt's task: none may send it again.
    webhooks.deliver.enqueue(str(delivery.pk), 1)
    webhooks.deliver.enqueue(str(delivery.pk), 1)
    webhooks.deliver.enqueue(str(delivery.pk), 2)
    assert work() == 4
    assert len(receiver.received()) == 1
    assert webhooks.deliver.call(str(delivery.pk), 1) == "skipped"
    assert webhooks.deliver.call(str(delivery.pk), 2) == "skipped"
    assert len(receiver.received()) == 1
    assert (fresh(delivery).status, fresh(delivery).attempts, len(attempts(delivery))) == ("delivered", 1, 1)


# ------------------------------------------------------------------ who gets what


def test_endpoints_of_a_department_get_only_its_events(work: Work, django_capture_on_commit_callbacks: Any) -> None:
    receivers = {name: Receiver().start() for name in ("all", "mine", "theirs", "off")}
    try:
        mine, theirs = make_department(), make_department()
        webhooks.register(receivers["all"].url(), SECRET)
        webhooks.register(receivers["mine"].url(), SECRET, department=mine)
        webhooks.register(receivers["theirs"].url(), SECRET, department=theirs)
        off = webhooks.register(receivers["off"].url(), SECRET)
        webhooks.deactivate(off.pk)
        emit(django_capture_on_commit_callbacks, "assignment.reply", {"n": 1}, department_id=mine.pk)
        emit(django_capture_on_commit_callbacks, "poll.published", {"n": 2})
        work()
        got = {name: [json.loads(hit.body)["data"]["n"] for hit in r.received()] for name, r in receivers.items()}
        assert got == {"all": [1, 2], "mine": [1], "theirs": [], "off": []}
    finally:
        for r in receivers.values():
            r.stop()


def test_an_endpoint_deactivated_after_the_event_is_not_sent_it(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint = webhooks.register(receiver.url(), SECRET)
    (delivery,) = emit(django_capture_on_commit_callbacks)
    webhooks.deactivate(endpoint.pk)
    work()
    assert receiver.received() == []
    ((code, error),) = attempts(fresh(delivery))
    assert code is None and error
    assert fresh(delivery).status == "failed" and queued("deliver") == []


# ------------------------------------------------------------------ the host allowlist


def test_the_allowlist_refuses_other_hosts_at_registration(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["Platform.Example.gov.cn", "127.0.0.1:8443", "[::1]:9000"]
    assert webhooks.register("https://platform.example.gov.cn/hook", SECRET).pk
    assert webhooks.register("http://PLATFORM.example.gov.cn.:8080/any-port", SECRET).pk  # host alone: any port
    assert webhooks.register("http://127.0.0.1:8443/hook", SECRET).pk
    assert webhooks.register("http://[::1]:9000/hook", SECRET).pk
    before = endpoints_and_audit()
    for url in (
        "http://127.0.0.1/hook",  # port 80, not 8443
        "http://127.0.0.1:8080/hook",
        "http://localhost:8443/hook",
        "http://[::1]:9001/hook",
        "https://platform.example.gov.cn.evil.cn/hook",
        "https://evil.cn/platform.example.gov.cn",
        "http://10.0.0.1/internal",
        "http://169.254.169.254/latest/meta-data/",
    ):
        with pytest.raises(BadRequest) as refused:
            webhooks.register(url, SECRET)
        assert "WEBHOOK_ALLOWED_HOSTS" in refused.value.message, url
    assert endpoints_and_audit() == before


def test_the_allowlist_is_checked_again_at_delivery(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)  # allowed when registered (no list yet)
    (delivery,) = emit(django_capture_on_commit_callbacks)
    settings.WEBHOOK_ALLOWED_HOSTS = ["platform.example.gov.cn"]
    work()
    assert receiver.received() == []  # no request made
    ((code, error),) = attempts(fresh(delivery))
    assert code is None and "WEBHOOK_ALLOWED_HOSTS" in error
    assert (fresh(delivery).status, fresh(delivery).next_at) == ("failed", None)
    assert queued("deliver") == []  # not retried: it would be refused again
    # The receiver's own host:port on the list: the same kind of delivery goes through.
    settings.WEBHOOK_ALLOWED_HOSTS = [f"127.0.0.1:{receiver.port}"]
    emit(django_capture_on_commit_callbacks)
    work()
    assert len(receiver.received()) == 1


# ------------------------------------------------------------------ hostile input


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "file:///etc/passwd",
        "ftp://platform.example.gov.cn/hook",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "data:text/html,<script>alert(1)</script>",
        "//platform.example.gov.cn/hook",
        "platform.example.gov.cn/hook",
        "http:///no-host",
        "http://user:pass@platform.example.gov.cn/hook",
        "http://token@platform.example.gov.cn/hook",
        "http://platform.example.gov.cn:99999/hook",
        "http://platform.example.gov.cn:port/hook",
        "http://platform.example.gov.cn/hook\r\nX-Injected: 1",
        "http://platform.example.gov.cn/a b",
        "http://平台.example.cn/hook",
        "http://platform.example.gov.cn/" + "a" * limits.WEBHOOK_URL,
    ],
)
def test_hostile_urls_are_refused_and_nothing_is_stored(url: str) -> None:
    before = endpoints_and_audit()
    with pytest.raises(BadRequest):
        webhooks.register(url, SECRET)
    assert endpoints_and_audit() == before


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "x" * (limits.WEBHOOK_SECRET_MIN - 1),
        "x" * (limits.WEBHOOK_SECRET + 1),
        "with a space in it 0123456789",
        "tab\tin-the-secret-0123456789",
        "newline\nin-the-secret-0123456",
        "密钥密钥密钥密钥密钥密钥密钥密钥密钥",
    ],
)
def test_bad_secrets_are_refused_and_nothing_is_stored(secret: str) -> None:
    before = endpoints_and_audit()
    with pytest.raises(BadRequest):
        webhooks.register("https://platform.example.gov.cn/hook", secret)
    assert endpoints_and_audit() == before


def test_the_limits_are_inclusive() -> None:
    url = "https://platform.example.gov.cn/"
    endpoint = webhooks.register(url + "a" * (limits.WEBHOOK_URL - len(url)), "x" * limits.WEBHOOK_SECRET_MIN)
    assert len(endpoint.url) == limits.WEBHOOK_URL
    assert webhooks.register(url, "y" * limits.WEBHOOK_SECRET).secret == "y" * limits.WEBHOOK_SECRET


def test_only_office_staff_register_deactivate_and_retry() -> None:
    outsider = make_user()
    with pytest.raises(Forbidden):
        webhooks.register("https://platform.example.gov.cn/hook", SECRET, by=outsider)
    assert WebhookEndpoint.objects.count() == 0
    staff = make_staff()
    endpoint = webhooks.register("https://platform.example.gov.cn/hook", SECRET, by=staff)
    assert endpoint.created_by == staff
    entry = AuditEntry.objects.get(action="webhook.register")
    assert SECRET not in json.dumps(entry.payload)  # the secret is not written to the audit log
    with pytest.raises(Forbidden):
        webhooks.deactivate(endpoint.pk, by=outsider)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).active


def test_retry_now_sends_a_failed_delivery_again(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 500
    (delivery,) = emit(django_capture_on_commit_callbacks)
    with pytest.raises(InvalidState):
        webhooks.retry_now(delivery.pk)  # pending: it is retried anyway
    # Only the last attempt is left, and it fails.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=retry.ATTEMPTS - 1)
    for task in queued("deliver"):
        task.delete()
    webhooks.deliver.enqueue(str(delivery.pk), retry.ATTEMPTS)
    work()
    assert fresh(delivery).status == "failed"
    with pytest.raises(Forbidden):
        webhooks.retry_now(delivery.pk, by=make_user())
    assert fresh(delivery).status == "failed" and queued("deliver") == []
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.retry_now(delivery.pk, by=make_staff())
    work()
    delivery = fresh(delivery)
    assert (delivery.status, delivery.attempts) == ("delivered", retry.ATTEMPTS + 1)
    assert [code for code, _ in attempts(delivery)] == [500, 200]
    assert AuditEntry.objects.filter(action="webhook.retry").count() == 1
