"""The agenda: which item is current (going back to an earlier one too), and editing it (add,
edit, move, remove), each change published whole as `agenda.updated`."""

from __future__ import annotations

from enum import Enum

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Case, F, Max, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.errors import FIELD_TITLE, BadRequest, InvalidState, NotFound, clean_or_refuse
from hearings import guards, selectors
from hearings.models import AgendaItem, Department, Hearing, Question
from live.publish import publish
from live.schema import AgendaCurrentData, AgendaUpdatedData, Event


@transaction.atomic
def agenda_start(*, hearing_id: int, item_id: int, by: AbstractBaseUser | None) -> AgendaItem:
    """Make `item` the one current item of a live hearing; the current one becomes done.

    Any item may be started, a done one too (going back)."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    item = AgendaItem.objects.select_for_update().filter(pk=item_id, hearing=hearing).first()
    if item is None:
        raise NotFound(_("本场问政会没有这项议程。"))
    guards.require_live(hearing)
    if item.status == AgendaItem.Status.CURRENT:
        raise InvalidState(_("这项议程已在进行中。"))
    now = timezone.now()
    previous = AgendaItem.objects.select_for_update().filter(hearing=hearing, status=AgendaItem.Status.CURRENT).first()
    if previous is not None:
        previous.status = AgendaItem.Status.DONE
        previous.ended_at = now
        previous.save(update_fields=["status", "ended_at"])
    item.status = AgendaItem.Status.CURRENT
    item.started_at = now
    item.ended_at = None
    item.save(update_fields=["status", "started_at", "ended_at"])
    audit.record(
        action="agenda.start",
        actor=by,
        subject=item,
        payload={"hearing": hearing.pk, "previous": previous and previous.pk},
    )
    publish(
        hearing,
        public=Event(
            type="agenda.current",
            data=AgendaCurrentData(
                item=item.pk, previous=previous.pk if previous else None, agenda=selectors.agenda_out(hearing.pk)
            ),
        ),
    )
    return item


# ------------------------------------------------------------------------------- editing the agenda
# Before and during a hearing (not once it has ended), by its moderators and the office's
# staff. Positions stay 1..n without gaps. The (hearing, position) constraint is checked row by
# row (SQLite, and PostgreSQL for a constraint that is not deferrable), so a new order is
# written in two steps: every item of the hearing moves past the highest position first, then
# each takes its place; no step ever puts two items on one position.


class _Unchanged(Enum):
    UNCHANGED = "unchanged"


# `agenda_edit(department_id=UNCHANGED)`: keep the department (None takes it away).
UNCHANGED = _Unchanged.UNCHANGED


def _editable(hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_agenda_editor(hearing, by)
    if hearing.status == Hearing.Status.ENDED:
        raise InvalidState(_("问政会已结束，议程不能再修改。"))
    return hearing


def _item_for_update(hearing: Hearing, item_id: int) -> AgendaItem:
    item = AgendaItem.objects.select_for_update().filter(pk=item_id, hearing=hearing).first()
    if item is None:
        raise NotFound(_("本场问政会没有这项议程。"))
    return item


def _title(title: str) -> str:
    return clean_or_refuse(title, what=FIELD_TITLE, max_length=limits.AGENDA_TITLE, multiline=False)


def _minutes(minutes: int) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= limits.AGENDA_MINUTES:
        raise BadRequest(_("计划时长应为 1 到 %(limit)s 分钟。"), limit=limits.AGENDA_MINUTES)
    return minutes


def _kind(kind: str) -> str:
    if kind not in AgendaItem.Kind.values:
        raise BadRequest(_("没有这种议程类型。"))
    return kind


def _department(department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("没有这个部门。"))
    return department


def _ordered_ids(hearing: Hearing) -> list[int]:
    """The hearing's items in agenda order, locked (in that order) for the change."""
    return list(
        AgendaItem.objects.select_for_update()
        .filter(hearing=hearing)
        .order_by("position", "id")
        .values_list("pk", flat=True)
    )


def _place(hearing: Hearing, order: list[int]) -> None:
    """Give the items of `order` the positions 1..n in that order (two steps, see above)."""
    items = AgendaItem.objects.filter(hearing=hearing)
    current = dict(items.values_list("pk", "position"))
    if all(current.get(pk) == position for position, pk in enumerate(order, start=1)):
        return
    past = max(current.values(), default=0) + 1
    items.update(position=F("position") + past)
    items.update(position=Case(*(When(pk=pk, then=Value(n)) for n, pk in enumerate(order, start=1))))


def _publish_agenda(hearing: Hearing) -> None:
    publish(
        hearing, public=Event(type="agenda.updated", data=AgendaUpdatedData(agenda=selectors.agenda_out(hearing.pk)))
    )


def _payload(item: AgendaItem) -> dict[str, object]:
    return {
        "hearing": item.hearing_id,
        "title": item.title,
        "kind": item.kind,
        "department": item.department_id,
        "minutes": item.planned_minutes,
        "position": item.position,
    }


