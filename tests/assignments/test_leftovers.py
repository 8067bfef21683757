"""Leftover questions (书面答复): an ended hearing's approved questions it never answered are
listed, offered on the assigning page and assigned in one batch, each to its department.

The hearing is played through the services: questions asked, approved, some answered, one on
stage when the hearing ends (hearing_end answers it), others left approved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from assignments import selectors, services
from assignments.models import Assignment, Origin, TimelineEntry
from assignments.services import leftovers
from assignments.workdays import add_working_days
from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from hearings import services as hearing_services
from hearings.models import Hearing, Question
from tests.assignments.played import play
from tests.factories import make_world

pytestmark = pytest.mark.django_db


def ids(questions: list[Question]) -> list[int]:
    return [q.pk for q in questions]


# ------------------------------------------------------------------------------- the selector


def test_leftovers_are_the_approved_questions_an_ended_hearing_never_answered() -> None:
    p = play()
    assert Question.objects.get(pk=p.staged.pk).status == Question.Status.ANSWERED  # answered by the end
    assert ids(selectors.leftover_questions(p.hearing)) == ids(p.leftovers)


def test_a_live_hearing_has_no_leftovers_its_approved_questions_may_still_be_answered() -> None:
    p = play(end=False)
    assert selectors.leftover_questions(p.hearing) == []
    offered = selectors.assignable_questions(p.hearing)
    assert [row.question.pk for row in offered] == [p.answered.pk]


def test_the_assigning_page_offers_answered_and_leftover_questions_marked() -> None:
    p = play()
    offered = selectors.assignable_questions(p.hearing)
    assert [(row.question.pk, row.origin) for row in offered] == [
        (p.answered.pk, Origin.ON_SITE),
        (p.staged.pk, Origin.ON_SITE),
        *[(q.pk, Origin.WRITTEN) for q in p.leftovers],
    ]
    departments = [row.department for row in offered if row.written]
    assert departments == [p.world.items[2].department, p.own, None]

    client = Client()
    client.force_login(p.world.moderator)
    page = client.get(f"/assignments/new/?hearing={p.hearing.pk}").content.decode()
    assert 'id="leftovers-form"' in page
    for q in p.leftovers:
        assert f'id="leftover-{q.pk}"' in page
        assert f'id="question-{q.pk}"' in page
    assert page.count('class="origin written"') == 2 * len(p.leftovers)  # in the batch and in the list
    assert page.count('class="origin on-site"') == 2
    for q in (p.pending, p.rejected, p.hidden, p.merged):
        assert f'value="{q.pk}"' not in page


# ------------------------------------------------------------------------------- the bug


def test_regression_an_approved_question_left_at_the_end_can_be_assigned() -> None:
    """It could be neither marked answered nor assigned once the hearing ended: assignment_create
    took only answered questions, and question_answered (rightly) changes no ended hearing. The
    rule now takes a leftover as a written reply."""
    p = play()
    question = p.leftovers[2]
    with pytest.raises(InvalidState):  # still: an ended hearing is not answered after the fact
        hearing_services.question_answered(hearing_id=p.hearing.pk, question_id=question.pk, by=p.world.moderator)
    made = services.assignment_create(
        hearing_id=p.hearing.pk,
        question_ids=[question.pk],
        lead_department_id=p.world.departments[0].pk,
        working_days=10,
        by=p.world.moderator,
    )
    assert made.origin == Origin.WRITTEN
    assert list(made.questions.all()) == [question]
    assert Question.objects.get(pk=question.pk).status == Question.Status.APPROVED  # the record stays true


def test_answered_and_written_questions_are_not_grouped_in_one_assignment() -> None:
    p = play()
    with pytest.raises(BadRequest, match="分别交办"):
        services.assignment_create(
            hearing_id=p.hearing.pk,
            question_ids=[p.answered.pk, p.leftovers[0].pk],
            lead_department_id=p.world.departments[0].pk,
            working_days=10,
            by=p.world.moderator,
        )
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("which", ["pending", "rejected", "hidden"])
def test_questions_that_are_not_leftovers_stay_unassignable(which: str) -> None:
    p = play()
    question = getattr(p, which)
    with pytest.raises(InvalidState):
        services.assignment_create(
            hearing_id=p.hearing.pk,
            question_ids=[question.pk],
            lead_department_id=p.world.departments[0].pk,
            working_days=10,
            by=p.world.moderator,
        )
    assert not Assignment.objects.exists()


# ------------------------------------------------------------------------------- the batch


def test_the_batch_assigns_every_leftover_to_its_department_in_one_go() -> None:
    p = play()
    chosen = p.world.departments[2]
    before = AuditEntry.objects.count()
    result = services.leftovers_assign(
        hearing_id=p.hearing.pk, by=p.world.moderator, departments={p.leftovers[2].pk: chosen.pk}
    )
    assert result.skipped == []
    assert [list(a.questions.values_list("pk", flat=True)) for a in result.created] == [[q.pk] for q in p.leftovers]
    assert [a.lead_department for a in result.created] == [p.world.items[2].department, p.own, chosen]
    due = add_working_days(services.transitions.local_today(), services.DEFAULT_WORKING_DAYS)
    for a in result.created:
        assert (a.origin, a.due_date, a.status, a.working_days) == (
            Origin.WRITTEN,
            due,
            "assigned",
            services.DEFAULT_WORKING_DAYS,
        )
        assert list(a.timeline.values_list("action", flat=True)) == [TimelineEntry.Action.CREATED]
    # One audit entry per assignment, and one for the batch naming them.
    batch = AuditEntry.objects.filter(action="assignment.batch").get()
    assert batch.payload == {
        "assignments": [a.pk for a in result.created],
        "questions": ids(p.leftovers),
        "skipped": [],
    }
    assert AuditEntry.objects.count() == before + len(p.leftovers) + 1
    assert selectors.assignable_questions(p.hearing)[-1].question.pk == p.staged.pk  # only answered ones left


def test_the_batch_takes_working_days_or_a_date() -> None:
    p = play()
    result = services.leftovers_assign(
        hearing_id=p.hearing.pk,
        by=p.world.moderator,
        question_ids=ids(p.leftovers[:2]),
        working_days=5,
    )
    assert {a.due_date for a in result.created} == {add_working_days(services.transitions.local_today(), 5)}


def test_a_question_with_no_department_refuses_the_whole_batch_and_nothing_is_stored() -> None:
    p = play()
    before = (Assignment.objects.count(), AuditEntry.objects.count(), TimelineEntry.objects.count())
    with pytest.raises(BadRequest) as refused:
        services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator)
    assert f"#{p.leftovers[2].pk}" in refused.value.message
    assert "主办单位" in refused.value.message
    assert (Assignment.objects.count(), AuditEntry.objects.count(), TimelineEntry.objects.count()) == before


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("pending", InvalidState),
        ("rejected", InvalidState),
        ("hidden", InvalidState),
        ("merged", InvalidState),
        ("other_hearing", NotFound),
        ("unknown_department", NotFound),
        ("bad_days", BadRequest),
        ("empty", BadRequest),
    ],
)
def test_one_bad_question_or_input_refuses_all(bad: str, error: type[Exception]) -> None:
    p = play()
    good = ids(p.leftovers[:2])
    kwargs: dict[str, Any] = {"question_ids": good}
    if bad in ("pending", "rejected", "hidden", "merged"):
        kwargs["question_ids"] = [*good, getattr(p, bad).pk]
    elif bad == "other_hearing":
        other = make_world(status=Hearing.Status.ENDED)
        foreign = Question.objects.create(hearing=other.hearing, text="别处的问题", source="public", status="approved")
        kwargs["question_ids"] = [*good, foreign.pk]
    elif bad == "unknown_department":
        kwargs["departments"] = {good[0]: 999_999}
    elif bad == "bad_days":
        kwargs["working_days"] = 0
    else:
        kwargs["question_ids"] = []
    with pytest.raises(error):
        services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator, **kwargs)
    assert not Assignment.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="assignment.").exists()


def test_a_failure_midway_rolls_back_the_assignments_already_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction: an error after the first assignment was written leaves none."""
    p = play()
    real = services.assignment_create
    calls = []

    def flaky(**kwargs: Any) -> Assignment:
        calls.append(kwargs)
        if len(calls) == 2:
            raise InvalidState("数据库出错")
        return real(**kwargs)

    monkeypatch.setattr(leftovers, "assignment_create", flaky)
    with pytest.raises(InvalidState):
        services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator, question_ids=ids(p.leftovers[:2]))
    assert len(calls) == 2
    assert not Assignment.objects.exists()


