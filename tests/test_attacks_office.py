"""The office's features attacked as a hostile staff member, deputy or tablet would (issue 15):
each test is an attack that once broke or that must keep holding; each refusal leaves nothing
changed."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from console.seat import failures_key
from core import limits, logs
from core.errors import BadRequest, Forbidden, InvalidState
from deploy.stack import Config, render_nginx
from hearings import seats, selectors, services
from hearings.models import Hearing, Person
from hearings.services import FieldErrors, RosterInvalid, roster_import, roster_validate
from office.views.seats import seat_cards_html
from tests import test_permissions_office as office_matrix
from tests.factories import PASSWORD, World, make_user, make_world
from tests.hearings.people_helpers import make_person, make_staff, state
from tests.hearings.roster_files import GOOD_ROWS, csv_bytes, xlsx_bytes
from tests.test_permissions import client_for, make_matrix
from voting.models import Attendance
from voting.services import checkin_on_behalf

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain http


def problems(data: bytes, by: Any, filename: str = "r.csv") -> list[tuple[int, str]]:
    return [(p.row, p.column) for p in roster_validate(data, filename=filename, by=by).problems]


def staff_client(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


# ------------------------------------------------------------------------------- administrator accounts


@pytest.fixture
def admin(db: Any) -> Any:
    return User.objects.create_superuser(username="admin", email="admin@example.com", password=PASSWORD)


@pytest.fixture
def admin_staff(db: Any) -> Any:
    """Staff of the Django admin (is_staff), not a superuser: still an administrator account."""
    return make_user("keeper", is_staff=True, email="keeper@example.com")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("account", ["admin", "admin_staff"])
def test_a_roster_cannot_take_over_an_administrator_account(kind: str, account: str, request: Any) -> None:
    """A staff member's roster naming `admin` would give the superuser a Person (then a password
    set by staff on /manage/people/<id>/) or change its name and mail (then a password reset)."""
    target = request.getfixturevalue(account)
    staff = make_staff()
    row = [target.username, "冒名", "staff", "", "", "", "attacker@example.com", ""]
    data = csv_bytes([GOOD_ROWS[0], row]) if kind == "csv" else xlsx_bytes([GOOD_ROWS[0], row])
    before = state()
    assert problems(data, staff, f"r.{kind}") == [(3, "username")]
    with pytest.raises(RosterInvalid) as refused:
        roster_import(data=data, filename=f"r.{kind}", by=staff)
    assert "系统管理员账号" in refused.value.roster.problems[0].reason
    assert state() == before
    target.refresh_from_db()
    assert (target.email, target.get_full_name(), target.is_active) == (f"{target.username}@example.com", "", True)
    assert not Person.objects.filter(user=target).exists()


def test_the_roster_command_cannot_take_over_an_administrator_account(admin: Any) -> None:
    data = csv_bytes([["admin", "冒名", "deputy", "", "", "", "", ""]])
    before = state()
    with pytest.raises(RosterInvalid):
        roster_import(data=data, filename="r.csv", by=None)
    assert state() == before


def test_a_roster_page_upload_naming_the_superuser_is_refused_and_stores_nothing(admin: Any) -> None:
    client = staff_client(make_staff())
    data = csv_bytes([["admin", "冒名", "staff", "", "", "", "attacker@example.com", ""]])
    before = state()
    response = client.post("/manage/roster/", {"file": SimpleUploadedFile("r.csv", data)})
    assert response.status_code == 400
    assert "系统管理员账号" in response.content.decode()
    assert response.context["token"] == ""  # nothing to import
    assert state() == before


def test_staff_cannot_change_an_administrator_through_person_save(admin: Any) -> None:
    staff = make_staff()
    before = state()
    with pytest.raises(FieldErrors) as refused:
        services.person_save(username="admin", name="冒名", role="staff", email="x@example.com", by=staff)
    assert set(refused.value.errors) == {"username"}
    assert state() == before


@pytest.mark.parametrize("action", ["password", "deactivate", "save"])
def test_staff_cannot_touch_an_administrator_who_has_a_person(admin: Any, action: str) -> None:
    """A superuser listed in the roster earlier (or by the admin) has a /manage/ page: staff
    may not set its password (and log in as the superuser), deactivate it or rename it."""
    person = Person.objects.create(user=admin, name="系统管理员", role=Person.Role.STAFF)
    staff = make_staff()
    before = state()
    response = staff_client(staff).post(
        f"/manage/people/{person.pk}/",
        {"action": action, "name": "冒名", "role": "staff", "email": "attacker@example.com"},
    )
    assert response.status_code in (400, 403)
    assert state() == before
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD) and admin.is_active and admin.email == "admin@example.com"


def test_services_refuse_an_administrators_password_and_deactivation(admin_staff: Any) -> None:
    person = Person.objects.create(user=admin_staff, name="管理员", role=Person.Role.STAFF)
    staff = make_staff()
    before = state()
    for call in (services.person_set_password, services.person_deactivate):
        with pytest.raises(Forbidden):
            call(person_id=person.pk, by=staff)
    assert state() == before


def test_a_superuser_may_still_change_an_administrator_through_the_office(admin: Any, admin_staff: Any) -> None:
    saved = services.person_save(username="keeper", name="管理员乙", role="staff", by=admin)
    assert saved.outcome == "created" and saved.person.user == admin_staff
    assert services.person_set_password(person_id=saved.person.pk, by=admin)


# ------------------------------------------------------------------------------- one's own role


def test_staff_cannot_change_their_own_role_on_their_page() -> None:
    staff = make_staff("office1")
    before = state()
    response = staff_client(staff).post(
        f"/manage/people/{staff.person.pk}/", {"action": "save", "name": staff.person.name, "role": "deputy"}
    )
    assert response.status_code == 400
    assert "不能更改自己的身份" in response.content.decode()
    assert state() == before


def test_staff_cannot_change_their_own_role_by_roster() -> None:
    staff = make_staff("office1")
    data = csv_bytes([["office1", staff.person.name, "deputy", "", "", "", "", ""]])
    before = state()
    assert problems(data, staff) == [(2, "role")]
    with pytest.raises(RosterInvalid):
        roster_import(data=data, filename="r.csv", by=staff)
    assert state() == before
    # Another staff member may change it (and their own row unchanged is fine).
    other = make_staff("office2")
    both = csv_bytes(
        [
            ["office1", staff.person.name, "deputy", "", "", "", "", ""],
            ["office2", other.person.name, "staff", "", "", "", "", ""],
        ]
    )
    summary = roster_import(data=both, filename="r.csv", by=other)
    assert (summary.updated, summary.unchanged) == (1, 1)
    assert Person.objects.get(user=staff).role == "deputy"


# ------------------------------------------------------------------------------- usernames differing in case


def test_usernames_differing_only_in_case_in_one_roster_are_a_problem() -> None:
    staff = make_staff()
    rows: list[list[object]] = [GOOD_ROWS[0], ["Deputy001", "张三二", "deputy", "", "", "", "", ""]]
    before = state()
    assert problems(csv_bytes(rows), staff) == [(3, "username")]
    with pytest.raises(RosterInvalid):
        roster_import(data=csv_bytes(rows), filename="r.csv", by=staff)
    assert state() == before


def test_a_username_differing_only_in_case_from_an_existing_one_is_refused(admin: Any) -> None:
    staff = make_staff()
    make_person(username="zhangsan", name="张三")
    before = state()
    rows = [["ZhangSan", "张三", "deputy", "", "", "", "", ""], ["ADMIN", "系统管理员", "staff", "", "", "", "", ""]]
    assert problems(csv_bytes(rows), staff) == [(2, "username"), (3, "username")]
    with pytest.raises(FieldErrors) as refused:
        services.person_save(username="Admin", name="系统管理员", role="staff", by=staff)
    assert "只有大小写不同" in refused.value.errors["username"].message
    assert state() == before


# ------------------------------------------------------------------------------- seat codes in logs and referrers


@pytest.fixture
def seat_world(db: Any) -> tuple[World, Any, dict[int, str]]:
    world = make_world()
    staff = make_staff()
    codes = {
        c.deputy_id: selectors.seat_code_text(c)
        for c in services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    }
    return world, staff, codes


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the configured console handler (settings.LOGGING) writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "name", "") == "console")
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        yield out
    finally:
        handler.setStream(previous)


def test_a_seat_code_never_reaches_a_log_line(seat_world: tuple[World, Any, dict[int, str]], log_lines: Any) -> None:
    world, staff, codes = seat_world
    deputy = world.deputies[0]
    code = codes[deputy.pk]
    # A tablet whose CSRF cookie was lost posts a code still unused: Django logs the 403 with the path.
    refused = Client(enforce_csrf_checks=True).post(f"/seat/{code}/")
    assert refused.status_code == 403
    # A code revoked (still readable on its card): Django logs the 404 with the path.
    revoked = codes[world.deputies[1].pk]
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=world.deputies[1].pk, by=staff)
    assert Client().get(f"/seat/{revoked}/").status_code == 404
    # A login: django-axes logs the request's path when it clears the address's failures.
    redeemed = codes[world.deputies[2].pk]
    assert Client().post(f"/seat/{redeemed}/").status_code == 302
    written = log_lines.getvalue()
    assert "/seat/***/" in written  # the lines are there, masked
    for secret in (code, revoked, redeemed, seats.normalise(code)):
        assert secret and secret not in written


def test_redact_masks_every_seat_path() -> None:
    assert logs.redact("Not Found: /seat/K7Q2-M9XP-4HDA/ and /seat/abc?x=1") == (
        "Not Found: /seat/***/ and /seat/***?x=1"
    )
    assert logs.redact("/seat/") == "/seat/"  # the typing page has no code


def test_the_seat_page_tells_no_referrer_its_address(seat_world: tuple[World, Any, dict[int, str]]) -> None:
    world, _staff, codes = seat_world
    code = codes[world.deputies[0].pk]
    client = Client()
    for response in (
        client.get(f"/seat/{code}/"),
        client.get("/seat/AAAA-AAAA-AAAA/"),
        client.post(f"/seat/{code}/"),
    ):
        assert response["Referrer-Policy"] == "origin"  # the origin only (no-referrer breaks the CSRF check)
    page = client.get(f"/seat/{codes[world.deputies[1].pk]}/").content.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing loaded from elsewhere


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="no nginx")
def test_the_stacks_nginx_logs_a_seat_address_masked(tmp_path: Path) -> None:
    """nginx's access log writes every request line: a seat card's code is masked there too."""
    config = Config(
        dir=str(tmp_path),
        port=_free_port(),
        app_ports=[_free_port()],  # nobody listens: nginx answers 502 and still logs the request
        server="uvicorn",
        database_url="",
        redis_url="",
        redis_prefix="",
        tls=False,
        seed=False,
        migrate=False,
    )
    for folder in (config.run / "tmp", config.logs, config.static_root):
        folder.mkdir(parents=True)
    config.nginx_conf.write_text(render_nginx(config))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    args = [nginx, "-p", str(config.run), "-c", str(config.nginx_conf), "-e", str(config.logs / "e.log")]
    subprocess.run(args, check=True, timeout=30)
    try:
        base = f"http://127.0.0.1:{config.port}"
        for path in ("/seat/K7Q2-M9XP-4HDA/", "/seat/K7Q2M9XP4HDA?x=1", "/seat/", "/hearings/1/"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(base + path, timeout=10)  # our own nginx
        # nginx logs a request after answering it: wait for the four lines (two workers may
        # write theirs in either order).
        log = config.logs / "nginx-access.log"
        deadline = time.monotonic() + 10
        while len(log.read_text().splitlines()) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        subprocess.run([*args, "-s", "stop"], check=True, timeout=30)
    requests = sorted(json.loads(line)["request"] for line in log.read_text().splitlines())
    assert requests == [
        "GET /hearings/1/ HTTP/1.1",
        "GET /seat/ HTTP/1.1",
        "GET /seat/***/ HTTP/1.1",
        "GET /seat/***?x=1 HTTP/1.1",
    ]


# ------------------------------------------------------------------------------- roster files from Excel


def test_a_gbk_csv_from_a_chinese_excel_is_read_as_gbk() -> None:
    """Excel on a Chinese Windows saves plain "CSV" in GBK: read so (shown in the preview)."""
    staff = make_staff()
    rows: list[list[object]] = [
        ["deputy001", "张三", "代表", "", "城关镇代表团", "", "", "A-01"],
        ["deputy002", "欧阳䶮", "代表", "", "", "", "", ""],  # 䶮: GB18030 only, not GBK
    ]
    header = ["用户名", "姓名", "身份", "部门", "代表团", "电话", "邮箱", "座位"]
    text = csv_bytes(rows, header=header).decode()
    summary = roster_import(data=text.encode("gb18030"), filename="名单.csv", by=staff)
    assert summary.created == 2
    assert dict(Person.objects.filter(role="deputy").values_list("user__username", "name")) == {
        "deputy001": "张三",
        "deputy002": "欧阳䶮",
    }
    assert Person.objects.get(user__username="deputy001").delegation == "城关镇代表团"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_csv_in_neither_utf8_nor_gbk_is_refused_clearly_and_stores_nothing(encoding: str) -> None:
    staff = make_staff()
    data = csv_bytes([GOOD_ROWS[0]]).decode().encode(encoding)
    before = state()
    with pytest.raises(BadRequest) as refused:
        roster_import(data=data, filename="r.csv", by=staff)
    assert "UTF-8 或 GBK" in refused.value.message
    assert state() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_roster_template_never_carries_a_formula(fmt: str) -> None:
    """The template's example liaison row names the first department by its short name, which
    staff typed: a short name written as a formula stays text in the file."""
    staff = make_staff()
    services.department_create(name="县公式局", short_name='=HYPERLINK("//x.cn","1")', by=staff)
    response = staff_client(staff).get(f"/manage/roster/template.{fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        texts = [cell for row in csv.reader(io.StringIO(response.content.decode("utf-8-sig"))) for cell in row]
        assert all(not cell.startswith(("=", "+", "-", "@")) for cell in texts)
        assert '\'=HYPERLINK("//x.cn","1")' in texts
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        cells: list[Any] = [cell for row in sheet.iter_rows() for cell in row]
        assert all(cell.data_type != "f" for cell in cells)
        assert '\'=HYPERLINK("//x.cn","1")' in [cell.value for cell in cells]


# ------------------------------------------------------------------------------- CSRF on every office action

OFFICE_ACTIONS = [line.split()[0] for line in office_matrix.ACTIONS.strip().splitlines()[1:]]


@pytest.mark.parametrize("action", OFFICE_ACTIONS)
def test_every_office_action_refuses_a_cross_site_post(db: Any, settings: Any, tmp_path: Path, action: str) -> None:
    """Another site's page posting a staff member's browser at /manage/: 403, nothing changed
    (Django's test client skips the CSRF check unless told to enforce it)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    w = office_matrix.World(make_matrix())
    staff = client_for(w.m, "staff", enforce_csrf_checks=True)
    if action == "roster-import":
        token = office_matrix._roster_token(client_for(w.m, "staff"))
        path, data = "/manage/roster/", {"action": "import", "token": token}
    else:
        path, data = office_matrix.request_for(w, action)
    before = office_matrix.office_state()
    response = staff.post(path, data, secure=True, HTTP_ORIGIN="https://evil.example", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert office_matrix.office_state() == before


# ------------------------------------------------------------------------------- hearings: rosters and copies


def hearing_people() -> list[tuple[list[int], list[int]]]:
    return [
        (sorted(h.deputies.values_list("pk", flat=True)), sorted(h.moderators.values_list("pk", flat=True)))
        for h in Hearing.objects.order_by("pk")
    ]


def test_a_deactivated_person_is_not_added_to_a_hearing() -> None:
    staff = make_staff()
    world = make_world(deputies=0)
    gone = make_person("deputy", name="离任代表")
    gone_moderator = make_person("moderator", name="离任主持人")
    staying = make_person("deputy", name="在任代表")
    for user in (gone, gone_moderator):
        services.person_deactivate(person_id=user.person.pk, by=staff)
    before = hearing_people()
    for deputies, moderators in (([gone.pk, staying.pk], []), ([staying.pk], [gone_moderator.pk])):
        with pytest.raises(BadRequest) as refused:
            services.hearing_set_roster(
                hearing_id=world.hearing.pk, by=staff, deputy_ids=deputies, moderator_ids=moderators
            )
        assert "已停用" in refused.value.message and "离任" in refused.value.message
        assert hearing_people() == before
    # The page says so, and changes nothing.
    response = staff_client(staff).post(
        f"/manage/hearings/{world.hearing.pk}/roster/", {"deputies": [gone.pk], "moderators": []}
    )
    assert response.status_code == 400 and "离任代表" in response.content.decode()
    assert hearing_people() == before


def test_one_deactivated_while_on_the_hearing_may_stay_and_a_copy_leaves_them_out() -> None:
    staff = make_staff()
    world = make_world(deputies=0)
    gone, staying = make_person("deputy"), make_person("deputy")
    services.hearing_set_roster(
        hearing_id=world.hearing.pk, by=staff, deputy_ids=[gone.pk, staying.pk], moderator_ids=[]
    )
    services.person_deactivate(person_id=gone.person.pk, by=staff)
    # Another change of the roster keeps them (the record of who was on it).
    services.hearing_set_roster(
        hearing_id=world.hearing.pk, by=staff, deputy_ids=[gone.pk, staying.pk], moderator_ids=[]
    )
    assert set(world.hearing.deputies.all()) == {gone, staying}
    copy = services.hearing_copy(hearing_id=world.hearing.pk, by=staff)
    assert list(copy.deputies.all()) == [staying]


# ------------------------------------------------------------------------------- markup in what staff type

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_markup_typed_by_staff_is_text_on_every_page_and_card(rf: Any) -> None:
    """A person's name, delegation and seat, a department's name and an agenda title are shown
    on the office pages, the tablet, the control panel, the big screen, the public page and the
    seat cards' HTML (what WeasyPrint typesets): always as text."""
    staff = make_staff()
    world = make_world(deputies=0)
    department = services.department_create(name="局" + XSS[:40], short_name="XSS局", by=staff)
    deputy = services.person_save(
        username="xss", name="名" + XSS[:40], role="deputy", delegation=XSS[:40], seat=XSS[:40], by=staff
    ).person.user
    moderator = services.person_save(username="xssmod", name="主" + XSS[:40], role="moderator", by=staff).person.user
    services.hearing_set_roster(
        hearing_id=world.hearing.pk, by=staff, deputy_ids=[deputy.pk], moderator_ids=[moderator.pk]
    )
    services.agenda_add(hearing_id=world.hearing.pk, by=staff, title="题" + XSS[:60], department_id=department.pk)
    services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    h = world.hearing.pk
    pages: list[tuple[Any, str]] = [
        (staff, f"/manage/hearings/{h}/"),
        (staff, f"/manage/hearings/{h}/agenda/"),
        (staff, f"/manage/hearings/{h}/seats/"),
        (staff, "/manage/people/"),
        (staff, f"/manage/people/{deputy.person.pk}/"),
        (staff, "/manage/departments/"),
        (deputy, f"/hearings/{h}/tablet/"),
        (moderator, f"/hearings/{h}/control/"),
        (None, f"/hearings/{h}/screen/"),
        (None, f"/hearings/{h}/"),
    ]
    for user, path in pages:
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "<script>al" not in html and "<img src=x" not in html, path
    request = rf.get(f"/manage/hearings/{h}/seats.pdf")
    request.user = staff
    cards = seat_cards_html(request, Hearing.objects.get(pk=h))
    assert "<img src=x" not in cards and "<script>al" not in cards
    assert "&lt;img src=x" in cards  # the name is there, as text


# ------------------------------------------------------------------------------- seat logins


def test_a_forged_forwarded_for_does_not_escape_the_seat_login_limit(
    seat_world: tuple[World, Any, dict[int, str]], settings: Any
) -> None:
    settings.TRUSTED_PROXIES = []
    settings.SEAT_LOGIN_FAILURES_PER_HOUR = 2
    cache.delete(failures_key("203.0.113.9"))
    world, _staff, codes = seat_world
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(2):
        forged = f"198.51.100.{n + 1}"
        assert guesser.post("/seat/", {"code": f"AAAA-AAAA-AAA{n}"}, HTTP_X_FORWARDED_FOR=forged).status_code == 404
    real = codes[world.deputies[0].pk]
    response = guesser.post(f"/seat/{real}/", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert response.status_code == 429
    assert seats.seat_code_find(real).used_at is None  # type: ignore[union-attr]


@pytest.mark.parametrize("change", ["deactivate", "password"])
def test_a_seat_login_ends_when_its_deputy_is_deactivated_or_given_a_password(
    seat_world: tuple[World, Any, dict[int, str]], change: str
) -> None:
    """Like any login: a deactivated account is logged out; a new password ends its sessions
    (staff give the tablet a new card: seat_code_reissue)."""
    world, staff, codes = seat_world
    deputy = world.deputies[0]
    person = Person.objects.create(user=deputy, name="张代表", role=Person.Role.DEPUTY)
    tablet = Client()
    assert tablet.post(f"/seat/{codes[deputy.pk]}/").status_code == 302
    tablet_page = f"/hearings/{world.hearing.pk}/tablet/"
    assert tablet.get(tablet_page).status_code == 200
    if change == "deactivate":
        services.person_deactivate(person_id=person.pk, by=staff)
    else:
        services.person_set_password(person_id=person.pk, by=staff)
    response = tablet.get(tablet_page)
    # Back to the seat login saying the login ended (not a password form the tablet cannot use).
    assert response.status_code == 302 and response["Location"] == "/seat/?ended=1"
    assert SESSION_KEY not in tablet.session and seats.SESSION_KEY not in tablet.session


# ------------------------------------------------------------------------------- hearing form bounds


@pytest.mark.parametrize("quorum", ["0", "100", "-1", "50.5", "1e2", "", "９９9"])
def test_the_quorum_outside_1_to_99_is_refused_by_the_page(quorum: str) -> None:
    staff = make_staff()
    world = make_world()
    before = list(Hearing.objects.values_list("pk", "quorum_percent", "title"))
    response = staff_client(staff).post(
        f"/manage/hearings/{world.hearing.pk}/",
        {**office_matrix.HEARING_FORM, "title": "改", "quorum_percent": quorum},
    )
    assert response.status_code == 400
    assert list(Hearing.objects.values_list("pk", "quorum_percent", "title")) == before


# ------------------------------------------------------------------------------- hostile XLSX rosters


def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    """A 100 MB sheet of one repeated byte zips to about 100 KB: refused by its unpacked size."""
    staff = make_staff()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx_bytes([GOOD_ROWS[0]]))) as good,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for info in good.infolist():
            data = good.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b"</sheetData>" + b" " * (100 * 1024 * 1024))
            bomb.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    assert len(out.getvalue()) < limits.ROSTER_BYTES
    before = state()
    with pytest.raises(BadRequest) as refused:
        roster_import(data=out.getvalue(), filename="r.xlsx", by=staff)
    assert "解压后过大" in refused.value.message
    assert state() == before


