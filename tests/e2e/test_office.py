"""The congress office prepares and runs a hearing in a real browser, from an empty database
with one staff account and no seed_demo: departments, the roster (a bad row first), a hearing
with its agenda, its deputies and moderator, seat cards; a tablet logs in by its seat code;
the moderator runs the hearing, and an agenda item added during it reaches the public page and
the big screen without a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from hearings.models import AgendaItem, Department, Hearing, Person, SeatCode
from tests.e2e.helpers import DESKTOP, PHONE
from tests.factories import PASSWORD, make_user
from voting.models import Attendance

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1024, "height": 768}
HEADER = "username,name,role,department,delegation,seat\n"
ROWS = [
    "dep01,张三,deputy,,城关镇代表团,1排1号",
    "dep02,李四,deputy,,城关镇代表团,1排2号",
    "dep03,王五,deputy,,东岗镇代表团,2排1号",
    "mod01,赵主任,moderator,,,",
    "lia01,钱联络,liaison,住建局,,",
]
BAD_ROW = "lia02,孙联络,liaison,交通局,,"  # no such department: row 7 (the header is row 1)


class Pages:
    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def new(self, viewport: dict[str, int]) -> Any:
        context = self.browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())
        return page


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    pages = Pages(browser)
    yield pages
    for context in pages.contexts:
        context.close()
    assert not pages.errors, f"JavaScript errors on the pages: {pages.errors}"


def log_in(page: Any, base: str, username: str, password: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + next_path)


def upload_roster(page: Any, rows: list[str]) -> None:
    body = (HEADER + "\n".join(rows) + "\n").encode()
    page.set_input_files(
        "#roster-upload input[name=file]", files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": body}]
    )
    page.click("#roster-upload button[type=submit]")


def test_the_office_prepares_a_hearing_and_the_moderator_runs_it(
    pages: Pages, asgi_server: str, tmp_path: Path, screenshot: Any
) -> None:
    base = asgi_server
    users = get_user_model().objects
    staff_user = make_user("office01", first_name="会务工作人员")
    Person.objects.create(user=staff_user, name="会务工作人员", role=Person.Role.STAFF)
    assert (users.count(), Hearing.objects.count(), Department.objects.count()) == (1, 0, 0)

    office = pages.new(DESKTOP)
    log_in(office, base, "office01", PASSWORD, "/manage/hearings/")
    expect(office.locator(".office-nav")).to_be_visible()

    # Departments.
    office.goto(f"{base}/manage/departments/")
    office.fill("#department-form input[name=name]", "县住房和城乡建设局")
    office.fill("#department-form input[name=short_name]", "住建局")
    office.click("#department-form button[type=submit]")
    expect(office.locator("#department-table")).to_contain_text("住建局")
    housing = Department.objects.get(short_name="住建局")

    # The roster: one bad row first — its problem named, nobody stored; then the fixed file.
    office.goto(f"{base}/manage/roster/")
    upload_roster(office, [*ROWS, BAD_ROW])
    problems = office.locator("#roster-problems")
    expect(problems).to_contain_text("第 7 行")
    expect(problems).to_contain_text("交通局")
    expect(office.locator("#roster-import")).to_have_count(0)
    screenshot(office, "office-roster-error-zh-1920")
    assert users.count() == 1 and Person.objects.count() == 1
    upload_roster(office, ROWS)
    expect(office.locator("#roster-import button")).to_contain_text("导入 5 人")
    office.click("#roster-import button")
    expect(office.locator("#roster-preview")).to_contain_text("5")
    expect(office.locator("#roster-import")).to_have_count(0)
    assert Person.objects.filter(role="deputy").count() == 3
    assert list(housing.liaisons.values_list("username", flat=True)) == ["lia01"]

    # A hearing.
    office.goto(f"{base}/manage/hearings/new/")
    office.fill("#hearing-form [name=title]", "城市更新专题询问")
    office.select_option("#hearing-form [name=kind]", "inquiry")
    office.fill("#hearing-form [name=venue]", "县人大常委会会议室")
    office.fill("#hearing-form [name=starts_at]", "2026-12-15T09:00")
    office.click("#hearing-form button[type=submit]")
    expect(office).to_have_url(re.compile(r"/manage/hearings/\d+/$"))
    hearing = Hearing.objects.get(title="城市更新专题询问")
    assert hearing.kind == "inquiry"
    hid = hearing.pk

    # Its deputies and moderator.
    for username in ("dep01", "dep02", "dep03", "mod01"):
        office.check(f"#roster-form input[value='{Person.objects.get(user__username=username).user_id}']")
    office.click("#roster-form button[type=submit]")
    expect(office.locator("#deputy-count")).to_have_text("3")
    expect(office.locator("#moderator-count")).to_have_text("1")
    screenshot(office, "office-hearing-zh-1920")

    # Its agenda.
    office.goto(f"{base}/manage/hearings/{hid}/agenda/")
    for title, department in (("主持人开场", ""), ("询问县住建局：老旧小区改造", str(housing.pk))):
        form = office.locator("form.office-add")
        form.locator("[name=title]").fill(title)
        form.locator("[name=department]").select_option(department)
        form.locator("button[type=submit]").click()
        expect(office.locator("#office-agenda")).to_contain_text(title)
    assert list(AgendaItem.objects.filter(hearing=hearing).values_list("position", "title")) == [
        (1, "主持人开场"),
        (2, "询问县住建局：老旧小区改造"),
    ]
    screenshot(office, "office-agenda-zh-1920")

    # Seat cards: codes for every deputy, printed as a PDF.
    office.goto(f"{base}/manage/hearings/{hid}/seats/")
    office.click("#seats-issue")
    expect(office.locator("#seat-rows code")).to_have_count(3)
    pdf = office.request.get(f"{base}/manage/hearings/{hid}/seats.pdf")
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    dep01 = users.get(username="dep01")
    code = office.locator(f"#seat-deputy-{dep01.pk} code").inner_text()
    screenshot(office, "office-seats-zh-1920")

    # The moderator's first password, shown once to staff.
    office.goto(f"{base}/manage/people/{Person.objects.get(user__username='mod01').pk}/")
    office.click("#person-password button")
    password = office.locator("#initial-password code.password").inner_text()

    # A tablet logs in by the seat code (no password typed), and checks in.
    tablet = pages.new(TABLET)
    tablet.goto(f"{base}/seat/{code}/")
    expect(tablet.locator("#seat-login")).to_contain_text("张三")
    tablet.click("#seat-login-button")
    expect(tablet).to_have_url(f"{base}/hearings/{hid}/tablet/")
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    assert SeatCode.objects.get(deputy=dep01, hearing=hearing).used_at is not None

    # The same code does not work twice.
    other = pages.new(TABLET)
    other.goto(f"{base}/seat/{code}/")
    if other.locator("#seat-login-button").count():
        other.click("#seat-login-button")
    expect(other.locator("#seat-error")).to_be_visible()
    assert "/tablet/" not in other.url

    # The moderator runs the hearing; the public page and the big screen follow.
    public = pages.new(PHONE)
    public.goto(f"{base}/hearings/{hid}/")
    screen = pages.new(DESKTOP)
    screen.goto(f"{base}/hearings/{hid}/screen/")
    control = pages.new(DESKTOP)
    log_in(control, base, "mod01", password, f"/hearings/{hid}/control/")
    for page in (public, screen, control):
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    control.get_by_role("button", name="开始问政会").click()
    for page in (public, screen, tablet):
        expect(page.locator("#hearing-status")).to_have_text("直播中")
    first = AgendaItem.objects.get(hearing=hearing, position=1)
    control.locator(f"#item-{first.pk}").get_by_role("button", name="开始此项").click()
    expect(screen.locator("#current-item")).to_contain_text("主持人开场")

    tablet.click("#checkin")
    expect(tablet.locator("#checkin")).to_have_text("✓ 已签到")
    assert Attendance.objects.filter(hearing=hearing, deputy=dep01).exists()

    # An item added during the hearing, right after the current one, reaches every screen.
    control.check("#agenda-editing")
    control.locator("#agenda-add-tool summary").click()
    control.fill("#agenda-add-title", "临时增加：群众代表现场提问")
    control.select_option("#agenda-add-after", str(first.pk))
    control.locator("#agenda-add-tool button[type=submit]").click()
    added = "临时增加：群众代表现场提问"
    expect(public.locator("#agenda")).to_contain_text(added)
    expect(screen.locator("#next-items")).to_contain_text(added)
    expect(control.locator("#control-agenda")).to_contain_text(added)
    assert list(AgendaItem.objects.filter(hearing=hearing).order_by("position").values_list("title", flat=True)) == [
        "主持人开场",
        added,
        "询问县住建局：老旧小区改造",
    ]
    screenshot(screen, "office-screen-added-item-zh-1920", full_page=False)
    screenshot(control, "office-control-checkin-zh-1920")
