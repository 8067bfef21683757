"""Reads: who may do what, and the wire payloads built from stored state."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from hearings.models import AgendaItem, Department, Hearing, Person, Question
from hearings.seats import SeatMarker, seat_session_active
from hearings.seats import seat_code_text as seat_code_text  # the seat codes' reads, re-exported
from hearings.seats import seat_url as seat_url
from live.schema import AgendaItemOut, DepartmentRef, HearingOut, QuestionOut

User = AbstractBaseUser | AnonymousUser

PUBLIC_QUESTION_STATUSES = (Question.Status.APPROVED, Question.Status.ON_STAGE, Question.Status.ANSWERED)


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def is_moderator(hearing: Hearing | int, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    hearing_id = hearing if isinstance(hearing, int) else hearing.pk
    return Hearing.moderators.through.objects.filter(hearing_id=hearing_id, user_id=user.pk).exists()


def is_deputy(hearing: Hearing | int, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    hearing_id = hearing if isinstance(hearing, int) else hearing.pk
    return Hearing.deputies.through.objects.filter(hearing_id=hearing_id, user_id=user.pk).exists()


def is_office_staff(user: User | None) -> bool:
    """会务工作人员: prepares hearings under /manage/ (any hearing). A superuser counts too.

    Staff of the Django admin (`is_staff`) are not office staff by that alone."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Person.objects.filter(user_id=user.pk, role=Person.Role.STAFF).exists()


def may_edit_agenda(hearing: Hearing | int, user: User | None) -> bool:
    """The agenda is edited by the hearing's moderators (control panel and socket) and by staff."""
    return is_moderator(hearing, user) or is_office_staff(user)


def display_name(user: AbstractBaseUser) -> str:
    """The roster's name (Person.name), else the account's full name, else its username."""
    try:
        person: Person | None = user.person  # type: ignore[attr-defined]  # select_related("…__person") saves the query
    except Person.DoesNotExist:
        person = None
    if person is not None and person.name:
        return person.name
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or user.get_username())


def hearing_out(hearing: Hearing) -> HearingOut:
    return HearingOut(
        id=hearing.pk,
        title=hearing.title,
        theme=hearing.theme,
        venue=hearing.venue,
        starts_at=_iso(hearing.starts_at) or "",
        stream_url=hearing.stream_url,
        status=hearing.status,  # type: ignore[arg-type]
    )


def agenda_item_out(item: AgendaItem) -> AgendaItemOut:
    department = item.department
    return AgendaItemOut(
        id=item.pk,
        title=item.title,
        kind=item.kind,  # type: ignore[arg-type]
        department=DepartmentRef(id=department.pk, name=department.name) if department else None,
        status=item.status,  # type: ignore[arg-type]
        position=item.position,
        planned_minutes=item.planned_minutes,
        started_at=_iso(item.started_at),
        ended_at=_iso(item.ended_at),
    )


def agenda_out(hearing_id: int) -> list[AgendaItemOut]:
    items = AgendaItem.objects.filter(hearing_id=hearing_id).select_related("department").order_by("position", "id")
    return [agenda_item_out(item) for item in items]


def department_refs() -> list[DepartmentRef]:
    """Every department, as an agenda item's choice of the department questioned."""
    return [DepartmentRef(id=pk, name=name) for pk, name in Department.objects.order_by("id").values_list("pk", "name")]


def own_asker(question: Question) -> str:
    """Who asked this question itself: a deputy's name, the name given, else 网友 / 主持人 / 代表."""
    if question.source == Question.Source.DEPUTY and question.asker is not None:
        return display_name(question.asker)
    if question.asker_name:
        return question.asker_name
    return {"public": "网友", "collected": "网友", "moderator": "主持人", "deputy": "代表"}[question.source]


# A kept question names up to this many askers; more are "张三、李四 等 5 人".
ASKERS_NAMED = 3


def question_asker(question: Question) -> str:
    """The asker line: its own asker, then those of the duplicates merged into it
    ("张三、李四"); the same name twice, or more than ASKERS_NAMED, read "网友 等 2 人"."""
    own = own_asker(question)
    also = list(question.also_asked or [])
    if not also:
        return own
    names = [own, *also]
    distinct = list(dict.fromkeys(names))
    if len(distinct) == len(names) and len(names) <= ASKERS_NAMED:
        return "、".join(names)
    return f"{'、'.join(distinct[:2])} 等 {len(names)} 人"