def test_an_xlsx_formula_is_never_imported_as_text_or_run() -> None:
    """A formula cell (no value Excel computed) reads as empty: the row is a problem, no formula
    text becomes a name."""
    staff = make_staff()
    data = xlsx_bytes([["deputy009", '=HYPERLINK("//x.cn","张三")', "deputy", "", "", "", "", ""]])
    before = state()
    assert problems(data, staff, "r.xlsx") == [(2, "name")]
    assert state() == before


def test_only_the_first_sheet_of_an_xlsx_is_read() -> None:
    staff = make_staff()
    book = load_workbook(io.BytesIO(xlsx_bytes([GOOD_ROWS[0]])))
    other = book.create_sheet("其他")
    other.append(["username", "name", "role", "department"])
    other.append(["hidden1", "隐藏", "staff", ""])
    out = io.BytesIO()
    book.save(out)
    summary = roster_import(data=out.getvalue(), filename="r.xlsx", by=staff)
    assert summary.created == 1
    assert not User.objects.filter(username="hidden1").exists()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_header_with_a_byte_order_mark_or_spaces_inside_the_sheet_is_read(kind: str) -> None:
    """Pasted from a UTF-8 CSV into Excel, the first header keeps its byte order mark."""
    staff = make_staff()
    header = ["\ufeffusername", " name ", "role\u00a0", "\u3000department", "delegation", "phone", "email", "seat"]
    data = xlsx_bytes([GOOD_ROWS[0]], header=header) if kind == "xlsx" else csv_bytes([GOOD_ROWS[0]], header=header)
    summary = roster_import(data=data, filename=f"r.{kind}", by=staff)
    assert summary.created == 1


