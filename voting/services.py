"""Check-in and the life of a poll (satisfaction, sheet or select): open → closed → published.

Exactly once: a ballot takes a share lock on its poll and closing takes the exclusive
lock, so every ballot either commits before the close (and is counted) or sees the poll
closed (poll_closed). A database constraint allows one VoteRecord per deputy per poll, and
the ballot UUID makes a resend of the same ballot an idempotent `duplicate`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.errors import (
    FIELD_NOTE,
    FIELD_OPTION,
    FIELD_TITLE,
    AlreadyVoted,
    BadRequest,
    DomainError,
    Forbidden,
    InvalidState,
    NotEligible,
    NotFound,
    PollClosed,
    clean_or_refuse,
)
from hearings import guards
from hearings import selectors as hearing_selectors
from hearings.models import AgendaItem, Department, Hearing
from live.publish import publish
from live.schema import Event, PollData
from voting import selectors
from voting.models import (
    DEFAULT_CHOICES,
    SATISFIED_NAMES,
    Attendance,
    Ballot,
    Poll,
    PollOption,
    SecretTally,
    VoteRecord,
)

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = limits.POLL_TITLE


def _ballot_key(poll_id: int, ballot_id: UUID) -> str:
    message = f"{poll_id}:{ballot_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _poll_event(kind: str, poll: Poll) -> Event:
    return Event(type=kind, data=PollData(poll=selectors.poll_out(poll)))


@dataclass(frozen=True)
class CheckinResult:
    duplicate: bool  # checked in before


@dataclass(frozen=True)
class OnBehalfResult:
    deputy: int
    name: str  # the deputy's, for the moderator's panel
    duplicate: bool  # checked in before: nothing changed


def checkin(*, hearing_id: int, deputy: AbstractBaseUser) -> bool:
    """A deputy of the hearing checks in (签到); True when this is the first time."""
    if not deputy.is_authenticated:
        raise Forbidden(_("只有本场问政会的代表可以签到。"))
    result = checkins(hearing_id=hearing_id, deputy_ids=[deputy.pk])[0]
    if isinstance(result, DomainError):
        raise result
    return not result.duplicate


def checkins(*, hearing_id: int, deputy_ids: Sequence[int]) -> list[CheckinResult | DomainError]:
    """Check in many deputies in one transaction (a chamber's tablets at the opening bell);
    a result (or the refusal) per deputy, in order. Checking in again is a `duplicate`; only
    the hearing's deputies check in (`forbidden`), and not once it has ended."""
    try:
        with transaction.atomic():
            return _checkins(hearing_id, deputy_ids)
    except IntegrityError:
        # Another process checked one of them in first: decide one by one.
        if len(deputy_ids) > 1:
            return [checkins(hearing_id=hearing_id, deputy_ids=[deputy_id])[0] for deputy_id in deputy_ids]
        with transaction.atomic():  # now stored: a duplicate (or the refusal that applies now)
            return _checkins(hearing_id, deputy_ids)


def _checkins(hearing_id: int, deputy_ids: Sequence[int]) -> list[CheckinResult | DomainError]:
    hearing = Hearing.objects.filter(pk=hearing_id).first()
    if hearing is None:
        return [NotFound(_("找不到这场问政会。"))] * len(deputy_ids)
    deputies, present = selectors.deputies_and_present(hearing_id, deputy_ids)
    results: list[CheckinResult | DomainError] = []
    new: list[int] = []
    for deputy_id in deputy_ids:
        if deputy_id not in deputies:
            results.append(Forbidden(_("只有本场问政会的代表可以签到。")))
        elif hearing.status == Hearing.Status.ENDED:
            results.append(InvalidState(_("问政会已结束。")))
        else:
            results.append(CheckinResult(duplicate=deputy_id in present))
            if deputy_id not in present:
                present.add(deputy_id)
                new.append(deputy_id)
    # In deputy order, so two processes' batches of the same deputies queue, never deadlock.
    Attendance.objects.bulk_create([Attendance(hearing=hearing, deputy_id=deputy_id) for deputy_id in sorted(new)])
    if new:
        users = get_user_model().objects.in_bulk(new)
        audit.record_many(
            [
                {"action": "checkin", "actor": users[deputy_id], "subject": hearing, "payload": {"deputy": deputy_id}}
                for deputy_id in sorted(new)
            ]
        )
    return results


@transaction.atomic
def checkin_on_behalf(*, hearing_id: int, deputy_id: int, by: AbstractBaseUser | None) -> OnBehalfResult:
    """A moderator of the hearing checks one of its deputies in for them (代签), while the
    hearing has not ended (as a deputy's own check-in), and not for a deactivated account (which
    could not check in itself). Already checked in: a `duplicate`, nothing written. The
    Attendance row and the audit entry name the moderator."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    deputy = (
        get_user_model()
        .objects.select_related("person")
        .filter(pk=deputy_id, pk__in=Hearing.deputies.through.objects.filter(hearing=hearing).values("user_id"))
        .first()
    )
    if deputy is None:
        raise NotFound(_("本场问政会没有这位代表。"))
    guards.require_not_ended(hearing)
    if not deputy.is_active:  # cannot check in themselves: nobody does it for them
        raise InvalidState(_("这位代表的账号已停用，不能代签。"))
    name = hearing_selectors.display_name(deputy)
    if Attendance.objects.filter(hearing=hearing, deputy=deputy).exists():
        return OnBehalfResult(deputy=deputy.pk, name=name, duplicate=True)
    try:
        with transaction.atomic():
            Attendance.objects.create(hearing=hearing, deputy=deputy, checked_in_by_id=by.pk if by else None)
    except IntegrityError:  # the deputy's own tablet got there first (it takes no hearing lock)
        return OnBehalfResult(deputy=deputy.pk, name=name, duplicate=True)
    audit.record(action="checkin", actor=by, subject=hearing, payload={"deputy": deputy.pk, "on_behalf": True})
    return OnBehalfResult(deputy=deputy.pk, name=name, duplicate=False)


@dataclass(frozen=True)
class OptionSpec:
    """A sheet's row or a select's candidate as a poll takes it; a candidate may carry a budget
    (万元) and a note (a 民生实事 project's what and where)."""

    label: str
    department: int | None = None
    budget: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class _CleanOption:
    label: str
    department: int | None
    budget: Decimal | None
    note: str


@dataclass(frozen=True)
class _Spec:
    """A poll's fields once checked, before it is stored (poll_open and poll_prepare)."""

    title: str
    kind: str
    secret: bool
    choices: list[str]
    satisfied: list[str]
    weights: dict[str, float] | None
    options: list[_CleanOption]
    min_picks: int | None
    max_picks: int | None
    choose: int | None


def _is_weight(value: object) -> bool:
    """A choice's weight: a finite number (not a bool) under POLL_WEIGHT either way."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) < limits.POLL_WEIGHT
    )


def _clean_choices(choices: Sequence[str] | None) -> list[str]:
    cleaned = [c.strip() for c in (choices if choices is not None else DEFAULT_CHOICES) if c.strip()]
    if len(cleaned) < 2 or len(set(cleaned)) != len(cleaned):
        raise BadRequest(_("测评至少需要两个不同的选项。"))
    if len(cleaned) > limits.POLL_CHOICES or any(len(c) > limits.POLL_CHOICE for c in cleaned):
        raise BadRequest(
            _("测评最多 %(n)s 个选项，每项不超过 %(length)s 个字。"), n=limits.POLL_CHOICES, length=limits.POLL_CHOICE
        )
    return cleaned


def _clean_options(
    options: Sequence[OptionSpec] | None, *, most: int, empty: Promise, too_many: Promise
) -> list[_CleanOption]:
    """Each row or candidate cleaned: at least one, at most `most`, labels distinct,
    departments that exist, budgets from 0 up."""
    if not options:
        raise BadRequest(empty)
    if len(options) > most:
        raise BadRequest(too_many, n=most)
    cleaned = []
    for option in options:
        label = clean_or_refuse(
            option.label, what=FIELD_OPTION, max_length=limits.POLL_OPTION_LABEL, multiline=False, required=True
        )
        note = clean_or_refuse(
            option.note or "", what=FIELD_NOTE, max_length=limits.POLL_OPTION_NOTE, multiline=False, required=False
        )
        budget = option.budget
        if budget is not None and (not budget.is_finite() or budget < 0 or budget >= limits.POLL_OPTION_BUDGET):
            raise BadRequest(_("预算须是 0 到 %(most)s 万元之间的数。"), most=limits.POLL_OPTION_BUDGET)
        if budget is not None:
            budget = budget.quantize(Decimal("0.01"))
        cleaned.append(_CleanOption(label, option.department, budget, note))
    if len({option.label for option in cleaned}) != len(cleaned):
        raise BadRequest(_("各项的名称不能重复。"))
    wanted = {option.department for option in cleaned if option.department is not None}
    if len(Department.objects.filter(pk__in=wanted)) != len(wanted):
        raise NotFound(_("找不到所选的部门。"))
    return cleaned


def _clean_spec(
    *,
    title: str,
    secret: bool,
    kind: str,
    choices: Sequence[str] | None,
    satisfied: Sequence[str] | None,
    weights: dict[str, float] | None,
    rows: Sequence[OptionSpec] | None,
    candidates: Sequence[OptionSpec] | None,
    min_picks: int | None,
    max_picks: int | None,
    choose: int | None,
) -> _Spec:
    """Check how a poll's fields fit its kind: satisfaction (one question), sheet (a choice for
    every one of `rows`) or select (pick `min_picks`…`max_picks` of `candidates`; the `choose`
    most picked, default `max_picks`, are chosen)."""
    title = clean_or_refuse(title or "", what=FIELD_TITLE, max_length=MAX_TITLE_LENGTH, multiline=False, required=False)
    if kind not in Poll.Kind.values:
        raise BadRequest(_("没有这种测评类型。"))
    if kind != Poll.Kind.SHEET and rows:
        raise BadRequest(_("只有测评表有测评项。"))
    if kind != Poll.Kind.SELECT and (candidates or min_picks is not None or max_picks is not None or choose):
        raise BadRequest(_("只有票选有候选项和可选数量。"))
    if kind == Poll.Kind.SELECT:
        if choices is not None or satisfied is not None or weights is not None:
            raise BadRequest(_("票选没有测评选项。"))
        cleaned_choices: list[str] = []
        satisfied_choices: list[str] = []
    else:
        cleaned_choices = _clean_choices(choices)
        satisfied_choices = (
            list(satisfied) if satisfied is not None else [c for c in cleaned_choices if c in SATISFIED_NAMES]
        )
        if not set(satisfied_choices) <= set(cleaned_choices):
            raise BadRequest(_("计入满意率的选项须是测评的选项。"))
        if len(set(satisfied_choices)) != len(satisfied_choices):  # one counted twice: 满意率 over 100 %
            raise BadRequest(_("计入满意率的选项不能重复。"))
        if weights is not None and not set(weights) <= set(cleaned_choices):
            raise BadRequest(_("分值只能给测评的选项。"))
        if weights is not None and not all(_is_weight(value) for value in weights.values()):
            raise BadRequest(_("分值须是绝对值小于 %(most)s 的数。"), most=limits.POLL_WEIGHT)
    options: list[_CleanOption] = []
    if kind == Poll.Kind.SHEET:
        options = _clean_options(
            rows,
            most=limits.POLL_ROWS,
            empty=_("测评表至少需要一个测评项。"),
            too_many=_("测评表最多 %(n)s 个测评项。"),
        )
    elif kind == Poll.Kind.SELECT:
        options = _clean_options(
            candidates,
            most=limits.POLL_CANDIDATES,
            empty=_("票选至少需要一个候选项。"),
            too_many=_("票选最多 %(n)s 个候选项。"),
        )
        min_picks = 1 if min_picks is None else min_picks
        max_picks = len(options) if max_picks is None else max_picks
        if not 1 <= min_picks <= max_picks <= len(options):
            raise BadRequest(_("可选数量须满足：1 ≤ 至少 ≤ 至多 ≤ 候选项数。"))
        choose = max_picks if choose is None else choose
        if not 1 <= choose <= len(options):
            raise BadRequest(_("入选数量须在 1 到候选项数之间。"))
    select = kind == Poll.Kind.SELECT
    return _Spec(
        title=title,
        kind=kind,
        secret=secret,
        choices=cleaned_choices,
        satisfied=satisfied_choices,
        weights=weights,
        options=options,
        min_picks=min_picks if select else None,
        max_picks=max_picks if select else None,
        choose=choose if select else None,
    )


def _default_title(spec: _Spec, item: AgendaItem | None, hearing: Hearing) -> str:
    department = item.department if item is not None else None
    about = item.title if item is not None else hearing.title
    if spec.kind == Poll.Kind.SATISFACTION:
        title = f"对{department.name}的满意度测评" if department else f"{about} 满意度测评"
    elif spec.kind == Poll.Kind.SHEET:
        title = f"{about} 满意度测评表"
    else:
        title = f"{about} 票选"
    return title[:MAX_TITLE_LENGTH]


def _store(spec: _Spec, *, hearing: Hearing, item: AgendaItem | None, status: str, **fields: object) -> Poll:
    """Write the poll, its rows or candidates, and a secret poll's empty tally row."""
    poll = Poll.objects.create(
        hearing=hearing,
        item=item,
        department=item.department if item is not None else None,
        title=spec.title or _default_title(spec, item, hearing),
        kind=spec.kind,
        secret=spec.secret,
        choices=spec.choices,
        satisfied=spec.satisfied,
        weights=spec.weights,
        min_picks=spec.min_picks,
        max_picks=spec.max_picks,
        choose=spec.choose,
        status=status,
        **fields,
    )
    option_kind = PollOption.Kind.ROW if spec.kind == Poll.Kind.SHEET else PollOption.Kind.CANDIDATE
    PollOption.objects.bulk_create(
        [
            PollOption(
                poll=poll,
                position=n,
                label=option.label,
                department_id=option.department,
                budget=option.budget,
                note=option.note,
                kind=option_kind,
            )
            for n, option in enumerate(spec.options, start=1)
        ]
    )
    if poll.secret:
        SecretTally.objects.create(poll=poll, counts={})
    return poll


def _audit_spec(poll: Poll, spec: _Spec) -> dict[str, object]:
    payload: dict[str, object] = {"item": poll.item_id, "title": poll.title, "secret": poll.secret}
    if spec.options:
        payload |= {"kind": spec.kind, "options": [option.label for option in spec.options]}
    if poll.opens_at is not None and poll.closes_at is not None:
        payload |= {"opens_at": poll.opens_at.isoformat(), "closes_at": poll.closes_at.isoformat()}
    return payload


def _item(hearing: Hearing, item_id: int | None) -> AgendaItem:
    item = (
        AgendaItem.objects.select_related("department").filter(pk=item_id, hearing=hearing).first()
        if item_id is not None
        else None
    )
    if item is None:
        raise NotFound(_("本场问政会没有这项议程。"))
    return item


def _require_no_live_poll_open(hearing: Hearing) -> None:
    if Poll.objects.filter(hearing=hearing, status=Poll.Status.OPEN, closes_at__isnull=True).exists():
        raise InvalidState(_("本场还有一项测评正在投票，请先结束投票。"))


@transaction.atomic
def poll_open(
    *,
    hearing_id: int,
    item_id: int | None,
    by: AbstractBaseUser | None,
    draft_id: int | None = None,
    title: str = "",
    secret: bool = True,
    kind: str = Poll.Kind.SATISFACTION,
    choices: Sequence[str] | None = None,
    satisfied: Sequence[str] | None = None,
    weights: dict[str, float] | None = None,
    rows: Sequence[OptionSpec] | None = None,
    candidates: Sequence[OptionSpec] | None = None,
    min_picks: int | None = None,
    max_picks: int | None = None,
    choose: int | None = None,
) -> Poll:
    """Open a poll for an agenda item (its department) of a live hearing; one open live poll
    per hearing at a time. With `draft_id`, open the poll the office prepared (poll_prepare)
    as it stands, on its own agenda item or else `item_id`; `title` may rename it."""
    if draft_id is not None:
        given = (choices, satisfied, weights, rows, candidates, min_picks, max_picks, choose)
        if any(value is not None for value in given):
            raise BadRequest(_("开启会务准备好的测评时，不能另给测评项、候选项或选项。"))
        return _open_draft(hearing_id=hearing_id, draft_id=draft_id, item_id=item_id, title=title, by=by)
    spec = _clean_spec(
        title=title,
        secret=secret,
        kind=kind,
        choices=choices,
        satisfied=satisfied,
        weights=weights,
        rows=rows,
        candidates=candidates,
        min_picks=min_picks,
        max_picks=max_picks,
        choose=choose,
    )
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    item = _item(hearing, item_id)
    guards.require_live(hearing)
    _require_no_live_poll_open(hearing)
    poll = _store(spec, hearing=hearing, item=item, status=Poll.Status.OPEN)
    audit.record(action="poll.open", actor=by, subject=poll, payload=_audit_spec(poll, spec))
    publish(hearing, public=_poll_event("poll.opened", poll))
    return poll


def _open_draft(
    *, hearing_id: int, draft_id: int, item_id: int | None, title: str, by: AbstractBaseUser | None
) -> Poll:
    title = clean_or_refuse(title or "", what=FIELD_TITLE, max_length=MAX_TITLE_LENGTH, multiline=False, required=False)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    poll = _poll_for_update(hearing, draft_id)
    if poll.status != Poll.Status.DRAFT:
        raise InvalidState(_("这项测评已经开启过。"))
    item = poll.item or _item(hearing, item_id)  # the item the office prepared it on, else the one given
    guards.require_live(hearing)
    _require_no_live_poll_open(hearing)
    poll.item = item
    if poll.department_id is None:
        poll.department = item.department
    if title:
        poll.title = title
    poll.status = Poll.Status.OPEN
    poll.opened_at = timezone.now()
    poll.save(update_fields=["item", "department", "title", "status", "opened_at"])
    audit.record(
        action="poll.open",
        actor=by,
        subject=poll,
        payload={"item": item.pk, "title": poll.title, "secret": poll.secret, "draft": True},
    )
    publish(hearing, public=_poll_event("poll.opened", poll))
    return poll


def _clean_window(opens_at: datetime | None, closes_at: datetime | None) -> tuple[datetime, datetime]:
    if opens_at is None or closes_at is None:
        raise BadRequest(_("请给出开始和截止投票的时间。"))
    if timezone.is_naive(opens_at) or timezone.is_naive(closes_at):
        raise BadRequest(_("投票时间须带时区。"))
    if closes_at <= opens_at:
        raise BadRequest(_("截止投票时间须晚于开始时间。"))
    if closes_at <= timezone.now():
        raise BadRequest(_("截止投票时间已经过去。"))
    if closes_at - opens_at > timedelta(days=limits.POLL_WINDOW_DAYS):
        raise BadRequest(_("投票时间最长 %(days)s 天。"), days=limits.POLL_WINDOW_DAYS)
    return opens_at, closes_at


@transaction.atomic
def poll_prepare(
    *,
    hearing_id: int,
    by: AbstractBaseUser | None,
    kind: str = Poll.Kind.SHEET,
    title: str = "",
    item_id: int | None = None,
    secret: bool = True,
    choices: Sequence[str] | None = None,
    satisfied: Sequence[str] | None = None,
    weights: dict[str, float] | None = None,
    rows: Sequence[OptionSpec] | None = None,
    candidates: Sequence[OptionSpec] | None = None,
    min_picks: int | None = None,
    max_picks: int | None = None,
    choose: int | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Poll:
    """The office prepares a poll (会务工作人员): a draft, carried by an agenda item, that the
    moderator opens from the panel during the hearing; or, with `opens_at` and `closes_at`, a
    window poll that takes ballots from the hearing's deputies on their own devices between
    those times (现场或事后) and closes by itself (poll_schedule)."""
    spec = _clean_spec(
        title=title,
        secret=secret,
        kind=kind,
        choices=choices,
        satisfied=satisfied,
        weights=weights,
        rows=rows,
        candidates=candidates,
        min_picks=min_picks,
        max_picks=max_picks,
        choose=choose,
    )
    window = (opens_at, closes_at) != (None, None)
    if window:
        _clean_window(opens_at, closes_at)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    item = _item(hearing, item_id) if item_id is not None else None
    if hearing.status == Hearing.Status.ENDED and not window:
        raise InvalidState(_("问政会已结束：请设定投票时间，由代表在自己的设备上投票。"))
    poll = _store(spec, hearing=hearing, item=item, status=Poll.Status.DRAFT)
    audit.record(action="poll.prepare", actor=by, subject=poll, payload=_audit_spec(poll, spec))
    if window:
        assert opens_at is not None and closes_at is not None
        return _schedule(hearing, poll, opens_at, closes_at, by)
    publish(hearing, public=None, control=_poll_event("poll.prepared", poll))
    return poll


@transaction.atomic
def poll_schedule(
    *, hearing_id: int, poll_id: int, opens_at: datetime | None, closes_at: datetime | None, by: AbstractBaseUser | None
) -> Poll:
    """A prepared poll (draft) becomes a window poll: open from `opens_at` to `closes_at` for
    the hearing's deputies on their own devices, not while the hearing is live (the chamber
    votes on its tablets then)."""
    opens_at, closes_at = _clean_window(opens_at, closes_at)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    poll = _poll_for_update(hearing, poll_id)
    if poll.status != Poll.Status.DRAFT:
        raise InvalidState(_("这项测评已经开启过。"))
    return _schedule(hearing, poll, opens_at, closes_at, by)


def _schedule(
    hearing: Hearing, poll: Poll, opens_at: datetime, closes_at: datetime, by: AbstractBaseUser | None
) -> Poll:
    if hearing.status == Hearing.Status.LIVE:
        raise InvalidState(_("问政会正在直播：现场测评请由主持人在控制台开启。"))
    poll.status = Poll.Status.OPEN
    poll.opens_at, poll.closes_at = opens_at, closes_at
    poll.opened_at = timezone.now()
    poll.save(update_fields=["status", "opens_at", "closes_at", "opened_at"])
    audit.record(
        action="poll.schedule",
        actor=by,
        subject=poll,
        payload={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()},
    )
    publish(hearing, public=_poll_event("poll.opened", poll))
    return poll


@transaction.atomic
def poll_discard(*, hearing_id: int, poll_id: int, by: AbstractBaseUser | None) -> None:
    """The office deletes a prepared poll that was never opened."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    poll = _poll_for_update(hearing, poll_id)
    if poll.status != Poll.Status.DRAFT:
        raise InvalidState(_("已开启的测评不能删除。"))
    audit.record(action="poll.discard", actor=by, subject=hearing, payload={"poll": poll.pk, "title": poll.title})
    publish(hearing, public=None, control=_poll_event("poll.discarded", poll))
    poll.delete()


@dataclass(frozen=True)
class BallotResult:
    duplicate: bool


# PostgreSQL advisory lock space of the poll locks ("vote").
_POLL_LOCK_SPACE = 0x766F7465


def _lock_poll(poll_id: int, *, shared: bool) -> None:
    """A ballot holds its poll's lock shared, a close holds it exclusively (PostgreSQL;
    SQLite runs one write transaction at a time anyway). An advisory lock, not FOR SHARE on
    the poll row: lock waiters queue in order, so a close waits only for the ballots in
    flight, whereas new row share-lockers keep overtaking a waiting FOR UPDATE."""
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s::int4, %s::int4)", [_POLL_LOCK_SPACE, poll_id % 2**31])


def _lock_poll_shared(poll_id: int, hearing_id: int) -> Poll:
    """Read the poll under a share lock: ballots run side by side, a close waits for them."""
    _lock_poll(poll_id, shared=True)
    poll = Poll.objects.filter(pk=poll_id, hearing_id=hearing_id).first()
    if poll is None:
        raise NotFound(_("本场问政会没有这项测评。"))
    return poll


@dataclass(frozen=True)
class BallotRequest:
    """One ballot: `choice` for a satisfaction poll, `choices` ({"<row id>": choice}) for a
    sheet, `picks` (candidate ids) for a select; the others None."""

    deputy_id: int
    choice: str | None
    ballot_id: UUID
    choices: dict[str, str] | None = None
    picks: tuple[int, ...] | None = None


def ballot_cast(
    *,
    hearing_id: int,
    poll_id: int,
    deputy: AbstractBaseUser,
    ballot_id: UUID,
    choice: str | None = None,
    choices: dict[str, str] | None = None,
    picks: Sequence[int] | None = None,
) -> BallotResult:
    """Cast one ballot; see ballots_cast."""
    request = BallotRequest(
        deputy.pk, choice, ballot_id, choices=choices, picks=tuple(picks) if picks is not None else None
    )
    result = ballots_cast(hearing_id=hearing_id, poll_id=poll_id, requests=[request])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def ballots_cast(
    *, hearing_id: int, poll_id: int, requests: Sequence[BallotRequest]
) -> list[BallotResult | DomainError]:
    """Cast ballots in one transaction; a result (or the refusal) per request, in order.

    The same ballot UUID again is a `duplicate`; another ballot from a deputy who voted is
    `already_voted`; a closed poll refuses with `poll_closed`; only deputies of the hearing
    who checked in vote (`not_eligible`). A burst of a chamber's tablets is one commit.
    A secret poll's ballots only add to its tally row, in the commit of their VoteRecords."""
    try:
        with transaction.atomic():
            return _ballots_cast(hearing_id, poll_id, requests)
    except IntegrityError:
        # Another process stored one of these deputies' ballots first: decide one by one.
        if len(requests) > 1:
            return [ballots_cast(hearing_id=hearing_id, poll_id=poll_id, requests=[request])[0] for request in requests]
        request = requests[0]
        record = VoteRecord.objects.filter(poll_id=poll_id, deputy_id=request.deputy_id).first()
        key = _ballot_key(poll_id, request.ballot_id)
        if record is not None and hmac.compare_digest(record.ballot_key, key):
            return [BallotResult(duplicate=True)]
        return [AlreadyVoted(_("您已在本次测评中投过票。"))]


def _ballots_cast(hearing_id: int, poll_id: int, requests: Sequence[BallotRequest]) -> list[BallotResult | DomainError]:
    try:
        poll = _lock_poll_shared(poll_id, hearing_id)
    except NotFound as exc:
        return [exc] * len(requests)
    deputy_ids = {r.deputy_id for r in requests}
    recorded = dict(
        VoteRecord.objects.filter(poll=poll, deputy_id__in=deputy_ids).values_list("deputy_id", "ballot_key")
    )
    deputies, present = selectors.deputies_and_present(hearing_id, deputy_ids)
    if poll.is_window:  # the hearing's deputies vote on their own devices: no check-in
        present = deputies
    phase = _phase(poll, timezone.now())
    options = selectors.option_ids(poll)
    results: list[BallotResult | DomainError] = []
    records: list[VoteRecord] = []
    ballots: list[Ballot] = []
    secret_counts: Counter[str] = Counter()  # satisfaction: choice; select: candidate id
    secret_rows: dict[str, Counter[str]] = defaultdict(Counter)  # sheet: row id → choice
    for request in requests:
        key = _ballot_key(poll_id, request.ballot_id)
        known = recorded.get(request.deputy_id)
        if known is not None:
            duplicate = hmac.compare_digest(known, key)
            results.append(BallotResult(duplicate=True) if duplicate else AlreadyVoted(_("您已在本次测评中投过票。")))
        elif phase is not None:
            results.append(phase)
        elif request.deputy_id not in deputies:
            results.append(Forbidden(_("只有本场问政会的代表可以投票。")))
        elif request.deputy_id not in present:
            results.append(NotEligible(_("请先签到，签到后才能投票。")))
        elif (refusal := _refuse_ballot(poll, options, request)) is not None:
            results.append(refusal)
        else:
            recorded[request.deputy_id] = key
            records.append(VoteRecord(poll=poll, deputy_id=request.deputy_id, ballot_key=key))
            if poll.secret:
                if poll.kind == Poll.Kind.SHEET:
                    for row, choice in (request.choices or {}).items():
                        secret_rows[row][choice] += 1
                elif poll.kind == Poll.Kind.SELECT:
                    secret_counts.update(str(pick) for pick in request.picks or ())
                else:
                    secret_counts[request.choice or ""] += 1
            else:
                ballots.append(_named_ballot(poll, request))
            results.append(BallotResult(duplicate=False))
    if records:
        # In deputy order: two processes' batches holding the same deputies (a tablet resending
        # on a second socket) then queue on the unique constraint instead of deadlocking.
        records.sort(key=lambda record: record.deputy_id)
        VoteRecord.objects.bulk_create(records)
        if poll.secret:
            _add_to_tally(poll, options, secret_counts, secret_rows)
        else:
            ballots.sort(key=lambda ballot: ballot.deputy_id or 0)
            Ballot.objects.bulk_create(ballots)
    return results


def _phase(poll: Poll, now: datetime) -> DomainError | None:
    """Why the poll takes no ballot now, or None: closed, still a draft, or outside its window."""
    if poll.status == Poll.Status.DRAFT:
        return InvalidState(_("这项测评还没有开启。"))
    if poll.status != Poll.Status.OPEN:
        return PollClosed(_("测评已结束。"))
    if poll.opens_at is not None and now < poll.opens_at:
        return InvalidState(_("投票还没有开始。"))
    if poll.closes_at is not None and now >= poll.closes_at:
        return PollClosed(_("测评已结束。"))
    return None


def _refuse_ballot(poll: Poll, options: list[int], request: BallotRequest) -> BadRequest | None:
    """Why this ballot does not fit its poll (nothing is stored), or None when it does."""
    given = {
        Poll.Kind.SATISFACTION: request.choice is not None,
        Poll.Kind.SHEET: request.choices is not None,
        Poll.Kind.SELECT: request.picks is not None,
    }
    if sum(given.values()) != 1 or not given.get(Poll.Kind(poll.kind)):
        return BadRequest(
            {
                Poll.Kind.SATISFACTION: _("这项测评只选一项（choice）。"),
                Poll.Kind.SHEET: _("这项测评表须为每个测评项各选一项（choices）。"),
                Poll.Kind.SELECT: _("这项票选须勾选候选项（picks）。"),
            }[Poll.Kind(poll.kind)]
        )
    if poll.kind == Poll.Kind.SHEET:
        choices = request.choices or {}
        if set(choices) != {str(row) for row in options}:
            return BadRequest(_("请为测评表的每一项各选一项，不能缺项或多出未知的项。"))
        if any(choice not in poll.choices for choice in choices.values()):
            return BadRequest(_("请从测评选项中选择一项。"))
    elif poll.kind == Poll.Kind.SELECT:
        picks = request.picks or ()
        if len(set(picks)) != len(picks):
            return BadRequest(_("同一候选项只能选一次。"))
        if not set(picks) <= set(options):
            return BadRequest(_("所选的候选项不在这项票选中。"))
        if not (poll.min_picks or 1) <= len(picks) <= (poll.max_picks or len(options)):
            low, high = poll.min_picks or 1, poll.max_picks or len(options)
            return BadRequest(_("请选择 %(min)s 到 %(max)s 项。"), min=low, max=high)
    elif request.choice not in poll.choices:
        return BadRequest(_("请从测评选项中选择一项。"))
    return None


def _named_ballot(poll: Poll, request: BallotRequest) -> Ballot:
    common = {"poll": poll, "deputy_id": request.deputy_id, "client_uuid": request.ballot_id}
    if poll.kind == Poll.Kind.SHEET:
        return Ballot(choice="", choices=dict(request.choices or {}), **common)
    if poll.kind == Poll.Kind.SELECT:
        return Ballot(choice="", picks=sorted(request.picks or ()), **common)
    return Ballot(choice=request.choice or "", **common)


def _add_to_tally(poll: Poll, options: list[int], counts: Counter[str], rows: dict[str, Counter[str]]) -> None:
    """Add a batch's secret ballots to the poll's one tally row, locked until the commit:
    {choice: n}, a sheet's {"<row id>": {choice: n}}, a select's {"<candidate id>": n}.

    Locked after the batch's VoteRecords are written (a batch holding the tally never waits
    for another), and updated in place: no row, id or time per ballot (docs/voting.md)."""
    tally = SecretTally.objects.select_for_update().filter(poll=poll).first()
    if tally is None:  # a poll made without poll_open: its row comes with the first ballot
        SecretTally.objects.bulk_create([SecretTally(poll=poll, counts={})], ignore_conflicts=True)
        tally = SecretTally.objects.select_for_update().get(poll=poll)
    if poll.kind == Poll.Kind.SHEET:
        nested: dict[str, dict[str, int]] = {}
        for row in map(str, options):
            total = Counter(tally.counts.get(row, {}))
            total.update(rows.get(row, {}))
            if any(total.values()):
                nested[row] = {choice: total[choice] for choice in poll.choices if total[choice]}
        tally.counts = nested
    else:
        total = Counter(tally.counts)
        total.update(counts)
        keys = map(str, options) if poll.kind == Poll.Kind.SELECT else poll.choices
        tally.counts = {key: total[key] for key in keys if total[key]}
    tally.save(update_fields=["counts"])


def _poll_for_update(hearing: Hearing, poll_id: int) -> Poll:
    poll = Poll.objects.select_for_update().filter(pk=poll_id, hearing=hearing).first()
    if poll is None:
        raise NotFound(_("本场问政会没有这项测评。"))
    return poll


def _require_poll_manager(hearing: Hearing, poll: Poll, by: AbstractBaseUser | None) -> None:
    """A live poll is the moderator's; a window poll (and a draft) also the office's."""
    if poll.status == Poll.Status.DRAFT or poll.is_window:
        if by is not None and not hearing_selectors.may_edit_agenda(hearing, by):
            raise Forbidden(_("只有本场问政会的主持人或会务工作人员可以这样做。"))
    else:
        guards.require_moderator(hearing, by)


def close_due_polls(*, hearing_id: int | None = None) -> list[Poll]:
    """Close every window poll whose closing time has come (all hearings', or one's): run by
    `manage.py close_polls`, and before a page or socket shows such a poll, so it is closed
    by itself whoever looks first. Each close is poll_close's, as the system."""
    due = Poll.objects.filter(status=Poll.Status.OPEN, closes_at__lte=timezone.now())
    if hearing_id is not None:
        due = due.filter(hearing_id=hearing_id)
    return [
        poll_close(hearing_id=hearing, poll_id=poll, by=None)
        for poll, hearing in due.order_by("closes_at", "id").values_list("pk", "hearing_id")
    ]


@transaction.atomic
def poll_close(*, hearing_id: int, poll_id: int, by: AbstractBaseUser | None) -> Poll:
    """open → closed. Eligible, cast and the tally are fixed now; closing again returns the
    same counts and sends nothing."""
    hearing = guards.hearing_for_update(hearing_id)
    _lock_poll(poll_id, shared=False)  # waits for the ballots in flight; later ones wait for us
    poll = _poll_for_update(hearing, poll_id)
    _require_poll_manager(hearing, poll, by)
    if poll.status == Poll.Status.DRAFT:
        raise InvalidState(_("这项测评还没有开启。"))
    if poll.status != Poll.Status.OPEN:
        return poll
    poll.status = Poll.Status.CLOSED
    poll.closed_at = timezone.now()
    poll.eligible = selectors.eligible_count(poll)
    poll.results = selectors.tally(poll)
    poll.cast = VoteRecord.objects.filter(poll=poll).count()
    poll.save(update_fields=["status", "closed_at", "eligible", "results", "cast"])
    payload: dict[str, object] = {"cast": poll.cast, "eligible": poll.eligible, "results": poll.results}
    if poll.kind == Poll.Kind.SELECT:
        payload["ranking"] = selectors.ranking(selectors.option_ids(poll), poll.results)
    audit.record(action="poll.close", actor=by, subject=poll, payload=payload)
    publish(hearing, public=_poll_event("poll.closed", poll))
    if poll.secret:
        transaction.on_commit(_truncate_sqlite_wal)
    return poll


def _truncate_sqlite_wal() -> None:
    """SQLite's write-ahead log keeps a copy of each commit's pages (a secret poll's tally row
    after every ballot, beside that ballot's VoteRecord) until it is overwritten. Once the poll
    closes, move it into the database and cut the log to nothing (docs/voting.md)."""
    if connection.vendor != "sqlite":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, _, _ = cursor.fetchone()
    except DatabaseError:
        log.warning("could not truncate the SQLite WAL after a secret poll closed", exc_info=True)
        return
    if busy:
        log.warning("the SQLite WAL was busy: not truncated after a secret poll closed")


@transaction.atomic
def poll_publish(*, hearing_id: int, poll_id: int, by: AbstractBaseUser | None) -> Poll:
    """closed → published: the results and 满意率 become public. Idempotent."""
    hearing = guards.hearing_for_update(hearing_id)
    poll = _poll_for_update(hearing, poll_id)
    _require_poll_manager(hearing, poll, by)
    if poll.status in (Poll.Status.OPEN, Poll.Status.DRAFT):
        raise InvalidState(_("请先结束投票，再公布结果。"))
    if poll.status == Poll.Status.PUBLISHED:
        return poll
    poll.status = Poll.Status.PUBLISHED
    poll.published_at = timezone.now()
    poll.save(update_fields=["status", "published_at"])
    audit.record(
        action="poll.publish",
        actor=by,
        subject=poll,
        payload={"cast": poll.cast, "eligible": poll.eligible, "results": poll.results},
    )
    publish(hearing, public=_poll_event("poll.published", poll))
    return poll
