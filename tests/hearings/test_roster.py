"""The roster import (hearings/services/roster.py): reading, every row checked, all or nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from core import limits
from core.errors import BadRequest, Forbidden
from hearings.models import Department, Person
from hearings.services import RosterInvalid, roster_import, roster_validate
from tests.factories import make_department
from tests.hearings.people_helpers import make_person, make_staff, state
from tests.hearings.roster_files import GOOD_ROWS, HEADER, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def fgj() -> Department:
    return make_department(name="县发展和改革局", short_name="发改局")


def problems(data: bytes, filename: str = "roster.csv") -> list[tuple[int, str]]:
    """(row, column) of every problem; asserts the import stores nothing."""
    before = state()
    with pytest.raises(RosterInvalid) as caught:
        roster_import(data=data, filename=filename, by=None)
    assert state() == before
    found = caught.value.roster.problems
    assert all(p.reason for p in found)
    return [(p.row, p.column) for p in found]


def refused(data: bytes, filename: str = "roster.csv") -> str:
    before = state()
    with pytest.raises(BadRequest) as caught:
        roster_import(data=data, filename=filename, by=None)
    assert not isinstance(caught.value, RosterInvalid)
    assert state() == before
    return caught.value.message


# ------------------------------------------------------------------------------- importing


def test_a_valid_roster_creates_everyone_in_one_audited_import(fgj: Department) -> None:
    staff = make_staff()
    summary = roster_import(data=csv_bytes(GOOD_ROWS), filename="roster.csv", by=staff)
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (4, 4, 0, 0)
    people = {p.user.username: p for p in Person.objects.exclude(user=staff).select_related("user")}
    assert people["deputy001"].delegation == "城关镇代表团"
    assert people["deputy001"].seat == "A-01"
    assert people["liaison-fgj"].user.email == "lisi@example.gov.cn"
    assert people["mod1"].role == "moderator" and people["staff1"].role == "staff"
    assert list(fgj.liaisons.values_list("username", flat=True)) == ["liaison-fgj"]
    assert not any(p.user.has_usable_password() for p in people.values())
    entries = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert entries == ["person.create"] * 4 + ["roster.import"]
    last = AuditEntry.objects.order_by("seq").last()
    assert last is not None
    assert last.payload == {"file": "roster.csv", "created": 4, "updated": 0, "unchanged": 0}
    assert last.actor == staff.username


def test_repeating_the_same_file_changes_nothing_and_writes_no_audit_entry() -> None:
    roster_import(data=csv_bytes(GOOD_ROWS), filename="roster.csv", by=None)
    before = state()
    summary = roster_import(data=csv_bytes(GOOD_ROWS), filename="roster.csv", by=None)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 4)
    assert state() == before


def test_a_changed_row_updates_that_person_only() -> None:
    roster_import(data=csv_bytes(GOOD_ROWS), filename="roster.csv", by=None)
    rows = [list(row) for row in GOOD_ROWS]
    rows[0][1] = "张三丰"
    audit_before = AuditEntry.objects.count()
    summary = roster_import(data=csv_bytes(rows), filename="roster.csv", by=None)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 1, 3)
    assert Person.objects.get(user__username="deputy001").name == "张三丰"
    new = list(AuditEntry.objects.order_by("seq")[audit_before:].values_list("action", flat=True))
    assert new == ["person.update", "roster.import"]


def test_a_dry_run_stores_nothing_and_says_what_would_happen() -> None:
    make_person(username="deputy001", name="旧名")
    before = state()
    summary = roster_import(data=csv_bytes(GOOD_ROWS), filename="roster.csv", by=None, dry_run=True)
    assert summary.dry_run
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (4, 3, 1, 0)
    assert state() == before


def test_a_csv_with_a_byte_order_mark() -> None:
    summary = roster_import(data=csv_bytes(GOOD_ROWS, bom=True), filename="ROSTER.CSV", by=None)
    assert summary.created == 4
    assert User.objects.filter(username="deputy001").exists()


def test_an_xlsx_roster_with_numbers_typed_as_numbers() -> None:
    rows = [list(row) for row in GOOD_ROWS]
    rows[0][5] = 13800000001  # Excel keeps a phone number as a number
    rows[1][5] = 13800000002.0
    summary = roster_import(data=xlsx_bytes(rows), filename="名单.xlsx", by=None)
    assert summary.created == 4
    assert Person.objects.get(user__username="deputy001").phone == "13800000001"
    assert Person.objects.get(user__username="liaison-fgj").phone == "13800000002"


def test_chinese_headers_and_role_names(fgj: Department) -> None:
    header = ["用户名", "姓名", "身份", "部门", "代表团", "电话", "邮箱", "座位"]
    rows = [
        ["d1", "张三", "代表", "", "城关镇", "", "", "B-2"],
        ["m1", "王五", "主持人", "", "", "", "", ""],
        ["l1", "李四", "联络员", "发改局", "", "", "", ""],
        ["s1", "赵六", "会务工作人员", "", "", "", "", ""],
        ["d2", "钱七", " Deputy ", "", "", "", "", ""],
    ]
    summary = roster_import(data=csv_bytes(rows, header=header), filename="r.csv", by=None)
    assert summary.created == 5
    roles = dict(Person.objects.values_list("user__username", "role"))
    assert roles == {"d1": "deputy", "m1": "moderator", "l1": "liaison", "s1": "staff", "d2": "deputy"}
    assert Person.objects.get(user__username="d1").seat == "B-2"
    assert fgj.liaisons.filter(username="l1").exists()


def test_only_the_required_columns_and_extra_ones_ignored() -> None:
    make_person(username="d1", name="张三", phone="123", delegation="城关镇")
    header = ["备注", "username", "name", "role", "department"]
    rows = [["随便", "d1", "张三丰", "deputy", ""], ["", "d9", "新人", "deputy", ""]]
    summary = roster_import(data=csv_bytes(rows, header=header), filename="r.csv", by=None)
    assert (summary.created, summary.updated) == (1, 1)
    person = Person.objects.get(user__username="d1")
    assert (person.name, person.phone, person.delegation) == ("张三丰", "123", "城关镇")  # columns left out stay


def test_empty_rows_are_skipped_but_keep_their_numbers() -> None:
    rows: list[list[object]] = [
        GOOD_ROWS[0],
        ["", "", "", "", "", "", "", ""],
        [],
        ["x y", "坏", "deputy", "", "", "", "", ""],
    ]
    assert problems(csv_bytes(rows)) == [(5, "username")]
    summary = roster_import(data=csv_bytes(rows[:3]), filename="r.csv", by=None)
    assert summary.rows == 1


def test_only_office_staff_may_import() -> None:
    before = state()
    with pytest.raises(Forbidden):
        roster_import(data=csv_bytes(GOOD_ROWS), filename="r.csv", by=make_person("moderator"))
    before["users"] = state()["users"]  # the moderator made above
    before["persons"] = state()["persons"]
    assert state() == before
    assert not User.objects.filter(username="deputy001").exists()


# ------------------------------------------------------------------------------- bad rows


def test_every_kind_of_bad_row_is_named_with_its_row_and_column_and_nothing_is_stored() -> None:
    rows: list[list[object]] = [
        GOOD_ROWS[0],  # row 2: fine
        ["nobody", "", "deputy", "", "", "", "", ""],  # 3: missing name
        ["badrole", "甲", "mayor", "", "", "", "", ""],  # 4: bad role
        ["unknown", "乙", "liaison", "不存在局", "", "", "", ""],  # 5: unknown department
        ["nodept", "丙", "liaison", "", "", "", "", ""],  # 6: liaison without a department
        ["deputy001", "丁", "deputy", "", "", "", "", ""],  # 7: duplicate of row 2
        ["bademail", "戊", "deputy", "", "", "", "not-an-email", ""],  # 8: bad email
        ["toolong", "己", "deputy", "", "长" * (limits.PERSON_FIELD + 1), "", "", ""],  # 9: delegation too long
        ["bad name", "庚", "deputy", "", "", "", "", ""],  # 10: username characters
    ]
    assert problems(csv_bytes(rows)) == [
        (3, "name"),
        (4, "role"),
        (5, "department"),
        (6, "department"),
        (7, "username"),
        (8, "email"),
        (9, "delegation"),
        (10, "username"),
    ]
    assert not User.objects.exists()


def test_the_reasons_say_what_is_wrong() -> None:
    rows: list[list[object]] = [
        ["a", "甲", "liaison", "不存在局", "", "", "", ""],
        ["a", "乙", "deputy", "", "", "", "", ""],
    ]
    roster = roster_validate(csv_bytes(rows), filename="r.csv")
    reasons = [p.reason for p in roster.problems]
    assert "不存在局" in reasons[0]
    assert "第 2 行" in reasons[1]
    assert [p.column for p in roster.problems] == ["department", "username"]


def test_a_row_may_have_several_problems() -> None:
    rows: list[list[object]] = [["", "", "x", "", "", "", "bad", ""]]
    assert problems(csv_bytes(rows)) == [(2, "username"), (2, "name"), (2, "role"), (2, "email")]


def test_problems_name_the_column_as_the_file_does() -> None:
    header = ["用户名", "姓名", "身份", "部门"]
    assert problems(csv_bytes([["a", "", "代表", ""]], header=header)) == [(2, "姓名")]


def test_an_xlsx_with_bad_rows() -> None:
    rows: list[list[object]] = [GOOD_ROWS[0], ["x", None, "deputy", None, None, None, None, None]]
    assert problems(xlsx_bytes(rows), "r.xlsx") == [(3, "name")]


def test_a_department_given_for_someone_not_a_liaison_is_a_problem() -> None:
    assert problems(csv_bytes([["d", "甲", "deputy", "发改局", "", "", "", ""]])) == [(2, "department")]


# ------------------------------------------------------------------------------- bad files


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ROSTER_ROWS", 3)
    rows = [[f"d{i}", "某", "deputy", "", "", "", "", ""] for i in range(4)]
    assert "3" in refused(csv_bytes(rows))
    assert roster_import(data=csv_bytes(rows[:3]), filename="r.csv", by=None).created == 3


def test_a_file_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = csv_bytes(GOOD_ROWS)
    monkeypatch.setattr(limits, "ROSTER_BYTES", len(data) - 1)
    refused(data)
    refused(xlsx_bytes(GOOD_ROWS) + b"\0" * len(data), "r.xlsx")


@pytest.mark.parametrize(
    ("data", "filename", "says"),
    [
        (b"username,name,role,department\n", "roster.txt", "CSV"),
        (b"username,name,role,department\n", "roster", "CSV"),
        (b"not a zip", "roster.xlsx", "XLSX"),
        ("username,name,role,department\nd1,张三,deputy,\n".encode("utf-16"), "roster.csv", "GBK"),
        (b"", "roster.csv", "表头"),
        (b"\n\n", "roster.csv", "表头"),
        (b"username,name,role\nd1,x,deputy\n", "roster.csv", "department"),
        (b"user,name\n", "roster.csv", "username"),
        ("username,name,姓名,role,department\n".encode(), "roster.csv", "姓名"),
        (b"username,name,role,department\0\n", "roster.csv", "CSV"),
    ],
)
def test_a_file_that_is_no_roster_is_refused_with_a_reason(data: bytes, filename: str, says: str) -> None:
    assert says in refused(data, filename)


def test_an_empty_xlsx_has_no_header() -> None:
    assert "表头" in refused(xlsx_bytes([], header=[]), "r.xlsx")


def test_an_incomplete_header_names_every_missing_column() -> None:
    message = refused(csv_bytes([], header=["username", "姓名"]))
    assert "role" in message and "department" in message


def test_a_header_only_roster_imports_nobody() -> None:
    summary = roster_import(data=csv_bytes([], header=HEADER), filename="r.csv", by=None)
    assert (summary.rows, summary.created) == (0, 0)
    assert not AuditEntry.objects.exists()


def test_checking_and_repeating_a_roster_takes_the_same_queries_for_any_length() -> None:
    def repeat_queries(count: int) -> int:
        rows: list[list[object]] = [[f"q{count}-{i}", "某", "deputy", "", "", "", "", ""] for i in range(count)]
        rows.append(["liaison-fgj", "李四", "liaison", "发改局", "", "", "", ""])
        data = csv_bytes(rows)
        roster_import(data=data, filename="r.csv", by=None)
        with CaptureQueriesContext(connection) as queries:
            summary = roster_import(data=data, filename="r.csv", by=None)
        assert summary.unchanged == count + 1
        return len(queries)

    assert repeat_queries(3) == repeat_queries(60)