# ------------------------------------------------------------------------------- check-in on behalf


def test_a_deactivated_deputy_is_not_checked_in_on_their_behalf() -> None:
    """A moderator cannot make the quorum with someone who has left (deactivated while on the
    hearing): that account could not check in itself."""
    staff = make_staff()
    world = make_world(deputies=0, status=Hearing.Status.LIVE)
    gone = make_person("deputy", name="离任代表")
    world.hearing.deputies.add(gone)
    services.person_deactivate(person_id=gone.person.pk, by=staff)
    before = list(Attendance.objects.values_list("deputy_id", flat=True))
    with pytest.raises(InvalidState):
        checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=gone.pk, by=world.moderator)
    assert list(Attendance.objects.values_list("deputy_id", flat=True)) == before
    services.person_activate(person_id=gone.person.pk, by=staff)
    assert not checkin_on_behalf(hearing_id=world.hearing.pk, deputy_id=gone.pk, by=world.moderator).duplicate


def test_a_seat_session_finds_no_way_around_its_hearing(seat_world: tuple[World, Any, dict[int, str]]) -> None:
    """Path variants of another hearing's tablet, /manage/ asked as htmx, the API: a seat
    session gets what an anonymous browser gets."""
    world, _staff, codes = seat_world
    deputy = world.deputies[0]
    other = make_world().hearing
    other.deputies.add(deputy)
    tablet = Client()
    assert tablet.post(f"/seat/{codes[deputy.pk]}/").status_code == 302
    anonymous = Client()
    attempts: list[tuple[str, dict[str, Any]]] = [
        (f"/hearings/{other.pk}/tablet", {}),
        (f"/hearings/{other.pk}/tablet//", {}),
        (f"/hearings/{other.pk}/TABLET/", {}),
        (f"/hearings/{other.pk}/./tablet/", {}),
        (f"/hearings/{other.pk:03d}/tablet/", {}),
        ("/manage/", {"HTTP_HX_REQUEST": "true"}),
        (f"/manage/hearings/{world.hearing.pk}/seats/", {"HTTP_HX_REQUEST": "true"}),
        ("/api/v1/assignments/", {"HTTP_ACCEPT": "application/json"}),
    ]
    for path, headers in attempts:
        got, expected = tablet.get(path, **headers), anonymous.get(path, **headers)
        assert (got.status_code, got.get("Location")) == (expected.status_code, expected.get("Location")), path
        assert got.status_code != 200 or path.startswith("/api/"), path
    followed = tablet.get(f"/hearings/{other.pk}/tablet", follow=True)
    assert followed.redirect_chain and followed.redirect_chain[-1][0].startswith("/accounts/login/")
    assert tablet.get(f"/hearings/{world.hearing.pk}/tablet/").status_code == 200  # still its own tablet
