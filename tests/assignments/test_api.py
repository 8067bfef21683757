"""REST API: public reads, token-only transitions, PROTOCOL's error shape, the OpenAPI document."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from assignments import services
from assignments.models import ApiToken, Assignment, Status
from tests.assignments.helpers import Case, advance, create, make_overdue

pytestmark = pytest.mark.django_db

URL = "/api/v1/assignments/"


def token_for(department: Any) -> str:
    return services.api_token_issue(department=department)


def post(client: Client, assignment_id: int, token: str | None, body: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"{URL}{assignment_id}/transitions/", data, content_type="application/json", headers=headers)


def test_list_is_public_with_public_fields_only(client: Client, case: Case) -> None:
    a = create(case, co_department_ids=[case.other.pk], internal_note="内部：领导关注")
    response = client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    item = body["results"][0]
    assert set(item) == {
        "id", "hearing", "questions", "title", "lead_department", "co_departments", "status", "due_date",
        "overdue", "loop", "commitment", "reply", "verdict", "resolved", "timeline", "actions",
    }  # fmt: skip
    assert item["actions"] == []  # no token: nobody's actions
    assert item["id"] == a.pk
    assert item["questions"] == [case.questions[0].pk]
    assert item["lead_department"] == {"id": case.lead.pk, "name": case.lead.name}
    assert item["co_departments"] == [{"id": case.other.pk, "name": case.other.name}]
    assert (item["status"], item["overdue"], item["loop"], item["reply"], item["verdict"], item["resolved"]) == (
        "assigned", False, 0, None, None, None,
    )  # fmt: skip
    assert item["due_date"] == a.due_date.isoformat()
    assert item["timeline"][0]["status"] == "assigned"
    assert "内部" not in response.content.decode()


def test_list_filters_and_paginates(client: Client, case: Case) -> None:
    first = create(case)
    second = advance(case, create(case, questions=[case.questions[1]]), "accepted")
    third = create(case, questions=[case.questions[2]], lead_department_id=case.other.pk)
    make_overdue(first)

    def ids(query: str) -> list[int]:
        response = client.get(URL + query)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("") == [third.pk, second.pk, first.pk]
    assert ids(f"?hearing={case.hearing.pk}") == [third.pk, second.pk, first.pk]
    assert ids(f"?hearing={case.hearing.pk + 1}") == []
    assert ids(f"?department={case.other.pk}") == [third.pk]
    assert ids("?status=accepted") == [second.pk]
    assert ids("?overdue=true") == [first.pk]
    assert ids("?overdue=false") == [third.pk, second.pk]
    assert ids("?limit=1&offset=1") == [second.pk]
    assert client.get(URL + "?limit=1").json()["count"] == 3
    assert ids("?offset=99") == []


@pytest.mark.parametrize(
    "query", ["?status=done", "?limit=0", "?limit=101", "?offset=-1", "?hearing=x", "?overdue=maybe", "?hearing=0"]
)
def test_bad_filters_are_400_bad_request(client: Client, case: Case, query: str) -> None:
    response = client.get(URL + query)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert set(response.json()) == {"error", "message"}


def test_read_one_and_not_found(client: Client, case: Case) -> None:
    a = create(case)
    response = client.get(f"{URL}{a.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == a.pk
    missing = client.get(f"{URL}{a.pk + 100}/")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"
    assert client.get(f"{URL}{2**70}/").status_code == 400


def test_transitions_with_the_lead_departments_token(client: Client, case: Case) -> None:
    a = create(case)
    token = token_for(case.lead)
    response = post(client, a.pk, token, {"action": "accept", "note": "已签收"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    assert response.json()["timeline"][-1]["note"] == "已签收"
    assert post(client, a.pk, token, {"action": "progress", "note": "推进中"}).json()["status"] == "in_progress"
    later = (a.due_date + timedelta(days=10)).isoformat()
    extended = post(client, a.pk, token, {"action": "request_extension", "due_date": later, "reason": "需招标"})
    assert extended.status_code == 200
    assert Assignment.objects.get(pk=a.pk).extension_due_date.isoformat() == later  # type: ignore[union-attr]
    replied = post(client, a.pk, token, {"action": "reply", "note": "已办结"})
    assert (replied.json()["status"], replied.json()["reply"]) == ("replied", "已办结")
    assert ApiToken.objects.get().last_used_at is not None


def test_actions_are_the_tokens_departments_next_transitions(client: Client, case: Case) -> None:
    a = create(case)
    lead, other = token_for(case.lead), token_for(case.other)

    def actions(token: str | None, path: str = f"{URL}{a.pk}/") -> list[str]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        body = response.json()
        return body["actions"] if "actions" in body else body["results"][0]["actions"]

    assert actions(lead) == ["accept", "return"]
    assert actions(lead, URL) == ["accept", "return"]
    assert actions(other) == actions(None) == actions("wz_not-a-token") == []
    accepted = post(client, a.pk, lead, {"action": "accept"}).json()
    assert accepted["actions"] == ["return", "progress", "reply", "request_extension"]
    later = (a.due_date + timedelta(days=10)).isoformat()
    post(client, a.pk, lead, {"action": "request_extension", "due_date": later, "reason": "需招标"})
    assert actions(lead) == ["return", "progress", "reply"]  # one request at a time
    assert post(client, a.pk, lead, {"action": "reply", "note": "已办结"}).json()["actions"] == []


def test_timeline_notes_follow_the_language_asked_for(client: Client, case: Case) -> None:
    a = create(case)
    services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="属住建局职责")
    due = f"{a.due_date:%Y-%m-%d}"
    chinese = [e["note"] for e in client.get(f"{URL}{a.pk}/").json()["timeline"]]
    assert chinese == [f"交办{case.lead.name}办理，期限{due}", "退回：属住建局职责"]
    english = [e["note"] for e in client.get(f"{URL}{a.pk}/", headers={"Accept-Language": "en"}).json()["timeline"]]
    assert english == [f"Assigned to {case.lead.name}, due {due}", "Returned: 属住建局职责"]


def test_return_through_the_api(client: Client, case: Case) -> None:
    a = create(case)
    response = post(client, a.pk, token_for(case.lead), {"action": "return", "reason": "属自然资源局职责"})
    assert response.json()["status"] == "returned"
    assert Assignment.objects.get(pk=a.pk).return_reason == "属自然资源局职责"


def test_transition_errors_follow_the_protocol(client: Client, case: Case) -> None:
    a = create(case)
    lead, other = token_for(case.lead), token_for(case.other)

    def check(response: Any, status: int, code: str) -> None:
        assert response.status_code == status, response.content
        assert response.json()["error"] == code
        assert isinstance(response.json()["message"], str)

    check(post(client, a.pk, None, {"action": "accept"}), 401, "unauthorized")
    check(post(client, a.pk, "wz_not-a-token", {"action": "accept"}), 401, "unauthorized")
    check(post(client, a.pk, other, {"action": "accept"}), 403, "forbidden")
    check(post(client, a.pk + 100, lead, {"action": "accept"}), 404, "not_found")
    check(post(client, a.pk, lead, {"action": "reply", "note": "太早"}), 409, "invalid_state")
    check(post(client, a.pk, lead, {"action": "fly"}), 400, "bad_request")
    check(post(client, a.pk, lead, {"action": "return"}), 400, "bad_request")  # no reason
    check(post(client, a.pk, lead, {"action": "accept", "extra": 1}), 400, "bad_request")
    check(post(client, a.pk, lead, "{not json"), 400, "bad_request")
    check(post(client, a.pk, lead, [1, 2]), 400, "bad_request")
    check(post(client, a.pk, lead, {"action": "request_extension", "due_date": "2026-02-30"}), 400, "bad_request")
    assert Assignment.objects.get(pk=a.pk).status == Status.ASSIGNED


def test_revoked_token_is_refused(client: Client, case: Case) -> None:
    a = create(case)
    token = token_for(case.lead)
    ApiToken.objects.update(revoked=True)
    assert post(client, a.pk, token, {"action": "accept"}).status_code == 401


def test_issue_api_token_command(client: Client, case: Case) -> None:
    out = StringIO()
    call_command("issue_api_token", case.lead.short_name, stdout=out)
    token = out.getvalue().strip()
    assert token.startswith("wz_")
    assert token not in ApiToken.objects.get().digest  # only the hash is stored
    call_command("issue_api_token", str(case.other.pk), stdout=StringIO())
    assert ApiToken.objects.filter(department=case.other).count() == 1
    a = create(case)
    assert post(client, a.pk, token, {"action": "accept"}).status_code == 200


def test_issue_api_token_for_an_unknown_department_fails(case: Case) -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("issue_api_token", "没有这个局", stdout=StringIO())


def test_openapi_document_describes_the_api(client: Client, db: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    paths = doc["paths"]
    assert set(paths) == {
        "/api/v1/assignments/",
        "/api/v1/assignments/{id}/",
        "/api/v1/assignments/{id}/transitions/",
    }
    transition = paths["/api/v1/assignments/{id}/transitions/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} <= set(transition["responses"])
    assert "422" not in json.dumps(doc)
    assert transition["security"]
    params = {p["name"] for p in paths["/api/v1/assignments/"]["get"]["parameters"]}
    assert params == {"hearing", "department", "status", "overdue", "lead", "limit", "offset"}
