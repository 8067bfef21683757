"""The session report (问政会报告): what the congress publishes about one hearing.

A read of stored state only, in a fixed number of queries whatever the hearing's size: the
agenda with the times items really started and ended, each department's satisfaction poll
(published results are counted from the ballots), the public question list with askers,
likes, answers and commitments, and the assignments made from it with their status today.

Only what is public goes in: results of a poll that was never published, pending or
rejected questions and internal notes stay out, whoever asks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Prefetch
from django.utils import timezone

from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Status
from hearings import selectors as hearing_selectors
from hearings.models import AgendaItem, Hearing, Question
from voting import selectors as voting_selectors
from voting.models import Attendance, Poll


@dataclass(frozen=True)
class AgendaRow:
    position: int
    title: str
    kind: str
    kind_label: str
    department: str
    planned_minutes: int
    started_at: datetime | None
    ended_at: datetime | None
    status: str
    status_label: str

    @property
    def actual_minutes(self) -> int | None:
        """Whole minutes from start to end (rounded), None until the item ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds() / 60)

    @property
    def over_minutes(self) -> int:
        """Minutes beyond the plan (0 when within it or not ended)."""
        actual = self.actual_minutes
        return max(0, actual - self.planned_minutes) if actual is not None else 0


@dataclass(frozen=True)
class ChoiceCount:
    choice: str
    count: int
    share: float  # of the valid ballots, 0..1
    satisfied: bool  # counts towards the 满意率

    @property
    def width(self) -> str:
        """The bar's CSS width in percent, locale-independent."""
        return f"{self.share * 100:.1f}"


@dataclass(frozen=True)
class PollRow:
    id: int
    title: str
    department: str
    item: str
    status: str
    status_label: str
    secret: bool
    published: bool
    eligible: int | None
    cast: int | None
    counts: list[ChoiceCount]  # empty unless published
    rate: float | None  # 满意率, None unless published with ballots

    @property
    def turnout(self) -> float | None:
        if not self.eligible or self.cast is None:
            return None
        return self.cast / self.eligible


@dataclass(frozen=True)
class AssignmentRef:
    id: int
    status: str
    status_label: str
    overdue: bool


@dataclass(frozen=True)
class QuestionRow:
    number: int  # 1.. in the order of the list
    id: int
    item: str
    department: str
    asker: str
    source: str
    source_label: str
    text: str
    likes: int
    status: str
    status_label: str
    answer_note: str
    commitment: str
    follow_up_of: int | None  # the number of the question this one follows up
    merged: int  # how many questions were merged into this one
    assignments: list[AssignmentRef]


@dataclass(frozen=True)
class AssignmentRow:
    id: int
    title: str
    lead_department: str
    co_departments: list[str]
    questions: list[int]  # question numbers in the report's list
    status: str
    status_label: str
    due_date: date
    overdue: bool
    loop: int
    verdict: str
    resolved: bool | None
    review_outcome: str
    review_outcome_label: str


@dataclass(frozen=True)
class Totals:
    deputies: int
    checked_in: int
    likes: int  # the hearing's own like counter (the live page's heart)
    question_likes: int
    questions: int
    answered: int
    commitments: int
    polls_published: int
    assignments: int
    assignments_overdue: int
    assignments_by_status: list[tuple[str, str, int]]  # (status, label, count), in lifecycle order


@dataclass(frozen=True)
class HearingReport:
    hearing: Hearing
    ended: bool
    generated_at: datetime
    agenda: list[AgendaRow]
    polls: list[PollRow]
    questions: list[QuestionRow]
    assignments: list[AssignmentRow]
    totals: Totals


def _agenda(hearing: Hearing) -> list[AgendaRow]:
    items = AgendaItem.objects.filter(hearing=hearing).select_related("department").order_by("position", "id")
    return [
        AgendaRow(
            position=item.position,
            title=item.title,
            kind=item.kind,
            kind_label=str(item.get_kind_display()),
            department=item.department.name if item.department else "",
            planned_minutes=item.planned_minutes,
            started_at=item.started_at,
            ended_at=item.ended_at,
            status=item.status,
            status_label=str(item.get_status_display()),
        )
        for item in items
    ]


def poll_row(poll: Poll, counted: Counter[str]) -> PollRow:
    published = poll.status == Poll.Status.PUBLISHED
    counts: list[ChoiceCount] = []
    rate = None
    if published:
        valid = sum(counted[choice] for choice in poll.choices)
        counts = [
            ChoiceCount(
                choice=choice,
                count=counted[choice],
                share=counted[choice] / valid if valid else 0.0,
                satisfied=choice in poll.satisfied,
            )
            for choice in poll.choices
        ]
        if valid:
            rate = sum(counted[choice] for choice in poll.satisfied) / valid
    return PollRow(
        id=poll.pk,
        title=poll.title,
        department=poll.department.name if poll.department else "",
        item=poll.item.title if poll.item else "",
        status=poll.status,
        status_label=str(poll.get_status_display()),
        secret=poll.secret,
        published=published,
        # Fixed when the poll closed; an open poll has no final figures yet.
        eligible=poll.eligible,
        cast=poll.cast,
        counts=counts,
        rate=rate,
    )


