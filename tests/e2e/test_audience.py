"""Audience figures where people read them: the session report's press-release line, table and
chart over time (screenshot artifacts/screenshots/audience-report.png), and the control panel's
card, which keeps itself up to date while the hearing is live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from audience import services as audience
from tests.e2e.helpers import PHONE, call, login
from tests.factories import World, make_world
from tests.reports.session import Session, play_session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Shoot = Callable[..., Path]
ONLINE = [120, 480, 905, 650, 300, 80]  # one sample a minute; the peak is the third


def test_the_report_reads_like_the_press_release_with_a_chart(
    browser: Any, asgi_server: str, screenshot: Shoot
) -> None:
    session: Session = call(play_session)
    hearing = session.hearing
    for n in range(40):  # 40 loads by 25 viewers
        call(audience.page_view, hearing_id=hearing.pk, viewer=f"viewer-{n % 25}")
    assert hearing.started_at is not None
    start = hearing.started_at.replace(second=0, microsecond=0)
    for minute, online in enumerate(ONLINE):
        call(audience.sample, hearing_id=hearing.pk, at=start + timedelta(minutes=minute), online=online)

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{asgi_server}/hearings/{hearing.pk}/report/")
    expect(page.locator("#audience-lead")).to_contain_text("在线收看 40 人次")
    expect(page.locator("#audience-page-views")).to_have_text("40")
    expect(page.locator("#audience-unique")).to_have_text("25")
    expect(page.locator("#audience-peak")).to_contain_text("905")
    chart = page.locator("#audience .report-chart svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80
    page.locator("#audience").scroll_into_view_if_needed()
    screenshot(page, "audience-report")
    page.context.close()


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world(status="live")


def test_the_control_panel_shows_the_figures_and_keeps_them_current(
    browser: Any, asgi_server: str, world: World, screenshot: Shoot
) -> None:
    control = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN").new_page()
    login(control, asgi_server, world.moderator, f"/hearings/{world.hearing.pk}/control/")
    expect(control.locator("#audience-page-views")).to_have_text("0")

    # Two phones open the live page; the card shows them at its next refresh (every 30 s).
    phones = [browser.new_context(viewport=PHONE, locale="zh-CN").new_page() for _ in range(2)]
    for phone in phones:
        phone.goto(f"{asgi_server}/hearings/{world.hearing.pk}/")
    expect(control.locator("#audience-page-views")).to_have_text("2", timeout=45_000)
    expect(control.locator("#audience-unique")).to_have_text("2")
    screenshot(control, "audience-control")
    for page in [control, *phones]:
        page.context.close()