@transaction.atomic
def agenda_add(
    *,
    hearing_id: int,
    by: AbstractBaseUser | None,
    title: str,
    kind: str | None = None,
    department_id: int | None = None,
    minutes: int | None = None,
    after_id: int | None = None,
) -> AgendaItem:
    """Add an item to a draft or live hearing's agenda: after the item `after_id`, else last.

    The title is one line of 1–AGENDA_TITLE characters; minutes 1–AGENDA_MINUTES (the model's
    default when not given); the kind one of AgendaItem.Kind (questioning when not given)."""
    cleaned = _title(title)
    kind = _kind(kind) if kind is not None else AgendaItem.Kind.QUESTIONING
    planned = _minutes(minutes) if minutes is not None else None
    hearing = _editable(hearing_id, by)
    department = _department(department_id)
    order = _ordered_ids(hearing)
    if len(order) >= limits.AGENDA_ITEMS:
        raise InvalidState(_("议程最多 %(limit)s 项。"), limit=limits.AGENDA_ITEMS)
    at = len(order)
    if after_id is not None:
        if after_id not in order:
            raise NotFound(_("本场问政会没有这项议程。"))
        at = order.index(after_id) + 1
    fields: dict[str, object] = {"planned_minutes": planned} if planned is not None else {}
    # Last for now (the highest position plus one is always free), then in its place.
    highest = AgendaItem.objects.filter(hearing=hearing).aggregate(n=Max("position"))["n"] or 0
    item = AgendaItem.objects.create(
        hearing=hearing, position=highest + 1, title=cleaned, kind=kind, department=department, **fields
    )
    order.insert(at, item.pk)
    _place(hearing, order)
    item.refresh_from_db(fields=["position"])
    audit.record(action="agenda.add", actor=by, subject=item, payload=_payload(item))
    _publish_agenda(hearing)
    return item


@transaction.atomic
def agenda_edit(
    *,
    hearing_id: int,
    item_id: int,
    by: AbstractBaseUser | None,
    title: str | None = None,
    kind: str | None = None,
    department_id: int | _Unchanged | None = UNCHANGED,
    minutes: int | None = None,
) -> AgendaItem:
    """Change an item's title, kind, department or planned minutes (None / UNCHANGED: keep it);
    a current or done item too. A change to nothing new writes and publishes nothing."""
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = _title(title)
    if kind is not None:
        changes["kind"] = _kind(kind)
    if minutes is not None:
        changes["planned_minutes"] = _minutes(minutes)
    hearing = _editable(hearing_id, by)
    item = _item_for_update(hearing, item_id)
    if department_id is not UNCHANGED:
        changes["department_id"] = department.pk if (department := _department(department_id)) else None
    changed = {name: value for name, value in changes.items() if getattr(item, name) != value}
    if not changed:
        return item
    before = {name: getattr(item, name) for name in changed}
    for name, value in changed.items():
        setattr(item, name, value)
    item.save(update_fields=list(changed))
    audit.record(
        action="agenda.edit",
        actor=by,
        subject=item,
        payload={"hearing": hearing.pk, "before": before, "after": changed},
    )
    _publish_agenda(hearing)
    return item


@transaction.atomic
def agenda_move(*, hearing_id: int, item_id: int, by: AbstractBaseUser | None, position: int) -> AgendaItem:
    """Move an item to `position` (1-based, 1..n); the items between shift by one. Moving an
    item to where it is writes and publishes nothing."""
    hearing = _editable(hearing_id, by)
    item = _item_for_update(hearing, item_id)
    order = _ordered_ids(hearing)
    if isinstance(position, bool) or not isinstance(position, int) or not 1 <= position <= len(order):
        raise BadRequest(_("位置应为 1 到 %(count)s 之间的数。"), count=len(order))
    was = order.index(item.pk) + 1
    if was == position:
        return item
    order.remove(item.pk)
    order.insert(position - 1, item.pk)
    _place(hearing, order)
    item.refresh_from_db(fields=["position"])
    audit.record(
        action="agenda.move",
        actor=by,
        subject=item,
        payload={"hearing": hearing.pk, "from": was, "to": position},
    )
    _publish_agenda(hearing)
    return item


@transaction.atomic
def agenda_remove(*, hearing_id: int, item_id: int, by: AbstractBaseUser | None) -> AgendaItem:
    """Remove an item that was never started and that no question or poll belongs to (they
    would lose their item); the items after it move up. Returns the removed item (no pk)."""
    hearing = _editable(hearing_id, by)
    item = _item_for_update(hearing, item_id)
    if item.status != AgendaItem.Status.PENDING or item.started_at is not None:
        raise InvalidState(_("这项议程已经开始过，不能删除。"))
    if Question.objects.filter(item=item).exists():
        raise InvalidState(_("这项议程下已有问题，不能删除；可以修改它的标题或顺序。"))
    # A poll (voting, a layer above) names its item by this reverse relation.
    if AgendaItem.objects.filter(pk=item.pk, polls__isnull=False).exists():
        raise InvalidState(_("这项议程下已有测评，不能删除；可以修改它的标题或顺序。"))
    order = _ordered_ids(hearing)
    audit.record(action="agenda.remove", actor=by, subject=item, payload=_payload(item))
    item.delete()
    order.remove(item_id)
    _place(hearing, order)
    _publish_agenda(hearing)
    return item
