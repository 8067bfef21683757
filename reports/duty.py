"""A deputy's duty record (代表履职档案) and its points (履职积分), per calendar year.

What is counted for a deputy in a year (the local calendar year, settings.TIME_ZONE), each from
the rows that record it, nothing inferred:

- hearings invited to: held hearings (live or ended) of the year whose deputy list holds them;
- attendance (出席签到): their check-in (voting Attendance) at a hearing of the year;
- questions (提问) and follow-ups (追问, a question with a parent): the questions they asked as
  a deputy (source deputy, they the asker) during the year, except those the moderator did
  not take up (未采用: rejected and not merged into another; a duplicate merged into another
  question was asked and its asker joins that question's asker line, so it counts);
- named votes (记名表决): their ballots in named polls opened during the year. A secret poll
  (无记名) keeps no ballot of theirs (voting/models.py), so it can never count as a vote, and
  no choice of theirs is read anywhere; the record only says how many secret polls they took
  part in (the "has voted" rows), for them and staff, never on the public version, and earns
  no points;
- verdicts (评价办理结果): the `evaluated` timeline entries of assignments they wrote;
- 回头看: the `reviewed` timeline entries they wrote. A 回头看 is recorded by a moderator of the
  hearing (assignments/workflow.py), and nothing records who else took part, so this counts
  only the reviews a deputy recorded themself (a deputy who also moderates); it is 0 for most.

Points: for each kind, count × the rule's points while its rule is active (reports.models:
the kinds and their defaults, staff change them at /manage/duty-rules/).

Each measure is one queryset of the year's events with the field naming the deputy, used both
for one deputy's record and for the staff table of all deputies (grouped), so the two always
agree."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit
from assignments.models import Assignment, TimelineEntry
from core import limits
from core.errors import BadRequest, DomainError
from hearings import guards
from hearings import selectors as hearing_selectors
from hearings.models import Hearing, Person, Question
from hearings.services import FieldErrors
from reports import scorecards
from reports.models import DEFAULT_POINTS, DutyKind, DutyRule
from voting.models import Attendance, Ballot, Poll, VoteRecord

User = AbstractBaseUser | AnonymousUser

HELD = (Hearing.Status.LIVE, Hearing.Status.ENDED)
INVITED = "invited"
SECRET_POLLS = "secret_polls"


# ------------------------------------------------------------------------------- year


def parse_year(raw: str | None) -> int:
    """The year asked for: absent or "" → this year; else four ASCII digits within
    MIN_YEAR–MAX_YEAR, or ValueError."""
    year = scorecards.parse_year(raw)
    return timezone.localdate().year if year is None else year


def record_years(year: int) -> list[int]:
    """Years a record may be asked for, newest first: those with a hearing, this one, `year`."""
    years = {when.year for when in Hearing.objects.datetimes("starts_at", "year")}
    return sorted({*years, timezone.localdate().year, year}, reverse=True)


# ------------------------------------------------------------------------------- measures


@dataclass(frozen=True)
class Measure:
    """One thing counted: the year's events and the field naming the deputy."""

    key: str  # a DutyKind, or INVITED / SECRET_POLLS (counted, no points)
    label: Promise
    events: Callable[[int], QuerySet[Any]]
    who: str


def _invited(year: int) -> QuerySet[Any]:
    through = Hearing.deputies.through
    return through.objects.filter(hearing__starts_at__year=year, hearing__status__in=HELD)


def _attended(year: int) -> QuerySet[Attendance]:
    return Attendance.objects.filter(hearing__starts_at__year=year)


def _asked(year: int) -> QuerySet[Question]:
    """Every question a deputy put in the year, those not taken up included (the record lists
    them); `_counted` takes those out."""
    return Question.objects.filter(source=Question.Source.DEPUTY, created_at__year=year, asker__isnull=False)


def _counted(questions: QuerySet[Question]) -> QuerySet[Question]:
    return questions.exclude(status=Question.Status.REJECTED, merged_into__isnull=True)


def _questions(year: int) -> QuerySet[Question]:
    return _counted(_asked(year)).filter(parent__isnull=True)


def _follow_ups(year: int) -> QuerySet[Question]:
    return _counted(_asked(year)).filter(parent__isnull=False)


def _named_votes(year: int) -> QuerySet[Ballot]:
    return Ballot.objects.filter(poll__secret=False, deputy__isnull=False, poll__opened_at__year=year)


def _secret_polls(year: int) -> QuerySet[VoteRecord]:
    # Only that they voted (the "has voted" row): a secret poll keeps nothing else of theirs.
    return VoteRecord.objects.filter(poll__secret=True, poll__opened_at__year=year)


def _entries(action: str) -> Callable[[int], QuerySet[TimelineEntry]]:
    def events(year: int) -> QuerySet[TimelineEntry]:
        return TimelineEntry.objects.filter(action=action, at__year=year, actor__isnull=False)

    return events


