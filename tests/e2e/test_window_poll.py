"""An annual 评议 round in a real browser: the office prepares a sheet of five departments on a
five-level scale as a window poll on its polls page; a deputy logs in on a phone, is reminded of
the open ballot, taps one choice per row (a row left out is pointed at), confirms the summary
and casts; the page then says 已投票 and shows no choice back, and the office sees 1 of 1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hearings.models import Department, Hearing, Person
from tests.e2e.helpers import DESKTOP, PHONE, wider_than_viewport
from tests.factories import PASSWORD, make_user
from voting.models import Poll, SecretTally, VoteRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEPARTMENTS = ["县住房和城乡建设局", "县教育局", "县卫生健康局", "县交通运输局", "县市场监督管理局"]
CHOICES = ["非常满意", "满意", "基本满意", "满意", "不满意"]  # the deputy's tap on each row


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
        return page


@pytest.fixture
def pages(browser: Any) -> Iterator[Pages]:
    pages = Pages(browser)
    yield pages
    for context in pages.contexts:
        context.close()
    assert not pages.errors, f"JavaScript errors on the pages: {pages.errors}"


def log_in(page: Any, base: str, username: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + next_path)


def test_staff_prepare_a_window_sheet_and_a_deputy_votes_on_a_phone(
    pages: Pages, asgi_server: str, screenshot: Any
) -> None:
    base = asgi_server
    departments = [Department.objects.create(name=name, short_name=name[1:4]) for name in DEPARTMENTS]
    hearing = Hearing.objects.create(
        title="2026 年度部门工作评议", starts_at=timezone.now() - timedelta(days=1), status=Hearing.Status.ENDED
    )
    deputy = make_user("dep01", first_name="张代表")
    Person.objects.create(user=deputy, name="张代表", role=Person.Role.DEPUTY)
    hearing.deputies.add(deputy)
    staff = make_user("office01")
    Person.objects.create(user=staff, name="会务工作人员", role=Person.Role.STAFF)

    # The office prepares the sheet: five departments, the 5-level scale, a window from now.
    office = pages.new(DESKTOP)
    log_in(office, base, "office01", f"/manage/hearings/{hearing.pk}/")
    office.click("#hearing-polls-link")
    expect(office).to_have_url(f"{base}/manage/hearings/{hearing.pk}/polls/")
    form = office.locator("#poll-form")
    expect(form.locator("#part-select")).to_be_hidden()  # a sheet is the default kind
    form.locator("[name=title]").fill("年度部门满意度测评")
    for department in departments:
        form.locator(f"input[name=departments][value='{department.pk}']").check()
    form.locator("input[name=scale][value=five]").check()
    now = timezone.localtime()
    form.locator("[name=opens_at]").fill((now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    form.locator("[name=closes_at]").fill((now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    screenshot(office, "window-office-prepare")
    office.click("#poll-prepare-submit")
    poll = Poll.objects.get()
    card = office.locator(f"#office-poll-{poll.pk}")
    expect(card).to_contain_text("年度部门满意度测评")
    expect(card).to_contain_text("投票中")
    expect(card).to_contain_text("已投 0 / 应投 1")
    assert (poll.kind, poll.status, poll.choices) == (
        "sheet",
        "open",
        ["非常满意", "满意", "基本满意", "不满意", "非常不满意"],
    )

    # A deputy on a phone: reminded on landing, then the ballot.
    phone = pages.new(PHONE)
    log_in(phone, base, "dep01", "/")
    phone.click("#ballot-reminder a")
    expect(phone).to_have_url(f"{base}/polls/")
    phone.click(f"#ballot-card-{poll.pk}")
    expect(phone).to_have_url(f"{base}/polls/{poll.pk}/")
    rows = phone.locator("[data-row]")
    expect(rows).to_have_count(5)
    for n in range(4):  # the last row left out at first
        rows.nth(n).locator("label.tap", has_text=re.compile(f"^{CHOICES[n]}$")).click()
    phone.click("#ballot-review")
    expect(phone.locator("#ballot-missing")).to_be_visible()
    expect(rows.nth(4)).to_have_class(re.compile(r"\bmissing\b"))
    assert VoteRecord.objects.count() == 0
    rows.nth(4).locator("label.tap", has_text=re.compile(f"^{CHOICES[4]}$")).click()
    expect(phone.locator("#ballot-missing")).to_be_hidden()
    assert wider_than_viewport(phone) == []
    screenshot(phone, "window-phone-ballot")

    phone.click("#ballot-review")
    summary = phone.locator("#ballot-summary")
    expect(summary).to_be_visible()
    items = summary.locator("li")
    expect(items).to_have_count(5)
    for n, name in enumerate(DEPARTMENTS):
        expect(items.nth(n)).to_contain_text(name)
        expect(items.nth(n).locator(".summary-choice")).to_have_text(CHOICES[n])
    assert VoteRecord.objects.count() == 0  # nothing is sent before the confirmation
    screenshot(phone, "window-phone-summary", full_page=False)

    phone.click("#ballot-confirm")
    expect(phone.locator("#ballot-done")).to_contain_text("已投票")
    expect(phone).to_have_url(f"{base}/polls/{poll.pk}/")
    expect(phone.locator("#ballot-form")).to_have_count(0)
    body = phone.locator("main").inner_text()
    assert "非常满意" not in body and "不满意" not in body  # a secret poll: no choice shown back
    screenshot(phone, "window-phone-voted", full_page=False)
    phone.go_back()  # the summary's page is not kept: it is asked for again and says 已投票
    expect(phone.locator("#ballot-done")).to_be_visible()

    assert VoteRecord.objects.filter(poll=poll, deputy=deputy).count() == 1
    counts = SecretTally.objects.get(poll=poll).counts
    rows_in_order = list(poll.options.order_by("position").values_list("pk", flat=True))
    assert [counts[str(pk)] for pk in rows_in_order] == [{choice: 1} for choice in CHOICES]
    office.reload()
    expect(office.locator(f"#office-poll-{poll.pk}")).to_contain_text("已投 1 / 应投 1")
    screenshot(office, "window-office-list")
