"""The session report (问政会报告): what the congress publishes about one hearing.

A read of stored state only, in a fixed number of queries whatever the hearing's size: the
agenda with the times items really started and ended, each department's satisfaction poll,
the sheets (测评表: counts, 满意率 and score per row) and selects (票选: ranking, picks, the
chosen candidates with department and budget), each department's results pooled over its
polls and its sheet rows with the threshold rules it breaks (voting/thresholds.py), the
public question list with askers, likes, answers and commitments, and the assignments made
from it with their status today, and the audience figures (page views, unique viewers, the
peak online, likes, questions received by source) with the per-minute samples and their chart.
Published results are counted from the stored ballots.

Only what is public goes in: results of a poll that was never published, pending or
rejected questions and internal notes stay out, whoever asks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Status
from audience import selectors as audience_selectors
from audience.models import Sample
from audience.selectors import Figures as AudienceFigures
from audit import chain as audit_chain
from audit.chain import Head
from hearings import selectors as hearing_selectors
from hearings.models import AgendaItem, Hearing, Question
from reports.charts import timeline_chart
from reports.tallies import OptionTallies, option_tallies
from voting import selectors as voting_selectors
from voting import thresholds
from voting.models import Attendance, Poll, PollOption, Threshold
from voting.thresholds import Breach, Figures


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
class SheetRowResult:
    """One row of a sheet (a department, or department × aspect): its counts per choice."""

    id: int
    label: str
    department: str
    department_id: int | None
    counts: list[ChoiceCount]  # empty unless the poll is published
    figures: Figures
    score: float | None  # mean weight per valid ballot, where the poll has weights

    @property
    def valid(self) -> int:
        return self.figures.valid

    @property
    def rate(self) -> float | None:
        return self.figures.rate


@dataclass(frozen=True)
class SheetPoll:
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
    choices: list[str]
    weights: dict[str, float] | None
    rows: list[SheetRowResult]  # in the sheet's order; without counts unless published


@dataclass(frozen=True)
class CandidateResult:
    id: int
    label: str
    department: str
    budget: Decimal | None  # 万元
    note: str
    picks: int  # 0 unless published
    rank: int | None  # 1.. by picks (ties in the sheet's order); None unless published
    chosen: bool
    share: float  # picks over ballots cast, 0..1 (the bar)

    @property
    def width(self) -> str:
        return f"{self.share * 100:.1f}"


@dataclass(frozen=True)
class SelectPoll:
    id: int
    title: str
    item: str
    status: str
    status_label: str
    secret: bool
    published: bool
    eligible: int | None
    cast: int | None
    min_picks: int | None
    max_picks: int | None
    choose: int | None
    candidates: list[CandidateResult]  # by rank when published, else in their order

    @property
    def chosen(self) -> list[CandidateResult]:
        return [c for c in self.candidates if c.chosen]

    @property
    def chosen_budget(self) -> Decimal | None:
        """The chosen candidates' budgets added up; None when none of them has one."""
        budgets = [c.budget for c in self.chosen if c.budget is not None]
        return sum(budgets, Decimal(0)) if budgets else None


@dataclass(frozen=True)
class DepartmentResult:
    """A department's published results of this hearing, pooled: its satisfaction polls and
    the sheet rows naming it; the active threshold rules they break."""

    department_id: int
    name: str
    polls: int  # satisfaction polls counted
    rows: int  # sheet rows counted
    figures: Figures
    breaches: list[Breach] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        return self.figures.rate

    @property
    def dissatisfied_share(self) -> float | None:
        return self.figures.dissatisfied_share


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
class AudienceReport:
    """The audience figures (audience/selectors.py has their definitions), the per-minute
    samples and their chart (online over time)."""

    figures: AudienceFigures
    samples: list[Sample]
    chart: SafeString


def _audience(hearing: Hearing) -> AudienceReport:
    samples = audience_selectors.samples(hearing.pk)
    return AudienceReport(
        figures=audience_selectors.figures(hearing.pk, samples=samples),
        samples=samples,
        chart=timeline_chart([(s.at, s.online) for s in samples], title=_("在线人数变化")),
    )