MEASURES: tuple[Measure, ...] = (
    Measure(INVITED, _("应出席问政会"), _invited, "user_id"),
    Measure(DutyKind.ATTENDANCE, DutyKind.ATTENDANCE.label, _attended, "deputy_id"),
    Measure(DutyKind.QUESTION, DutyKind.QUESTION.label, _questions, "asker_id"),
    Measure(DutyKind.FOLLOW_UP, DutyKind.FOLLOW_UP.label, _follow_ups, "asker_id"),
    Measure(DutyKind.NAMED_VOTE, DutyKind.NAMED_VOTE.label, _named_votes, "deputy_id"),
    Measure(SECRET_POLLS, _("参加无记名测评"), _secret_polls, "deputy_id"),
    Measure(DutyKind.VERDICT, DutyKind.VERDICT.label, _entries(TimelineEntry.Action.EVALUATED), "actor_id"),
    Measure(DutyKind.REVIEW, DutyKind.REVIEW.label, _entries(TimelineEntry.Action.REVIEWED), "actor_id"),
)
MEASURE = {m.key: m for m in MEASURES}
# What the public version shows (no secret-poll participation).
PUBLIC_MEASURES = tuple(m for m in MEASURES if m.key != SECRET_POLLS)


def counts_for(user_id: int, year: int) -> dict[str, int]:
    return {m.key: m.events(year).filter(**{m.who: user_id}).count() for m in MEASURES}


def counts_for_all(user_ids: Iterable[int], year: int) -> dict[int, dict[str, int]]:
    """Each deputy's counts, one grouped query per measure."""
    ids = list(user_ids)
    found: dict[int, dict[str, int]] = {pk: dict.fromkeys(MEASURE, 0) for pk in ids}
    for m in MEASURES:
        rows = m.events(year).filter(**{f"{m.who}__in": ids}).order_by().values(m.who).annotate(n=Count("pk"))
        for row in rows:
            found[row[m.who]][m.key] = row["n"]
    return found


# ------------------------------------------------------------------------------- rules and points


@dataclass(frozen=True)
class Rule:
    kind: str
    label: Promise
    points: int
    active: bool
    default: int


def rules_in_force() -> list[Rule]:
    """Every kind's rule, in DutyKind's order: its row, or its default (active) without one."""
    rows = {rule.kind: rule for rule in DutyRule.objects.all()}
    rules = []
    for kind in DutyKind:
        row = rows.get(kind.value)
        default = DEFAULT_POINTS[kind]
        rules.append(
            Rule(
                kind=kind.value,
                label=kind.label,
                points=row.points if row else default,
                active=row.active if row else True,
                default=default,
            )
        )
    return rules


@dataclass(frozen=True)
class PointsLine:
    kind: str
    label: Promise
    count: int
    points: int  # per event; 0 while the rule is inactive
    active: bool

    @property
    def subtotal(self) -> int:
        return self.count * self.points


def points_lines(counts: Mapping[str, int], rules: Iterable[Rule]) -> list[PointsLine]:
    return [PointsLine(r.kind, r.label, counts.get(r.kind, 0), r.points if r.active else 0, r.active) for r in rules]


def _clean_points(raw: object) -> int:
    text = raw.strip() if isinstance(raw, str) else ""
    if not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > limits.DUTY_POINTS:
        raise BadRequest(_("积分应为 0 到 %(high)s 之间的整数。"), high=limits.DUTY_POINTS)
    return int(text)


@transaction.atomic
def duty_rules_set(*, values: Mapping[str, tuple[object, bool]], by: AbstractBaseUser | None) -> list[Rule]:
    """Set each kind's points and whether it counts: `values` maps every kind to (points as
    typed, active). Points are whole numbers from 0 to limits.DUTY_POINTS; any bad value
    refuses the whole form (nothing stored). A changed rule is audited. Office staff only."""
    guards.require_office_staff(by)
    errors: dict[str, DomainError] = {}
    clean: dict[str, tuple[int, bool]] = {}
    for kind_choice in DutyKind:
        raw, active = values.get(kind_choice.value, ("", False))
        try:
            clean[kind_choice.value] = (_clean_points(raw), bool(active))
        except BadRequest as exc:
            errors[kind_choice.value] = exc
    if errors:
        raise FieldErrors(errors)
    current = {rule.kind: rule for rule in rules_in_force()}
    for kind, (points, active) in clean.items():
        if (current[kind].points, current[kind].active) == (points, active):
            continue
        row, _created = DutyRule.objects.update_or_create(
            kind=kind, defaults={"points": points, "active": active, "updated_by_id": by.pk if by else None}
        )
        audit.record(action="duty_rule.set", actor=by, subject=row, payload={"points": points, "active": active})
    return rules_in_force()


# ------------------------------------------------------------------------------- who is a deputy, who may see


def deputies() -> QuerySet[Any]:
    """Deputies: the roster's (Person role deputy) and anyone on a hearing's deputy list."""
    listed = Hearing.deputies.through.objects.values("user_id")
    return (
        get_user_model()
        .objects.filter(Q(person__role=Person.Role.DEPUTY) | Q(pk__in=listed))
        .select_related("person")
        .order_by("id")
    )


FULL = "full"
PUBLIC = "public"


