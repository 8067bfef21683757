"""Working days (工作日) in mainland China: weekends, statutory holidays and 调休 make-up workdays.

chinese_calendar knows the State Council's holiday notices year by year. For a year it does
not know yet (the notice comes out each November) we fall back to Monday to Friday. Staff may
override single days (`manage.py workdays`, WorkdayOverride): an override wins over both.

Overrides are read once per call (one small query over the days the call can reach), never
once per day: a due date counts day by day, and a process never caches them across calls, so
a change made by the command in another process counts at once.

Whether a year's due dates can be trusted (`year_source`): the library knows its holidays, or
the staff entered some days for it; a year with neither counts Monday to Friday only, and the
assigning form and the department's inbox say so (`years_without_data`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar  # type: ignore[import-untyped]

from assignments.models import WorkdayOverride

Overrides = Mapping[date, bool]  # day → is a working day


class Source(StrEnum):
    """Where a year's holidays come from."""

    LIBRARY = "library"  # chinese_calendar knows the year (staff entries may adjust it)
    STAFF = "staff"  # only the staff's entries
    NONE = "none"  # nothing: Monday to Friday


def library_knows(year: int) -> bool:
    """chinese_calendar has the State Council's notice for `year` (it refuses days past its last)."""
    try:
        chinese_calendar.is_workday(date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


def year_sources(years: Iterable[int]) -> dict[int, Source]:
    """Each year's source, in one query for the staff's entries."""
    wanted = sorted(set(years))
    if not wanted:
        return {}
    staff = set(
        WorkdayOverride.objects.filter(day__year__gte=wanted[0], day__year__lte=wanted[-1])
        .values_list("day__year", flat=True)
        .distinct()
    )
    return {
        year: Source.LIBRARY if library_knows(year) else Source.STAFF if year in staff else Source.NONE
        for year in wanted
    }


def year_source(year: int) -> Source:
    return year_sources([year])[year]


def years_reachable(start: date, most_days: int) -> list[int]:
    """The years a due date given on `start` with up to `most_days` working days can fall in."""
    return list(range(start.year, add_working_days(start, most_days).year + 1))


def years_without_data(days: Iterable[date]) -> list[int]:
    """The years of `days` with no holiday data at all (due dates there count Monday to Friday)."""
    return [year for year, source in year_sources(day.year for day in days).items() if source == Source.NONE]


def years_without_data_in(years: Iterable[int]) -> list[int]:
    return [year for year, source in year_sources(years).items() if source == Source.NONE]


def _library_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def overrides_between(first: date, last: date | None = None) -> dict[date, bool]:
    """The staff's overrides from `first` (to `last`, inclusive, when given): day → workday."""
    qs = WorkdayOverride.objects.filter(day__gte=first)
    if last is not None:
        qs = qs.filter(day__lte=last)
    return {day: kind == WorkdayOverride.Kind.WORKDAY for day, kind in qs.values_list("day", "kind")}


def is_workday(day: date, overrides: Overrides | None = None) -> bool:
    """A working day: the staff's override if there is one, else the calendar library's."""
    if overrides is None:
        overrides = overrides_between(day, day)
    found = overrides.get(day)
    return _library_workday(day) if found is None else found


def add_working_days(start: date, days: int, overrides: Overrides | None = None) -> date:
    """The `days`-th working day after `start` (start itself never counts): the due date of a
    task given on `start` with `days` working days to do it. `overrides`: the staff's days
    already read (at least from the day after `start`), when counting many at once."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if overrides is None:
        overrides = overrides_between(start + timedelta(days=1))
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_workday(day, overrides):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when end is earlier)."""
    if end < start:
        return -working_days_between(end, start)
    overrides = overrides_between(start + timedelta(days=1), end)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=n), overrides))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Aug + 1 → 30 Sep)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
