"""Reads: who may do what with an assignment, the filtered lists, and the public payload."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from assignments import notes
from assignments.models import OPEN_STATUSES, ApiToken, Assignment, Origin, Status, TimelineEntry
from assignments.schema import AssignmentOut, DepartmentOut, TimelineOut
from assignments.workdays import Overrides, add_working_days, overrides_between
from assignments.workflow import TRANSITIONS, Transition, Who
from hearings import selectors as hearing_selectors
from hearings.models import Department, Hearing, Question

User = AbstractBaseUser | AnonymousUser


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def department_for_token(token: str) -> Department | None:
    row = ApiToken.objects.select_related("department").filter(digest=token_digest(token), revoked=False).first()
    if row is None:
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.department


def is_liaison(department_id: int, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Department.liaisons.through.objects.filter(department_id=department_id, user_id=user.pk).exists()


def liaison_department_ids(user: User) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Department.liaisons.through.objects.filter(user_id=user.pk).values_list("department_id", flat=True))


def deputy_askers(assignment: Assignment) -> list[AbstractBaseUser]:
    questions = Question.objects.filter(
        assignments=assignment, source=Question.Source.DEPUTY, asker__isnull=False
    ).select_related("asker__person")
    return [q.asker for q in questions if q.asker is not None]


def is_asker(assignment: Assignment, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Question.objects.filter(assignments=assignment, source=Question.Source.DEPUTY, asker_id=user.pk).exists()


def may_evaluate(assignment: Assignment, user: User | None) -> bool:
    """The deputy who asked; a moderator only when no deputy asked (public questions)."""
    if is_asker(assignment, user):
        return True
    has_deputy = Question.objects.filter(
        assignments=assignment, source=Question.Source.DEPUTY, asker__isnull=False
    ).exists()
    return not has_deputy and hearing_selectors.is_moderator(assignment.hearing_id, user)


def roles(assignment: Assignment, user: User | None) -> set[str]:
    """What the user is to this assignment: liaison, moderator, evaluator."""
    found = set()
    if is_liaison(assignment.lead_department_id, user):
        found.add("liaison")
    if hearing_selectors.is_moderator(assignment.hearing_id, user):
        found.add("moderator")
    if may_evaluate(assignment, user):
        found.add("evaluator")
    return found


def may_see_rating(assignment: Assignment, user: User | None, user_roles: set[str] | None = None) -> bool:
    """双向评议: the lead department's rating of the question is shown to its liaisons, the
    hearing's moderators, the deputies who asked and office staff; not to the public."""
    if user is None or not user.is_authenticated:
        return False
    found = roles(assignment, user) if user_roles is None else user_roles
    return bool(found) or is_asker(assignment, user) or hearing_selectors.is_office_staff(user)


def may_act(assignment: Assignment, by: User | Department | None, who: Who) -> bool:
    """Whether `by` is `who` to this assignment (workflow.Who): a user, a Department (its API
    token) or None (the system, which may do anything)."""
    if by is None:
        return True
    if isinstance(by, Department):
        return who == Who.LEAD and by.pk == assignment.lead_department_id
    if who == Who.LEAD:
        return is_liaison(assignment.lead_department_id, by)
    if who == Who.MODERATOR:
        return hearing_selectors.is_moderator(assignment.hearing_id, by)
    return may_evaluate(assignment, by)


def available_actions(assignment: Assignment, by: User | Department | None) -> list[Transition]:
    """The actions `by` may take on the assignment now, in the table's order (workflow.TRANSITIONS):
    who may, from which status, and anything else the action needs."""
    roles: dict[Who, bool] = {}
    found = []
    for transition in TRANSITIONS.values():
        if not transition.allows(assignment):
            continue
        if transition.who not in roles:
            roles[transition.who] = may_act(assignment, by, transition.who)
        if roles[transition.who]:
            found.append(transition)
    return found


def is_overdue(assignment: Assignment, *, today: date | None = None) -> bool:
    """Derived: still with a department (not replied) after its due date."""
    today = today or timezone.localdate()
    return assignment.status in OPEN_STATUSES and assignment.due_date < today


def overdue_q(*, today: date | None = None) -> Q:
    return Q(status__in=OPEN_STATUSES, due_date__lt=today or timezone.localdate())