def question_out(question: Question, *, control: bool = False) -> QuestionOut:
    """A question on the wire; the control view's also carries its `flags` ("sensitive") and
    the sensitive words it matched (`matched`)."""
    extra: dict[str, Any] = {}
    if control:
        extra = {"flags": ["sensitive"] if question.sensitive_words else [], "matched": list(question.sensitive_words)}
    return QuestionOut(
        id=question.pk,
        text=question.text,
        asker=question_asker(question),
        source=question.source,  # type: ignore[arg-type]
        item=question.item_id,
        parent=question.parent_id,
        status=question.status,  # type: ignore[arg-type]
        likes=question.likes,
        created_at=_iso(question.created_at) or "",
        answer_note=question.answer_note,
        commitment=question.commitment,
        category=question.category or None,
        **extra,
    )


def questions_for(hearing_id: int, *, public: bool) -> Iterable[Question]:
    """The questions an audience may see: the public never gets pending or rejected text."""
    qs = Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, dropped=False).select_related(
        "asker__person"
    )
    if public:
        qs = qs.filter(status__in=PUBLIC_QUESTION_STATUSES)
    return qs.order_by("id")


# ------------------------------------------------------------------------------- the control panel's lists
# Each list is read a page at a time (offset, limit): the panel stays light however many
# questions a hearing collects.


def question_counts(hearing_id: int) -> dict[str, int]:
    """How many questions of the hearing are in each status (a merged duplicate is not counted)."""
    rows = (
        Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, dropped=False)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(Question.Status.values, 0)
    counts.update({status: n for status, n in rows})
    return counts


def _control_questions(hearing_id: int) -> QuerySet[Question]:
    """The questions the panel lists: not merged away, not on the hidden list of blocked viewers."""
    return Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, dropped=False).select_related(
        "asker__person", "parent__asker__person"
    )


def control_question(hearing_id: int, question_id: int) -> Question | None:
    return _control_questions(hearing_id).filter(pk=question_id).first()


def pending_page(hearing_id: int, *, offset: int, limit: int) -> list[Question]:
    """Questions waiting for moderation, the oldest first."""
    qs = _control_questions(hearing_id).filter(status=Question.Status.PENDING).order_by("id")
    return list(qs[offset : offset + limit])


def waiting_page(hearing_id: int, *, current_item: int | None, offset: int, limit: int) -> list[Question]:
    """Approved questions not yet on stage: the current item's first, then the rest, each in the
    order asked."""
    first = Case(When(item_id=current_item, then=Value(0)), default=Value(1), output_field=IntegerField())
    qs = _control_questions(hearing_id).filter(status=Question.Status.APPROVED).order_by(first, "id")
    return list(qs[offset : offset + limit])


def answered_page(hearing_id: int, *, offset: int, limit: int) -> list[Question]:
    """Answered questions, the latest first."""
    qs = _control_questions(hearing_id).filter(status=Question.Status.ANSWERED).order_by("-id")
    return list(qs[offset : offset + limit])


def question_on_stage(hearing_id: int) -> Question | None:
    return _control_questions(hearing_id).filter(status=Question.Status.ON_STAGE).first()


