"""The kinds of notice a person may get about assignments, and how each person wants each kind.

A notice has a code (assignments/notes.py: the timeline entry an action wrote, or a reminder's);
each code belongs to one kind below, and a person chooses per kind: in the app (站内提醒), by
e-mail, both or neither (assignments.models.Preference; no row: the kind's default).
Who is told of what is the workflow's table (workflow.py, "notice to") and the reminders'
(services/reminders.py); `who` below only says it on the settings page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from assignments import notes
from assignments.models import Preference

Action = notes.Action


@dataclass(frozen=True)
class Kind:
    key: str  # stored in Preference.kind
    label: Promise
    who: Promise  # who gets it, for the settings page
    codes: tuple[str, ...]  # the notice codes of this kind
    in_app: bool = True  # defaults, for a person who has not chosen
    email: bool = True


KINDS: tuple[Kind, ...] = (
    # deputies
    Kind("replied", _("答复待评价"), _("提问代表、主持人"), (Action.REPLIED,)),
    Kind("extension_requested", _("申请延期"), _("主持人、提问代表"), (Action.EXTENSION_REQUESTED,)),
    # liaisons
    Kind("assigned", _("新交办件"), _("承办单位联络员"), (Action.CREATED, Action.REASSIGNED)),
    Kind("reopened", _("重新办理"), _("承办单位联络员"), (Action.REOPENED,)),
    Kind("verdict", _("代表评价"), _("承办单位联络员、主持人"), (Action.EVALUATED,)),
    Kind(
        "extension_decided",
        _("延期审核结果"),
        _("承办单位联络员"),
        (Action.EXTENSION_APPROVED, Action.EXTENSION_REFUSED),
    ),
    Kind("due_recomputed", _("期限随节假日调整"), _("承办单位联络员"), (Action.DUE_RECOMPUTED,)),
    Kind("due_soon", _("即将到期提醒"), _("承办单位联络员"), (notes.DUE_SOON,)),
    Kind("overdue", _("超期提醒"), _("承办单位联络员、主持人"), (notes.OVERDUE,)),
    Kind("review_due", _("回头看到期提醒"), _("承办单位联络员、主持人"), (notes.REVIEW_DUE,)),
    # moderators (the hearing's staff)
    Kind("returned", _("交办件被退回"), _("主持人"), (Action.RETURNED,)),
)

BY_KEY: dict[str, Kind] = {kind.key: kind for kind in KINDS}
KIND_OF_CODE: dict[str, Kind] = {code: kind for kind in KINDS for code in kind.codes}
# A code of no kind (none is written today): in the app only.
OTHER = Kind("other", _("其他提醒"), _("相关人员"), (), in_app=True, email=False)


@dataclass(frozen=True)
class Choice:
    in_app: bool
    email: bool


def kind_of(code: str) -> Kind:
    return KIND_OF_CODE.get(code, OTHER)


def choices_for(users: Iterable[AbstractBaseUser], code: str) -> dict[int, Choice]:
    """How each of the users wants a notice of `code`: their choice for its kind, else its default."""
    kind = kind_of(code)
    pks = [user.pk for user in users]
    chosen = {
        row.user_id: Choice(row.in_app, row.email)
        for row in Preference.objects.filter(user_id__in=pks, kind=kind.key).only("user_id", "in_app", "email")
    }
    default = Choice(kind.in_app, kind.email)
    return {pk: chosen.get(pk, default) for pk in pks}


def preferences_of(user: AbstractBaseUser) -> list[tuple[Kind, Choice]]:
    """Every kind with the person's choice (or its default), in KINDS order, for the settings page."""
    chosen = {row.kind: Choice(row.in_app, row.email) for row in Preference.objects.filter(user_id=user.pk)}
    return [(kind, chosen.get(kind.key, Choice(kind.in_app, kind.email))) for kind in KINDS]
