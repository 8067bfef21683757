"""Seat codes (座位码): a tablet's one-time login as one deputy for one hearing.

Staff issue one unused code per deputy (printed on a seat card), issue a new one for a lost card,
and revoke codes; a tablet redeems its code once. The code itself is never stored, audited or
logged (hearings/seats.py derives it from the row's nonce).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings import guards, seats
from hearings.models import Hearing, SeatCode

# One answer for a code that does not exist, was used or was revoked: a guesser learns nothing.
UNUSABLE = _("座位码无效或已失效，请向会务工作人员索取新的座位卡。")
ENDED = _("这场问政会已结束，座位码不能再使用。")
NOT_A_DEPUTY = _("此人已不是这场问政会的代表，座位码不能使用。")


def _new_code(hearing: Hearing, deputy_id: int, by: AbstractBaseUser | None) -> SeatCode:
    while True:  # a nonce or a 60-bit code seen before: draw again (never in practice)
        nonce = secrets.token_hex(16)
        code_digest = seats.digest(seats.derive(nonce))
        if (
            not SeatCode.objects.filter(digest=code_digest).exists()
            and not SeatCode.objects.filter(nonce=nonce).exists()
        ):
            break
    return SeatCode.objects.create(
        hearing=hearing,
        deputy_id=deputy_id,
        nonce=nonce,
        digest=code_digest,
        created_by_id=by.pk if by is not None else None,
    )


def _staff_hearing(hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """Lock the hearing (issuing and revoking for it run one at a time); staff only."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    return hearing


def _deputy_ids(hearing: Hearing) -> set[int]:
    return set(Hearing.deputies.through.objects.filter(hearing=hearing).values_list("user_id", flat=True))


def _require_deputies(hearing: Hearing, deputy_ids: Iterable[int]) -> None:
    if not set(deputy_ids) <= _deputy_ids(hearing):
        raise NotFound(_("此人不是这场问政会的代表。"))


@transaction.atomic
def seat_codes_issue(
    *, hearing_id: int, by: AbstractBaseUser | None, deputy_ids: Iterable[int] | None = None
) -> list[SeatCode]:
    """One unused code for every deputy of the hearing who has none (or for those of
    `deputy_ids` who have none; each must be a deputy of the hearing). Not for an ended hearing.
    Returns the codes made, in deputy order."""
    hearing = _staff_hearing(hearing_id, by)
    guards.require_not_ended(hearing)
    wanted = _deputy_ids(hearing)
    if deputy_ids is not None:
        chosen = set(deputy_ids)
        _require_deputies(hearing, chosen)
        wanted &= chosen
    having = set(
        SeatCode.objects.filter(hearing=hearing, used_at__isnull=True, revoked_at__isnull=True).values_list(
            "deputy_id", flat=True
        )
    )
    made = [_new_code(hearing, deputy_id, by) for deputy_id in sorted(wanted - having)]
    if made:
        audit.record(
            action="seat.issue",
            actor=by,
            subject=hearing,
            payload={"deputies": [c.deputy_id for c in made], "seats": [c.pk for c in made]},
        )
    return made


@transaction.atomic
def seat_code_reissue(*, hearing_id: int, deputy_id: int, by: AbstractBaseUser | None) -> SeatCode:
    """A lost card: the deputy's unused code is revoked and a new one made (a tablet already
    logged in keeps its login: revoke its code for that)."""
    hearing = _staff_hearing(hearing_id, by)
    guards.require_not_ended(hearing)
    _require_deputies(hearing, [deputy_id])
    now = timezone.now()
    old = list(
        SeatCode.objects.filter(hearing=hearing, deputy_id=deputy_id, used_at__isnull=True, revoked_at__isnull=True)
    )
    SeatCode.objects.filter(pk__in=[c.pk for c in old]).update(revoked_at=now)
    code = _new_code(hearing, deputy_id, by)
    audit.record(
        action="seat.reissue",
        actor=by,
        subject=hearing,
        payload={"deputy": deputy_id, "seat": code.pk, "revoked": [c.pk for c in old]},
    )
    return code


