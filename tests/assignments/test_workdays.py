"""Working days across the 2026 Spring Festival and National Day holidays and their 调休 workdays."""

from __future__ import annotations

from datetime import date

import pytest

from assignments.workdays import add_months, add_working_days, is_workday, working_days_between

# The staff's overrides (WorkdayOverride) are read from the database on every call.
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (date(2026, 2, 14), True),  # Saturday, 调休 make-up workday before the Spring Festival
        (date(2026, 2, 15), False),  # Spring Festival holiday 15–23 Feb
        (date(2026, 2, 18), False),  # a Wednesday inside the holiday
        (date(2026, 2, 23), False),
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, 调休 make-up workday after it
        (date(2026, 9, 20), True),  # Sunday, 调休 before National Day
        (date(2026, 9, 25), False),  # Mid-Autumn Festival (中秋)
        (date(2026, 10, 1), False),
        (date(2026, 10, 7), False),
        (date(2026, 10, 10), True),  # Saturday, 调休 after National Day
        (date(2026, 10, 11), False),  # an ordinary Sunday
    ],
)
def test_is_workday_knows_2026_holidays_and_make_up_days(day: date, workday: bool) -> None:
    assert is_workday(day) is workday


def test_spring_festival_2026_deadline_skips_the_holiday_and_counts_the_make_up_saturdays() -> None:
    # Given Fri 13 Feb: Sat 14 (调休) is day 1, then the holiday to 23 Feb, Tue 24 is day 2 …
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    # … 24, 25, 26, 27 are days 2–5 and Sat 28 (调休) is day 6.
    assert add_working_days(date(2026, 2, 13), 6) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 13), 7) == date(2026, 3, 2)


def test_ten_working_days_from_before_the_spring_festival() -> None:
    # Thu 12 Feb: 13, 14(调休), 24, 25, 26, 27, 28(调休), 2 Mar, 3, 4 → 10th is Wed 4 Mar.
    assert add_working_days(date(2026, 2, 12), 10) == date(2026, 3, 4)
    # Plain weekdays would have said Thu 26 Feb: the holiday moves it a week.
    assert working_days_between(date(2026, 2, 12), date(2026, 3, 4)) == 10


def test_national_day_2026_deadline_counts_the_sunday_before_and_the_saturday_after() -> None:
    # Fri 18 Sep: Sun 20 (调休) is day 1, 21–24 days 2–5, Fri 25 is Mid-Autumn (中秋), 28–30 days
    # 6–8, the holiday 1–7 Oct, Thu 8 day 9, Fri 9 day 10, Sat 10 (调休) day 11, Mon 12 day 12.
    assert add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)
    assert add_working_days(date(2026, 9, 18), 5) == date(2026, 9, 24)
    assert add_working_days(date(2026, 9, 18), 6) == date(2026, 9, 28)
    assert add_working_days(date(2026, 9, 18), 8) == date(2026, 9, 30)
    assert add_working_days(date(2026, 9, 18), 9) == date(2026, 10, 8)
    assert add_working_days(date(2026, 9, 18), 11) == date(2026, 10, 10)  # Saturday 调休
    assert add_working_days(date(2026, 9, 18), 12) == date(2026, 10, 12)


def test_working_days_between_is_signed_and_excludes_the_start() -> None:
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert working_days_between(date(2026, 10, 8), date(2026, 9, 30)) == -1
    assert working_days_between(date(2026, 10, 8), date(2026, 10, 8)) == 0


def test_a_year_without_published_holidays_falls_back_to_weekdays() -> None:
    # 2099 is beyond chinese_calendar's data: Monday to Friday.
    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Fri → Mon


def test_add_working_days_needs_at_least_one_day() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(date(2026, 3, 2), 0)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 8, 31), 1) == date(2026, 9, 30)
    assert add_months(date(2026, 11, 15), 6) == date(2027, 5, 15)
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
