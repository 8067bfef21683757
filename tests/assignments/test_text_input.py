"""Client text on the assignment pages' forms and through the REST API: cleaned by core.text.
A refused text changes nothing: the page says why, the API answers 400 bad_request in its JSON
envelope (on PostgreSQL a NUL used to be a 500)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from assignments import services
from assignments.models import Assignment, Notice, TimelineEntry
from core.errors import FIELDS
from tests.assignments.helpers import Case, advance, create
from tests.text_cases import GOOD, REFUSED, REFUSED_ONE_LINE, WITH_BIDI

pytestmark = pytest.mark.django_db


def state() -> Any:
    return (
        list(Assignment.objects.order_by("id").values()),
        list(TimelineEntry.objects.order_by("id").values_list("id", "public_note", "internal_note")),
        Notice.objects.count(),
    )


def later(a: Assignment) -> str:
    return (a.due_date + timedelta(days=7)).isoformat()


# (state reached first, who acts, action, the form's other fields, the field holding the text)
FORMS: list[tuple[str | None, str, str, dict[str, Any], str]] = [
    (None, "liaison", "accept", {}, "note"),
    (None, "liaison", "return", {}, "reason"),
    ("accepted", "liaison", "progress", {"note": "进展"}, "internal_note"),
    ("accepted", "liaison", "progress", {}, "note"),
    ("accepted", "liaison", "reply", {"science": "4", "feasibility": "3"}, "text"),
    ("accepted", "liaison", "reply", {"text": "答复", "science": "4", "feasibility": "3"}, "comment"),
    ("accepted", "liaison", "request_extension", {"due_date": "LATER"}, "reason"),
    ("replied", "deputy", "evaluate", {"verdict": "不满意"}, "comment"),
    ("evaluated", "moderator", "close", {}, "note"),
]
FORM_CASES = [
    pytest.param(*form, text, id=f"{form[2]}.{form[4]}-{case}") for form in FORMS for case, text in REFUSED.items()
]


@pytest.mark.parametrize(("reach", "who", "action", "fields", "field", "text"), FORM_CASES)
def test_a_refused_text_on_a_form_changes_nothing(
    client: Client, case: Case, reach: str | None, who: str, action: str, fields: dict[str, Any], field: str, text: str
) -> None:
    a = create(case)
    if reach:
        a = advance(case, a, reach)
    client.force_login(getattr(case, who))
    data = {name: later(a) if value == "LATER" else value for name, value in fields.items()}
    before = state()
    response = client.post(f"/assignments/{a.pk}/do/{action}/", {**data, field: text})
    assert response.status_code == 302
    [message] = [m.message for m in get_messages(response.wsgi_request)]
    assert message.startswith("未能完成：") and message != "未能完成：输入有误", message
    assert state() == before


@pytest.mark.parametrize(
    ("field", "text"),
    [pytest.param("title", text, id=f"title-{c}") for c, text in REFUSED_ONE_LINE.items()]
    + [pytest.param("commitment", text, id=f"commitment-{c}") for c, text in REFUSED.items()],
)
def test_a_refused_text_when_assigning_changes_nothing(client: Client, case: Case, field: str, text: str) -> None:
    client.force_login(case.moderator)
    data = {"questions": [case.questions[0].pk], "lead_department": case.lead.pk, "working_days": "10"}
    before = state()
    response = client.post(f"/assignments/new/?hearing={case.hearing.pk}", {**data, field: text})
    assert "未能交办" in response.content.decode()
    assert state() == before


def test_good_text_on_the_forms_is_stored_and_bidi_controls_removed(client: Client, case: Case) -> None:
    client.force_login(case.moderator)
    data = {"questions": [case.questions[0].pk], "lead_department": case.lead.pk, "working_days": "10"}
    client.post(f"/assignments/new/?hearing={case.hearing.pk}", {**data, "title": WITH_BIDI[0], "commitment": GOOD})
    a = Assignment.objects.get()
    assert (a.title, a.commitment) == (WITH_BIDI[1], GOOD)
    client.force_login(case.liaison)
    client.post(f"/assignments/{a.pk}/do/accept/", {"note": "收到"})
    client.post(
        f"/assignments/{a.pk}/do/reply/", {"text": f"{GOOD}\r\n{WITH_BIDI[0]}", "science": "4", "feasibility": "3"}
    )
    a.refresh_from_db()
    assert (a.status, a.reply) == ("replied", f"{GOOD}\n{WITH_BIDI[1]}")


# --------------------------------------------------------------------------- REST API

# (state reached first, the body's action and other fields, the field holding the text)
REST: list[tuple[str | None, dict[str, Any], str]] = [
    (None, {"action": "accept"}, "note"),
    (None, {"action": "return"}, "reason"),
    ("accepted", {"action": "progress"}, "note"),
    ("accepted", {"action": "reply"}, "note"),
    ("accepted", {"action": "request_extension", "due_date": "LATER"}, "reason"),
]
REST_CASES = [
    pytest.param(*form, text, id=f"{form[1]['action']}.{form[2]}-{case}")
    for form in REST
    for case, text in REFUSED.items()
]


def post(client: Client, a: Assignment, token: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/assignments/{a.pk}/transitions/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize(("reach", "body", "field", "text"), REST_CASES)
def test_a_refused_text_through_the_api_is_400_and_changes_nothing(
    client: Client, case: Case, reach: str | None, body: dict[str, Any], field: str, text: str
) -> None:
    a = create(case)
    if reach:
        a = advance(case, a, reach)
    token = services.api_token_issue(department=case.lead)
    body = {name: later(a) if value == "LATER" else value for name, value in body.items()}
    before = state()
    response = post(client, a, token, {**body, field: text})
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["error"] == "bad_request"
    # The field's refusal in the services' words, in the request's language (zh-hans by default).
    message, name = payload["message"], str(FIELDS[field])
    assert name in message and message.endswith("。") and "body" not in message, message
    assert state() == before


def test_good_text_through_the_api_is_stored_and_bidi_controls_removed(client: Client, case: Case) -> None:
    a = create(case)
    token = services.api_token_issue(department=case.lead)
    assert post(client, a, token, {"action": "accept", "note": GOOD}).status_code == 200
    response = post(client, a, token, {"action": "reply", "note": WITH_BIDI[0]})
    assert response.status_code == 200
    assert response.json()["reply"] == WITH_BIDI[1]
    a.refresh_from_db()
    assert a.reply == WITH_BIDI[1]
    assert TimelineEntry.objects.filter(assignment=a, public_note=GOOD).exists()
