"""The roster (名单): people imported from a CSV or XLSX file, all or nothing.

A roster is a header row and one person a row, in a CSV file (UTF-8, or GBK/GB18030 when it
is not UTF-8: Excel's plain "CSV" on a Chinese Windows) or the first sheet of an XLSX file.
Columns (English or Chinese header names): username 用户名, name 姓名, role 身份 (deputy 代表 |
moderator 主持人 | liaison 联络员 | staff 会务工作人员) and department 部门 (a department's short
name; a liaison's own, empty for everyone else) are required; delegation 代表团, phone 电话,
email 邮箱 and seat 座位 are optional (a column left out leaves that field as it is). Other
columns are ignored.

Every row is checked before anything is stored, and every problem is reported as (row, column,
reason) with the header as row 1; one problem and nothing is stored. Otherwise each row goes
through people.person_save in one transaction: a person is matched by username, created or
updated, and an unchanged one is left alone (no write, no audit entry), so importing the same
file twice changes nothing. A row naming an administrator account (a superuser, Django-admin
staff), the importing staff member's own row with another role, or a username differing only in
case from another (in the file or stored) is a problem of its row (people.people_refusals).
A deactivated person stays deactivated (the roster does not log
anyone in again). An import that changed someone writes one `roster.import` audit entry
with its counts, besides each person's own entry.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook  # type: ignore[import-untyped]

import audit
from core import limits
from core.errors import BadRequest, DomainError
from hearings import guards
from hearings.labels import list_separator
from hearings.models import Department, Person
from hearings.services.people import (
    FieldErrors,
    Outcome,
    PersonData,
    people_plan,
    people_refusals,
    person_clean,
    person_save,
)

# The columns in their canonical order (the template's), and every header name each goes by.
COLUMNS = ("username", "name", "role", "department", "delegation", "phone", "email", "seat")
REQUIRED = ("username", "name", "role", "department")
HEADER_NAMES: dict[str, str] = {
    **{column: column for column in COLUMNS},
    "用户名": "username",
    "姓名": "name",
    "身份": "role",
    "部门": "department",
    "代表团": "delegation",
    "电话": "phone",
    "邮箱": "email",
    "座位": "seat",
}
ROLE_NAMES: dict[str, str] = {
    **{role: role for role in Person.Role.values},
    "代表": Person.Role.DEPUTY,
    "主持人": Person.Role.MODERATOR,
    "联络员": Person.Role.LIAISON,
    "会务工作人员": Person.Role.STAFF,
}
FORMATS = ("csv", "xlsx")
# Rows read at most, empty ones included: a sheet of a million blank rows is refused early.
_MAX_READ_ROWS = 10 * limits.ROSTER_ROWS


@dataclass(frozen=True)
class Problem:
    """One problem of one row: `column` as the file's header names it."""

    row: int
    column: str
    error: DomainError

    @property
    def reason(self) -> str:
        return self.error.message


@dataclass
class Row:
    number: int  # the header is row 1
    values: dict[str, str]  # column → cell text, as in the file
    problems: list[Problem] = field(default_factory=list)
    outcome: Outcome | None = None  # what importing it does (a valid roster only)


@dataclass
class Roster:
    filename: str
    headers: dict[str, str]  # column → the header as the file writes it
    rows: list[Row]

    @property
    def problems(self) -> list[Problem]:
        return [problem for row in self.rows for problem in row.problems]

    @property
    def valid(self) -> bool:
        return not self.problems

    def count(self, outcome: Outcome) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


@dataclass(frozen=True)
class Summary:
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool


class RosterInvalid(BadRequest):
    """Rows with problems: `roster.problems` names each; nothing was stored."""

    def __init__(self, roster: Roster) -> None:
        super().__init__(_("名单有 %(count)s 处问题，未导入任何人员。"), count=len(roster.problems))
        self.roster = roster


# ------------------------------------------------------------------------------- reading


def roster_format(filename: str) -> str:
    """ "csv" or "xlsx" by the file's name, else BadRequest."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise BadRequest(_("名单须为 CSV（UTF-8）或 XLSX 文件。"))
    return suffix


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into Excel: 13800000000.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _csv_text(data: bytes) -> str:
    """A CSV file's text: UTF-8 (with or without a byte order mark) when it reads as UTF-8, else
    GB18030 (GBK's superset: what Excel on a Chinese Windows saves as plain "CSV"); a file that
    is neither (UTF-16 "Unicode text", …) is refused. The preview shows the names as read."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise BadRequest(
            _("CSV 文件须为 UTF-8 或 GBK 编码（在 Excel 中另存为“CSV UTF-8”，或上传 XLSX 文件）。")
        ) from None


def _csv_records(data: bytes) -> Iterator[list[str]]:
    text = _csv_text(data)
    if "\x00" in text:
        raise BadRequest(_("名单须为 CSV（UTF-8）或 XLSX 文件。"))
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        raise BadRequest(_("CSV 文件格式有误，无法读取。")) from None


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > limits.ROSTER_UNPACKED_BYTES:
            raise BadRequest(_("XLSX 文件解压后过大。"))
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise BadRequest(_("不是有效的 XLSX 文件。")) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(value) for value in values]
    finally:
        book.close()


def _records(data: bytes, kind: str) -> Iterator[list[str]]:
    return _csv_records(data) if kind == "csv" else _xlsx_records(data)


