"""Ids in forms and query strings: digits Python calls digits but int() refuses ("²", "٣"), and
ids past the database's integer, are a clear refusal or no filter, never a 500 (core.text.row_id)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.text import MAX_ROW_ID, row_id
from hearings.models import Question
from tests.factories import make_world
from tests.hearings.people_helpers import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


ODD = ["²", "٣", "1²", "-1", "0", "+1", " 1", "1.0", "", str(MAX_ROW_ID + 1), "9" * 30]


def test_row_id_takes_ascii_ids_of_the_database_range_only() -> None:
    assert [row_id(v) for v in ["1", "42", str(MAX_ROW_ID)]] == [1, 42, MAX_ROW_ID]
    assert [row_id(v) for v in ODD] == [None] * len(ODD)


@pytest.mark.parametrize("value", ODD)
def test_the_triage_page_and_its_actions_refuse_odd_ids_cleanly(value: str) -> None:
    world = make_world()
    hearing = world.hearing
    client = Client()
    client.force_login(make_staff())
    page = client.get(f"/manage/hearings/{hearing.pk}/questions/", {"item": value})
    assert page.status_code == 200
    before = list(Question.objects.values_list("pk", "status"))
    for action, data in (("approve", {"questions": [value]}), ("merge", {"question": value, "into": value})):
        response = client.post(f"/manage/hearings/{hearing.pk}/questions/do/{action}/", data, follow=True)
        assert response.status_code == 200, (action, value, response.status_code)
        assert "请选择要操作的对象" in response.content.decode(), (action, value)
    assert list(Question.objects.values_list("pk", "status")) == before


@pytest.mark.parametrize("value", ["²", "9" * 30])
def test_the_delivery_log_ignores_an_odd_endpoint_filter(value: str) -> None:
    client = Client()
    client.force_login(make_staff())
    assert client.get("/manage/webhooks/deliveries/", {"endpoint": value}).status_code == 200
    response = client.post(
        "/manage/webhooks/", {"url": "https://hooks.example.cn/x", "secret": "s" * 20, "department": value}
    )
    assert response.status_code == 400
