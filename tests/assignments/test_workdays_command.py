"""`manage.py workdays` (PROTOCOL.md "Commands") and the due dates that follow its overrides."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.models import WorkdayOverride
from assignments.workdays import add_working_days, is_workday, working_days_between

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("workdays", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def stored() -> list[tuple[date, str]]:
    return list(WorkdayOverride.objects.order_by("day").values_list("day", "kind"))


def test_holidays_and_workdays_are_stored_and_listed_one_a_line() -> None:
    run("--holiday", "2099-01-01", "2099-01-02", "--workday", "2099-01-03")
    assert run("--list", "2099") == "2099-01-01 holiday\n2099-01-02 holiday\n2099-01-03 workday\n"
    assert run("--list", "2098") == ""


def test_repeating_is_idempotent_and_a_new_kind_updates_the_day() -> None:
    run("--holiday", "2099-01-05")
    run("--holiday", "2099-01-05")
    assert stored() == [(date(2099, 1, 5), "holiday")]
    run("--workday", "2099-01-05")
    assert stored() == [(date(2099, 1, 5), "workday")]


@pytest.mark.parametrize(
    "args",
    [
        ("--holiday", "2099-01-05", "--workday", "2099-01-05"),  # both
        ("--holiday", "2099-01-05", "2099-02-30"),  # no such day
        ("--holiday", "2099-01-05", "--workday", "tomorrow"),
        ("--holiday", "2099-1-5x"),
        ("--list", "x"),
        (),
    ],
)
def test_a_bad_command_is_an_error_and_stores_nothing(args: tuple[str, ...]) -> None:
    run("--holiday", "2099-03-02")
    with pytest.raises(CommandError):
        run(*args)
    assert stored() == [(date(2099, 3, 2), "holiday")]


def test_a_holiday_pushes_a_due_date_and_a_make_up_workday_pulls_it() -> None:
    # 2099 is beyond the library: plain weekdays. Fri 2 Jan + 1 working day = Mon 5 Jan.
    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)
    run("--holiday", "2099-01-05")
    assert not is_workday(date(2099, 1, 5))
    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 6)
    run("--workday", "2099-01-03")  # the Saturday becomes a make-up working day
    assert is_workday(date(2099, 1, 3))
    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 3)
    assert working_days_between(date(2099, 1, 2), date(2099, 1, 6)) == 2  # Sat 3 and Tue 6


def test_an_override_wins_over_the_library() -> None:
    # 1 Oct 2026 is National Day in the library; 11 Oct 2026 an ordinary Sunday.
    run("--workday", "2026-10-01", "--holiday", "2026-10-12")
    assert is_workday(date(2026, 10, 1)) and not is_workday(date(2026, 10, 12))


def test_a_due_date_reads_the_overrides_once_not_once_a_day() -> None:
    run("--holiday", "2099-01-05")
    with CaptureQueriesContext(connection) as queries:
        add_working_days(date(2099, 1, 2), 60)
        working_days_between(date(2099, 1, 2), date(2099, 6, 1))
    assert len(queries) == 2
