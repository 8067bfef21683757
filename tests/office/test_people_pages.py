"""The office's people, department and roster pages (office/views/people.py, roster.py)."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]

from audit.models import AuditEntry
from hearings.models import Department, Person
from hearings.services import roster_validate
from hearings.services.roster import COLUMNS
from office.views.people import PAGE_SIZE
from tests.factories import make_department, make_world
from tests.hearings.people_helpers import make_person, make_staff, state
from tests.hearings.roster_files import GOOD_ROWS, csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain http


@dataclass
class Office:
    staff: Any
    fgj: Department
    deputy: Any
    liaison: Any
    moderator: Any

    def client(self, who: str = "staff") -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(getattr(self, who))
        return client


@pytest.fixture
def office() -> Office:
    world = make_world()
    fgj = make_department(name="县发展和改革局", short_name="发改局")
    liaison = make_person(Person.Role.LIAISON, name="李联络")
    fgj.liaisons.add(liaison)
    moderator = world.moderator  # a moderator of a hearing, not office staff
    Person.objects.create(user=moderator, name="王主持", role=Person.Role.MODERATOR)
    deputy = world.deputies[0]
    Person.objects.create(user=deputy, name="张代表", role=Person.Role.DEPUTY, delegation="城关镇代表团")
    return Office(staff=make_staff(), fgj=fgj, deputy=deputy, liaison=liaison, moderator=moderator)


def upload(data: bytes, name: str = "roster.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


# ------------------------------------------------------------------------------- who may


NOT_STAFF = ["anonymous", "deputy", "liaison", "moderator"]


def pages(office: Office) -> list[str]:
    return [
        reverse("manage_people"),
        reverse("manage_people") + "?role=deputy&q=张",
        reverse("manage_person_new"),
        reverse("manage_person", args=[office.deputy.person.pk]),
        reverse("manage_departments"),
        reverse("manage_department", args=[office.fgj.pk]),
        reverse("manage_roster"),
        reverse("manage_roster_template", args=["csv"]),
        reverse("manage_roster_template", args=["xlsx"]),
    ]


def posts(office: Office) -> list[tuple[str, dict[str, Any]]]:
    person = reverse("manage_person", args=[office.deputy.person.pk])
    return [
        (reverse("manage_person_new"), {"username": "new1", "name": "新人", "role": "deputy"}),
        (person, {"action": "save", "name": "改名", "role": "deputy"}),
        (person, {"action": "password"}),
        (person, {"action": "deactivate"}),
        (reverse("manage_person", args=[office.staff.person.pk]), {"action": "activate"}),
        (reverse("manage_departments"), {"name": "县新局", "short_name": "新局"}),
        (reverse("manage_department", args=[office.fgj.pk]), {"name": "改名局", "short_name": "改名"}),
        (reverse("manage_roster"), {"action": "preview", "file": upload(csv_bytes(GOOD_ROWS))}),
        (reverse("manage_roster"), {"action": "import", "token": "x"}),
    ]


def test_staff_may_open_every_page(office: Office) -> None:
    client = office.client()
    for url in pages(office):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("who", NOT_STAFF)
def test_no_one_else_may_open_a_page(office: Office, who: str) -> None:
    client = office.client(who)
    for url in pages(office):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "13800000001" not in response.content.decode()


@pytest.mark.parametrize("who", NOT_STAFF)
def test_no_one_else_may_change_anything(office: Office, who: str) -> None:
    client = office.client(who)
    before = state()
    for url, data in posts(office):
        assert client.post(url, data).status_code == 403, (url, data)
    assert state() == before


def test_a_deactivated_staff_member_is_refused(office: Office) -> None:
    client = office.client()
    office.staff.is_active = False
    office.staff.save()
    assert client.get(reverse("manage_people")).status_code == 403


def test_a_superuser_may(office: Office) -> None:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="x" * 12))
    assert client.get(reverse("manage_people")).status_code == 200


# ------------------------------------------------------------------------------- the list


def test_the_list_filters_by_role_and_searches(office: Office) -> None:
    client = office.client()
    url = reverse("manage_people")
    body = client.get(url).content.decode()
    assert "张代表" in body and "李联络" in body and "王主持" in body
    body = client.get(url, {"role": "liaison"}).content.decode()
    assert "李联络" in body and "张代表" not in body
    body = client.get(url, {"q": "城关镇"}).content.decode()  # by delegation
    assert "张代表" in body and "李联络" not in body
    body = client.get(url, {"q": office.liaison.username}).content.decode()  # by username
    assert "李联络" in body and "张代表" not in body
    body = client.get(url, {"q": "主持"}).content.decode()  # by name
    assert "王主持" in body and "李联络" not in body
    assert "发改局" in client.get(url, {"role": "liaison"}).content.decode()  # a liaison's department


def test_the_list_is_paged(office: Office) -> None:
    for i in range(PAGE_SIZE + 1):
        make_person(name=f"代表{i:03d}")
    client = office.client()
    first = client.get(reverse("manage_people"), {"role": "deputy"}).content.decode()
    second = client.get(reverse("manage_people"), {"role": "deputy", "page": "2"}).content.decode()
    names = [f"代表{i:03d}" for i in range(PAGE_SIZE + 1)]
    on_first, on_second = sum(name in first for name in names), sum(name in second for name in names)
    assert on_first + on_second == PAGE_SIZE + 1
    assert on_first <= PAGE_SIZE and on_second >= 1
    assert "page=2" in first and "role=deputy" in first


def test_htmx_gets_the_table_only(office: Office) -> None:
    response = office.client().get(reverse("manage_people"), {"role": "deputy"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="people-table">')
    assert "<html" not in body and "张代表" in body


# ------------------------------------------------------------------------------- a person


def test_staff_add_a_person(office: Office) -> None:
    response = office.client().post(
        reverse("manage_person_new"),
        {"username": "li2", "name": "李二", "role": "liaison", "department": "发改局", "phone": "123", "email": ""},
    )
    person = Person.objects.get(user__username="li2")
    assert response.status_code == 302
    assert response["Location"] == reverse("manage_person", args=[person.pk])
    assert (person.name, person.role, person.phone) == ("李二", "liaison", "123")
    assert office.fgj.liaisons.filter(pk=person.user_id).exists()
    assert not person.user.has_usable_password()
    assert AuditEntry.objects.filter(action="person.create", actor=office.staff.username).exists()


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        ({"username": "", "name": "某", "role": "deputy"}, "username", "用户名"),
        ({"username": "a b", "name": "某", "role": "deputy"}, "username", "用户名只能包含"),
        ({"username": "x", "name": "", "role": "deputy"}, "name", "请填写姓名"),
        ({"username": "x", "name": "某", "role": "king"}, "role", "身份须为"),
        ({"username": "x", "name": "某", "role": "liaison"}, "department", "联络员须填写"),
        ({"username": "x", "name": "某", "role": "deputy", "email": "nope"}, "email", "邮箱"),
        ({"username": "x", "name": "某", "role": "deputy", "seat": "座" * 51}, "seat", "座位最多"),
    ],
)
def test_a_bad_new_person_shows_the_field_error_and_stores_nothing(
    office: Office, data: dict[str, str], field: str, says: str
) -> None:
    before = state()
    response = office.client().post(reverse("manage_person_new"), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert f'id="error-{field}"' in body
    assert says in body
    assert state() == before


def test_a_new_person_with_a_username_in_use_is_refused(office: Office) -> None:
    before = state()
    response = office.client().post(
        reverse("manage_person_new"), {"username": office.deputy.username, "name": "冒名", "role": "deputy"}
    )
    assert response.status_code == 400
    assert "已被使用" in response.content.decode()
    assert state() == before


def test_staff_edit_a_person_but_not_the_username(office: Office) -> None:
    url = reverse("manage_person", args=[office.deputy.person.pk])
    response = office.client().post(
        url, {"action": "save", "username": "hijack", "name": "张代表改", "role": "deputy", "seat": "C-3"}
    )
    assert response.status_code == 302
    person = Person.objects.select_related("user").get(pk=office.deputy.person.pk)
    assert (person.name, person.seat, person.user.username) == ("张代表改", "C-3", office.deputy.username)
    assert not User.objects.filter(username="hijack").exists()


def test_a_bad_edit_shows_the_error_and_changes_nothing(office: Office) -> None:
    url = reverse("manage_person", args=[office.liaison.person.pk])
    before = state()
    data = {"action": "save", "name": "李联络", "role": "liaison", "department": "无此局"}
    response = office.client().post(url, data)
    assert response.status_code == 400
    assert 'id="error-department"' in response.content.decode()
    assert state() == before


def test_the_edit_form_shows_the_liaisons_department(office: Office) -> None:
    body = office.client().get(reverse("manage_person", args=[office.liaison.person.pk])).content.decode()
    assert '<option value="发改局" selected>' in body


def test_an_initial_password_is_shown_once(office: Office) -> None:
    client = office.client()
    url = reverse("manage_person", args=[office.deputy.person.pk])
    response = client.post(url, {"action": "password"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    password = response.context["password"]
    assert password in response.content.decode()
    office.deputy.refresh_from_db()
    assert office.deputy.check_password(password)
    assert password not in client.get(url).content.decode()  # never again
    assert password not in str(list(AuditEntry.objects.values_list("payload", flat=True)))


def test_deactivate_and_activate_from_the_page(office: Office) -> None:
    client = office.client()
    url = reverse("manage_person", args=[office.deputy.person.pk])
    assert client.post(url, {"action": "deactivate"}).status_code == 302
    office.deputy.refresh_from_db()
    assert not office.deputy.is_active
    assert "已停用" in client.get(url).content.decode()
    assert client.post(url, {"action": "activate"}).status_code == 302
    office.deputy.refresh_from_db()
    assert office.deputy.is_active


def test_staff_cannot_deactivate_themselves_from_the_page(office: Office) -> None:
    before = state()
    response = office.client().post(reverse("manage_person", args=[office.staff.person.pk]), {"action": "deactivate"})
    assert response.status_code == 400
    assert "不能停用自己的账号" in response.content.decode()
    assert state() == before


def test_an_unknown_person_or_action(office: Office) -> None:
    client = office.client()
    assert client.get(reverse("manage_person", args=[999_999])).status_code == 404
    before = state()
    url = reverse("manage_person", args=[office.deputy.person.pk])
    assert client.post(url, {"action": "delete"}).status_code == 404
    assert state() == before


# ------------------------------------------------------------------------------- departments


def test_staff_create_and_rename_a_department(office: Office) -> None:
    client = office.client()
    response = client.post(reverse("manage_departments"), {"name": "县教育局", "short_name": "教育局"})
    assert response.status_code == 302
    department = Department.objects.get(short_name="教育局")
    url = reverse("manage_department", args=[department.pk])
    response = client.post(url, {"name": "县教体局", "short_name": "教体局"})
    assert response.status_code == 302
    department.refresh_from_db()
    assert (department.name, department.short_name) == ("县教体局", "教体局")
    assert "县教体局" in client.get(reverse("manage_departments")).content.decode()


def test_a_duplicate_department_is_refused_on_the_page(office: Office) -> None:
    client = office.client()
    before = state()
    response = client.post(reverse("manage_departments"), {"name": "县发展和改革局", "short_name": "新"})
    assert response.status_code == 400
    assert 'id="error-name"' in response.content.decode()
    other = make_department(short_name="教育局")
    before = state()
    response = client.post(reverse("manage_department", args=[other.pk]), {"name": "县教育局x", "short_name": "发改局"})
    assert response.status_code == 400
    assert 'id="error-short_name"' in response.content.decode()
    assert state() == before


def test_a_department_lists_its_liaisons(office: Office) -> None:
    body = office.client().get(reverse("manage_department", args=[office.fgj.pk])).content.decode()
    assert "李联络" in body
    assert reverse("manage_person", args=[office.liaison.person.pk]) in body
    assert office.client().get(reverse("manage_department", args=[999_999])).status_code == 404


# ------------------------------------------------------------------------------- the roster


def preview(client: Client, data: bytes, name: str = "roster.csv", **extra: Any) -> Any:
    return client.post(reverse("manage_roster"), {"action": "preview", "file": upload(data, name)}, **extra)


def test_a_valid_roster_is_previewed_then_imported_once(office: Office) -> None:
    client = office.client()
    before = state()
    response = preview(client, csv_bytes(GOOD_ROWS))
    body = response.content.decode()
    assert response.status_code == 200
    assert state() == before  # the preview stores nothing
    assert "导入 4 人" in body
    assert 'id="roster-row-2"' in body and 'id="roster-row-5"' in body
    token = response.context["token"]
    response = client.post(reverse("manage_roster"), {"action": "import", "token": token})
    assert response.status_code == 302
    assert response["Location"] == reverse("manage_people")
    assert Person.objects.filter(user__username__in=["deputy001", "liaison-fgj", "mod1", "staff1"]).count() == 4
    assert AuditEntry.objects.filter(action="roster.import", actor=office.staff.username).count() == 1
    after = state()
    response = client.post(reverse("manage_roster"), {"action": "import", "token": token})  # again
    assert response.status_code == 400
    assert state() == after


def test_a_bad_roster_names_every_problem_and_offers_no_import(office: Office) -> None:
    rows: list[list[object]] = [
        GOOD_ROWS[0],
        ["x", "", "deputy", "", "", "", "", ""],
        ["y", "某", "boss", "", "", "", "", ""],
        ["deputy001", "某", "deputy", "", "", "", "", ""],
    ]
    before = state()
    response = preview(office.client(), csv_bytes(rows))
    body = response.content.decode()
    assert response.status_code == 400
    assert "第 3 行，name：请填写姓名。" in body
    assert "第 4 行，role：" in body
    assert "第 5 行，username：" in body
    assert 'id="roster-import"' not in body and 'name="token"' not in body
    assert response.context["token"] == ""
    assert state() == before


def test_an_xlsx_roster_with_htmx_gets_the_preview_fragment(office: Office) -> None:
    response = preview(office.client(), xlsx_bytes(GOOD_ROWS), "名单.xlsx", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith('<section id="roster-preview"')
    assert "导入 4 人" in body


def test_a_file_that_is_no_roster_is_refused_on_the_page(office: Office) -> None:
    client = office.client()
    before = state()
    response = preview(client, b"hello", "roster.pdf")
    assert response.status_code == 400
    assert "CSV" in response.content.decode()
    response = client.post(reverse("manage_roster"), {"action": "preview"})
    assert response.status_code == 400
    assert state() == before


def test_an_upload_kept_for_one_session_is_not_imported_by_another(office: Office) -> None:
    token = preview(office.client(), csv_bytes(GOOD_ROWS)).context["token"]
    other_staff = make_staff()
    other = Client()
    other.force_login(other_staff)
    before = state()
    response = other.post(reverse("manage_roster"), {"action": "import", "token": token})
    assert response.status_code == 400
    assert "过期" in response.content.decode()
    assert state() == before
    same_user_other_browser = office.client()
    response = same_user_other_browser.post(reverse("manage_roster"), {"action": "import", "token": token})
    assert response.status_code == 400
    assert state() == before


def test_the_import_checks_the_file_again(office: Office) -> None:
    client = office.client()
    token = preview(client, csv_bytes(GOOD_ROWS)).context["token"]
    office.fgj.short_name = "发改委"  # renamed since the preview: the liaison's department is gone
    office.fgj.save()
    before = state()
    response = client.post(reverse("manage_roster"), {"action": "import", "token": token})
    assert response.status_code == 400
    assert "第 3 行，department：" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_templates_are_rosters_that_validate(office: Office, fmt: str) -> None:
    response = office.client().get(reverse("manage_roster_template", args=[fmt]))
    assert response.status_code == 200
    assert f"roster-template.{fmt}" in response["Content-Disposition"]
    data = response.content
    if fmt == "csv":
        assert data.startswith("\ufeff".encode())
        lines = data.decode("utf-8-sig").splitlines()
        assert lines[0] == ",".join(COLUMNS) == "username,name,role,department,delegation,phone,email,seat"
        assert len(lines) == 3
    else:
        sheet = load_workbook(BytesIO(data)).active
        assert [c.value for c in sheet[1]] == list(COLUMNS)
        assert sheet.max_row == 3
    roster = roster_validate(data, filename=f"t.{fmt}")
    assert roster.valid and len(roster.rows) == 2


def test_an_unknown_template_format(office: Office) -> None:
    assert office.client().get(reverse("manage_roster_template", args=["pdf"])).status_code == 404


def test_a_new_upload_replaces_the_one_waiting(office: Office) -> None:
    client = office.client()
    first = preview(client, csv_bytes(GOOD_ROWS[:1])).context["token"]
    second = preview(client, csv_bytes(GOOD_ROWS)).context["token"]
    before = state()
    assert client.post(reverse("manage_roster"), {"action": "import", "token": first}).status_code == 400
    assert state() == before
    assert client.post(reverse("manage_roster"), {"action": "import", "token": second}).status_code == 302
    assert Person.objects.filter(user__username="staff1").exists()


def test_an_htmx_import_sends_the_browser_to_the_people_list(office: Office) -> None:
    client = office.client()
    token = preview(client, csv_bytes(GOOD_ROWS), HTTP_HX_REQUEST="true").context["token"]
    response = client.post(reverse("manage_roster"), {"action": "import", "token": token}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("manage_people")
    assert Person.objects.filter(user__username="deputy001").exists()
    assert "名单已导入" in client.get(reverse("manage_people")).content.decode()


def test_the_pages_render_in_english(office: Office) -> None:
    client = office.client()
    for url in pages(office)[:7]:
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="en").status_code == 200, url
