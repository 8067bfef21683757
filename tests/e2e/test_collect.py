"""The collection page in a real browser: a phone picks a category, writes a question, leaves a
contact and sends it; it lands on the thank-you state (a reload sends nothing); the moderator's
panel shows the question pending with its category, and no contact (the office sees that in the
admin only). Outside the window the form is disabled with the reason. No CSP violation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hearings.models import Hearing, Question
from tests.e2e.helpers import PHONE, login
from tests.factories import PASSWORD, World, make_world
from tests.hearings.collect_helpers import fresh_limit_window, open_window

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["fresh_limit_window"]

CONTACT = "13598765432"


@pytest.fixture
def world(transactional_db: None) -> World:
    world = make_world(deputies=1)
    open_window(world.hearing)
    return world


@pytest.fixture
def context(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    yield context
    context.close()


def watched(page: Any) -> list[str]:
    """JavaScript errors and CSP violations the page reports."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return problems


def test_a_phone_sends_a_question_and_the_moderator_sees_it_pending(
    context: Any, browser: Any, asgi_server: str, world: World, screenshot: Callable[..., Path]
) -> None:
    page = context.new_page()
    problems = watched(page)
    url = f"{asgi_server}/hearings/{world.hearing.pk}/collect/"
    page.goto(url)
    expect(page.locator("#collect-window")).to_contain_text("截止")
    page.click("label.chip:has-text('交通出行')")
    page.fill("#collect-text", "早高峰县城东路口拥堵严重，能否增设信号灯？")
    expect(page.locator("#collect-count")).to_have_text("21 / 500")
    page.fill("#collect-name", "赵女士")
    page.fill("#collect-contact", "135 9876 5432")
    screenshot(page, "collect-form-390x844")
    page.click("#collect-submit")
    expect(page.locator("#collect-thanks")).to_be_visible()
    assert page.url == url + "?sent=1"
    screenshot(page, "collect-thanks-390x844", full_page=False)
    page.reload()
    expect(page.locator("#collect-thanks")).to_be_visible()
    q = Question.objects.get()
    assert (q.source, q.status, q.category, q.asker_name, q.contact) == (
        "collected",
        "pending",
        "交通出行",
        "赵女士",
        CONTACT,
    )
    assert CONTACT not in page.content()
    assert not problems, problems

    moderator = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN").new_page()
    login(moderator, asgi_server, world.moderator, f"/hearings/{world.hearing.pk}/control/")
    card = moderator.locator(f"#question-{q.pk}")
    expect(card).to_contain_text("早高峰县城东路口拥堵严重")
    expect(card).to_contain_text("待审核")
    assert CONTACT not in moderator.content() and "9876" not in moderator.content()
    screenshot(moderator, "collect-control-pending")
    moderator.context.close()


def test_outside_the_window_the_form_is_disabled(
    context: Any, asgi_server: str, world: World, screenshot: Callable[..., Path]
) -> None:
    Hearing.objects.filter(pk=world.hearing.pk).update(collect_closes_at=timezone.now() - timedelta(minutes=5))
    page = context.new_page()
    problems = watched(page)
    page.goto(f"{asgi_server}/hearings/{world.hearing.pk}/collect/")
    expect(page.locator("#collect-closed")).to_contain_text("截止")
    expect(page.locator("#collect-submit")).to_be_disabled()
    expect(page.locator("#collect-text")).to_be_disabled()
    screenshot(page, "collect-closed-390x844", full_page=False)
    assert Question.objects.count() == 0
    assert not problems, problems


def test_a_deputy_sends_as_a_deputy(context: Any, asgi_server: str, world: World) -> None:
    page = context.new_page()
    path = f"/hearings/{world.hearing.pk}/collect/"
    page.goto(f"{asgi_server}/accounts/login/?next={path}")  # the page is public: no redirect to log in
    page.fill("#id_username", world.deputies[0].username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(asgi_server + path)
    expect(page.locator("#collect-card")).to_contain_text("代表的身份提问")
    expect(page.locator("#collect-contact")).to_have_count(0)
    page.click("label.chip:has-text('教育')")
    page.fill("#collect-text", "农村学校教师编制不足怎么解决？")
    page.click("#collect-submit")
    expect(page.locator("#collect-thanks")).to_be_visible()
    q = Question.objects.get()
    assert (q.source, q.asker_id) == ("deputy", world.deputies[0].pk)