def assignments_filtered(
    *,
    hearing: int | None = None,
    department: int | None = None,
    status: str | None = None,
    overdue: bool | None = None,
    lead: bool = False,
) -> QuerySet[Assignment]:
    """Public list: by hearing, department (lead or co-department; only lead with `lead`),
    status, overdue."""
    qs = Assignment.objects.all()
    if hearing is not None:
        qs = qs.filter(hearing_id=hearing)
    if department is not None and lead:
        qs = qs.filter(lead_department_id=department)
    elif department is not None:
        qs = qs.filter(
            Q(lead_department_id=department)
            | Q(pk__in=Assignment.co_departments.through.objects.filter(department_id=department).values("assignment"))
        )
    if status:
        qs = qs.filter(status=status)
    if overdue is True:
        qs = qs.filter(overdue_q())
    elif overdue is False:
        qs = qs.exclude(overdue_q())
    return qs.order_by("-id")


def with_details(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return qs.select_related("lead_department", "hearing").prefetch_related(
        "co_departments", "questions", "timeline", "attachments"
    )


def inbox_for(user: User) -> QuerySet[Assignment]:
    """A liaison's: what their departments lead or help with."""
    ids = liaison_department_ids(user)
    return with_details(
        Assignment.objects.filter(
            Q(lead_department_id__in=ids)
            | Q(pk__in=Assignment.co_departments.through.objects.filter(department_id__in=ids).values("assignment"))
        ).order_by("due_date", "id")
    )


def asked_by(user: User) -> QuerySet[Assignment]:
    """A deputy's: assignments made from their questions."""
    if not user.is_authenticated:
        return Assignment.objects.none()
    return with_details(Assignment.objects.filter(questions__asker_id=user.pk).distinct().order_by("-id"))


def moderated_by(user: User) -> QuerySet[Assignment]:
    if not user.is_authenticated:
        return Assignment.objects.none()
    return with_details(Assignment.objects.filter(hearing__moderators__id=user.pk).distinct().order_by("-id"))


# The 回头看 list shows what is due within this many working days, overdue ones first.
# ------------------------------------------------------------------------------- due dates and holidays

# The entries that set a due date counted from their own day (a reassignment only when it gave a new limit).
_COUNTED_FROM = {TimelineEntry.Action.CREATED, TimelineEntry.Action.REOPENED, TimelineEntry.Action.REASSIGNED}


def due_date_start(assignment: Assignment, entries: list[TimelineEntry] | None = None) -> date | None:
    """The day the assignment's due date was counted from in working days (the day it was
    given: created, reopened, or reassigned with a new time limit), or None when the due date
    in force was given as a date (no working_days, or an approved extension since)."""
    if assignment.working_days is None:
        return None
    start: date | None = None
    previous: date | None = None
    for entry in entries if entries is not None else list(assignment.timeline.order_by("at", "id")):
        if entry.action in _COUNTED_FROM and (
            entry.action != TimelineEntry.Action.REASSIGNED
            or notes.NEW_LIMIT in (entry.note_params or {})
            or entry.due_date != previous  # an entry written before the mark
        ):
            start = timezone.localdate(entry.at)
        elif entry.action == TimelineEntry.Action.EXTENSION_APPROVED:
            start = None
        previous = entry.due_date
    return start


@dataclass(frozen=True)
class DueDrift:
    """An open assignment whose due date, counted again with today's holidays, differs."""

    assignment: Assignment
    start: date
    now: date  # the due date in force
    counted: date  # the one the working days give today


def due_drift(
    assignment: Assignment, entries: list[TimelineEntry] | None = None, overrides: Overrides | None = None
) -> DueDrift | None:
    if assignment.status not in OPEN_STATUSES or assignment.working_days is None:
        return None
    start = due_date_start(assignment, entries)
    if start is None:
        return None
    counted = add_working_days(start, assignment.working_days, overrides)
    if counted == assignment.due_date:
        return None
    return DueDrift(assignment, start, assignment.due_date, counted)


def due_drifts() -> list[DueDrift]:
    """Every open assignment given in working days whose due date the holidays now move."""
    qs = (
        Assignment.objects.filter(status__in=OPEN_STATUSES, working_days__isnull=False)
        .select_related("lead_department", "hearing")
        .prefetch_related("timeline")
        .order_by("due_date", "id")
    )
    overrides = overrides_between(date.min)  # the staff's days, read once for every assignment
    drifts = [due_drift(a, sorted(a.timeline.all(), key=lambda e: (e.at, e.pk)), overrides) for a in qs]
    return [d for d in drifts if d is not None]


REVIEW_SOON_WORKING_DAYS = 5


def reviews_due(*, horizon: date, hearing_ids: list[int] | None = None) -> QuerySet[Assignment]:
    """Closed assignments whose 回头看 is due by `horizon` and not yet recorded, the earliest
    (the overdue) first; only those of `hearing_ids` when given."""
    qs = Assignment.objects.filter(
        status=Status.CLOSED, review_due__isnull=False, review_due__lte=horizon, reviewed_at__isnull=True
    )
    if hearing_ids is not None:
        qs = qs.filter(hearing_id__in=hearing_ids)
    return qs.select_related("lead_department", "hearing").order_by("review_due", "id")


def public_timeline(assignment: Assignment) -> list[TimelineEntry]:
    return list(assignment.timeline.all())


# An approved question of an ended hearing never came up (or was on stage when it ended): it is
# answered in writing (书面答复) and handed to its department like the answered ones.
LEFTOVER_STATUSES = (Question.Status.APPROVED, Question.Status.ON_STAGE)


def origin_of(question: Question, hearing: Hearing) -> Origin | None:
    """How an assignment made from this question records it: answered on site (现场答复), a
    leftover of an ended hearing (书面答复), or None when it cannot be assigned (pending,
    rejected, hidden, merged, or approved while the hearing may still answer it)."""
    if question.merged_into_id is not None:
        return None
    if question.status == Question.Status.ANSWERED:
        return Origin.ON_SITE
    if question.status in LEFTOVER_STATUSES and hearing.status == Hearing.Status.ENDED:
        return Origin.WRITTEN
    return None


def question_department(question: Question) -> Department | None:
    """The department a question goes to: the one the office set on it, else its agenda item's."""
    if question.department is not None:
        return question.department
    return question.item.department if question.item is not None else None


def _assigned_ids() -> QuerySet[Any]:
    return Assignment.questions.through.objects.values("question")


def leftover_questions(hearing: Hearing, *, unassigned: bool = False) -> list[Question]:
    """An ended hearing's approved questions that were not answered on site (书面答复): not
    hidden, not merged; with `unassigned`, only those no assignment holds yet. A hearing not
    ended has none: its approved questions may still be answered."""
    if hearing.status != Hearing.Status.ENDED:
        return []
    qs = Question.objects.filter(hearing=hearing, status__in=LEFTOVER_STATUSES, merged_into__isnull=True)
    if unassigned:
        qs = qs.exclude(pk__in=_assigned_ids())
    return list(qs.select_related("asker__person", "item__department", "department").order_by("id"))


@dataclass(frozen=True)
class Assignable:
    """A question the assigning page offers: how it was answered and the department it goes to."""

    question: Question
    origin: Origin
    department: Department | None

    @property
    def written(self) -> bool:
        return self.origin == Origin.WRITTEN


def assignable_questions(hearing: Hearing) -> list[Assignable]:
    """The question list still to assign: the answered questions (现场答复) and, once the hearing
    ended, its leftovers (书面答复), none an assignment holds yet; answered first, each by id."""
    statuses = [Question.Status.ANSWERED]
    if hearing.status == Hearing.Status.ENDED:
        statuses += LEFTOVER_STATUSES
    questions = (
        Question.objects.filter(hearing=hearing, status__in=statuses, merged_into__isnull=True)
        .exclude(pk__in=_assigned_ids())
        .select_related("asker__person", "item__department", "department")
        .order_by("id")
    )
    found = []
    for question in questions:
        origin = origin_of(question, hearing)
        if origin is not None:
            found.append(Assignable(question, origin, question_department(question)))
    found.sort(key=lambda row: row.written)
    return found


def assignment_out(
    assignment: Assignment, *, today: date | None = None, department: Department | None = None
) -> AssignmentOut:
    """The public payload: never internal notes, logins or return details beyond the public note.
    Notes are worded in the active language; `actions` are what `department` (the request's
    token, if any) may do now through the API."""
    actions = [t.name for t in available_actions(assignment, department) if t.api] if department else []
    return AssignmentOut(
        id=assignment.pk,
        hearing=assignment.hearing_id,
        questions=sorted(q.pk for q in assignment.questions.all()),
        title=assignment.title,
        lead_department=DepartmentOut(id=assignment.lead_department.pk, name=assignment.lead_department.name),
        co_departments=[DepartmentOut(id=d.pk, name=d.name) for d in assignment.co_departments.all()],
        status=assignment.status,  # type: ignore[arg-type]
        due_date=assignment.due_date,
        overdue=is_overdue(assignment, today=today),
        loop=assignment.loop,
        commitment=assignment.commitment,
        reply=assignment.reply or None,
        verdict=assignment.verdict or None,  # type: ignore[arg-type]
        resolved=assignment.resolved,
        timeline=[
            TimelineOut(
                at=timezone.localtime(entry.at).isoformat(),
                status=entry.status,  # type: ignore[arg-type]
                action=entry.action,
                actor=entry.actor_label,
                note=notes.entry_note(entry),
            )
            for entry in assignment.timeline.all()
        ],
        actions=actions,  # type: ignore[arg-type]
    )


def status_label(value: str) -> str:
    return str(Status(value).label)
