"""outbound.mail as notices and followers use it: extra headers (List-Unsubscribe) kept through
retries, no header injection, absolute links."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from outbound import mail
from tests.delivery import deliver
from tests.tasks import queued

pytestmark = pytest.mark.django_db


def test_headers_reach_the_message_and_a_plain_call_still_works() -> None:
    mail.mail("通知", "正文", ["a@example.com"], headers={"List-Unsubscribe": "<https://x/u/>"})
    mail.mail("通知二", "正文", ["b@example.com", "", "b@example.com"])
    deliver()
    first, second = django_mail.outbox
    assert first.extra_headers == {"List-Unsubscribe": "<https://x/u/>"}
    assert second.to == ["b@example.com"] and not second.extra_headers


def test_line_breaks_cannot_inject_headers() -> None:
    mail.mail("主题\r\nBcc: victim@example.com", "正文", ["a@example.com"], headers={"X-A": "1\r\nBcc: v@example.com"})
    deliver()
    (message,) = django_mail.outbox
    raw = message.message().as_string()
    assert "\nBcc:" not in raw
    assert message.bcc == [] and message.recipients() == ["a@example.com"]


def test_a_failed_send_is_retried_with_its_headers() -> None:
    mail.mail("通知", "正文", ["a@example.com"], headers={"List-Unsubscribe": "<https://x/u/>"})
    with mock.patch("outbound.mail.EmailMessage.send", side_effect=OSError("smtp away")):
        deliver()
    (retry,) = queued("send_email")
    assert retry.args_kwargs["kwargs"] == {"headers": {"List-Unsubscribe": "<https://x/u/>"}}
    assert retry.args_kwargs["args"][3] == 2  # the attempt
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    deliver()
    assert django_mail.outbox[0].extra_headers == {"List-Unsubscribe": "<https://x/u/>"}


def test_site_url_prefers_the_setting_then_the_first_allowed_host(settings: Any) -> None:
    settings.SITE_URL = "https://wz.example.cn/"
    assert mail.site_url("/assignments/1/") == "https://wz.example.cn/assignments/1/"
    settings.SITE_URL = ""
    settings.HTTPS = False
    settings.ALLOWED_HOSTS = [".example.cn", "wz.example.cn"]
    assert mail.site_url("/x/") == "http://wz.example.cn/x/"
    settings.ALLOWED_HOSTS = ["*"]
    assert mail.site_url("/x/") == "http://localhost/x/"