def _headers(record: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """column → index and column → header text, or BadRequest naming what is missing."""
    index: dict[str, int] = {}
    text: dict[str, str] = {}
    for i, cell in enumerate(record):
        # Spaces around, and a byte order mark a UTF-8 CSV pasted into Excel leaves in its cell.
        header = cell.replace("\ufeff", "").strip()
        column = HEADER_NAMES.get(header.lower()) or HEADER_NAMES.get(header)
        if column is None:
            continue
        if column in index:
            raise BadRequest(_("表头中“%(header)s”一列出现了两次。"), header=header)
        index[column] = i
        text[column] = header
    missing = [column for column in REQUIRED if column not in index]
    if missing:
        raise BadRequest(
            _("表头缺少必需的列：%(columns)s（表头须有 username、name、role、department）。"),
            columns=_Listed(missing),
        )
    return index, text


class _Listed:
    """Names in running text, joined when read (in the reader's language)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __str__(self) -> str:
        return list_separator().join(self.names)


def roster_read(data: bytes, *, filename: str) -> Roster:
    """The file's rows as text, not yet checked; a file that cannot be a roster is BadRequest."""
    kind = roster_format(filename)
    if len(data) > limits.ROSTER_BYTES:
        raise BadRequest(_("名单文件不能超过 %(limit)s 字节。"), limit=limits.ROSTER_BYTES)
    records = _records(data, kind)
    header = next(records, None)
    if header is None or not any(cell.strip() for cell in header):
        raise BadRequest(_("名单没有表头：第 1 行须为表头（username、name、role、department …）。"))
    index, text = _headers(header)
    rows: list[Row] = []
    for number, record in enumerate(records, start=2):
        if number > _MAX_READ_ROWS or (len(rows) >= limits.ROSTER_ROWS and any(c.strip() for c in record)):
            raise BadRequest(_("名单最多 %(limit)s 行。"), limit=limits.ROSTER_ROWS)
        if not any(cell.strip() for cell in record):
            continue
        values = {column: (record[i] if i < len(record) else "") for column, i in index.items()}
        rows.append(Row(number=number, values=values))
    return Roster(filename=filename, headers=text, rows=rows)


# ------------------------------------------------------------------------------- checking


def _departments() -> dict[str, Department]:
    return {d.short_name: d for d in Department.objects.all()}


def _arguments(row: Row, departments: Mapping[str, Department]) -> dict[str, Any]:
    values = row.values
    role = values["role"].strip()
    return {
        "username": values["username"],
        "name": values["name"],
        "role": ROLE_NAMES.get(role.lower(), ROLE_NAMES.get(role, role)),
        "department": values["department"],
        # A column the file leaves out leaves the field as it is.
        **{column: values.get(column) for column in ("delegation", "phone", "email", "seat")},
        "departments": departments,
    }


def roster_check(roster: Roster, *, by: AbstractBaseUser | None = None) -> Roster:
    """Every row's problems (and, when there are none, what importing each row does); `by`
    imports it (what they may not change is a problem of its row: people.people_refusals)."""
    departments = _departments()
    first_row: dict[str, int] = {}
    valid: list[tuple[Row, PersonData]] = []
    for row in roster.rows:
        errors: dict[str, DomainError] = {}
        data = None
        try:
            data = person_clean(**_arguments(row, departments))
        except FieldErrors as exc:
            errors.update(exc.errors)
        username = data.username if data is not None else row.values["username"].strip()
        if username and "username" not in errors:
            # Two rows for one person, or for two usernames differing only in case.
            earlier = first_row.setdefault(username.lower(), row.number)
            if earlier != row.number:
                errors["username"] = BadRequest(
                    _("用户名“%(username)s”与第 %(row)s 行重复。"), username=username, row=earlier
                )
        row.problems = [
            Problem(row.number, roster.headers[column], errors[column]) for column in COLUMNS if column in errors
        ]
        if data is not None and not row.problems:
            valid.append((row, data))
    for (row, _data), refused in zip(valid, people_refusals([data for _row, data in valid], by), strict=True):
        row.problems = [
            Problem(row.number, roster.headers[column], refused[column]) for column in COLUMNS if column in refused
        ]
    if roster.valid:
        for (row, _data), outcome in zip(valid, people_plan([data for _row, data in valid]), strict=True):
            row.outcome = outcome
    return roster


def roster_validate(data: bytes, *, filename: str, by: AbstractBaseUser | None = None) -> Roster:
    """Read and check a roster for `by` to import: a file that is no roster raises BadRequest;
    a roster with bad rows comes back with `valid` False and every problem named."""
    return roster_check(roster_read(data, filename=filename), by=by)


# ------------------------------------------------------------------------------- importing


@transaction.atomic
def roster_import(*, data: bytes, filename: str, by: AbstractBaseUser | None, dry_run: bool = False) -> Summary:
    """Import a roster file, all or nothing (the module docstring says how). A roster with any
    bad row raises RosterInvalid and stores nothing; `dry_run` checks and stores nothing."""
    guards.require_office_staff(by)
    roster = roster_validate(data, filename=filename, by=by)
    if not roster.valid:
        raise RosterInvalid(roster)
    if dry_run:
        return Summary(
            rows=len(roster.rows),
            created=roster.count("created"),
            updated=roster.count("updated"),
            unchanged=roster.count("unchanged"),
            dry_run=True,
        )
    departments = _departments()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in roster.rows:
        # Checked above, in this transaction: a row that changes nobody is not saved again.
        outcome = (
            row.outcome if row.outcome == "unchanged" else person_save(**_arguments(row, departments), by=by).outcome
        )
        counts[outcome] += 1
    summary = Summary(rows=len(roster.rows), dry_run=False, **counts)
    if summary.created or summary.updated:
        audit.record(
            action="roster.import",
            actor=by,
            subject="roster:import",
            payload={"file": filename[:200], **counts},
        )
    return summary
