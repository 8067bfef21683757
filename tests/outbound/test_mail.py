"""E-mail through the worker: retried with backoff, and what could not be sent is listed for
office staff at /manage/webhooks/mail/ without the addresses or the body."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail as outbox
from django.core.mail import EmailMessage
from django.test import Client

from outbound import mail, retry
from tests.hearings.people_helpers import make_staff
from tests.outbound.conftest import due
from tests.outbound.fixtures import Capture

pytestmark = pytest.mark.django_db

ADDRESS = "follower@example.com"
BODY = "正文：办理进展"


def page() -> str:
    client = Client()
    client.force_login(make_staff())
    response = client.get("/manage/webhooks/mail/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_message_that_fails_is_retried_then_listed_for_staff_without_address_or_body(
    monkeypatch: pytest.MonkeyPatch, work: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    def refuse(self: Any) -> int:
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(EmailMessage, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        mail.mail("交办件有新进展", BODY, [ADDRESS])
    assert "没有发送失败或等待重试的邮件" in page()

    work()  # the first attempt fails: a second one is queued for later
    assert mail.troubled() and not mail.troubled()[0].failed
    assert mail.troubled()[0].attempt == 2
    html = page()
    assert "交办件有新进展" in html and "mail-retrying" in html

    for _ in range(retry.ATTEMPTS - 1):
        assert due() == 1
        work()
    [row] = mail.troubled()
    assert (row.failed, row.attempt, row.recipients) == (True, retry.ATTEMPTS, 1)
    assert "ConnectionRefusedError" in row.error and "SMTP server down" in row.error
    html = page()
    assert "mail-failed" in html and "ConnectionRefusedError" in html
    assert ADDRESS not in html and BODY not in html  # a follower's address is theirs
    assert due() == 0  # nothing more is tried


def test_a_message_sent_at_the_second_attempt_leaves_nothing_listed(
    monkeypatch: pytest.MonkeyPatch, work: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    real_send = EmailMessage.send
    calls = []

    def flaky(self: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("slow SMTP")
        return real_send(self)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        mail.mail("提醒", "正文", [ADDRESS])
    work()
    assert due() == 1
    work()
    assert [m.to for m in outbox.outbox] == [[ADDRESS]]
    assert mail.troubled() == []


def test_the_page_is_for_office_staff_only(client: Client) -> None:
    assert client.get("/manage/webhooks/mail/").status_code in (302, 403)
