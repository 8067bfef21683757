"""`manage.py add_webhook URL --secret S [--department SHORT]` (PROTOCOL.md): prints the new id;
an unknown department, a refused host or a bad URL or secret is an error and stores nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from outbound.models import WebhookEndpoint
from tests.factories import make_department
from tests.outbound.conftest import SECRET

pytestmark = pytest.mark.django_db


def add_webhook(*args: str) -> str:
    out = StringIO()
    call_command("add_webhook", *args, stdout=out)
    return out.getvalue().strip()


def test_it_registers_an_endpoint_and_prints_its_id() -> None:
    department = make_department(short_name="住建局")
    printed = add_webhook("https://platform.example.gov.cn/hook", "--secret", SECRET, "--department", "住建局")
    endpoint = WebhookEndpoint.objects.get()
    assert printed == str(endpoint.pk)
    assert (endpoint.url, endpoint.secret, endpoint.department, endpoint.active) == (
        "https://platform.example.gov.cn/hook", SECRET, department, True,
    )  # fmt: skip
    assert add_webhook("https://platform.example.gov.cn/all", "--secret", SECRET) == str(endpoint.pk + 1)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk + 1).department is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["https://platform.example.gov.cn/hook", "--secret", SECRET, "--department", "没有这个局"], "没有这个局"),
        (["http://10.0.0.5:6379/", "--secret", SECRET], "WEBHOOK_ALLOWED_HOSTS"),
        (["file:///etc/passwd", "--secret", SECRET], "http"),
        (["https://user:pw@platform.example.gov.cn/hook", "--secret", SECRET], ""),
        (["https://platform.example.gov.cn/hook", "--secret", "short"], "16"),
    ],
)
def test_refusals_are_errors_and_store_nothing(settings: Any, args: list[str], says: str) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["platform.example.gov.cn"]
    make_department(short_name="住建局")
    with pytest.raises(CommandError) as refused:
        add_webhook(*args)
    assert says in str(refused.value)
    assert WebhookEndpoint.objects.count() == 0


def test_the_secret_is_required() -> None:
    with pytest.raises(CommandError):
        add_webhook("https://platform.example.gov.cn/hook")
    assert WebhookEndpoint.objects.count() == 0
