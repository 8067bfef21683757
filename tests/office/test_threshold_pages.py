"""The threshold rules page (/manage/thresholds/, office/views/thresholds.py): list, add,
deactivate; bad input answers 400 with the field's error and stores nothing; only office staff."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEntry
from hearings.models import Person
from tests.factories import make_user
from tests.hearings.people_helpers import make_person, make_staff
from voting.models import Threshold

pytestmark = pytest.mark.django_db

PAGE = "/manage/thresholds/"


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


def staff_client() -> Client:
    client = Client()
    client.force_login(make_staff())
    return client


def stored() -> tuple[list[Any], int]:
    rows = list(Threshold.objects.order_by("pk").values_list("pk", "metric", "percent", "active"))
    return rows, AuditEntry.objects.filter(action__startswith="threshold.").count()


def test_the_page_lists_rules_active_first() -> None:
    old = Threshold.objects.create(metric="dissatisfied", percent=40, active=False)
    rule = Threshold.objects.create(metric="satisfaction", percent=60)
    page = staff_client().get(PAGE).content.decode()
    assert page.index(f'id="threshold-{rule.pk}"') < page.index(f'id="threshold-{old.pk}"')
    row = page.split(f'id="threshold-{rule.pk}"')[1].split("</tr>")[0]
    assert "满意率低于 60%" in row and f"/manage/thresholds/{rule.pk}/deactivate/" in row
    inactive = page.split(f'id="threshold-{old.pk}"')[1].split("</tr>")[0]
    assert "已停用" in inactive and "deactivate" not in inactive


def test_add_then_deactivate() -> None:
    client = staff_client()
    response = client.post(PAGE, {"metric": "dissatisfied", "percent": "30"})
    assert response.status_code == 302 and response["Location"] == PAGE
    rule = Threshold.objects.get()
    assert (rule.metric, rule.percent, rule.active) == ("dissatisfied", 30, True)
    assert "已添加预警线：不满意率高于 30%。" in client.get(PAGE).content.decode()
    response = client.post(f"/manage/thresholds/{rule.pk}/deactivate/")
    assert response.status_code == 302
    rule.refresh_from_db()
    assert not rule.active
    assert list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))[-2:] == [
        "threshold.add",
        "threshold.deactivate",
    ]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"metric": "dissatisfied", "percent": "abc"}, "percent", "百分比应为整数。"),
        ({"metric": "dissatisfied", "percent": "150"}, "percent", "这项指标的百分比应在 0 到 99 之间。"),
        ({"metric": "satisfaction", "percent": "0"}, "percent", "这项指标的百分比应在 1 到 100 之间。"),
        ({"metric": "dissatisfied", "percent": ""}, "percent", "百分比应为整数。"),
        ({"metric": "nonsense", "percent": "30"}, "metric", "请选择指标。"),
        ({"percent": "30"}, "metric", "请选择指标。"),
    ],
)
def test_bad_input_is_a_400_with_the_error_and_nothing_stored(form: dict[str, str], field: str, message: str) -> None:
    client = staff_client()
    before = stored()
    response = client.post(PAGE, form)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="error-{field}"' in page and message in page
    assert f'value="{form["percent"]}"' in page  # what was typed is kept
    assert stored() == before


def test_the_same_rule_twice_is_refused() -> None:
    client = staff_client()
    client.post(PAGE, {"metric": "satisfaction", "percent": "60"})
    before = stored()
    response = client.post(PAGE, {"metric": "satisfaction", "percent": "60"})
    assert response.status_code == 400 and "已有相同的预警线。" in response.content.decode()
    assert stored() == before


def test_deactivating_an_unknown_rule_is_404_and_get_is_refused() -> None:
    client = staff_client()
    assert client.post("/manage/thresholds/999999/deactivate/").status_code == 404
    rule = Threshold.objects.create(metric="satisfaction", percent=60)
    assert client.get(f"/manage/thresholds/{rule.pk}/deactivate/").status_code == 405
    rule.refresh_from_db()
    assert rule.active


@pytest.mark.parametrize("role", [Person.Role.DEPUTY, Person.Role.MODERATOR, Person.Role.LIAISON, None, "anonymous"])
def test_non_staff_are_refused_and_nothing_changes(role: str | None) -> None:
    rule = Threshold.objects.create(metric="satisfaction", percent=60)
    client = Client()
    if role != "anonymous":
        client.force_login(make_person(role) if role else make_user())
    before = stored()
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"metric": "dissatisfied", "percent": "30"}).status_code == 403
    assert client.post(f"/manage/thresholds/{rule.pk}/deactivate/").status_code == 403
    assert stored() == before
