"""Department scorecards (部门考评): what departments are judged by across hearings.

Reads of stored state only, in a fixed number of queries whatever the number of departments,
polls or assignments: one for the published polls, one for their sheet rows, four for their
ballots (per choice, from the stored ballots: secret polls' tally rows, named polls' Ballot
rows; never from Poll.results), one for the assignments with their latest reply and whether
they were ever reopened, one for the active threshold rules.

A department's results pool its satisfaction polls and the rows of sheet polls (测评表) that
name it (a row without a department counts for nobody); where its rows name aspects (the
label, or the part of it after the last "·": "县发改局·应询态度" → 应询态度), they are pooled
per aspect as well. A department breaking an active threshold rule (voting/thresholds.py)
is flagged with the rule.

Only what is public counts: a poll's results count once it is published. An assignment
counts against its lead department (主办单位) only, never against its co-departments. The one
exception is 双向评议, how the department rated the questions it answered (QuestionRatings):
computed for every card, shown by the page to staff only (docs/assignments.md).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from assignments.models import OPEN_STATUSES, Assignment, ReviewOutcome, Status, TimelineEntry, Verdict
from hearings.models import Department, Hearing
from reports.tallies import option_tallies
from voting import thresholds
from voting.models import DEFAULT_CHOICES, Poll, PollOption, Threshold
from voting.selectors import ballot_counts, satisfaction_rate
from voting.thresholds import Breach, Figures

# The ?year= filter accepts these years of a hearing.
MIN_YEAR = 2000
MAX_YEAR = 2100


def parse_year(raw: str | None) -> int | None:
    """A year as a query string gives it: "" or absent → None; else four ASCII digits within
    MIN_YEAR–MAX_YEAR (ValueError otherwise)."""
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{4}", raw):
        raise ValueError(raw)
    year = int(raw)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(raw)
    return year


# Replied to: the reply is judged on time or late, for good.
REPLIED_STATUSES = (Status.REPLIED, Status.EVALUATED, Status.CLOSED)


@dataclass(frozen=True)
class ChoiceCount:
    choice: str
    count: int
    satisfied: bool  # counts towards the 满意率


@dataclass(frozen=True)
class PollScore:
    """One published poll of the department, or one row naming it of a published sheet,
    counted from its stored ballots."""

    poll_id: int
    title: str
    hearing_id: int
    hearing_title: str
    hearing_date: date  # the hearing's local (Asia/Shanghai) date
    secret: bool
    eligible: int | None  # fixed when the poll closed
    cast: int | None
    counts: tuple[ChoiceCount, ...]  # in the poll's choice order
    satisfied: int  # ballots for the poll's `satisfied` choices
    valid: int  # ballots for any of its choices
    rate: float | None  # 满意率 = satisfied / valid; None when nobody voted
    dissatisfied: int = 0  # ballots for 不满意 (and 非常不满意), or the scale's worst choice (voting/thresholds.py)
    row_id: int | None = None  # a sheet's row
    label: str = ""  # the row's label

    @property
    def aspect(self) -> str:
        """A row's aspect: its label after the last "·" (the whole label without one); "" for a poll."""
        return self.label.rsplit("·", 1)[-1].strip() if self.row_id is not None else ""

    @property
    def figures(self) -> Figures:
        return Figures(valid=self.valid, satisfied=self.satisfied, dissatisfied=self.dissatisfied)

    def count(self, choice: str) -> int | None:
        """Ballots for `choice`; None when the poll did not offer it."""
        for c in self.counts:
            if c.choice == choice:
                return c.count
        return None


@dataclass(frozen=True)
class AspectScore:
    """A department's sheet rows of one aspect (应询态度, 回答质量, …), pooled."""

    aspect: str
    rows: int
    satisfied: int
    valid: int

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.valid if self.valid else None


@dataclass(frozen=True)
class PollRow:
    """A poll as a row of the department's table: one cell per column of `choices`."""

    poll: PollScore
    cells: tuple[int | None, ...]


