"""Check-in and the life of a satisfaction poll: open → closed → published.

Exactly once: a ballot takes a share lock on its poll and closing takes the exclusive
lock, so every ballot either commits before the close (and is counted) or sees the poll
closed (poll_closed). A database constraint allows one VoteRecord per deputy per poll, and
the ballot UUID makes a resend of the same ballot an idempotent `duplicate`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.errors import (
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
from hearings.models import AgendaItem, Hearing
from live.publish import publish
from live.schema import Event, PollData
from voting import selectors
from voting.models import Attendance, Ballot, Poll, SecretTally, VoteRecord

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


@transaction.atomic
def poll_open(
    *,
    hearing_id: int,
    item_id: int,
    by: AbstractBaseUser | None,
    title: str = "",
    secret: bool = True,
    choices: list[str] | None = None,
    satisfied: list[str] | None = None,
) -> Poll:
    """Open a satisfaction poll for an agenda item (its department) of a live hearing; one
    open poll per hearing at a time."""
    title = clean_or_refuse(title or "", what=FIELD_TITLE, max_length=MAX_TITLE_LENGTH, multiline=False, required=False)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    item = AgendaItem.objects.select_related("department").filter(pk=item_id, hearing=hearing).first()
    if item is None:
        raise NotFound(_("本场问政会没有这项议程。"))
    if hearing.status != Hearing.Status.LIVE:
        raise InvalidState(_("问政会不在直播中。"))
    if Poll.objects.filter(hearing=hearing, status=Poll.Status.OPEN).exists():
        raise InvalidState(_("本场还有一项测评正在投票，请先结束投票。"))
    choices = [c.strip() for c in (choices or ["满意", "基本满意", "不满意"]) if c.strip()]
    satisfied = satisfied if satisfied is not None else [c for c in ("满意", "基本满意") if c in choices]
    if len(choices) < 2 or len(set(choices)) != len(choices) or not set(satisfied) <= set(choices):
        raise BadRequest(_("测评至少需要两个不同的选项。"))
    department = item.department
    default_title = f"对{department.name}的满意度测评" if department else f"{item.title} 满意度测评"
    poll = Poll.objects.create(
        hearing=hearing,
        item=item,
        department=department,
        title=title or default_title[:MAX_TITLE_LENGTH],
        secret=secret,
        choices=choices,
        satisfied=satisfied,
    )
    if poll.secret:
        SecretTally.objects.create(poll=poll, counts={})
    audit.record(
        action="poll.open", actor=by, subject=poll, payload={"item": item.pk, "title": poll.title, "secret": secret}
    )
    publish(hearing, public=_poll_event("poll.opened", poll))
    return poll


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
    deputy_id: int
    choice: str
    ballot_id: UUID


def ballot_cast(
    *, hearing_id: int, poll_id: int, deputy: AbstractBaseUser, choice: str, ballot_id: UUID
) -> BallotResult:
    """Cast one ballot; see ballots_cast."""
    result = ballots_cast(
        hearing_id=hearing_id, poll_id=poll_id, requests=[BallotRequest(deputy.pk, choice, ballot_id)]
    )[0]
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
    results: list[BallotResult | DomainError] = []
    records: list[VoteRecord] = []
    ballots: list[Ballot] = []
    secret_counts: Counter[str] = Counter()
    for request in requests:
        key = _ballot_key(poll_id, request.ballot_id)
        known = recorded.get(request.deputy_id)
        if known is not None:
            duplicate = hmac.compare_digest(known, key)
            results.append(BallotResult(duplicate=True) if duplicate else AlreadyVoted(_("您已在本次测评中投过票。")))
        elif poll.status != Poll.Status.OPEN:
            results.append(PollClosed(_("测评已结束。")))
        elif request.deputy_id not in deputies:
            results.append(Forbidden(_("只有本场问政会的代表可以投票。")))
        elif request.deputy_id not in present:
            results.append(NotEligible(_("请先签到，签到后才能投票。")))
        elif request.choice not in poll.choices:
            results.append(BadRequest(_("请从测评选项中选择一项。")))
        else:
            recorded[request.deputy_id] = key
            records.append(VoteRecord(poll=poll, deputy_id=request.deputy_id, ballot_key=key))
            if poll.secret:
                secret_counts[request.choice] += 1
            else:
                ballots.append(
                    Ballot(poll=poll, choice=request.choice, deputy_id=request.deputy_id, client_uuid=request.ballot_id)
                )
            results.append(BallotResult(duplicate=False))
    if records:
        # In deputy order: two processes' batches holding the same deputies (a tablet resending
        # on a second socket) then queue on the unique constraint instead of deadlocking.
        records.sort(key=lambda record: record.deputy_id)
        VoteRecord.objects.bulk_create(records)
        if poll.secret:
            _add_to_tally(poll, secret_counts)
        else:
            ballots.sort(key=lambda ballot: ballot.deputy_id or 0)
            Ballot.objects.bulk_create(ballots)
    return results


def _add_to_tally(poll: Poll, counts: Counter[str]) -> None:
    """Add a batch's secret ballots to the poll's one tally row, locked until the commit.

    Locked after the batch's VoteRecords are written (a batch holding the tally never waits
    for another), and updated in place: no row, id or time per ballot (docs/voting.md)."""
    tally = SecretTally.objects.select_for_update().filter(poll=poll).first()
    if tally is None:  # a poll made without poll_open: its row comes with the first ballot
        SecretTally.objects.bulk_create([SecretTally(poll=poll, counts={})], ignore_conflicts=True)
        tally = SecretTally.objects.select_for_update().get(poll=poll)
    total = Counter(tally.counts)
    total.update(counts)
    tally.counts = {choice: total[choice] for choice in poll.choices if total[choice]}
    tally.save(update_fields=["counts"])


def _poll_for_update(hearing: Hearing, poll_id: int) -> Poll:
    poll = Poll.objects.select_for_update().filter(pk=poll_id, hearing=hearing).first()
    if poll is None:
        raise NotFound(_("本场问政会没有这项测评。"))
    return poll


@transaction.atomic
def poll_close(*, hearing_id: int, poll_id: int, by: AbstractBaseUser | None) -> Poll:
    """open → closed. Eligible, cast and the tally are fixed now; closing again returns the
    same counts and sends nothing."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    _lock_poll(poll_id, shared=False)  # waits for the ballots in flight; later ones wait for us
    poll = _poll_for_update(hearing, poll_id)
    if poll.status != Poll.Status.OPEN:
        return poll
    poll.status = Poll.Status.CLOSED
    poll.closed_at = timezone.now()
    poll.eligible = selectors.checked_in_count(hearing.pk)
    poll.results = selectors.tally(poll)
    poll.cast = VoteRecord.objects.filter(poll=poll).count()
    poll.save(update_fields=["status", "closed_at", "eligible", "results", "cast"])
    audit.record(
        action="poll.close",
        actor=by,
        subject=poll,
        payload={"cast": poll.cast, "eligible": poll.eligible, "results": poll.results},
    )
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
    guards.require_moderator(hearing, by)
    poll = _poll_for_update(hearing, poll_id)
    if poll.status == Poll.Status.OPEN:
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