def _polls(hearing: Hearing) -> list[PollRow]:
    # Satisfaction polls only, for now: a sheet's per-row and a select's results are not in the report yet.
    polls = list(
        Poll.objects.filter(hearing=hearing, kind=Poll.Kind.SATISFACTION)
        .select_related("department", "item")
        .order_by("id")
    )
    published = [poll.pk for poll in polls if poll.status == Poll.Status.PUBLISHED]
    counted = voting_selectors.ballot_counts(published)
    return [poll_row(poll, counted[poll.pk]) for poll in polls]


def _questions(hearing: Hearing, today: date) -> tuple[dict[int, int], list[QuestionRow]]:
    """The public list, numbered in agenda order, and each question's number by id."""
    questions = list(
        Question.objects.filter(
            hearing=hearing, merged_into__isnull=True, status__in=hearing_selectors.PUBLIC_QUESTION_STATUSES
        )
        .select_related("asker__person", "item__department")
        .annotate(merged_count=Count("merged", distinct=True))
        .prefetch_related(Prefetch("assignments", queryset=Assignment.objects.order_by("id")))
        .order_by("item__position", "id")
    )
    numbers = {question.pk: n for n, question in enumerate(questions, start=1)}
    rows = [
        QuestionRow(
            number=numbers[q.pk],
            id=q.pk,
            item=q.item.title if q.item else "",
            department=q.item.department.name if q.item and q.item.department else "",
            asker=hearing_selectors.question_asker(q),
            source=q.source,
            source_label=str(q.get_source_display()),
            text=q.text,
            likes=q.likes,
            status=q.status,
            status_label=str(q.get_status_display()),
            answer_note=q.answer_note,
            commitment=q.commitment,
            follow_up_of=numbers.get(q.parent_id) if q.parent_id else None,
            merged=q.merged_count,
            assignments=[
                AssignmentRef(
                    id=a.pk,
                    status=a.status,
                    status_label=str(Status(a.status).label),
                    overdue=assignment_selectors.is_overdue(a, today=today),
                )
                for a in q.assignments.all()
            ],
        )
        for q in questions
    ]
    return numbers, rows


def _assignments(hearing: Hearing, numbers: dict[int, int], today: date) -> list[AssignmentRow]:
    assignments = (
        Assignment.objects.filter(hearing=hearing)
        .select_related("lead_department")
        .prefetch_related("co_departments", "questions")
        .order_by("id")
    )
    return [
        AssignmentRow(
            id=a.pk,
            title=a.title,
            lead_department=a.lead_department.name,
            co_departments=[d.name for d in a.co_departments.all()],
            questions=sorted(numbers[q.pk] for q in a.questions.all() if q.pk in numbers),
            status=a.status,
            status_label=str(Status(a.status).label),
            due_date=a.due_date,
            overdue=assignment_selectors.is_overdue(a, today=today),
            loop=a.loop,
            verdict=a.verdict,
            resolved=a.resolved,
            review_outcome=a.review_outcome,
            review_outcome_label=str(a.get_review_outcome_display()) if a.review_outcome else "",
        )
        for a in assignments
    ]


def hearing_report(hearing: Hearing, *, today: date | None = None) -> HearingReport:
    today = today or timezone.localdate()
    agenda = _agenda(hearing)
    polls = _polls(hearing)
    numbers, question_rows = _questions(hearing, today)
    assignments = _assignments(hearing, numbers, today)
    by_status = Counter(a.status for a in assignments)
    totals = Totals(
        deputies=hearing.deputies.count(),
        checked_in=Attendance.objects.filter(hearing=hearing).count(),
        likes=hearing.likes,
        question_likes=sum(q.likes for q in question_rows),
        questions=len(question_rows),
        answered=sum(1 for q in question_rows if q.status == Question.Status.ANSWERED),
        commitments=sum(1 for q in question_rows if q.commitment.strip()),
        polls_published=sum(1 for p in polls if p.published),
        assignments=len(assignments),
        assignments_overdue=sum(1 for a in assignments if a.overdue),
        assignments_by_status=[
            (status.value, str(status.label), by_status[status.value]) for status in Status if by_status[status.value]
        ],
    )
    return HearingReport(
        hearing=hearing,
        ended=hearing.status == Hearing.Status.ENDED,
        generated_at=timezone.now(),
        agenda=agenda,
        polls=polls,
        questions=question_rows,
        assignments=assignments,
        totals=totals,
    )