@dataclass(frozen=True)
class AssignmentOutcomes:
    """The assignments a department leads. Each is in exactly one of on_time, late, overdue,
    pending; `reopened` counts those reopened at least once, whatever they are now."""

    total: int = 0
    on_time: int = 0  # replied on or before the due date in force at the (latest) reply
    late: int = 0  # replied after it
    overdue: int = 0  # still with the department after its due date
    pending: int = 0  # still with the department and not yet due, or returned as misrouted
    reopened: int = 0

    @property
    def replied(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_rate(self) -> float | None:
        """on_time / (on_time + late); None when none was replied to."""
        return self.on_time / self.replied if self.replied else None


@dataclass(frozen=True)
class VerdictCount:
    verdict: str  # a Verdict value: 满意 / 基本满意 / 不满意
    count: int

    @property
    def label(self) -> str:
        return str(Verdict(self.verdict).label)


@dataclass(frozen=True)
class ReviewOutcomes:
    """回头看 of the department's closed assignments."""

    held: int = 0
    relapsed: int = 0
    due: int = 0  # scheduled, not yet reviewed

    @property
    def total(self) -> int:
        return self.held + self.relapsed + self.due


@dataclass(frozen=True)
class QuestionRatings:
    """双向评议, the other direction: how the department rated the questions (suggestions) it
    answered, 1 to 5 for 科学性 and 可行性, over the assignments it rated."""

    rated: int = 0
    science_total: int = 0
    feasibility_total: int = 0

    @property
    def science(self) -> float | None:
        return self.science_total / self.rated if self.rated else None

    @property
    def feasibility(self) -> float | None:
        return self.feasibility_total / self.rated if self.rated else None


@dataclass(frozen=True)
class DepartmentScorecard:
    department_id: int
    name: str
    short_name: str
    polls: tuple[PollScore, ...]  # by hearing date, then poll
    choices: tuple[str, ...]  # the table's choice columns: the defaults, then any other choice offered
    satisfied: int  # pooled over the polls
    valid: int
    rate: float | None  # overall 满意率 = Σ satisfied / Σ valid; None without ballots
    assignments: AssignmentOutcomes
    verdicts: tuple[VerdictCount, ...]  # every verdict, in Verdict order, zeros included
    reviews: ReviewOutcomes
    hearing_ids: frozenset[int]  # hearings its polls and assignments come from
    dissatisfied: int = 0  # pooled ballots for 不满意 and 非常不满意 (or each scale's worst choice)
    aspects: tuple[AspectScore, ...] = ()  # its sheet rows per aspect, in order of first appearance
    breaches: tuple[Breach, ...] = ()  # the active threshold rules it breaks
    ratings: QuestionRatings = QuestionRatings()  # how it rated the questions (双向评议; staff only)

    @property
    def figures(self) -> Figures:
        return Figures(valid=self.valid, satisfied=self.satisfied, dissatisfied=self.dissatisfied)

    @property
    def dissatisfied_share(self) -> float | None:
        return self.dissatisfied / self.valid if self.valid else None

    @property
    def poll_rows(self) -> list[PollRow]:
        return [PollRow(poll, tuple(poll.count(choice) for choice in self.choices)) for poll in self.polls]

    @property
    def verdicts_total(self) -> int:
        return sum(v.count for v in self.verdicts)


@dataclass(frozen=True)
class ScorecardSummary:
    departments: int
    hearings: int
    polls: int
    satisfied: int
    valid: int
    rate: float | None  # pooled over every department's polls
    assignments: int


def _check_year(year: int | None) -> None:
    if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year is {MIN_YEAR} to {MAX_YEAR}")


def _counted_polls() -> Q:
    """The polls a scorecard counts (once published): satisfaction polls of a department, and
    sheets with a row naming a department."""
    named_row = PollOption.objects.filter(poll=OuterRef("pk"), department__isnull=False)
    return Q(kind=Poll.Kind.SATISFACTION, department__isnull=False) | Q(Exists(named_row), kind=Poll.Kind.SHEET)


def _published_polls(year: int | None) -> list[Poll]:
    polls = (
        Poll.objects.filter(_counted_polls(), status=Poll.Status.PUBLISHED)
        .select_related("hearing", "department")
        .defer("results")
    )
    if year is not None:
        polls = polls.filter(hearing__starts_at__year=year)  # in the current time zone (Asia/Shanghai)
    return list(polls.order_by("hearing__starts_at", "hearing_id", "id"))


def _poll_score(poll: Poll, counted: Counter[str], row: PollOption | None = None) -> PollScore:
    results = {choice: counted[choice] for choice in poll.choices}
    return PollScore(
        poll_id=poll.pk,
        title=poll.title,
        hearing_id=poll.hearing_id,
        hearing_title=poll.hearing.title,
        hearing_date=timezone.localdate(poll.hearing.starts_at),
        secret=poll.secret,
        eligible=poll.eligible,
        cast=poll.cast,
        counts=tuple(
            ChoiceCount(choice=choice, count=results[choice], satisfied=choice in poll.satisfied)
            for choice in poll.choices
        ),
        satisfied=sum(results[choice] for choice in poll.satisfied if choice in results),
        valid=sum(results.values()),
        rate=satisfaction_rate(poll, results),
        dissatisfied=thresholds.figures(poll.choices, poll.satisfied, results).dissatisfied,
        row_id=row.pk if row is not None else None,
        label=row.label if row is not None else "",
    )


def _assignments(year: int | None) -> list[Assignment]:
    replies = TimelineEntry.objects.filter(assignment_id=OuterRef("pk"), action=TimelineEntry.Action.REPLIED).order_by(
        "-at", "-id"
    )
    qs = (
        Assignment.objects.select_related("lead_department")
        .only(
            "id",
            "hearing_id",
            "status",
            "due_date",
            "replied_at",
            "verdict",
            "review_due",
            "review_outcome",
            "reviewed_at",
            "department_science",
            "department_feasibility",
            "lead_department",
            "lead_department__id",
            "lead_department__name",
            "lead_department__short_name",
        )
        .annotate(
            last_reply_at=Subquery(replies.values("at")[:1]),
            last_reply_due=Subquery(replies.values("due_date")[:1]),
            was_reopened=Exists(
                TimelineEntry.objects.filter(assignment_id=OuterRef("pk"), action=TimelineEntry.Action.REOPENED)
            ),
        )
    )
    if year is not None:
        qs = qs.filter(hearing__starts_at__year=year)
    return list(qs.order_by("id"))


def assignment_outcome(assignment: Assignment, *, today: date) -> str:
    """on_time, late, overdue or pending: see AssignmentOutcomes. `assignment` carries the
    annotations of _assignments (its latest reply's time and the due date then in force)."""
    if assignment.status in REPLIED_STATUSES:
        replied_at: datetime | None = getattr(assignment, "last_reply_at", None)
        due: date | None = getattr(assignment, "last_reply_due", None)
        if replied_at is None:  # no reply entry (data from before the timeline): the assignment's own
            replied_at = assignment.replied_at
        if due is None:
            due = assignment.due_date
        if replied_at is None:
            return "late"  # replied, with no record of when: not shown as on time
        return "on_time" if timezone.localdate(replied_at) <= due else "late"
    if assignment.status in OPEN_STATUSES:
        return "overdue" if assignment.due_date < today else "pending"
    return "pending"  # returned: back with the moderator, the department's clock is stopped


def department_scorecards(
    *, today: date | None = None, year: int | None = None, rules: list[Threshold] | None = None
) -> list[DepartmentScorecard]:
    """One card per department with a published poll or an assignment it leads (of hearings
    in `year`, when given), by overall 满意率 (highest first; departments without one last),
    then by name. `today` decides what is overdue (default: today in Asia/Shanghai); `rules`
    the threshold rules to flag by (default: the active ones)."""
    _check_year(year)
    today = today or timezone.localdate()
    polls = _published_polls(year)
    counted = ballot_counts([poll.pk for poll in polls if poll.kind == Poll.Kind.SATISFACTION])
    sheets = [poll for poll in polls if poll.kind == Poll.Kind.SHEET]
    tallies = option_tallies(sheets)
    rows: dict[int, list[PollOption]] = defaultdict(list)
    if sheets:
        named = PollOption.objects.filter(poll__in=sheets, department__isnull=False).select_related("department")
        for row in named.order_by("poll", "position"):
            rows[row.poll_id].append(row)
    assignments = _assignments(year)
    rules = thresholds.active_rules() if rules is None else rules

    departments: dict[int, Department] = {}
    scores: dict[int, list[PollScore]] = defaultdict(list)
    for poll in polls:
        if poll.kind == Poll.Kind.SHEET:
            for row in rows[poll.pk]:
                assert row.department is not None
                departments[row.department.pk] = row.department
                scores[row.department.pk].append(_poll_score(poll, tallies.row(poll.pk, row.pk), row))
            continue
        assert poll.department is not None
        departments[poll.department.pk] = poll.department
        scores[poll.department.pk].append(_poll_score(poll, counted[poll.pk]))

    led: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in assignments:
        departments.setdefault(assignment.lead_department_id, assignment.lead_department)
        led[assignment.lead_department_id].append(assignment)

    cards = [_card(department, scores[pk], led[pk], today, rules) for pk, department in departments.items()]
    cards.sort(key=lambda card: (card.rate is None, -(card.rate or 0.0), card.name, card.department_id))
    return cards


def _aspects(polls: list[PollScore]) -> tuple[AspectScore, ...]:
    grouped: dict[str, list[PollScore]] = {}
    for p in polls:
        if p.row_id is not None and p.aspect:
            grouped.setdefault(p.aspect, []).append(p)
    return tuple(
        AspectScore(
            aspect=aspect,
            rows=len(scores),
            satisfied=sum(s.satisfied for s in scores),
            valid=sum(s.valid for s in scores),
        )
        for aspect, scores in grouped.items()
    )


def _card(
    department: Department,
    polls: list[PollScore],
    assignments: list[Assignment],
    today: date,
    rules: list[Threshold],
) -> DepartmentScorecard:
    outcomes = Counter(assignment_outcome(a, today=today) for a in assignments)
    verdicts = Counter(a.verdict for a in assignments if a.verdict)
    pooled = sum((p.figures for p in polls), Figures())
    satisfied = pooled.satisfied
    valid = pooled.valid
    extra = [c.choice for p in polls for c in p.counts if c.choice not in DEFAULT_CHOICES]
    rated = [a for a in assignments if a.department_science is not None and a.department_feasibility is not None]
    return DepartmentScorecard(
        department_id=department.pk,
        name=department.name,
        short_name=department.short_name,
        polls=tuple(polls),
        choices=(*DEFAULT_CHOICES, *dict.fromkeys(extra)),
        satisfied=satisfied,
        valid=valid,
        rate=satisfied / valid if valid else None,
        assignments=AssignmentOutcomes(
            total=len(assignments),
            on_time=outcomes["on_time"],
            late=outcomes["late"],
            overdue=outcomes["overdue"],
            pending=outcomes["pending"],
            reopened=sum(1 for a in assignments if getattr(a, "was_reopened", False)),
        ),
        verdicts=tuple(VerdictCount(verdict=v, count=verdicts[v]) for v in Verdict.values),
        reviews=ReviewOutcomes(
            held=sum(1 for a in assignments if a.review_outcome == ReviewOutcome.HELD),
            relapsed=sum(1 for a in assignments if a.review_outcome == ReviewOutcome.RELAPSED),
            due=sum(1 for a in assignments if a.review_due is not None and a.reviewed_at is None),
        ),
        hearing_ids=frozenset({p.hearing_id for p in polls} | {a.hearing_id for a in assignments}),
        dissatisfied=pooled.dissatisfied,
        aspects=_aspects(polls),
        breaches=tuple(thresholds.breaches(pooled, rules)),
        ratings=QuestionRatings(
            rated=len(rated),
            science_total=sum(a.department_science or 0 for a in rated),
            feasibility_total=sum(a.department_feasibility or 0 for a in rated),
        ),
    )


def scorecard_summary(cards: list[DepartmentScorecard]) -> ScorecardSummary:
    satisfied = sum(card.satisfied for card in cards)
    valid = sum(card.valid for card in cards)
    return ScorecardSummary(
        departments=len(cards),
        hearings=len({pk for card in cards for pk in card.hearing_ids}),
        polls=sum(len(card.polls) for card in cards),
        satisfied=satisfied,
        valid=valid,
        rate=satisfied / valid if valid else None,
        assignments=sum(card.assignments.total for card in cards),
    )


def scorecard_years() -> list[int]:
    """Years (newest first) of the hearings with a published poll of a department or an assignment."""
    hearings = Hearing.objects.filter(
        Q(pk__in=Poll.objects.filter(_counted_polls(), status=Poll.Status.PUBLISHED).values("hearing_id"))
        | Q(pk__in=Assignment.objects.values("hearing_id"))
    )
    return sorted({when.year for when in hearings.datetimes("starts_at", "year")}, reverse=True)
