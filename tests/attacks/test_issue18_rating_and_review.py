"""Issue 18 attacks on 双向评议 and 回头看 (docs/assignments.md).

双向评议: the lead department's rating of a deputy's question is for its liaisons, the hearing's
moderators, the deputies who asked and office staff. It must not leak through any public door:
the public page and list, the REST API, a webhook's ASSIGNMENT, the CSV and XLSX exports, the
session report, the public scorecards.

回头看: only the hearing's moderator records one, once per closing; a relapse reopens once; the
REST API has no such action; the interval stays within bounds; bad input changes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from assignments import services
from assignments.models import Assignment, Notice, Status
from core.errors import BadRequest, DomainError, Forbidden, InvalidState
from outbound import webhooks
from outbound.models import WebhookDelivery
from tests.assignments.helpers import Case, advance, create, make_case
from tests.factories import make_user
from tests.hearings.people_helpers import make_staff

pytestmark = pytest.mark.django_db

COMMENT = "评议意见QX7仅内部可见"
SECRET = "s3cret-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.fixture
def case(db: Any) -> Case:
    return make_case()


def rated(case: Case) -> Assignment:
    a = advance(case, create(case), "in_progress")
    services.assignment_reply(
        assignment_id=a.pk, by=case.liaison, text="已完成整改", science=2, feasibility=1, comment=COMMENT
    )
    return Assignment.objects.get(pk=a.pk)


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else bytes(response.content)


def text_of_xlsx(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))


def test_the_departments_rating_leaks_through_no_public_door(case: Case) -> None:
    webhooks.register("https://hooks.example.cn/h", SECRET)
    a = rated(case)
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="满意")
    services.assignment_close(assignment_id=a.pk, by=case.moderator)
    outsiders = [Client(), Client(), Client()]
    outsiders[1].force_login(make_user())
    outsiders[2].force_login(case.other_liaison)  # another department's liaison
    pages = [
        f"/assignments/{a.pk}/",
        "/assignments/",
        f"/api/v1/assignments/{a.pk}/",
        "/api/v1/assignments/",
        "/assignments/export.csv",
        f"/hearings/{case.hearing.pk}/report/",
        "/scorecards/",
    ]
    for client in outsiders:
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            text = body_of(response).decode()
            assert COMMENT not in text, page
            assert 'data-figure="science"' not in text and "科学性" not in text, page
        for page in ("/assignments/export.xlsx", f"/hearings/{case.hearing.pk}/report.xlsx"):
            response = client.get(page)
            assert response.status_code == 200, page
            text = text_of_xlsx(body_of(response))
            assert COMMENT not in text and "科学性" not in text, page
    api = json.loads(Client().get(f"/api/v1/assignments/{a.pk}/").content)
    assert not {"science", "feasibility", "comment", "department_science", "rating"} & set(api)
    for delivery in WebhookDelivery.objects.all():
        body = json.loads(delivery.body)
        assert COMMENT not in delivery.body
        assert not {"science", "feasibility", "department_science", "department_comment"} & set(body["data"])


def test_the_rating_is_shown_to_those_it_is_for(case: Case) -> None:
    a = rated(case)
    for user in (case.liaison, case.moderator, case.deputy, make_staff()):
        client = Client()
        client.force_login(user)
        assert COMMENT in client.get(f"/assignments/{a.pk}/").content.decode()


# ------------------------------------------------------------------ 回头看


def snapshot(a: Assignment) -> tuple[Any, ...]:
    return (Assignment.objects.filter(pk=a.pk).values().get(), a.timeline.count(), Notice.objects.count())


def refused(error: type[DomainError], call: Any, a: Assignment) -> None:
    before = snapshot(a)
    with pytest.raises(error), transaction.atomic():
        call()
    assert snapshot(a) == before


def closed(case: Case) -> Assignment:
    return advance(case, create(case), "closed")


def test_only_the_hearings_moderator_records_a_review(case: Case) -> None:
    a = closed(case)
    other_moderator = make_user()
    for who in (case.liaison, case.deputy, make_staff(), other_moderator, case.other_liaison):
        refused(
            Forbidden,
            lambda who=who: services.assignment_review(assignment_id=a.pk, by=who, outcome="relapsed", note="反弹"),
            a,
        )


def test_a_relapse_reopens_once_and_a_reopened_assignment_cannot_be_reviewed(case: Case) -> None:
    a = closed(case)
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="反弹")
    assert (a.status, a.loop) == (Status.REOPENED, 1)
    for outcome in ("relapsed", "held"):
        refused(
            InvalidState,
            lambda outcome=outcome: services.assignment_review(
                assignment_id=a.pk, by=case.moderator, outcome=outcome, note="再看"
            ),
            a,
        )
    # Handled again and closed: a new review, and a second relapse counts the loop up again.
    a = advance(case, a, "closed")
    assert a.review_due is not None and a.reviewed_at is None
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="又反弹")
    assert (a.status, a.loop) == (Status.REOPENED, 2)


def test_a_held_review_is_recorded_once(case: Case) -> None:
    a = closed(case)
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="巩固")
    refused(
        InvalidState,
        lambda: services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="反弹"),
        a,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"outcome": "", "note": "x"},
        {"outcome": "RELAPSED", "note": "x"},
        {"outcome": "relapsed", "note": ""},
        {"outcome": "relapsed", "note": "x" * 100_000},
        {"outcome": "relapsed", "note": "x", "working_days": 0},
        {"outcome": "relapsed", "note": "x", "working_days": -5},
        {"outcome": "relapsed", "note": "x", "working_days": 10**9},
    ],
)
def test_bad_review_input_changes_nothing(case: Case, bad: dict[str, Any]) -> None:
    a = closed(case)
    before = snapshot(a)
    with pytest.raises((BadRequest, InvalidState)), transaction.atomic():
        services.assignment_review(assignment_id=a.pk, by=case.moderator, **bad)
    assert snapshot(a) == before


def test_the_rest_api_cannot_record_a_review(case: Case) -> None:
    a = closed(case)
    token = services.api_token_issue(department=case.lead)
    before = snapshot(a)
    for body in ({"action": "review", "outcome": "relapsed", "note": "反弹"}, {"action": "close"}):
        response = Client().post(
            f"/api/v1/assignments/{a.pk}/transitions/",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, body
        assert json.loads(response.content)["error"] == "bad_request"
    assert snapshot(a) == before


@pytest.mark.parametrize("months", [0, -1, 37, 10**6, True, "3", 2.5])
def test_review_months_stay_within_bounds(case: Case, months: Any) -> None:
    a = advance(case, create(case), "evaluated")
    refused(
        BadRequest,
        lambda: services.assignment_set_review(assignment_id=a.pk, by=case.moderator, months=months),
        a,
    )
    refused(
        BadRequest,
        lambda: services.assignment_close(assignment_id=a.pk, by=case.moderator, review_months=months),
        a,
    )


@pytest.mark.parametrize("value", ["0", "-1", "37", "9999", "1e3", " ", "none'--"])
def test_the_pages_refuse_bad_review_months(case: Case, value: str) -> None:
    a = closed(case)
    client = Client()
    client.force_login(case.moderator)
    before = snapshot(a)
    client.post(f"/assignments/{a.pk}/review-plan/", {"review_months": value})
    after = snapshot(a)
    if value.strip():
        assert after == before, value


def test_the_review_forms_want_the_csrf_token(case: Case) -> None:
    a = closed(case)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(case.moderator)
    before = snapshot(a)
    assert strict.post(f"/assignments/{a.pk}/do/review/", {"outcome": "relapsed", "note": "x"}).status_code == 403
    assert strict.post(f"/assignments/{a.pk}/review-plan/", {"review_months": "3"}).status_code == 403
    assert snapshot(a) == before


# ------------------------------------------------------------------ digits that are not ASCII digits


@pytest.mark.parametrize("value", ["²", "①", "٣", "３"])
def test_odd_digits_in_issue_18s_forms_are_a_clear_refusal_never_a_500(case: Case, value: str) -> None:
    """str.isdigit() is true for "²" and "①", which int() refuses: such a check before int()
    turned a form's odd digit into a server error."""
    a = closed(case)
    moderator = Client(raise_request_exception=False)
    moderator.force_login(case.moderator)
    for url, form in (
        (f"/assignments/{a.pk}/review-plan/", {"review_months": value}),
        (f"/assignments/{a.pk}/do/review/", {"outcome": "relapsed", "note": "x", "working_days": value}),
    ):
        assert moderator.post(url, form).status_code < 500, url
    b = advance(case, create(case, questions=case.questions[1:2]), "in_progress")
    liaison = Client(raise_request_exception=False)
    liaison.force_login(case.liaison)
    form = {"text": "已整改", "science": value, "feasibility": "3"}
    assert liaison.post(f"/assignments/{b.pk}/do/reply/", form).status_code < 500
    c = advance(case, create(case, questions=case.questions[2:3]), "evaluated")
    assert moderator.post(f"/assignments/{c.pk}/do/close/", {"review_months": value}).status_code < 500
    staff = Client(raise_request_exception=False)
    staff.force_login(make_staff())
    form = {"url": "https://hooks.example.cn/h", "secret": SECRET, "department": value}
    assert staff.post("/manage/webhooks/", form).status_code == 400
    assert staff.get("/manage/webhooks/deliveries/", {"endpoint": value}).status_code == 200
