"""回头看 that reopens on a relapse, its interval per assignment, the due-review page; 双向评议
(the department rates the question when it replies): service, page, REST API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from assignments import selectors, services, workflow
from assignments.models import Assignment, Notice, ReviewOutcome, Status
from assignments.workdays import add_months, add_working_days
from core.errors import BadRequest, DomainError, Forbidden, InvalidState
from hearings.models import Person
from tests.assignments.helpers import Case, advance, create
from tests.factories import make_user

URL = "/api/v1/assignments/"


def snapshot(a: Assignment) -> tuple[Any, ...]:
    return (Assignment.objects.filter(pk=a.pk).values().get(), a.timeline.count(), Notice.objects.count())


def refused(error: type[DomainError], call: Any, a: Assignment) -> None:
    before = snapshot(a)
    with pytest.raises(error), transaction.atomic():
        call()
    assert snapshot(a) == before


def closed(case: Case, **close: Any) -> Assignment:
    a = advance(case, create(case), "evaluated")
    return services.assignment_close(assignment_id=a.pk, by=case.moderator, **close)


def entries(a: Assignment) -> list[tuple[str, str]]:
    return list(a.timeline.values_list("action", "status"))


# ------------------------------------------------------------------------------- 回头看


def test_a_relapsed_review_reopens_the_assignment_with_the_loop_count_up(case: Case) -> None:
    a = closed(case)
    assert (a.loop, a.resolved) == (0, True)
    Notice.objects.all().delete()
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="路灯又坏了")
    today = timezone.localdate()
    assert a.status == Status.REOPENED
    assert a.loop == 1
    assert a.due_date == add_working_days(today, services.DEFAULT_WORKING_DAYS)
    assert (a.resolved, a.closed_at, a.reply, a.verdict, a.verdict_comment) == (None, None, "", "", "")
    assert (a.review_outcome, a.review_note) == (ReviewOutcome.RELAPSED, "路灯又坏了")
    assert entries(a)[-2:] == [("reviewed", "closed"), ("reopened", "reopened")]
    reopened = a.timeline.last()
    assert reopened is not None
    assert (reopened.note_code, reopened.note_params["loop"]) == ("relapse_reopened", 1)
    assert reopened.due_date == a.due_date
    # The liaisons are told, and only they.
    assert list(Notice.objects.values_list("user_id", "code")) == [(case.liaison.pk, "reopened")]
    # The lead department can take it up again, as after an unsatisfied verdict.
    assert [t.name for t in selectors.available_actions(a, case.liaison)] == ["accept", "request_extension"]


def test_a_relapse_takes_the_reviewers_time_limit_or_date(case: Case) -> None:
    a = services.assignment_review(
        assignment_id=closed(case).pk, by=case.moderator, outcome="relapsed", note="反弹", working_days=7
    )
    assert (a.due_date, a.working_days) == (add_working_days(timezone.localdate(), 7), 7)
    b = advance(case, create(case, questions=[case.questions[1]]), "evaluated")
    b = services.assignment_close(assignment_id=b.pk, by=case.moderator)
    day = timezone.localdate() + timedelta(days=40)
    b = services.assignment_review(assignment_id=b.pk, by=case.moderator, outcome="relapsed", note="反弹", due_date=day)
    assert (b.status, b.due_date) == (Status.REOPENED, day)


def test_a_held_review_only_records(case: Case) -> None:
    a = closed(case)
    before = (a.status, a.loop, a.due_date, a.resolved)
    Notice.objects.all().delete()
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="巩固", working_days=3)
    assert (a.status, a.loop, a.due_date, a.resolved) == before
    assert entries(a)[-1] == ("reviewed", "closed")
    assert not Notice.objects.exists()


def test_after_a_relapse_the_next_close_schedules_a_new_review(case: Case) -> None:
    a = services.assignment_review(assignment_id=closed(case).pk, by=case.moderator, outcome="relapsed", note="反弹")
    services.assignment_accept(assignment_id=a.pk, by=case.liaison)
    services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="再次整改", science=3, feasibility=3)
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="满意")
    a = services.assignment_close(assignment_id=a.pk, by=case.moderator)
    assert (a.status, a.loop, a.reviewed_at, a.review_outcome, a.review_note) == (Status.CLOSED, 1, None, "", "")
    assert a.review_due == add_months(timezone.localdate(), 6)
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="这次巩固了")
    actions = [action for action, _ in entries(a)]
    assert actions.count("reviewed") == 2 and actions[-1] == "reviewed"  # the first review stays on record
    assert a.review_outcome == "held"


def test_the_workflow_table_says_a_relapse_reopens() -> None:
    review = workflow.TRANSITIONS["review"]
    assert review.then is not None
    assert (review.then.target, review.then.entry, review.then.notify) == (
        Status.REOPENED,
        "reopened",
        (workflow.Notify.LIAISONS,),
    )
    assert "reopened when the outcome is relapsed" in workflow.as_markdown()


def test_only_the_hearings_moderator_reviews_and_bad_input_changes_nothing(case: Case) -> None:
    a = closed(case)
    review = services.assignment_review
    staff = make_user(is_staff=True, is_superuser=True)
    for by in (case.liaison, case.lead, case.deputy, case.other_deputy, case.world.other_moderator, staff):
        refused(Forbidden, lambda by=by: review(assignment_id=a.pk, by=by, outcome="relapsed", note="x"), a)
    for bad in ({"outcome": "RELAPSED"}, {"outcome": ""}, {"note": " "}, {"note": "a\x00b"}):
        kwargs = {"outcome": "relapsed", "note": "反弹", **bad}
        refused(BadRequest, lambda kwargs=kwargs: review(assignment_id=a.pk, by=case.moderator, **kwargs), a)
    for due in ({"working_days": 0}, {"working_days": 10_000}, {"due_date": timezone.localdate()}):
        refused(
            BadRequest,
            lambda due=due: review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="x", **due),
            a,
        )
    refused(
        BadRequest,
        lambda: review(
            assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="x", working_days=5, due_date=a.due_date
        ),
        a,
    )


def test_the_interval_is_the_assignments_own_unless_given(case: Case) -> None:
    a = advance(case, create(case), "evaluated")
    services.assignment_set_review(assignment_id=a.pk, by=case.moderator, months=3)
    a = services.assignment_close(assignment_id=a.pk, by=case.moderator)
    assert (a.review_months, a.review_due) == (3, add_months(timezone.localdate(), 3))
    b = advance(case, create(case, questions=[case.questions[1]]), "evaluated")
    b = services.assignment_close(assignment_id=b.pk, by=case.moderator, review_months=12)
    assert (b.review_months, b.review_due) == (12, add_months(timezone.localdate(), 12))
    c = advance(case, create(case, questions=[case.questions[2]]), "evaluated")
    services.assignment_set_review(assignment_id=c.pk, by=case.moderator, months=None)
    c = services.assignment_close(assignment_id=c.pk, by=case.moderator)
    assert (c.review_months, c.review_due) == (None, None)


def test_a_due_reviews_date_and_interval_can_be_set(case: Case) -> None:
    a = closed(case)
    today = timezone.localdate()
    day = today + timedelta(days=10)
    a = services.assignment_set_review(assignment_id=a.pk, by=case.moderator, months=6, due_date=day)
    assert a.review_due == day
    a = services.assignment_set_review(assignment_id=a.pk, by=case.moderator, months=2)
    assert (a.review_months, a.review_due) == (2, add_months(today, 2))  # from the closing day
    a = services.assignment_set_review(assignment_id=a.pk, by=case.moderator, months=None)
    assert a.review_due is None
    assert a.status == Status.CLOSED and entries(a)[-1] == ("closed", "closed")  # not a workflow step


def test_setting_the_review_is_refused_for_others_and_bad_values(case: Case) -> None:
    a = closed(case)
    set_review = services.assignment_set_review
    for by in (case.liaison, case.lead, case.deputy, case.world.other_moderator):
        refused(Forbidden, lambda by=by: set_review(assignment_id=a.pk, by=by, months=1), a)
    today = timezone.localdate()
    for bad in (
        {"months": 0},
        {"months": 37},
        {"months": True},
        {"months": "6"},
        {"months": 6, "due_date": today - timedelta(days=1)},
        {"months": 6, "due_date": today + timedelta(days=4000)},
        {"months": None, "due_date": today + timedelta(days=5)},
    ):
        refused(BadRequest, lambda bad=bad: set_review(assignment_id=a.pk, by=case.moderator, **bad), a)
    open_one = create(case, questions=[case.questions[1]])
    refused(
        InvalidState,
        lambda: set_review(assignment_id=open_one.pk, by=case.moderator, months=6, due_date=today + timedelta(days=5)),
        open_one,
    )
    services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="巩固")
    refused(InvalidState, lambda: set_review(assignment_id=a.pk, by=case.moderator, months=3), a)
    d = advance(case, create(case, questions=[case.questions[2]]), "evaluated")
    for months in (0, 37):
        refused(
            BadRequest,
            lambda months=months: services.assignment_close(assignment_id=d.pk, by=None, review_months=months),
            d,
        )


def test_the_reviews_page_lists_due_ones_overdue_first_and_records_a_relapse(client: Client, case: Case) -> None:
    today = timezone.localdate()
    late = closed(case)
    soon = advance(case, create(case, questions=[case.questions[1]]), "evaluated")
    soon = services.assignment_close(assignment_id=soon.pk, by=case.moderator)
    later = advance(case, create(case, questions=[case.questions[2]]), "evaluated")
    later = services.assignment_close(assignment_id=later.pk, by=case.moderator)
    Assignment.objects.filter(pk=late.pk).update(review_due=today - timedelta(days=3))
    Assignment.objects.filter(pk=soon.pk).update(review_due=today + timedelta(days=1))
    client.force_login(case.moderator)
    page = client.get("/assignments/reviews/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index(f'id="review-{late.pk}"') < body.index(f'id="review-{soon.pk}"')
    assert f'id="review-{later.pk}"' not in body  # six months away
    assert "/assignments/reviews/" in client.get("/inbox/").content.decode()
    form = {"outcome": "relapsed", "note": "又反弹了", "working_days": "5", "next": "reviews"}
    response = client.post(f"/assignments/{late.pk}/do/review/", form)
    assert (response.status_code, response["Location"]) == (302, "/assignments/reviews/")
    late.refresh_from_db()
    assert (late.status, late.loop, late.due_date) == (Status.REOPENED, 1, add_working_days(today, 5))
    assert f'id="review-{late.pk}"' not in client.get("/assignments/reviews/").content.decode()


def test_the_reviews_page_is_for_moderators_and_office_staff(client: Client, case: Case) -> None:
    a = closed(case)
    Assignment.objects.filter(pk=a.pk).update(review_due=timezone.localdate())
    assert client.get("/assignments/reviews/").status_code == 302  # to the login page
    for who in (case.liaison, case.deputy, make_user()):
        client.force_login(who)
        assert client.get("/assignments/reviews/").status_code == 403
    staff = make_user()
    Person.objects.create(user=staff, name="会务", role=Person.Role.STAFF)
    client.force_login(staff)
    body = client.get("/assignments/reviews/").content.decode()
    assert f'id="review-{a.pk}"' in body and "/do/review/" not in body  # sees it; the moderator records it
    assert 'href="/assignments/reviews/"' in client.get("/manage/hearings/").content.decode()  # the office's nav
    client.force_login(case.world.other_moderator)
    assert f'id="review-{a.pk}"' not in client.get("/assignments/reviews/").content.decode()


def test_the_review_plan_form(client: Client, case: Case) -> None:
    a = closed(case)
    day = timezone.localdate() + timedelta(days=20)
    client.force_login(case.liaison)
    assert client.post(f"/assignments/{a.pk}/review-plan/", {"review_months": "3"}).status_code == 403
    client.force_login(case.moderator)
    assert 'id="review-plan-form"' in client.get(f"/assignments/{a.pk}/").content.decode()
    client.post(f"/assignments/{a.pk}/review-plan/", {"review_months": "3", "review_due": day.isoformat()})
    a.refresh_from_db()
    assert (a.review_months, a.review_due) == (3, day)
    before = snapshot(a)
    for bad in ({"review_months": "x"}, {"review_months": "3", "review_due": "2026-13-01"}, {"review_months": "99"}):
        response = client.post(f"/assignments/{a.pk}/review-plan/", bad, follow=True)
        assert "未能完成" in response.content.decode()
        assert snapshot(a) == before


def test_the_close_form_takes_an_interval(client: Client, case: Case) -> None:
    a = advance(case, create(case), "evaluated")
    client.force_login(case.moderator)
    client.post(f"/assignments/{a.pk}/do/close/", {"review_months": "none"})
    a.refresh_from_db()
    assert (a.status, a.review_months, a.review_due) == (Status.CLOSED, None, None)


# ------------------------------------------------------------------------------- 双向评议


def test_the_department_rates_the_question_when_it_replies(case: Case) -> None:
    a = advance(case, create(case), "accepted")
    a = services.assignment_reply(
        assignment_id=a.pk, by=case.liaison, text="已整改", science="5", feasibility=2, comment="建议可再具体"
    )
    assert (a.department_science, a.department_feasibility, a.department_comment) == (5, 2, "建议可再具体")
    assert a.department_rated_at is not None
    # Not public: neither the timeline nor the REST payload carries it.
    assert "建议可再具体" not in json.dumps(selectors.assignment_out(a).model_dump(mode="json"), ensure_ascii=False)


@pytest.mark.parametrize(
    "rating",
    [
        {"science": 0, "feasibility": 3},
        {"science": 6, "feasibility": 3},
        {"science": "x", "feasibility": 3},
        {"science": "4.5", "feasibility": 3},
        {"science": True, "feasibility": 3},
        {"science": 3, "feasibility": "-1"},
        {"science": 3},  # both or none
        {"comment": "只有意见"},
        {"science": 3, "feasibility": 3, "comment": "a\x00b"},
    ],
)
def test_a_bad_rating_is_refused_and_nothing_is_stored(case: Case, rating: dict[str, Any]) -> None:
    a = advance(case, create(case), "accepted")
    refused(
        BadRequest, lambda: services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="答复", **rating), a
    )


def test_the_page_requires_the_rating_and_staff_see_both_directions(client: Client, case: Case) -> None:
    a = advance(case, create(case), "accepted")
    client.force_login(case.liaison)
    before = snapshot(a)
    response = client.post(f"/assignments/{a.pk}/do/reply/", {"text": "已整改"}, follow=True)
    assert "未能完成" in response.content.decode()
    assert snapshot(a) == before
    assert 'name="science"' in client.get(f"/assignments/{a.pk}/").content.decode()
    form = {"text": "已整改", "science": "4", "feasibility": "2", "comment": "可行性不足"}
    client.post(f"/assignments/{a.pk}/do/reply/", form)
    a.refresh_from_db()
    assert (a.status, a.department_science, a.department_feasibility) == (Status.REPLIED, 4, 2)
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="基本满意", comment="还需巩固")
    client.force_login(case.moderator)
    page = client.get(f"/assignments/{a.pk}/").content.decode()
    both = page[page.index(f'id="assignment-{a.pk}-both"') :]
    assert "基本满意" in both and "还需巩固" in both and "可行性不足" in both and "较低" in both
    client.force_login(case.deputy)
    assert "可行性不足" in client.get(f"/assignments/{a.pk}/").content.decode()
    for other in (Client(), _logged_in(make_user()), _logged_in(case.other_liaison)):
        public = other.get(f"/assignments/{a.pk}/").content.decode()
        assert "可行性不足" not in public and f'id="assignment-{a.pk}-both"' not in public
        assert "还需巩固" in public  # the deputy's verdict stays public


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, assignment_id: int, token: str, body: Any) -> Any:
    return client.post(
        f"{URL}{assignment_id}/transitions/",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_the_rest_api_takes_the_rating_and_the_old_body_still_works(client: Client, case: Case) -> None:
    token = services.api_token_issue(department=case.lead)
    a = advance(case, create(case), "accepted")
    body = {"action": "reply", "note": "已整改", "science": 5, "feasibility": 4, "comment": "很好的建议"}
    response = post(client, a.pk, token, body)
    assert response.status_code == 200, response.content
    assert "很好的建议" not in response.content.decode()  # the payload stays the public ASSIGNMENT
    a.refresh_from_db()
    assert (a.department_science, a.department_feasibility, a.department_comment) == (5, 4, "很好的建议")
    b = advance(case, create(case, questions=[case.questions[1]]), "accepted")
    assert post(client, b.pk, token, {"action": "reply", "note": "已整改"}).status_code == 200  # PROTOCOL's body
    b.refresh_from_db()
    assert (b.status, b.department_science, b.department_rated_at) == (Status.REPLIED, None, None)


@pytest.mark.parametrize(
    "extra",
    [
        {"science": 0, "feasibility": 3},
        {"science": 6, "feasibility": 3},
        {"science": "x", "feasibility": 3},
        {"science": "4", "feasibility": 3},
        {"science": 4.5, "feasibility": 3},
        {"science": 4},
        {"comment": "只有意见"},
        {"science": 3, "feasibility": 3, "comment": 7},
    ],
)
def test_the_rest_api_refuses_a_bad_rating_and_stores_nothing(
    client: Client, case: Case, extra: dict[str, Any]
) -> None:
    token = services.api_token_issue(department=case.lead)
    a = advance(case, create(case), "accepted")
    before = snapshot(a)
    response = post(client, a.pk, token, {"action": "reply", "note": "已整改", **extra})
    assert response.status_code == 400 and response.json()["error"] == "bad_request"
    assert snapshot(a) == before


def test_the_rest_api_refuses_a_rating_with_another_action(client: Client, case: Case) -> None:
    token = services.api_token_issue(department=case.lead)
    a = create(case)
    before = snapshot(a)
    response = post(client, a.pk, token, {"action": "accept", "science": 3, "feasibility": 3})
    assert response.status_code == 400
    assert snapshot(a) == before
