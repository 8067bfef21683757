"""/manage/webhooks/ (office/views/webhooks.py): the endpoints, registering one, deactivating, the
delivery log with every attempt and "retry now". Office staff only; bad input is refused with the
service's message (400) and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from outbound import webhooks
from outbound.models import WebhookDelivery, WebhookEndpoint
from tests.factories import make_department, make_user
from tests.hearings.people_helpers import make_staff
from tests.outbound.conftest import SECRET, due
from tests.outbound.receiver import Receiver
from tests.tasks import queued

pytestmark = pytest.mark.django_db

PAGE = "/manage/webhooks/"
LOG = "/manage/webhooks/deliveries/"

Work = Callable[[], int]


def staff_client() -> Client:
    client = Client()
    client.force_login(make_staff())
    return client


def stored() -> list[Any]:
    return list(WebhookEndpoint.objects.order_by("pk").values_list("url", "secret", "department_id", "active"))


def test_staff_register_an_endpoint_and_see_it_listed() -> None:
    client = staff_client()
    department = make_department()
    response = client.post(PAGE, {"url": "https://platform.example.gov.cn/hook", "secret": SECRET, "department": ""})
    assert response.status_code == 302
    response = client.post(
        PAGE, {"url": "https://dept.example.gov.cn/hook", "secret": SECRET, "department": str(department.pk)}
    )
    assert response.status_code == 302
    assert stored() == [
        ("https://platform.example.gov.cn/hook", SECRET, None, True),
        ("https://dept.example.gov.cn/hook", SECRET, department.pk, True),
    ]
    page = client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert "https://platform.example.gov.cn/hook" in html and department.name in html
    assert SECRET not in html  # never shown again
    assert f'href="{PAGE}"' in html  # the office navigation links the page


@pytest.mark.parametrize(
    ("url", "secret", "department"),
    [
        ("javascript:alert(1)", SECRET, ""),
        ("file:///etc/passwd", SECRET, ""),
        ("http://admin:admin@platform.example.gov.cn/hook", SECRET, ""),
        ("https://platform.example.gov.cn/" + "a" * 600, SECRET, ""),
        ("https://platform.example.gov.cn/hook", "short", ""),
        ("https://platform.example.gov.cn/hook", SECRET, "99999"),
        ("https://platform.example.gov.cn/hook", SECRET, "x' OR 1=1"),
        ("https://platform.example.gov.cn/hook", SECRET, "9" * 40),
        ("http://127.0.0.1:6379/", SECRET, ""),  # not on the allowlist
    ],
)
def test_bad_input_is_refused_and_stores_nothing(settings: Any, url: str, secret: str, department: str) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["platform.example.gov.cn"]
    client = staff_client()
    response = client.post(PAGE, {"url": url, "secret": secret, "department": department})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert stored() == []


def test_a_url_is_shown_escaped(settings: Any) -> None:
    client = staff_client()
    webhooks.register('https://platform.example.gov.cn/"><script>alert(1)</script>', SECRET)
    html = client.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_staff_deactivate_an_endpoint() -> None:
    client = staff_client()
    endpoint = webhooks.register("https://platform.example.gov.cn/hook", SECRET)
    response = client.post(f"{PAGE}{endpoint.pk}/deactivate/")
    assert response.status_code == 302
    assert stored() == [("https://platform.example.gov.cn/hook", SECRET, None, False)]
    assert client.post(f"{PAGE}{endpoint.pk + 1}/deactivate/").status_code == 404
    assert client.get(f"{PAGE}{endpoint.pk}/deactivate/").status_code == 405


def test_the_log_shows_every_attempt_and_a_failed_delivery_can_be_retried(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    client = staff_client()
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 500
    settings.OUTBOUND_RETRY_SECONDS = 30
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = webhooks.emit("assignment.reply", {"id": 1})
    work()
    receiver.stop()
    due()
    work()
    html = client.get(LOG).content.decode()
    row = html[html.index(f'id="delivery-{delivery.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "assignment.reply" in row and "500" in row and "ConnectionRefused" in row
    assert row.count('class="attempt"') == 2 and "毫秒" in row
    assert "立即重试" not in row  # still pending
    # The last attempt fails: the delivery is failed, listed under ?status=failed, and can be retried.
    for task in queued("deliver"):
        task.delete()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_at=None)
    failed = client.get(LOG + "?status=failed").content.decode()
    assert f'id="delivery-{delivery.pk}"' in failed and "立即重试" in failed
    assert f'id="delivery-{delivery.pk}"' not in client.get(LOG + "?status=delivered").content.decode()
    receiver.start()
    receiver.status = 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"{LOG}{delivery.pk}/retry/").status_code == 302
    work()
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"
    (hit,) = receiver.received()[-1:]
    assert json.loads(hit.body)["id"] == str(delivery.pk) and hit.verified(SECRET)
    assert client.get(LOG + "?status=nonsense&endpoint=x'--").status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "user", "liaison"])
def test_only_office_staff_reach_the_pages(who: str, django_capture_on_commit_callbacks: Any) -> None:
    endpoint = webhooks.register("https://platform.example.gov.cn/hook", SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = webhooks.emit("assignment.accept", {"id": 1})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed")
    client = Client()
    if who != "anonymous":
        user = make_user()
        if who == "liaison":
            make_department().liaisons.add(user)
        client.force_login(user)
    before = stored(), list(WebhookDelivery.objects.values_list("status", "attempts"))
    for response in (
        client.get(PAGE),
        client.get(LOG),
        client.post(PAGE, {"url": "https://evil.example.cn/hook", "secret": SECRET}),
        client.post(f"{PAGE}{endpoint.pk}/deactivate/"),
        client.post(f"{LOG}{delivery.pk}/retry/"),
    ):
        assert response.status_code == 403
        assert "platform.example.gov.cn" not in response.content.decode()
    assert (stored(), list(WebhookDelivery.objects.values_list("status", "attempts"))) == before