@dataclass(frozen=True)
class HearingReport:
    hearing: Hearing
    ended: bool
    generated_at: datetime
    audit_head: Head  # the audit log's newest entry when the report was made (published: docs/operations.md)
    agenda: list[AgendaRow]
    polls: list[PollRow]  # satisfaction polls
    sheets: list[SheetPoll]
    selects: list[SelectPoll]
    departments: list[DepartmentResult]  # with published results, in agenda order
    rules: list[Threshold]  # the active threshold rules the departments were checked against
    questions: list[QuestionRow]
    assignments: list[AssignmentRow]
    totals: Totals
    audience: AudienceReport


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


def row_score(weights: Mapping[str, float] | None, choices: list[str], counts: Mapping[str, int]) -> float | None:
    """Σ ballots × weight ÷ valid ballots (a choice without a weight scores 0), two decimals;
    None without weights or ballots."""
    if not weights:
        return None
    valid = sum(counts.get(choice, 0) for choice in choices)
    if not valid:
        return None
    return round(sum(counts.get(choice, 0) * float(weights.get(choice, 0)) for choice in choices) / valid, 2)


def _choice_counts(poll: Poll, counted: Mapping[str, int]) -> list[ChoiceCount]:
    valid = sum(counted.get(choice, 0) for choice in poll.choices)
    return [
        ChoiceCount(
            choice=choice,
            count=counted.get(choice, 0),
            share=counted.get(choice, 0) / valid if valid else 0.0,
            satisfied=choice in poll.satisfied,
        )
        for choice in poll.choices
    ]


def sheet_poll(poll: Poll, options: list[PollOption], tallies: OptionTallies) -> SheetPoll:
    published = poll.status == Poll.Status.PUBLISHED
    rows = []
    for option in options:
        counted: Counter[str] = tallies.row(poll.pk, option.pk) if published else Counter()
        rows.append(
            SheetRowResult(
                id=option.pk,
                label=option.label,
                department=option.department.name if option.department else "",
                department_id=option.department_id,
                counts=_choice_counts(poll, counted) if published else [],
                figures=thresholds.figures(poll.choices, poll.satisfied, counted),
                score=row_score(poll.weights, poll.choices, counted) if published else None,
            )
        )
    return SheetPoll(
        id=poll.pk,
        title=poll.title,
        department=poll.department.name if poll.department else "",
        item=poll.item.title if poll.item else "",
        status=poll.status,
        status_label=str(poll.get_status_display()),
        secret=poll.secret,
        published=published,
        eligible=poll.eligible,
        cast=poll.cast,
        choices=list(poll.choices),
        weights=poll.weights,
        rows=rows,
    )


def select_poll(poll: Poll, options: list[PollOption], tallies: OptionTallies) -> SelectPoll:
    published = poll.status == Poll.Status.PUBLISHED
    picks = {option.pk: tallies.picked(poll.pk, option.pk) if published else 0 for option in options}
    order = [option.pk for option in options]
    counts = {str(pk): n for pk, n in picks.items()}
    ranked = voting_selectors.ranking(order, counts) if published else order
    chosen = set(voting_selectors.chosen(ranked, counts, poll.choose)) if published else set()
    by_id = {option.pk: option for option in options}
    ballots = poll.cast or 0
    return SelectPoll(
        id=poll.pk,
        title=poll.title,
        item=poll.item.title if poll.item else "",
        status=poll.status,
        status_label=str(poll.get_status_display()),
        secret=poll.secret,
        published=published,
        eligible=poll.eligible,
        cast=poll.cast,
        min_picks=poll.min_picks,
        max_picks=poll.max_picks,
        choose=poll.choose,
        candidates=[
            CandidateResult(
                id=pk,
                label=by_id[pk].label,
                department=by_id[pk].department.name if by_id[pk].department else "",  # type: ignore[union-attr]
                budget=by_id[pk].budget,
                note=by_id[pk].note,
                picks=picks[pk],
                rank=rank if published else None,
                chosen=pk in chosen,
                share=picks[pk] / ballots if ballots else 0.0,
            )
            for rank, pk in enumerate(ranked, start=1)
        ],
    )


