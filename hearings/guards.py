"""Checks every service of a hearing's aggregates starts with: lock the hearing row, then ask
whether the acting user may act and whether the hearing's state allows it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from core.errors import Forbidden, InvalidState, NotFound
from hearings import selectors
from hearings.models import Hearing


def hearing_for_update(hearing_id: int) -> Hearing:
    try:
        return Hearing.objects.select_for_update().get(pk=hearing_id)
    except Hearing.DoesNotExist:
        raise NotFound(_("找不到这场问政会。")) from None


def require_moderator(hearing: Hearing, by: AbstractBaseUser | None) -> None:
    if by is not None and not selectors.is_moderator(hearing, by):
        raise Forbidden(_("只有本场问政会的主持人可以这样做。"))


def require_agenda_editor(hearing: Hearing, by: AbstractBaseUser | None) -> None:
    if by is not None and not selectors.may_edit_agenda(hearing, by):
        raise Forbidden(_("只有本场问政会的主持人或会务工作人员可以修改议程。"))


def require_triager(hearing: Hearing, by: AbstractBaseUser | None) -> None:
    """Moderation (approve, reject, merge, hide, assign): the hearing's moderators on the control
    panel, office staff on the triage page (/manage/hearings/<id>/questions/)."""
    if by is not None and not selectors.may_edit_agenda(hearing, by):
        raise Forbidden(_("只有本场问政会的主持人或会务工作人员可以这样做。"))


def require_office_staff(by: AbstractBaseUser | None) -> None:
    if by is not None and not selectors.is_office_staff(by):
        raise Forbidden(_("只有会务工作人员可以这样做。"))


def require_live(hearing: Hearing) -> None:
    if hearing.status != Hearing.Status.LIVE:
        raise InvalidState(_("问政会不在直播中。"))


def require_not_ended(hearing: Hearing) -> None:
    if hearing.status == Hearing.Status.ENDED:
        raise InvalidState(_("问政会已结束。"))
