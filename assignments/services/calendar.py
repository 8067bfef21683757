"""Holidays and make-up working days (调休上班) the staff set over the calendar library's
(`manage.py workdays`, PROTOCOL.md "Commands"); assignments/workdays.py reads them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils.translation import gettext_lazy as _

import audit
from assignments.models import WorkdayOverride
from core.errors import BadRequest


@dataclass(frozen=True)
class OverrideReport:
    added: list[date]
    changed: list[date]  # an existing day whose kind changed
    unchanged: list[date]  # already so: repeating is harmless


def _days(values: Iterable[str | date]) -> list[date]:
    days = []
    for value in values:
        if isinstance(value, date):
            days.append(value)
            continue
        text = str(value).strip()
        try:
            # Exactly YYYY-MM-DD: date.fromisoformat also takes 20270205 and 2027-W05-5.
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
                raise ValueError(text)
            days.append(date.fromisoformat(text))
        except ValueError:
            raise BadRequest(_("日期无效：%(value)s（格式 YYYY-MM-DD）。"), value=str(value)[:20]) from None
    return days


@transaction.atomic
def workdays_override(*, holidays: Iterable[str | date] = (), workdays: Iterable[str | date] = ()) -> OverrideReport:
    """Store each day as a holiday or a working day, all or none: a bad date, or a day given as
    both, refuses the lot. A day already stored with the other kind takes the new one."""
    holiday_days, workday_days = _days(holidays), _days(workdays)
    both = sorted(set(holiday_days) & set(workday_days))
    if both:
        raise BadRequest(_("同一天不能既是放假又是调休上班：%(day)s。"), day=both[0].isoformat())
    wanted = {day: WorkdayOverride.Kind.HOLIDAY for day in holiday_days}
    wanted.update({day: WorkdayOverride.Kind.WORKDAY for day in workday_days})
    existing = {row.day: row for row in WorkdayOverride.objects.select_for_update().filter(day__in=wanted)}
    added, changed, unchanged = [], [], []
    for day in sorted(wanted):
        kind = wanted[day]
        row = existing.get(day)
        if row is None:
            WorkdayOverride.objects.create(day=day, kind=kind)
            added.append(day)
        elif row.kind != kind:
            row.kind = kind
            row.save(update_fields=["kind"])
            changed.append(day)
        else:
            unchanged.append(day)
    if added or changed:
        audit.record(
            action="workdays.override",
            actor=None,
            subject="workdays:calendar",
            payload={"days": {day.isoformat(): str(wanted[day]) for day in added + changed}},
        )
    return OverrideReport(added=added, changed=changed, unchanged=unchanged)


def workdays_listed(year: int) -> list[WorkdayOverride]:
    return list(WorkdayOverride.objects.filter(day__year=year).order_by("day"))