def test_the_batch_is_idempotent_assigned_questions_are_skipped_and_reported() -> None:
    p = play()
    departments = {p.leftovers[2].pk: p.world.departments[0].pk}
    first = services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator, question_ids=ids(p.leftovers[:1]))
    second = services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator, departments=departments)
    assert second.skipped == [p.leftovers[0].pk]
    assert [a.questions.get().pk for a in second.created] == ids(p.leftovers[1:])
    count = Assignment.objects.count()
    third = services.leftovers_assign(hearing_id=p.hearing.pk, by=p.world.moderator, departments=departments)
    assert (third.created, third.skipped) == ([], ids(p.leftovers))
    assert Assignment.objects.count() == count == 1 + 2
    assert first.created[0].pk not in [a.pk for a in second.created]


def test_an_answered_question_in_the_batch_is_recorded_as_answered_on_site() -> None:
    p = play()
    result = services.leftovers_assign(
        hearing_id=p.hearing.pk, by=p.world.moderator, question_ids=[p.answered.pk, p.leftovers[0].pk]
    )
    assert [a.origin for a in result.created] == [Origin.ON_SITE, Origin.WRITTEN]
    assert result.created[0].commitment == "一个月内增设窗口"


def test_only_the_hearings_moderators_run_the_batch_and_only_once_it_ended() -> None:
    p = play()
    for who in (p.world.other_moderator, p.world.deputies[0], p.world.departments[0]):
        with pytest.raises(Forbidden):
            services.leftovers_assign(hearing_id=p.hearing.pk, by=who, question_ids=ids(p.leftovers[:1]))
    live = play(end=False)
    with pytest.raises(InvalidState):
        services.leftovers_assign(hearing_id=live.hearing.pk, by=live.world.moderator)
    with pytest.raises(NotFound):
        services.leftovers_assign(hearing_id=999_999, by=None)
    assert not Assignment.objects.exists()


