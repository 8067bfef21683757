"""The session report and the department scorecards in a real browser, in both languages:
what a reader sees, the switch between languages, the print layout and the downloads.
Screenshots land in artifacts/screenshots/ (report-*, scorecards-*)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import PHONE, call, wider_than_viewport
from tests.reports.session import Session, play_session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Shoot = Callable[..., Path]
WIDE = {"width": 1280, "height": 900}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def session(asgi_server: str) -> Session:
    return call(play_session)


def _page(browser: Any, viewport: dict[str, int], locale: str) -> Any:
    context = browser.new_context(viewport=viewport, locale=locale, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


def test_report_in_chinese_prints_and_downloads(
    browser: Any, asgi_server: str, session: Session, screenshot: Shoot
) -> None:
    page = _page(browser, WIDE, "zh-CN")
    page.goto(f"{asgi_server}/hearings/{session.hearing.pk}/report/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text(session.hearing.title)
    first = session.polls[0]
    expect(page.locator(f"#poll-{first.pk} .rate")).to_have_text("83.3%")
    expect(page.locator(".question-list > li")).to_have_count(8)
    expect(page.locator("#assignments tbody tr")).to_have_count(4)
    screenshot(page, "report-zh-1280")

    # Downloads are real files with the report's name.
    with page.expect_download() as pdf:
        page.click("text=下载 PDF")
    assert pdf.value.suggested_filename == f"hearing-{session.hearing.pk}-report.pdf"
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as xlsx:
        page.click("text=下载 Excel")
    assert xlsx.value.suggested_filename.endswith(".xlsx")

    # Paper: no navigation, no buttons, the report alone.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".report-actions")).to_be_hidden()
    screenshot(page, "report-zh-print")
    assert not page.errors


def test_report_switches_to_english(browser: Any, asgi_server: str, session: Session, screenshot: Shoot) -> None:
    page = _page(browser, WIDE, "zh-CN")
    page.goto(f"{asgi_server}/hearings/{session.hearing.pk}/report/")
    page.click(".lang-switch button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(rf"/hearings/{session.hearing.pk}/report/$"))
    expect(page.locator(".report-kind")).to_have_text("Hearing report")
    expect(page.locator(f"#poll-{session.polls[0].pk} .rate")).to_have_text("83.3%")
    # Interface text is English; only the hearing's own data (titles, questions) is Chinese.
    for selector in ("#agenda thead", "#polls thead", "#assignments thead", ".report-summary .tile-label"):
        for text in page.locator(selector).all_inner_texts():
            assert not CJK.search(text), (selector, text)
    screenshot(page, "report-en-1280")
    phone = _page(browser, PHONE, "en-US")
    phone.goto(f"{asgi_server}/hearings/{session.hearing.pk}/report/")
    expect(phone.locator(".report-kind")).to_have_text("Hearing report")
    # Nothing wider than the phone.
    assert not wider_than_viewport(phone)
    screenshot(phone, "report-en-390x844")
    assert not page.errors and not phone.errors


def test_scorecards_in_both_languages(browser: Any, asgi_server: str, session: Session, screenshot: Shoot) -> None:
    page = _page(browser, WIDE, "zh-CN")
    page.goto(f"{asgi_server}/scorecards/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    for department in session.departments[:2]:
        expect(page.locator("main")).to_contain_text(department.name)
    screenshot(page, "scorecards-zh-1280")
    page.click(".lang-switch button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    screenshot(page, "scorecards-en-1280")
    phone = _page(browser, PHONE, "zh-CN")
    phone.goto(f"{asgi_server}/scorecards/")
    assert not wider_than_viewport(phone)
    screenshot(phone, "scorecards-zh-390x844")
    assert not page.errors and not phone.errors
