"""The other pages in a real browser: the list, the public live page, the big screen and the
control panel follow the hearing over their sockets, and the control panel drives it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hearings.models import Question
from tests.e2e.helpers import DESKTOP, PHONE, login
from tests.factories import World, make_world
from voting.models import Poll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world(deputies=2, theme="助企纾困 优化营商环境")


def new_page(browser: Any, viewport: dict[str, int], errors: list[str]) -> Any:
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def test_list_links_to_the_hearing(
    browser: Any, asgi_server: str, world: World, screenshot: Callable[[Any, str], Path]
) -> None:
    errors: list[str] = []
    page = new_page(browser, PHONE, errors)
    page.goto(asgi_server + "/accounts/login/")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    screenshot(page, "login-390x844")
    page.goto(asgi_server + "/")
    link = page.get_by_role("link", name=world.hearing.title)
    expect(link).to_be_visible()
    screenshot(page, "list-390x844")
    link.click()
    expect(page).to_have_url(f"{asgi_server}/hearings/{world.hearing.pk}/")
    assert not errors


def test_control_panel_drives_the_public_page_and_the_screen(
    browser: Any, asgi_server: str, world: World, screenshot: Callable[[Any, str], Path]
) -> None:
    errors: list[str] = []
    hid = world.hearing.pk
    public = new_page(browser, PHONE, errors)
    public.goto(f"{asgi_server}/hearings/{hid}/")
    screen = new_page(browser, DESKTOP, errors)
    screen.goto(f"{asgi_server}/hearings/{hid}/screen/")
    control = new_page(browser, DESKTOP, errors)
    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    for page in (public, screen, control):
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")
        expect(page.locator("#hearing-status")).to_have_text("筹备中")

    control.get_by_role("button", name="开始问政会").click()
    for page in (public, screen, control):
        expect(page.locator("#hearing-status")).to_have_text("直播中")
    control.locator(f"#item-{world.items[1].pk}").get_by_role("button", name="开始", exact=True).click()
    for page in (public, screen):
        expect(page.locator("#current-item")).to_contain_text(world.items[1].title)

    # A public question waits for the moderator before anyone else sees it.
    text = "<script>alert(1)</script> 办证还要多久？"
    public.fill("#ask-text", text)
    public.get_by_role("button", name="提交").click()
    expect(public.locator("#ask-state")).to_have_text("已提交，主持人审核后公开。")
    question = Question.objects.get(hearing_id=hid)
    pending = control.locator(f"#question-{question.pk}")
    expect(pending).to_contain_text("待审核")
    expect(pending).to_contain_text(text)
    expect(public.locator("#questions .question")).to_have_count(0)
    pending.get_by_role("button", name="通过", exact=True).click()
    expect(public.locator(f"#question-{question.pk}")).to_contain_text(text)
    control.locator(f"#question-{question.pk}").get_by_role("button", name="上台").click()
    expect(screen.locator("#on-stage")).to_contain_text(text)
    public.locator(f"#question-{question.pk}").get_by_role("button", name="点赞").click()
    expect(public.locator(f"#question-{question.pk} .likes")).to_have_text("赞 1")

    control.locator(f"#item-{world.items[1].pk}").get_by_role("button", name="开启测评").click()
    expect(screen.locator("#polls")).to_contain_text("已投 0 / 应投 0")
    poll = Poll.objects.get(hearing_id=hid)
    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="结束投票").click()
    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="公布结果").click()
    expect(screen.locator(f"#poll-{poll.pk}")).to_contain_text("已公布")

    screenshot(public, "live-390x844")
    screenshot(screen, "screen-1920x1080")
    screenshot(control, "control-1920x1080")
    assert not errors, errors
