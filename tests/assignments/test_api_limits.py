"""REST API: a request body over DATA_UPLOAD_MAX_MEMORY_SIZE gets the protocol's JSON error
(400 bad_request), never Django's HTML 400 page, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from assignments import services
from assignments.models import Assignment, TimelineEntry
from tests.assignments.helpers import Case, create

pytestmark = pytest.mark.django_db

LIMIT = 4096


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_an_oversized_body_gets_the_json_error_and_changes_nothing(
    client: Client, case: Case, settings: Any, content_type: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    a = create(case)
    token = services.api_token_issue(department=case.lead)
    body = json.dumps({"action": "progress", "note": "办" * LIMIT})
    before = (Assignment.objects.get(pk=a.pk).status, TimelineEntry.objects.count())
    response = client.post(
        f"/api/v1/assignments/{a.pk}/transitions/",
        body,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["error"] == "bad_request"
    assert error["message"] == f"请求内容太大，最多 {LIMIT:,} 字节。"
    assert (Assignment.objects.get(pk=a.pk).status, TimelineEntry.objects.count()) == before
    # An ordinary request still goes through.
    small = json.dumps({"action": "accept", "note": "收到"})
    ok = client.post(
        f"/api/v1/assignments/{a.pk}/transitions/",
        small,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200, ok.content