# ------------------------------------------------------------------------------- the page


def test_the_batch_form_assigns_the_chosen_leftovers_and_reports_skips() -> None:
    p = play()
    client = Client()
    client.force_login(p.world.moderator)
    form = {
        "hearing": p.hearing.pk,
        "mode": "batch",
        "questions": ids(p.leftovers),
        f"department-{p.leftovers[2].pk}": p.world.departments[1].pk,
        f"department-{p.leftovers[0].pk}": "",
        "working_days": "15",
    }
    response = client.post("/assignments/new/", form, follow=True)
    assert response.redirect_chain == [(f"/assignments/new/?hearing={p.hearing.pk}", 302)]
    made = list(Assignment.objects.order_by("id"))
    assert [(a.questions.get().pk, a.lead_department_id, a.origin) for a in made] == [
        (p.leftovers[0].pk, p.world.items[2].department_id, Origin.WRITTEN),
        (p.leftovers[1].pk, p.own.pk, Origin.WRITTEN),
        (p.leftovers[2].pk, p.world.departments[1].pk, Origin.WRITTEN),
    ]
    detail = client.get(f"/assignments/{made[0].pk}/").content.decode()
    assert f'<p id="assignment-{made[0].pk}-origin">答复方式：书面答复</p>' in detail
    page = response.content.decode()
    assert "已生成 3 件交办件" in page
    assert 'id="leftovers-form"' not in page  # nothing left to assign in writing

    again = client.post("/assignments/new/", form, follow=True).content.decode()
    assert "已生成 0 件交办件" in again
    assert "本次跳过" in again
    assert Assignment.objects.count() == 3


def test_the_batch_form_refuses_a_leftover_without_department_and_stores_nothing() -> None:
    p = play()
    client = Client()
    client.force_login(p.world.moderator)
    form = {"hearing": p.hearing.pk, "mode": "batch", "questions": ids(p.leftovers), "working_days": "15"}
    page = client.post("/assignments/new/", form, follow=True).content.decode()
    assert "请为它们选择主办单位" in page
    assert f"#{p.leftovers[2].pk}" in page
    assert not Assignment.objects.exists()
    bad = client.post("/assignments/new/", {**form, f"department-{p.leftovers[2].pk}": "x"}, follow=True)
    assert "选择无效" in bad.content.decode()
    assert not Assignment.objects.exists()
