"""Holidays and make-up working days (调休上班) the staff set over the calendar library's: the
office's holidays page (/manage/holidays/) and `manage.py workdays` (PROTOCOL.md "Commands")
both change them here; assignments/workdays.py reads them.

All or nothing: a bad date, an unknown kind, a day given twice with two kinds, or (on the page)
a day already entered with the other kind refuses the lot and changes nothing. Every change is
audited (`workdays.override`, `workdays.remove`). Due dates already given do not move by
themselves: services.assignments_due_recompute does that, when staff ask."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from assignments.models import WorkdayOverride
from assignments.workdays import Source, year_sources
from core.errors import BadRequest, InvalidState, NotFound
from hearings import guards

Kind = WorkdayOverride.Kind
# One entry of the page at most this many days (a range, or the lines pasted): a year's notice
# is some 30 days; more is a slip of the keyboard (2027-02-05..2072-02-12).
MAX_DAYS = 120
# Years the page shows besides those with entries: last year to the year after next.
YEARS_AROUND = (-1, 2)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A pasted line's kind: the command's words, or the notice's.
_KIND_WORDS = {"holiday": Kind.HOLIDAY, "放假": Kind.HOLIDAY, "workday": Kind.WORKDAY, "调休上班": Kind.WORKDAY}


@dataclass(frozen=True)
class OverrideReport:
    added: list[date]
    changed: list[date]  # an existing day whose kind changed
    unchanged: list[date]  # already so: repeating is harmless


def parse_day(value: str | date) -> date:
    """Exactly YYYY-MM-DD (date.fromisoformat also takes 20270205 and 2027-W05-5)."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if not _DAY.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(_("日期无效：%(value)s（格式 YYYY-MM-DD）。"), value=str(value)[:20]) from None


def parse_kind(value: str) -> str:
    kind = _KIND_WORDS.get(str(value).strip().lower())
    if kind is None:
        raise BadRequest(_("类别无效：%(value)s（holiday 放假 或 workday 调休上班）。"), value=str(value)[:20])
    return kind


def days_between(first: str | date, last: str | date | None) -> list[date]:
    """A single day, or every day from `first` to `last` inclusive."""
    start = parse_day(first)
    end = parse_day(last) if last not in (None, "") else start
    assert end is not None
    if end < start:
        raise BadRequest(_("结束日期早于开始日期。"))
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(_("一次最多录入 %(limit)s 天。"), limit=MAX_DAYS)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def parse_lines(text: str) -> dict[str, list[date]]:
    """Lines `YYYY-MM-DD holiday|workday` (blank lines skipped) → {"holidays": …, "workdays": …}.
    A bad line is refused with its number."""
    wanted: dict[str, list[date]] = {Kind.HOLIDAY: [], Kind.WORKDAY: []}
    lines = [(n, line.split()) for n, line in enumerate(str(text).splitlines(), start=1) if line.strip()]
    if not lines:
        raise BadRequest(_("请每行填写一天：YYYY-MM-DD holiday 或 YYYY-MM-DD workday。"))
    if len(lines) > MAX_DAYS:
        raise BadRequest(_("一次最多录入 %(limit)s 天。"), limit=MAX_DAYS)
    for number, words in lines:
        if len(words) != 2:
            raise BadRequest(_("第 %(line)s 行应为「YYYY-MM-DD holiday|workday」。"), line=number)
        try:
            wanted[parse_kind(words[1])].append(parse_day(words[0]))
        except BadRequest as exc:
            raise BadRequest(_("第 %(line)s 行：%(reason)s"), line=number, reason=exc.message) from None
    return {"holidays": wanted[Kind.HOLIDAY], "workdays": wanted[Kind.WORKDAY]}


@transaction.atomic
def workdays_override(
    *,
    holidays: Iterable[str | date] = (),
    workdays: Iterable[str | date] = (),
    by: AbstractBaseUser | None = None,
    replace: bool = True,
) -> OverrideReport:
    """Store each day as a holiday or a working day, all or none: a bad date, or a day given as
    both, refuses the lot. A day already stored with the other kind takes the new one when
    `replace` (the command); otherwise (the page) it refuses the lot: remove the day first."""
    guards.require_office_staff(by)
    holiday_days, workday_days = [parse_day(d) for d in holidays], [parse_day(d) for d in workdays]
    both = sorted(set(holiday_days) & set(workday_days))
    if both:
        raise BadRequest(_("同一天不能既是放假又是调休上班：%(day)s。"), day=both[0].isoformat())
    wanted = {day: Kind.HOLIDAY for day in holiday_days}
    wanted.update({day: Kind.WORKDAY for day in workday_days})
    if not wanted:
        raise BadRequest(_("请填写要录入的日期。"))
    existing = {row.day: row for row in WorkdayOverride.objects.select_for_update().filter(day__in=wanted)}
    if not replace:
        clash = sorted(day for day, row in existing.items() if row.kind != wanted[day])
        if clash:
            raise InvalidState(
                _("%(day)s 已录入为「%(kind)s」，请先删除再录入。"),
                day=clash[0].isoformat(),
                kind=Kind(existing[clash[0]].kind).label,
            )
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
            actor=by,
            subject="workdays:calendar",
            payload={"days": {day.isoformat(): str(wanted[day]) for day in added + changed}},
        )
    return OverrideReport(added=added, changed=changed, unchanged=unchanged)


@transaction.atomic
def workdays_remove(*, day: str | date, by: AbstractBaseUser | None) -> WorkdayOverride:
    """Remove the staff's entry for one day: the library's answer (or Monday to Friday) counts again."""
    guards.require_office_staff(by)
    found = WorkdayOverride.objects.select_for_update().filter(day=parse_day(day)).first()
    if found is None:
        raise NotFound(_("这一天没有录入。"))
    found.delete()
    audit.record(
        action="workdays.remove",
        actor=by,
        subject="workdays:calendar",
        payload={"days": {found.day.isoformat(): str(found.kind)}},
    )
    return found


def workdays_listed(year: int) -> list[WorkdayOverride]:
    return list(WorkdayOverride.objects.filter(day__year=year).order_by("day"))


@dataclass(frozen=True)
class YearOverview:
    year: int
    source: Source
    entries: list[WorkdayOverride]


def workdays_years(today: date | None = None) -> list[YearOverview]:
    """The page's years: last year to the year after next, and every year with entries, each
    with where its holidays come from and the staff's entries."""
    this_year = (today or timezone.localdate()).year
    rows = list(WorkdayOverride.objects.order_by("day"))
    years = {row.day.year for row in rows} | set(range(this_year + YEARS_AROUND[0], this_year + YEARS_AROUND[1] + 1))
    sources = year_sources(years)
    return [YearOverview(year, sources[year], [row for row in rows if row.day.year == year]) for year in sorted(years)]