def merge_targets(hearing_id: int, *, search: str, exclude: int | None, limit: int) -> list[Question]:
    """Public questions (on stage, waiting, answered: in that order, the latest first) a duplicate
    can merge into, whose text contains `search` or whose id it is ("17" or "#17")."""
    qs = Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, status__in=PUBLIC_QUESTION_STATUSES)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    search = search.strip()
    if search:
        match = Q(text__icontains=search)
        number = search.removeprefix("#")
        if number.isdigit() and len(number) < 12:
            match |= Q(pk=int(number))
        qs = qs.filter(match)
    rank = Case(
        When(status=Question.Status.ON_STAGE, then=Value(0)),
        When(status=Question.Status.APPROVED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return list(qs.order_by(rank, "-id")[:limit])


def question_likes(hearing_id: int, *, public: bool) -> dict[int, int]:
    qs = Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True)
    if public:
        qs = qs.filter(status__in=PUBLIC_QUESTION_STATUSES)
    return dict(qs.values_list("id", "likes"))


def socket_access(*, hearing_id: int, user: User | None, role: str, seat: SeatMarker | None = None) -> str:
    """ "ok", "forbidden" or "not_found" for a socket of `role` on a hearing. A tablet logged in
    by a seat code (`seat`: its session's marker) opens public sockets and its own hearing's
    deputy socket while its code stands, nothing else."""
    if not Hearing.objects.filter(pk=hearing_id).exists():
        return "not_found"
    if role == "public":
        return "ok"
    if seat is not None:
        allowed = role == "deputy" and seat["hearing"] == hearing_id
        return "ok" if allowed and seat_session_active(seat, getattr(user, "pk", None)) else "forbidden"
    if role == "deputy":
        return "ok" if is_deputy(hearing_id, user) else "forbidden"
    if role == "control":
        return "ok" if is_moderator(hearing_id, user) else "forbidden"
    return "forbidden"


def role_still_held(*, hearing_id: int, user_id: int | None, role: str) -> bool:
    """Does an open deputy or control socket's user still hold its role (and an active account)?"""
    if user_id is None or not get_user_model().objects.filter(pk=user_id, is_active=True).exists():
        return False
    through = Hearing.deputies.through if role == "deputy" else Hearing.moderators.through
    return through.objects.filter(hearing_id=hearing_id, user_id=user_id).exists()


def roles_still_held(checks: Iterable[tuple[int, int | None, str]]) -> set[tuple[int, int | None, str]]:
    """role_still_held for many (hearing_id, user_id, role) at once: those still held. Three
    queries however many (the periodic check of a chamber's tablets)."""
    wanted = [(hearing_id, user_id, role) for hearing_id, user_id, role in checks if user_id is not None]
    if not wanted:
        return set()
    user_ids = {user_id for _, user_id, _ in wanted}
    hearing_ids = {hearing_id for hearing_id, _, _ in wanted}
    active = set(get_user_model().objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    links: dict[bool, set[tuple[int, int]]] = {}
    for deputy in {role == "deputy" for _, _, role in wanted}:
        through = Hearing.deputies.through if deputy else Hearing.moderators.through
        rows = through.objects.filter(hearing_id__in=hearing_ids, user_id__in=user_ids)
        links[deputy] = set(rows.values_list("hearing_id", "user_id"))
    return {
        (hearing_id, user_id, role)
        for hearing_id, user_id, role in wanted
        if user_id in active and (hearing_id, user_id) in links[role == "deputy"]
    }


def hearing_ids_where(user: User | None) -> tuple[set[int], set[int]]:
    """(hearings `user` moderates, hearings `user` is a deputy of): per-hearing links on lists."""
    if user is None or not user.is_authenticated:
        return set(), set()
    moderated = Hearing.moderators.through.objects.filter(user_id=user.pk).values_list("hearing_id", flat=True)
    deputy = Hearing.deputies.through.objects.filter(user_id=user.pk).values_list("hearing_id", flat=True)
    return set(moderated), set(deputy)


# ------------------------------------------------------------------------------- collection (征集)

COLLECT_NONE = "none"  # the hearing takes no collected questions (no window set)
COLLECT_BEFORE = "before"  # the window has not opened yet
COLLECT_OPEN = "open"
COLLECT_AFTER = "after"  # the window has closed
COLLECT_ENDED = "ended"  # the hearing has ended


def collect_state(hearing: Hearing, now: datetime | None = None) -> str:
    """Where the hearing's collection window (征集) stands at `now` (default: the clock)."""
    now = timezone.now() if now is None else now
    if hearing.status == Hearing.Status.ENDED:
        return COLLECT_ENDED
    if hearing.collect_opens_at is None or hearing.collect_closes_at is None:
        return COLLECT_NONE
    if now < hearing.collect_opens_at:
        return COLLECT_BEFORE
    if now >= hearing.collect_closes_at:
        return COLLECT_AFTER
    return COLLECT_OPEN


def collecting_hearing_ids(now: datetime | None = None) -> set[int]:
    """The hearings whose collection window is open at `now`."""
    now = timezone.now() if now is None else now
    return set(
        Hearing.objects.filter(collect_opens_at__lte=now, collect_closes_at__gt=now)
        .exclude(status=Hearing.Status.ENDED)
        .values_list("pk", flat=True)
    )


def question_source_counts(hearing_id: int) -> dict[str, int]:
    """How many questions of the hearing came from each source (deputy, public, moderator,
    collected): a merged duplicate and a blocked viewer's dropped ask are not counted."""
    rows = (
        Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, dropped=False)
        .values_list("source")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = dict.fromkeys(Question.Source.values, 0)
    counts.update({source: n for source, n in rows})
    return counts