@transaction.atomic
def seat_code_revoke(
    *, hearing_id: int, by: AbstractBaseUser | None, deputy_id: int | None = None, seat_id: int | None = None
) -> int:
    """Revoke one code (`seat_id`) or every code of a deputy (`deputy_id`) of the hearing that
    is not revoked yet: an unused card stops working, and a tablet logged in by a used one is
    logged out (its next request, its socket at the next check). Returns how many were revoked."""
    if (deputy_id is None) == (seat_id is None):
        raise BadRequest(_("请指定一位代表或一个座位码。"))
    hearing = _staff_hearing(hearing_id, by)
    codes = SeatCode.objects.filter(hearing=hearing, revoked_at__isnull=True)
    if seat_id is not None:
        if not SeatCode.objects.filter(hearing=hearing, pk=seat_id).exists():
            raise NotFound(_("找不到这个座位码。"))
        codes = codes.filter(pk=seat_id)
    else:
        assert deputy_id is not None
        if not SeatCode.objects.filter(hearing=hearing, deputy_id=deputy_id).exists():
            _require_deputies(hearing, [deputy_id])
        codes = codes.filter(deputy_id=deputy_id)
    ids = list(codes.values_list("pk", flat=True))
    if ids:
        SeatCode.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
        audit.record(action="seat.revoke", actor=by, subject=hearing, payload={"deputy": deputy_id, "seats": ids})
    return len(ids)


@transaction.atomic
def seat_codes_revoke_unused(*, hearing_id: int, by: AbstractBaseUser | None) -> int:
    """Revoke every unused code of the hearing (the printed cards stop working; tablets already
    logged in keep their login). Returns how many were revoked."""
    hearing = _staff_hearing(hearing_id, by)
    ids = list(
        SeatCode.objects.filter(hearing=hearing, used_at__isnull=True, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    if ids:
        SeatCode.objects.filter(pk__in=ids).update(revoked_at=timezone.now())
        audit.record(action="seat.revoke_unused", actor=by, subject=hearing, payload={"seats": ids})
    return len(ids)


def seat_code_refusal(seat: SeatCode | None) -> DomainError | None:
    """Why a code (its row, None when no code is written so) cannot log a tablet in now: the
    one answer for unknown, used, revoked (or its deputy's account disabled), a clear one for an
    ended hearing or a person no longer a deputy of it. None when it can."""
    if seat is None or seat.used_at is not None or seat.revoked_at is not None or not seat.deputy.is_active:
        return NotFound(UNUSABLE)
    if seat.hearing.status == Hearing.Status.ENDED:
        return InvalidState(ENDED)
    if not Hearing.deputies.through.objects.filter(hearing_id=seat.hearing_id, user_id=seat.deputy_id).exists():
        return Forbidden(NOT_A_DEPUTY)
    return None


@transaction.atomic
def seat_code_redeem(*, code: str) -> SeatCode:
    """A tablet logs in with a code: the code is marked used and returned with its hearing and
    deputy. Refused when no such code exists, it was used or revoked (one answer for the three),
    the hearing ended, or the person is no longer a deputy of the hearing. Two tablets racing
    with one code: the row is locked, exactly one wins."""
    normal = seats.normalise(code)
    if normal is None:
        raise NotFound(UNUSABLE)
    locked = SeatCode.objects.select_for_update(of=("self",)).select_related("hearing", "deputy__person")
    seat = locked.filter(digest=seats.digest(normal)).order_by().first()
    refusal = seat_code_refusal(seat)
    if refusal is not None:
        raise refusal
    assert seat is not None
    seat.used_at = timezone.now()
    seat.save(update_fields=["used_at"])
    audit.record(
        action="seat.redeem",
        actor=seat.deputy,
        subject=seat.hearing,
        payload={"deputy": seat.deputy_id, "seat": seat.pk},
    )
    return seat
