"""Every transition of an assignment, and every refused one (wrong department, state, role)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone, translation

from assignments import notes, selectors, services, workflow
from assignments.models import Assignment, Attachment, Notice, Status, TimelineEntry
from assignments.services import transitions
from assignments.workdays import add_months, add_working_days
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings.models import Hearing, Question
from tests.assignments.helpers import Case, advance, answered, create, make_overdue
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def actions(assignment: Assignment) -> list[str]:
    return list(TimelineEntry.objects.filter(assignment=assignment).values_list("action", flat=True))


def refused(error: type[DomainError], call: Any, assignment: Assignment) -> None:
    """The call is refused with `error` and changes nothing."""
    before = Assignment.objects.filter(pk=assignment.pk).values().get()
    entries = TimelineEntry.objects.filter(assignment=assignment).count()
    with pytest.raises(error):
        call()
    assert Assignment.objects.filter(pk=assignment.pk).values().get() == before
    assert TimelineEntry.objects.filter(assignment=assignment).count() == entries


# ------------------------------------------------------------------------------- create


def test_create_from_one_question(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transitions, "local_today", lambda: date(2026, 3, 2))
    a = services.assignment_create(
        hearing_id=case.hearing.pk,
        question_ids=[case.questions[0].pk],
        lead_department_id=case.lead.pk,
        co_department_ids=[case.other.pk],
        working_days=5,
        by=case.moderator,
    )
    assert a.status == Status.ASSIGNED
    assert a.due_date == date(2026, 3, 9)
    assert a.working_days == 5
    assert a.title == case.questions[0].text
    assert a.commitment == "承诺1"  # from the question
    assert list(a.questions.all()) == [case.questions[0]]
    assert list(a.co_departments.all()) == [case.other]
    entry = a.timeline.get()
    assert (entry.action, entry.status, entry.actor_id, entry.actor_label) == (
        "created",
        "assigned",
        case.moderator.pk,
        "主持人",
    )
    assert (entry.note_code, entry.note_params) == ("created", {"department": case.lead.name, "due": "2026-03-09"})
    assert notes.entry_note(entry) == f"交办{case.lead.name}办理，期限2026-03-09"
    notice = Notice.objects.get(user=case.liaison, assignment=a)
    assert (notice.code, notice.params) == ("created", {"title": a.title, "due": "2026-03-09"})
    assert notes.notice_text(notice) == f"新交办件：{a.title}（期限 2026-03-09）"
    with translation.override("en"):
        assert notes.entry_note(entry) == f"Assigned to {case.lead.name}, due 2026-03-09"


def test_create_across_the_spring_festival_counts_working_days(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transitions, "local_today", lambda: date(2026, 2, 12))
    a = create(case, days=10)
    assert a.due_date == date(2026, 3, 4)


def test_create_across_national_day_counts_working_days(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transitions, "local_today", lambda: date(2026, 9, 29))
    a = create(case, days=3)
    # 30 Sep, then 1–7 Oct holiday, 8 Oct, 9 Oct.
    assert a.due_date == date(2026, 10, 9)


def test_create_groups_several_questions_as_one_item(case: Case) -> None:
    a = services.assignment_create(
        hearing_id=case.hearing.pk,
        question_ids=[q.pk for q in case.questions],
        lead_department_id=case.lead.pk,
        due_date=timezone.localdate() + timedelta(days=30),
        title="企业用工问题（合并）",
        commitment="一个月内出台稳岗措施",
        by=case.moderator,
    )
    assert a.title == "企业用工问题（合并）"
    assert a.commitment == "一个月内出台稳岗措施"
    assert a.working_days is None
    assert sorted(a.questions.values_list("pk", flat=True)) == [q.pk for q in case.questions]


def test_create_each_makes_one_per_question_all_or_none(case: Case) -> None:
    made = services.assignments_create_each(
        hearing_id=case.hearing.pk,
        question_ids=[q.pk for q in case.questions[:2]],
        lead_department_id=case.lead.pk,
        working_days=10,
        by=case.moderator,
    )
    assert [a.commitment for a in made] == ["承诺1", "承诺2"]
    with pytest.raises(InvalidState):  # the second is assigned already: the third is not made either
        services.assignments_create_each(
            hearing_id=case.hearing.pk,
            question_ids=[case.questions[2].pk, case.questions[1].pk],
            lead_department_id=case.lead.pk,
            working_days=10,
            by=case.moderator,
        )
    assert not Assignment.objects.filter(questions=case.questions[2]).exists()


def test_create_while_the_hearing_is_live(case: Case) -> None:
    Hearing.objects.filter(pk=case.hearing.pk).update(status=Hearing.Status.LIVE)
    assert create(case).status == Status.ASSIGNED


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"by": "deputy"}, Forbidden),
        ({"by": "liaison"}, Forbidden),
        ({"by": "other_moderator"}, Forbidden),
        ({"by": "department"}, Forbidden),
        ({"hearing_id": 10**9}, NotFound),
        ({"question_ids": []}, BadRequest),
        ({"question_ids": [10**9]}, NotFound),
        ({"lead_department_id": 10**9}, NotFound),
        ({"co_department_ids": [10**9]}, NotFound),
        ({"co_department_ids": ["lead"]}, BadRequest),
        ({"working_days": None}, BadRequest),
        ({"working_days": 0}, BadRequest),
        ({"working_days": 251}, BadRequest),
        ({"working_days": None, "due_date": "today"}, BadRequest),
        ({"due_date": "tomorrow"}, BadRequest),  # both given
        ({"title": "题" * 201}, BadRequest),
    ],
)
def test_create_refused(case: Case, change: dict[str, Any], error: type[DomainError]) -> None:
    people = {
        "deputy": case.deputy,
        "liaison": case.liaison,
        "other_moderator": case.world.other_moderator,
        "department": case.lead,
    }
    kwargs: dict[str, Any] = {
        "hearing_id": case.hearing.pk,
        "question_ids": [case.questions[0].pk],
        "lead_department_id": case.lead.pk,
        "working_days": 10,
        "by": case.moderator,
    }
    for key, value in change.items():
        if key == "by":
            value = people[value]
        elif key == "co_department_ids" and value == ["lead"]:
            value = [case.lead.pk]
        elif value == "today":
            value = timezone.localdate()
        elif value == "tomorrow":
            value = timezone.localdate() + timedelta(days=1)
        kwargs[key] = value
    with pytest.raises(error):
        services.assignment_create(**kwargs)
    assert not Assignment.objects.exists()


def test_create_refuses_questions_not_answered_or_of_another_hearing_or_assigned(case: Case) -> None:
    # An approved question an ended hearing never answered is a written reply now
    # (tests/assignments/test_leftovers.py); a pending one is no question of the list.
    pending = answered(case.world, "还没审核")
    Question.objects.filter(pk=pending.pk).update(status=Question.Status.PENDING)
    with pytest.raises(InvalidState, match=r"^只有已答复的问题，或问政会结束时未答复的已公开问题，可以交办。$"):
        create(case, questions=[pending])
    other = Hearing.objects.exclude(pk=case.hearing.pk).get()
    foreign = Question.objects.create(hearing=other, text="别的会", source="public", status="answered")
    with pytest.raises(NotFound):
        create(case, questions=[foreign])
    create(case)
    with pytest.raises(InvalidState, match=r"^所选问题中有已经交办的。$"):
        create(case)
    assert Assignment.objects.count() == 1


def test_create_refused_for_a_draft_hearing(case: Case) -> None:
    Hearing.objects.filter(pk=case.hearing.pk).update(status=Hearing.Status.DRAFT)
    with pytest.raises(InvalidState):
        create(case)


# ------------------------------------------------------------------------------- the happy path


def test_full_lifecycle_writes_one_timeline_entry_per_transition(case: Case) -> None:
    a = create(case)
    a = services.assignment_accept(assignment_id=a.pk, by=case.liaison, note="已签收，马上办")
    assert a.status == Status.ACCEPTED
    a = services.assignment_progress(assignment_id=a.pk, by=case.liaison, note="已约谈企业", internal_note="局长批示")
    assert a.status == Status.IN_PROGRESS
    a = services.assignment_progress(assignment_id=a.pk, by=case.liaison, note="方案已上报")
    assert a.status == Status.IN_PROGRESS
    upload = SimpleUploadedFile("整改报告.pdf", b"%PDF-1.4 report", content_type="application/pdf")
    a = services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="已完成整改", files=[upload])
    assert (a.status, a.reply) == (Status.REPLIED, "已完成整改")
    assert a.replied_at is not None
    attachment = Attachment.objects.get(assignment=a)
    assert attachment.name == "整改报告.pdf"
    assert attachment.file.read() == b"%PDF-1.4 report"
    assert Notice.objects.filter(user=case.deputy, assignment=a).exists()
    a = services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="基本满意", comment="还需巩固")
    assert (a.status, a.verdict, a.verdict_comment) == (Status.EVALUATED, "基本满意", "还需巩固")
    a = services.assignment_close(assignment_id=a.pk, by=case.moderator)
    assert a.status == Status.CLOSED
    assert a.resolved is True
    assert a.review_due == add_months(timezone.localdate(), services.REVIEW_MONTHS)
    a = services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="企业反映问题未反弹")
    assert a.review_outcome == "held"
    assert a.reviewed_at is not None
    assert actions(a) == [
        "created", "accepted", "progress", "progress", "replied", "evaluated", "closed", "reviewed",
    ]  # fmt: skip
    statuses = list(a.timeline.values_list("status", flat=True))
    assert statuses == [
        "assigned",
        "accepted",
        "in_progress",
        "in_progress",
        "replied",
        "evaluated",
        "closed",
        "closed",
    ]
    labels = set(a.timeline.values_list("actor_label", flat=True))
    assert labels == {"主持人", case.lead.name, "提问代表"}
    assert a.timeline.get(action="progress", public_note="已约谈企业").internal_note == "局长批示"


def test_closed_but_unresolved_is_kept_apart_from_resolved(case: Case) -> None:
    a = advance(case, create(case), "replied")
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="不满意", comment="没解决")
    a = services.assignment_close(assignment_id=a.pk, by=case.moderator, review_months=None)
    assert (a.status, a.resolved, a.review_due) == (Status.CLOSED, False, None)
    assert "未解决" in notes.entry_note(a.timeline.last())  # type: ignore[arg-type]
    b = advance(case, create(case, questions=[case.questions[1]]), "evaluated")
    b = services.assignment_close(assignment_id=b.pk, by=case.moderator, resolved=False)
    assert b.resolved is False  # the moderator's judgement wins over a 满意
    with pytest.raises(InvalidState, match=r"^这件交办件没有安排回头看。$"):
        services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="x")


def test_accept_and_reply_through_the_api_department(case: Case) -> None:
    a = create(case)
    a = services.assignment_accept(assignment_id=a.pk, by=case.lead)
    a = services.assignment_reply(assignment_id=a.pk, by=case.lead, text="答复")
    entry = a.timeline.last()
    assert entry is not None
    assert (entry.actor_id, entry.actor_label) == (None, case.lead.name)


# ------------------------------------------------------------------------------- return and reassign


def test_return_then_reassign_to_another_department(case: Case) -> None:
    a = create(case)
    a = services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="属住建局职责")
    assert (a.status, a.return_reason) == (Status.RETURNED, "属住建局职责")
    assert Notice.objects.filter(user=case.moderator, assignment=a).exists()
    assert not selectors.is_overdue(a, today=a.due_date + timedelta(days=5))  # with the moderator, not late
    a = services.assignment_reassign(
        assignment_id=a.pk, by=case.moderator, lead_department_id=case.other.pk, working_days=5
    )
    assert (a.status, a.lead_department_id, a.return_reason) == (Status.ASSIGNED, case.other.pk, "")
    # Now the old department may not act, the new one may.
    refused(Forbidden, lambda: services.assignment_accept(assignment_id=a.pk, by=case.liaison), a)
    a = services.assignment_accept(assignment_id=a.pk, by=case.other_liaison)
    assert a.status == Status.ACCEPTED
    assert actions(a) == ["created", "returned", "reassigned", "accepted"]


def test_return_after_accepting_and_reassign_keeps_the_due_date(case: Case) -> None:
    a = advance(case, create(case), "accepted")
    due = a.due_date
    services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="不是我们")
    a = services.assignment_reassign(assignment_id=a.pk, by=case.moderator, lead_department_id=case.lead.pk)
    assert (a.status, a.due_date) == (Status.ASSIGNED, due)


# ------------------------------------------------------------------------------- reopen loop


def test_reopen_loop_when_the_deputy_is_unsatisfied(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    a = advance(case, create(case), "replied")
    for loop in (1, 2):
        a = services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="不满意", comment="未落实")
        assert a.status == Status.EVALUATED
        a = services.assignment_reopen(assignment_id=a.pk, by=case.moderator, working_days=10)
        assert (a.status, a.loop) == (Status.REOPENED, loop)
        assert a.due_date == add_working_days(timezone.localdate(), 10)
        assert (a.reply, a.verdict, a.replied_at) == ("", "", None)
        assert selectors.assignment_out(a).reply is None
        a = services.assignment_accept(assignment_id=a.pk, by=case.liaison)
        a = services.assignment_reply(assignment_id=a.pk, by=case.liaison, text=f"第{loop + 1}次答复")
    a = services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="满意")
    a = services.assignment_close(assignment_id=a.pk, by=case.moderator)
    assert (a.loop, a.resolved, a.reply) == (2, True, "第3次答复")
    # Every reply and verdict stays in the timeline.
    replies = list(a.timeline.filter(action="replied").values_list("public_note", flat=True))
    assert replies == ["已完成整改", "第2次答复", "第3次答复"]
    verdicts = [notes.entry_note(e) for e in a.timeline.filter(action="evaluated")]
    assert verdicts == ["不满意。未落实", "不满意。未落实", "满意"]
    assert actions(a).count("reopened") == 2


def test_reopen_refused_unless_unsatisfied(case: Case) -> None:
    a = advance(case, create(case), "evaluated")  # 满意
    refused(InvalidState, lambda: services.assignment_reopen(assignment_id=a.pk, by=case.moderator, working_days=5), a)


def test_unsatisfied_needs_a_comment_and_a_verdict_is_one_of_three(case: Case) -> None:
    a = advance(case, create(case), "replied")
    refused(BadRequest, lambda: services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="不满意"), a)
    refused(BadRequest, lambda: services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="很好"), a)


def test_a_public_question_is_evaluated_by_the_moderator(case: Case) -> None:
    a = advance(case, create(case, questions=[case.public_question]), "replied")
    refused(Forbidden, lambda: services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="满意"), a)
    a = services.assignment_evaluate(assignment_id=a.pk, by=case.moderator, verdict="满意")
    assert a.status == Status.EVALUATED


# ------------------------------------------------------------------------------- extensions


def test_extension_requested_then_approved_moves_the_due_date(case: Case) -> None:
    a = advance(case, create(case), "in_progress")
    later = a.due_date + timedelta(days=14)
    a = services.assignment_request_extension(assignment_id=a.pk, by=case.liaison, due_date=later, reason="需招标")
    assert (a.extension_due_date, a.status) == (later, Status.IN_PROGRESS)
    refused(
        InvalidState,
        lambda: services.assignment_request_extension(assignment_id=a.pk, by=case.liaison, due_date=later, reason="x"),
        a,
    )
    a = services.assignment_decide_extension(assignment_id=a.pk, by=case.moderator, approve=True)
    assert (a.due_date, a.extension_due_date) == (later, None)
    assert actions(a)[-2:] == ["extension_requested", "extension_approved"]


def test_extension_refused_keeps_the_due_date(case: Case) -> None:
    a = advance(case, create(case), "accepted")
    due = a.due_date
    services.assignment_request_extension(
        assignment_id=a.pk, by=case.liaison, due_date=due + timedelta(days=3), reason="人手不足"
    )
    a = services.assignment_decide_extension(assignment_id=a.pk, by=case.moderator, approve=False, note="请按期办结")
    assert (a.due_date, a.extension_due_date) == (due, None)
    assert a.timeline.last().public_note == "请按期办结"  # type: ignore[union-attr]
    refused(
        InvalidState,
        lambda: services.assignment_decide_extension(assignment_id=a.pk, by=case.moderator, approve=True),
        a,
    )


def test_extension_request_refused(case: Case) -> None:
    a = create(case)
    later = a.due_date + timedelta(days=5)
    ask = services.assignment_request_extension
    refused(
        InvalidState, lambda: ask(assignment_id=a.pk, by=case.liaison, due_date=later, reason="x"), a
    )  # not accepted
    a = advance(case, a, "accepted")
    refused(BadRequest, lambda: ask(assignment_id=a.pk, by=case.liaison, due_date=a.due_date, reason="x"), a)
    refused(BadRequest, lambda: ask(assignment_id=a.pk, by=case.liaison, due_date=None, reason="x"), a)
    refused(BadRequest, lambda: ask(assignment_id=a.pk, by=case.liaison, due_date=later, reason=" "), a)
    refused(Forbidden, lambda: ask(assignment_id=a.pk, by=case.other_liaison, due_date=later, reason="x"), a)
    services.assignment_request_extension(assignment_id=a.pk, by=case.liaison, due_date=later, reason="x")
    refused(
        Forbidden, lambda: services.assignment_decide_extension(assignment_id=a.pk, by=case.liaison, approve=True), a
    )


def test_a_reply_lets_a_pending_extension_lapse(case: Case) -> None:
    a = advance(case, create(case), "accepted")
    services.assignment_request_extension(
        assignment_id=a.pk, by=case.liaison, due_date=a.due_date + timedelta(days=3), reason="x"
    )
    a = services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="提前办好了")
    assert a.extension_due_date is None


# ------------------------------------------------------------------------------- refusals: state, department, role

LEAD_ACTIONS = {
    "accept": lambda pk, by: services.assignment_accept(assignment_id=pk, by=by),
    "return": lambda pk, by: services.assignment_return(assignment_id=pk, by=by, reason="不属本单位"),
    "progress": lambda pk, by: services.assignment_progress(assignment_id=pk, by=by, note="进展"),
    "reply": lambda pk, by: services.assignment_reply(assignment_id=pk, by=by, text="答复"),
}
MODERATOR_ACTIONS = {
    "reassign": lambda pk, by, case: services.assignment_reassign(
        assignment_id=pk, by=by, lead_department_id=case.other.pk
    ),
    "reopen": lambda pk, by, case: services.assignment_reopen(assignment_id=pk, by=by, working_days=5),
    "close": lambda pk, by, case: services.assignment_close(assignment_id=pk, by=by),
    "review": lambda pk, by, case: services.assignment_review(assignment_id=pk, by=by, outcome="held", note="好"),
}


def in_status(case: Case, status: str, question: Question) -> Assignment:
    a = create(case, questions=[question])
    if status == "returned":
        services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="误交")
    elif status == "reopened":
        advance(case, a, "replied")
        services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="不满意", comment="不行")
        services.assignment_reopen(assignment_id=a.pk, by=case.moderator, working_days=5)
    elif status == "evaluated":
        advance(case, a, "replied")
        services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="不满意", comment="不行")
    elif status != "assigned":
        advance(case, a, status)
    a.refresh_from_db()
    assert a.status == status
    return a


# ------------------------------------------------------------------------------- the workflow table, checked

# Where an assignment can be, as (steps through the services, taken as the system). Every status,
# and each with and without what an action needs besides its status (workflow.Condition).
SITUATIONS: dict[str, list[str]] = {
    "assigned": [],
    "accepted": ["accept"],
    "accepted+extension": ["accept", "ask_extension"],
    "in_progress": ["accept", "progress"],
    "in_progress+extension": ["accept", "progress", "ask_extension"],
    "replied": ["accept", "reply"],
    "evaluated-unsatisfied": ["accept", "reply", "unsatisfied"],
    "evaluated-satisfied": ["accept", "reply", "satisfied"],
    "closed": ["accept", "reply", "satisfied", "close"],
    "closed-reviewed": ["accept", "reply", "satisfied", "close", "review"],
    "closed-no-review": ["accept", "reply", "satisfied", "close_without_review"],
    "returned": ["return"],
    "reopened": ["accept", "reply", "unsatisfied", "reopen"],
    "reopened+extension": ["accept", "reply", "unsatisfied", "reopen", "ask_extension"],
}


def situate(case: Case, steps: list[str], question: Question) -> Assignment:
    a = create(case, questions=[question])
    pk, s = a.pk, services
    moves = {
        "accept": lambda: s.assignment_accept(assignment_id=pk, by=None),
        "progress": lambda: s.assignment_progress(assignment_id=pk, by=None, note="进展"),
        "reply": lambda: s.assignment_reply(assignment_id=pk, by=None, text="答复"),
        "return": lambda: s.assignment_return(assignment_id=pk, by=None, reason="误交"),
        "ask_extension": lambda: s.assignment_request_extension(
            assignment_id=pk, by=None, due_date=a.due_date + timedelta(days=60), reason="需招标"
        ),
        "unsatisfied": lambda: s.assignment_evaluate(assignment_id=pk, by=None, verdict="不满意", comment="不行"),
        "satisfied": lambda: s.assignment_evaluate(assignment_id=pk, by=None, verdict="满意"),
        "reopen": lambda: s.assignment_reopen(assignment_id=pk, by=None, working_days=5),
        "close": lambda: s.assignment_close(assignment_id=pk, by=None),
        "close_without_review": lambda: s.assignment_close(assignment_id=pk, by=None, review_months=None),
        "review": lambda: s.assignment_review(assignment_id=pk, by=None, outcome="held", note="好"),
    }
    for step in steps:
        moves[step]()
    return Assignment.objects.get(pk=pk)


def act(case: Case, name: str, a: Assignment, by: Any) -> None:
    """The service of action `name`, with input it accepts."""
    pk, s = a.pk, services
    calls = {
        "accept": lambda: s.assignment_accept(assignment_id=pk, by=by),
        "return": lambda: s.assignment_return(assignment_id=pk, by=by, reason="不属本单位"),
        "progress": lambda: s.assignment_progress(assignment_id=pk, by=by, note="进展"),
        "reply": lambda: s.assignment_reply(assignment_id=pk, by=by, text="答复"),
        "request_extension": lambda: s.assignment_request_extension(
            assignment_id=pk, by=by, due_date=a.due_date + timedelta(days=30), reason="需招标"
        ),
        "evaluate": lambda: s.assignment_evaluate(assignment_id=pk, by=by, verdict="满意"),
        "decide_extension": lambda: s.assignment_decide_extension(assignment_id=pk, by=by, approve=True),
        "reassign": lambda: s.assignment_reassign(assignment_id=pk, by=by, lead_department_id=case.other.pk),
        "reopen": lambda: s.assignment_reopen(assignment_id=pk, by=by, working_days=5),
        "close": lambda: s.assignment_close(assignment_id=pk, by=by),
        "review": lambda: s.assignment_review(assignment_id=pk, by=by, outcome="held", note="好"),
    }
    calls[name]()


Who = workflow.Who
# Everyone who might try, and what each is to the assignment (independently of the table).
ACTORS: dict[str, tuple[Any, set[workflow.Who]]] = {
    "system": (lambda c: None, set(Who)),
    "liaison": (lambda c: c.liaison, {Who.LEAD}),
    "lead-token": (lambda c: c.lead, {Who.LEAD}),
    "other-liaison": (lambda c: c.other_liaison, set()),
    "other-token": (lambda c: c.other, set()),
    "moderator": (lambda c: c.moderator, {Who.MODERATOR}),
    "other-moderator": (lambda c: c.world.other_moderator, set()),
    "asking-deputy": (lambda c: c.deputy, {Who.EVALUATOR}),
    "other-deputy": (lambda c: c.other_deputy, set()),
    "staff": (lambda c: make_user(is_staff=True, is_superuser=True), set()),
}


def attempt(case: Case, name: str, a: Assignment, by: Any) -> tuple[str, str] | type[DomainError]:
    """Run the action and undo it: (status, timeline entry) after it, or the refusal's class
    (checking the refusal changed nothing)."""
    before = (Assignment.objects.filter(pk=a.pk).values().get(), a.timeline.count(), Notice.objects.count())
    with transaction.atomic():
        try:
            act(case, name, a, by)
        except DomainError as exc:
            after = (Assignment.objects.filter(pk=a.pk).values().get(), a.timeline.count(), Notice.objects.count())
            assert after == before, f"{name} refused but changed something"
            return type(exc)
        else:
            entry = TimelineEntry.objects.filter(assignment_id=a.pk).last()
            assert entry is not None
            return Assignment.objects.get(pk=a.pk).status, entry.action
        finally:
            transaction.set_rollback(True)


@pytest.mark.parametrize("situation", list(SITUATIONS))
def test_the_services_and_available_actions_follow_the_workflow_table(case: Case, situation: str) -> None:
    """For every action, by everyone, in every situation: the service does it iff the table
    allows it (who may, from-status, condition), ends in the table's status and writes its
    timeline entry; otherwise refuses (Forbidden for the wrong person, else InvalidState) and
    changes nothing. available_actions offers exactly what the service would do."""
    a = situate(case, SITUATIONS[situation], answered(case.world, f"{situation}", asker=case.deputy))
    for actor, (get, roles) in ACTORS.items():
        by = get(case)
        offered = [t.name for t in selectors.available_actions(a, by)]
        done = []
        for name, transition in workflow.TRANSITIONS.items():
            result = attempt(case, name, a, by)
            where = f"{name} by {actor} in {situation}"
            if transition.who not in roles:
                assert result is Forbidden, where
            elif not transition.allows(a):
                assert result is InvalidState, where
            else:
                assert isinstance(result, tuple), where
                assert result[0] == (transition.target or a.status), where
                assert result[1] in transition.entries, where
                done.append(name)
        assert offered == done, f"{actor} in {situation}"


def test_every_status_is_a_situation_and_every_action_is_offered_somewhere() -> None:
    situations = {steps[-1] if steps else "" for steps in SITUATIONS.values()}
    assert situations  # the steps above reach:
    reached = {name.split("+")[0].split("-")[0] for name in SITUATIONS}
    assert reached == set(Status.values)
    for transition in workflow.TRANSITIONS.values():
        assert set(transition.sources) <= set(Status.values)
        assert transition.entries and set(transition.entries) <= set(TimelineEntry.Action.values)


def test_the_rest_api_offers_the_tables_api_actions() -> None:
    from typing import get_args

    from assignments.schema import ActionName

    assert list(get_args(ActionName)) == workflow.api_actions()


@pytest.mark.parametrize("name", list(LEAD_ACTIONS))
def test_lead_actions_refused_for_another_department_and_other_roles(case: Case, name: str) -> None:
    a = in_status(case, "accepted" if name in ("progress", "reply") else "assigned", case.questions[0])
    stranger = make_user()
    for by in (case.other_liaison, case.other, case.moderator, case.deputy, stranger):
        refused(Forbidden, lambda by=by: LEAD_ACTIONS[name](a.pk, by), a)


def test_co_department_liaison_cannot_act_for_the_lead(case: Case) -> None:
    a = create(case, co_department_ids=[case.other.pk])
    refused(Forbidden, lambda: services.assignment_accept(assignment_id=a.pk, by=case.other_liaison), a)
    assert list(selectors.inbox_for(case.other_liaison)) == [a]  # but sees it in the inbox


@pytest.mark.parametrize(
    ("name", "status"), [("reassign", "returned"), ("reopen", "evaluated"), ("close", "evaluated")]
)
def test_moderator_actions_refused_for_other_roles(case: Case, name: str, status: str) -> None:
    a = in_status(case, status, case.questions[0])
    for by in (case.liaison, case.lead, case.deputy, case.world.other_moderator):
        refused(Forbidden, lambda by=by: MODERATOR_ACTIONS[name](a.pk, by, case), a)


def test_review_refused_for_other_roles_and_twice(case: Case) -> None:
    a = in_status(case, "closed", case.questions[0])
    review = services.assignment_review
    for by in (case.liaison, case.lead, case.deputy):
        refused(Forbidden, lambda by=by: review(assignment_id=a.pk, by=by, outcome="held", note="x"), a)
    refused(BadRequest, lambda: review(assignment_id=a.pk, by=case.moderator, outcome="great", note="x"), a)
    refused(BadRequest, lambda: review(assignment_id=a.pk, by=case.moderator, outcome="held", note=""), a)
    review(assignment_id=a.pk, by=case.moderator, outcome="relapsed", note="又出现了")
    refused(InvalidState, lambda: review(assignment_id=a.pk, by=case.moderator, outcome="held", note="x"), a)


def test_evaluate_refused_for_other_roles(case: Case) -> None:
    a = in_status(case, "replied", case.questions[0])
    for by in (case.other_deputy, case.liaison, case.lead, case.moderator):
        refused(Forbidden, lambda by=by: services.assignment_evaluate(assignment_id=a.pk, by=by, verdict="满意"), a)


def test_missing_assignment_is_not_found(case: Case) -> None:
    with pytest.raises(NotFound):
        services.assignment_accept(assignment_id=10**9, by=case.liaison)


def test_return_needs_a_reason_and_progress_a_note_and_reply_a_text(case: Case) -> None:
    a = create(case)
    refused(BadRequest, lambda: services.assignment_return(assignment_id=a.pk, by=case.liaison, reason="  "), a)
    a = advance(case, a, "accepted")
    refused(BadRequest, lambda: services.assignment_progress(assignment_id=a.pk, by=case.liaison, note=""), a)
    refused(BadRequest, lambda: services.assignment_reply(assignment_id=a.pk, by=case.liaison, text=""), a)


def test_reply_attachments_are_checked(case: Case) -> None:
    a = advance(case, create(case), "accepted")
    exe = SimpleUploadedFile("virus.exe", b"MZ")
    refused(
        BadRequest, lambda: services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="x", files=[exe]), a
    )
    many = [SimpleUploadedFile(f"{n}.pdf", b"x") for n in range(6)]
    refused(BadRequest, lambda: services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="x", files=many), a)
    assert not Attachment.objects.exists()


# ------------------------------------------------------------------------------- timeline and overdue


def test_timeline_entries_are_immutable(case: Case) -> None:
    entry = create(case).timeline.get()
    entry.public_note = "改写历史"
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    with pytest.raises(ValueError, match="immutable"):
        entry.delete()


def test_overdue_is_derived_from_due_date_and_status(case: Case) -> None:
    a = create(case)
    assert not selectors.is_overdue(a)
    make_overdue(a)
    a.refresh_from_db()
    assert selectors.is_overdue(a)
    assert list(selectors.assignments_filtered(overdue=True)) == [a]
    assert list(selectors.assignments_filtered(overdue=False)) == []
    a = advance(case, a, "replied")
    assert not selectors.is_overdue(a)  # replied late is no longer overdue
    assert list(selectors.assignments_filtered(overdue=True)) == []