@dataclass(frozen=True)
class _Polls:
    satisfaction: list[PollRow]
    sheets: list[SheetPoll]
    selects: list[SelectPoll]
    departments: list[DepartmentResult]


def _polls(hearing: Hearing, rules: list[Threshold], agenda: list[AgendaRow]) -> _Polls:
    """Every poll of the hearing by kind, and the departments' pooled results. Six queries at most."""
    # Not the office's drafts: they are not public until the moderator opens them.
    polls = list(
        Poll.objects.filter(hearing=hearing)
        .exclude(status=Poll.Status.DRAFT)
        .select_related("department", "item")
        .order_by("id")
    )
    published = [poll for poll in polls if poll.status == Poll.Status.PUBLISHED]
    counted = voting_selectors.ballot_counts([poll.pk for poll in published if poll.kind == Poll.Kind.SATISFACTION])
    tallies = option_tallies(published)
    options: dict[int, list[PollOption]] = {poll.pk: [] for poll in polls}
    if any(poll.kind != Poll.Kind.SATISFACTION for poll in polls):
        rows = PollOption.objects.filter(poll__in=polls).select_related("department")
        for option in rows.order_by("poll", "position"):
            options[option.poll_id].append(option)

    satisfaction = [poll_row(poll, counted[poll.pk]) for poll in polls if poll.kind == Poll.Kind.SATISFACTION]
    sheets = [sheet_poll(poll, options[poll.pk], tallies) for poll in polls if poll.kind == Poll.Kind.SHEET]
    selects = [select_poll(poll, options[poll.pk], tallies) for poll in polls if poll.kind == Poll.Kind.SELECT]

    # Pool each department's published results: its satisfaction polls, the sheet rows naming it.
    names: dict[int, str] = {}
    pooled: dict[int, list[Figures]] = {}
    poll_counts: Counter[int] = Counter()
    row_counts: Counter[int] = Counter()
    for poll in published:
        if poll.kind == Poll.Kind.SATISFACTION and poll.department is not None:
            names[poll.department.pk] = poll.department.name
            pooled.setdefault(poll.department.pk, []).append(
                thresholds.figures(poll.choices, poll.satisfied, counted[poll.pk])
            )
            poll_counts[poll.department.pk] += 1
    for sheet in sheets:
        if not sheet.published:
            continue
        for row in sheet.rows:
            if row.department_id is not None:
                names[row.department_id] = row.department
                pooled.setdefault(row.department_id, []).append(row.figures)
                row_counts[row.department_id] += 1
    # In the order the agenda questions them (department names are unique), then by name.
    agenda_order: dict[str, int] = {}
    for agenda_row in agenda:
        if agenda_row.department:
            agenda_order.setdefault(agenda_row.department, len(agenda_order))
    departments = []
    for pk in sorted(names, key=lambda pk: (agenda_order.get(names[pk], len(agenda_order)), names[pk], pk)):
        total = sum(pooled[pk], Figures())
        departments.append(
            DepartmentResult(
                department_id=pk,
                name=names[pk],
                polls=poll_counts[pk],
                rows=row_counts[pk],
                figures=total,
                breaches=thresholds.breaches(total, rules),
            )
        )
    return _Polls(satisfaction, sheets, selects, departments)


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
    rules = thresholds.active_rules()
    polls = _polls(hearing, rules, agenda)
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
        polls_published=sum(p.published for p in polls.satisfaction)
        + sum(p.published for p in polls.sheets)
        + sum(p.published for p in polls.selects),
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
        audit_head=audit_chain.head(),
        agenda=agenda,
        polls=polls.satisfaction,
        sheets=polls.sheets,
        selects=polls.selects,
        departments=polls.departments,
        rules=rules,
        questions=question_rows,
        assignments=assignments,
        totals=totals,
        audience=_audience(hearing),
    )
