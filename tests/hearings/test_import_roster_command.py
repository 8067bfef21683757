"""`manage.py import_roster PATH [--dry-run]` as PROTOCOL.md ("Commands") says: exit codes and output."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEntry
from core import limits
from hearings.models import Person
from tests.factories import make_department
from tests.hearings.people_helpers import make_person, state
from tests.hearings.roster_files import GOOD_ROWS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def _fgj() -> None:
    make_department(short_name="发改局")


def run(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command as `manage.py` ends it: a CommandError is its
    message on stderr and its return code (run_from_argv), a bad row exits by itself."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_roster", *args, stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        code = exc.returncode
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, data: bytes, name: str = "roster.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_a_valid_roster_is_imported_with_a_one_line_summary(tmp_path: Path) -> None:
    code, out, err = run(write(tmp_path, csv_bytes(GOOD_ROWS)))
    assert (code, err) == (0, "")
    assert out == "roster imported: 4 rows, 4 created, 0 updated, 0 unchanged\n"
    usernames = set(Person.objects.values_list("user__username", flat=True))
    assert usernames == {"deputy001", "liaison-fgj", "mod1", "staff1"}
    system = AuditEntry.objects.get(action="roster.import")
    assert system.actor_kind == "system"


def test_repeating_the_same_file_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, xlsx_bytes(GOOD_ROWS), "roster.xlsx")
    assert run(path)[0] == 0
    before = state()
    code, out, err = run(path)
    assert (code, out, err) == (0, "roster imported: 4 rows, 0 created, 0 updated, 4 unchanged\n", "")
    assert state() == before


def test_invalid_rows_are_listed_on_stderr_exit_1_and_nothing_is_stored(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        GOOD_ROWS[0],
        ["nobody", "", "deputy", "", "", "", "", ""],
        ["li", "李", "liaison", "", "", "", "", ""],
        ["deputy001", "重复", "deputy", "", "", "", "", ""],
        ["x", "某", "deputy", "", "", "", "bad@", ""],
    ]
    before = state()
    code, out, err = run(write(tmp_path, csv_bytes(rows)))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "row 3: name: 请填写姓名。",
        "row 4: department: 联络员须填写所属部门的简称。",
        "row 5: username: 用户名“deputy001”与第 2 行重复。",
        "row 6: email: 邮箱“bad@”格式不正确。",
    ]
    assert state() == before


def test_a_dry_run_stores_nothing(tmp_path: Path) -> None:
    make_person(username="mod1", name="王五", role="moderator")
    before = state()
    code, out, err = run(write(tmp_path, csv_bytes(GOOD_ROWS)), "--dry-run")
    assert (code, err) == (0, "")
    assert out == "dry run, nothing stored: 4 rows would create 3, update 0, leave 1 unchanged\n"
    assert state() == before


def test_a_dry_run_of_a_bad_roster_fails_the_same_way(tmp_path: Path) -> None:
    rows: list[list[object]] = [["d", "某", "boss", "", "", "", "", ""]]
    code, out, err = run(write(tmp_path, csv_bytes(rows)), "--dry-run")
    assert (code, out) == (1, "")
    assert err.startswith("row 2: role: ")
    assert len(err.splitlines()) == 1


def test_an_unreadable_path_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    code, out, err = run(str(tmp_path / "missing.csv"))
    assert (code, out) == (1, "")
    assert "cannot read" in err and "missing.csv" in err
    code, out, err = run(str(tmp_path))  # a directory
    assert code == 1 and "cannot read" in err
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"username,name\n", "roster.csv", "role"),
        (b"hello", "roster.txt", "CSV"),
        (b"PK not really", "roster.xlsx", "XLSX"),
    ],
)
def test_a_file_that_is_no_roster_exits_1(tmp_path: Path, data: bytes, name: str, says: str) -> None:
    code, out, err = run(write(tmp_path, data, name))
    assert (code, out) == (1, "")
    assert says in err and name in err


def test_a_file_too_large_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = csv_bytes(GOOD_ROWS)
    monkeypatch.setattr(limits, "ROSTER_BYTES", len(data) - 1)
    code, out, err = run(write(tmp_path, data))
    assert (code, out) == (1, "")
    assert "larger than" in err
    assert not User.objects.exists()


def test_the_real_command_line_exits_1_on_an_unreadable_path(tmp_path: Path) -> None:
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    done = subprocess.run(
        [sys.executable, str(manage), "import_roster", str(tmp_path / "missing.xlsx")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "cannot read" in done.stderr and "missing.xlsx" in done.stderr
