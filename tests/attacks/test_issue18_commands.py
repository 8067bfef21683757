"""Issue 18 attacks on its commands (PROTOCOL.md "Commands"): `workdays` takes exactly
YYYY-MM-DD, keeps every day given however the options are spelt, and an error stores nothing;
`--list YEAR` prints exactly `YYYY-MM-DD holiday|workday` a line; `db_worker --batch` really runs
what is queued and exits."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from assignments.models import WorkdayOverride
from outbound.mail import send_email
from tests.integration.servers import ROOT, server_env


def run(*args: str) -> str:
    out = StringIO()
    call_command("workdays", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def stored() -> list[tuple[date, str]]:
    return list(WorkdayOverride.objects.order_by("day").values_list("day", "kind"))


@pytest.mark.django_db
def test_an_option_given_twice_keeps_every_day() -> None:
    run("--holiday", "2099-01-05", "--workday", "2099-01-10", "--holiday", "2099-01-06", "--workday", "2099-01-17")
    assert stored() == [
        (date(2099, 1, 5), "holiday"),
        (date(2099, 1, 6), "holiday"),
        (date(2099, 1, 10), "workday"),
        (date(2099, 1, 17), "workday"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "day", ["20990105", "2099-W02-1", "2099-005", "2099-01-05T00:00", "2099-1-5", "２０９９-01-05"]
)
def test_only_yyyy_mm_dd_is_a_day(day: str) -> None:
    with pytest.raises(CommandError):
        run("--holiday", "2099-01-02", day)
    assert stored() == []


@pytest.mark.django_db
@pytest.mark.parametrize("year", ["0", "-1", "10000"])
def test_a_bad_list_year_stores_nothing_given_with_it(year: str) -> None:
    with pytest.raises(CommandError):
        run("--holiday", "2099-01-05", "--list", year)
    assert stored() == []


@pytest.mark.django_db
def test_the_list_is_exactly_one_day_and_kind_a_line() -> None:
    run("--workday", "2099-12-31", "2099-01-01", "--holiday", "2099-06-01")
    run("--holiday", "2100-01-01", "--workday", "2098-12-31")
    listed = run("--list", "2099")
    assert listed == "2099-01-01 workday\n2099-06-01 holiday\n2099-12-31 workday\n"


@pytest.mark.django_db(transaction=True)
def test_db_worker_batch_runs_what_is_queued_and_exits() -> None:
    result = send_email.enqueue("主题", "正文", ["someone@example.com"])
    env = server_env() | {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    done = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-schedule"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