def access(viewer: User | None, deputy_id: int) -> str | None:
    """What `viewer` may see of deputy `deputy_id`'s record: FULL for the deputy themself and
    office staff, PUBLIC for anyone else when settings.DUTY_RECORD_PUBLIC, else None. Decided
    before looking the deputy up, so a refusal says nothing of who is a deputy."""
    if viewer is not None and viewer.is_authenticated and viewer.is_active:  # noqa: SIM102
        if viewer.pk == deputy_id or hearing_selectors.is_office_staff(viewer):
            return FULL
    return PUBLIC if settings.DUTY_RECORD_PUBLIC else None


# ------------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class HearingLine:
    hearing: Hearing
    invited: bool
    checked_in: bool


@dataclass(frozen=True)
class QuestionLine:
    question: Question
    follow_up: bool
    counted: bool
    public: bool  # its text is public (approved, on stage or answered)
    assignments: list[Assignment]


@dataclass(frozen=True)
class EntryLine:
    assignment: Assignment
    at: Any


@dataclass
class DutyRecord:
    deputy: Any
    name: str
    delegation: str
    year: int
    full: bool  # the deputy's own or staff's view; False: the public version
    counts: dict[str, int]
    points: list[PointsLine]
    hearings: list[HearingLine] = field(default_factory=list)
    questions: list[QuestionLine] = field(default_factory=list)
    named_votes: list[Poll] = field(default_factory=list)  # the polls: never a ballot, never a choice
    verdicts: list[EntryLine] = field(default_factory=list)
    reviews: list[EntryLine] = field(default_factory=list)
    phone: str = ""
    email: str = ""

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.points)

    @property
    def measures(self) -> list[tuple[str, Promise, int]]:
        shown = MEASURES if self.full else PUBLIC_MEASURES
        return [(m.key, m.label, self.counts[m.key]) for m in shown]


def _person(user: Any) -> Person | None:
    try:
        person: Person = user.person
    except Person.DoesNotExist:
        return None
    return person


def duty_record(deputy: Any, year: int, *, full: bool) -> DutyRecord:
    """The deputy's record of `year`. The public version (`full=False`) leaves out contact
    details, secret-poll participation and the text of any question the public never saw."""
    counts = counts_for(deputy.pk, year)
    person = _person(deputy)
    record = DutyRecord(
        deputy=deputy,
        name=hearing_selectors.display_name(deputy),
        delegation=person.delegation if person else "",
        year=year,
        full=full,
        counts=counts if full else {k: v for k, v in counts.items() if k != SECRET_POLLS},
        points=points_lines(counts, rules_in_force()),
    )
    if full:
        record.phone = person.phone if person else ""
        record.email = getattr(deputy, "email", "") or ""
    invited = set(_invited(year).filter(user_id=deputy.pk).values_list("hearing_id", flat=True))
    attended = set(_attended(year).filter(deputy_id=deputy.pk).values_list("hearing_id", flat=True))
    hearings = Hearing.objects.filter(pk__in=invited | attended).order_by("starts_at", "id")
    record.hearings = [HearingLine(h, h.pk in invited, h.pk in attended) for h in hearings]
    asked = _asked(year).filter(asker_id=deputy.pk)
    counted = set(_counted(asked).values_list("pk", flat=True))
    rows = asked.select_related("hearing").prefetch_related("assignments").order_by("created_at", "id")
    for q in rows:
        if not full and q.pk not in counted:
            continue  # not taken up: the public never saw it
        record.questions.append(
            QuestionLine(
                question=q,
                follow_up=q.parent_id is not None,
                counted=q.pk in counted,
                public=q.status in hearing_selectors.PUBLIC_QUESTION_STATUSES,
                assignments=sorted(q.assignments.all(), key=lambda a: a.pk),
            )
        )
    ballots = _named_votes(year).filter(deputy_id=deputy.pk).select_related("poll__hearing")
    record.named_votes = [b.poll for b in ballots.order_by("poll__opened_at", "poll_id")]
    for key, target in ((DutyKind.VERDICT, record.verdicts), (DutyKind.REVIEW, record.reviews)):
        m = MEASURE[key]
        for entry in m.events(year).filter(actor_id=deputy.pk).select_related("assignment").order_by("at", "id"):
            target.append(EntryLine(entry.assignment, entry.at))
    return record


@dataclass(frozen=True)
class DutyRow:
    deputy: Any
    name: str
    delegation: str
    counts: dict[str, int]
    points: list[PointsLine]

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.points)

    @property
    def cells(self) -> list[tuple[str, int]]:
        """The counts in MEASURES' order (the table's columns)."""
        return [(m.key, self.counts[m.key]) for m in MEASURES]


def duty_table(year: int) -> list[DutyRow]:
    """Every deputy's counts and points for the year (the staff list), in id order."""
    people = list(deputies())
    counts = counts_for_all([u.pk for u in people], year)
    rules = rules_in_force()
    rows = []
    for user in people:
        person = _person(user)
        rows.append(
            DutyRow(
                deputy=user,
                name=hearing_selectors.display_name(user),
                delegation=person.delegation if person else "",
                counts=counts[user.pk],
                points=points_lines(counts[user.pk], rules),
            )
        )
    return rows
