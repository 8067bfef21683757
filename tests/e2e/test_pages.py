"""The live screens in a real browser: the public page (phone), the big screen (16:9) and the
moderator's control panel follow the hearing over their sockets; the panel drives it through
htmx; a deputy's tablet votes. Screenshots land in artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core import limits
from hearings import services as hearing_services
from hearings.models import AgendaItem, Like, Question
from tests.e2e.helpers import DESKTOP, PHONE, SocketProxy, call, login, wait_until
from tests.factories import World, make_world
from voting import services as voting_services
from voting.models import Poll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"
Shoot = Callable[..., Path]


@pytest.fixture
def world(transactional_db: None) -> World:
    world = make_world(
        deputies=2,
        title="“助企纾困 优化营商环境 助推高质量发展”代表问政会",
        theme="助企纾困 优化营商环境 助推高质量发展",
        venue="县人大常委会会议室",
    )
    for deputy, name in zip(world.deputies, ("张敏", "李卫东"), strict=True):
        deputy.first_name = name
        deputy.save(update_fields=["first_name"])
    return world


class Pages:
    """Browser pages of one test; JavaScript errors and dialogs (alert!) are collected."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.contexts: list[Any] = []

    def new(self, viewport: dict[str, int], *, locale: str = "zh-CN") -> Any:
        context = self.browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        # The panel asks before ending a hearing; nothing else may open a dialog.
        if dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser: Any) -> Any:
    opened = Pages(browser)
    yield opened
    opened.close()
    assert not opened.errors, f"JavaScript errors: {opened.errors}"


def connected(*open_pages: Any) -> None:
    for page in open_pages:
        expect(page.locator("#conn")).to_have_attribute("data-state", "open")


def within(seconds: float, *checks: Callable[[float], None]) -> None:
    """Each check (given the milliseconds left) must pass before `seconds` from now."""
    deadline = time.monotonic() + seconds
    for check in checks:
        check(max(1.0, (deadline - time.monotonic()) * 1000))
    assert time.monotonic() <= deadline + 0.05, "too slow"


def shows(locator: Any, text: str | re.Pattern[str]) -> Callable[[float], None]:
    return lambda ms: expect(locator).to_contain_text(text, timeout=ms)


def open_the_three(pages: Pages, asgi_server: str, world: World) -> tuple[Any, Any, Any]:
    hid = world.hearing.pk
    public = pages.new(PHONE)
    public.goto(f"{asgi_server}/hearings/{hid}/")
    screen = pages.new(DESKTOP)
    screen.goto(f"{asgi_server}/hearings/{hid}/screen/")
    control = pages.new(DESKTOP)
    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    connected(public, screen, control)
    return public, screen, control


# --------------------------------------------------------------------------- pages and links


def test_list_links_to_the_hearing(pages: Pages, asgi_server: str, world: World, screenshot: Shoot) -> None:
    page = pages.new(PHONE)
    page.goto(asgi_server + "/accounts/login/")
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    screenshot(page, "login-390x844")
    page.goto(asgi_server + "/")
    link = page.get_by_role("link", name=world.hearing.title)
    expect(link).to_be_visible()
    expect(page.get_by_role("link", name="会务控制台")).to_have_count(0)
    expect(page.get_by_role("link", name="交办件")).to_have_attribute("href", "/assignments/")
    screenshot(page, "list-390x844")
    link.click()
    expect(page).to_have_url(f"{asgi_server}/hearings/{world.hearing.pk}/")


# --------------------------------------------------------------------------- the moderator drives every screen


def test_moderator_clicks_reach_the_public_page_and_the_big_screen_within_a_second(
    pages: Pages, asgi_server: str, world: World, screenshot: Shoot
) -> None:
    public, screen, control = open_the_three(pages, asgi_server, world)
    item = world.items[1]
    for page in (public, screen, control):
        expect(page.locator("#hearing-status")).to_have_text("筹备中")

    control.get_by_role("button", name="开始问政会").click()
    within(1, shows(public.locator("#hearing-status"), "直播中"), shows(screen.locator("#hearing-status"), "直播中"))
    expect(control.locator("#action-result")).to_contain_text("问政会已开始")

    control.locator(f"#item-{item.pk}").get_by_role("button", name="开始此项").click()
    within(1, shows(public.locator("#current-item"), item.title), shows(screen.locator("#current-item"), item.title))
    expect(screen.locator("#countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))  # 15 planned minutes
    expect(control.locator("#current-timer .timer")).to_have_text(re.compile(r"^00:0\d$"))

    # A question from the public waits in the control queue, and only there.
    public.fill("#ask-name", XSS)
    public.fill("#ask-text", XSS)
    public.get_by_role("button", name="提交问题").click()
    expect(public.locator("#ask-state")).to_have_text("已提交，等待主持人审核，审核通过后公开。")
    question = wait_until(public, lambda: Question.objects.filter(hearing=world.hearing).first(), message="question")
    queued = control.locator(f"#control-queue #question-{question.pk}")
    expect(queued.locator(".q-text")).to_have_text(XSS)
    expect(queued.locator(".asker")).to_have_text(XSS)
    expect(public.locator("#questions .question")).to_have_count(0)

    queued.get_by_role("button", name="通过").click()
    within(1, lambda ms: expect(public.locator(f"#question-{question.pk} .q-text")).to_have_text(XSS, timeout=ms))
    expect(control.locator("#action-result")).to_contain_text(f"已通过并公开：{XSS}")
    expect(control.locator("#control-queue .q-card")).to_have_count(0)

    control.locator(f"#control-questions #question-{question.pk}").get_by_role("button", name="上台").click()
    within(1, shows(screen.locator("#on-stage .stage-text"), XSS), shows(public.locator("#on-stage"), XSS))
    expect(screen.locator("#on-stage")).to_contain_text(f"提问：{XSS}")

    # The question is text everywhere: no element was made of it, no script ran.
    for page in (public, screen, control):
        expect(page.locator("img")).to_have_count(0)
    assert pages.dialogs == []
    screenshot(public, "live-question-as-text-390x844", full_page=False)

    staged = control.locator(f"#question-{question.pk}")
    staged.locator(f"#answer-note-{question.pk}").fill("年内实现企业开办一天办结")
    staged.locator(f"#answer-commitment-{question.pk}").fill("三个月内上线“一网通办”专区")
    staged.get_by_role("button", name="标记已回答").click()
    within(
        1,
        shows(public.locator(f"#question-{question.pk} .commitment"), "三个月内上线“一网通办”专区"),
        shows(screen.locator("#on-stage"), "等待提问"),
    )
    expect(control.locator(f"#control-questions .answered-list #question-{question.pk}")).to_contain_text(
        "年内实现企业开办一天办结"
    )
    screenshot(control, "control-answered-1920x1080")

    control.get_by_role("button", name="结束问政会").click()
    within(1, shows(public.locator("#hearing-status"), "已结束"), shows(screen.locator("#current-item"), "已结束"))
    expect(public.locator("#ask-submit")).to_be_disabled()
    assert pages.dialogs == ["confirm: 确定结束问政会吗？结束后不能再提问、点赞和投票。"]


def ask(world: World, text: str, *, deputy: int | None = None, name: str = "", approve: bool = False) -> Question:
    """A question as a deputy (public at once) or from the public (pending unless `approve`)."""
    hid = world.hearing.pk
    if deputy is not None:
        asker = world.deputies[deputy]
        return call(hearing_services.question_submit, hearing_id=hid, text=text, source="deputy", asker=asker)
    question = call(hearing_services.question_submit, hearing_id=hid, text=text, source="public", asker_name=name)
    if approve:
        call(hearing_services.question_approve, hearing_id=hid, question_id=question.pk, by=None)
    return question


def test_a_deputy_vote_shows_on_the_big_screen_and_published_results_everywhere(
    pages: Pages, asgi_server: str, world: World, screenshot: Shoot
) -> None:
    hid = world.hearing.pk
    item = world.items[1]
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=item.pk, by=None)
    call(voting_services.checkin, hearing_id=hid, deputy=world.deputies[1])  # M = 2 with the tablet's deputy
    staged = ask(world, "请问县发改局，惠企政策兑现平均需要多少个工作日？能否压缩到 15 个工作日以内？", deputy=0)
    call(hearing_services.question_stage, hearing_id=hid, question_id=staged.pk, by=None)
    ask(world, "小微企业贷款贴息政策什么时候落实到位？", name="热心市民", approve=True)
    ask(world, "个体工商户办理营业执照还需要跑几次？", name="个体户老王")
    ask(world, "希望开通不动产登记线上预约。")
    public, screen, control = open_the_three(pages, asgi_server, world)
    tablet = pages.new(PHONE)
    login(tablet, asgi_server, world.deputies[0], f"/hearings/{hid}/tablet/")
    connected(tablet)
    tablet.click("#checkin")
    expect(tablet.locator("#checkin")).to_have_text("✓ 已签到")

    expect(control.locator("#poll-item")).to_have_value(str(item.pk))  # the current item by default
    control.get_by_role("button", name="开启测评").click()
    within(1, shows(screen.locator("#poll"), "0 / 2"), shows(tablet.locator("#poll"), "已投 0 / 应投 2"))
    expect(screen.locator("#poll")).to_contain_text("位代表已投票")
    poll = Poll.objects.get(hearing_id=hid)

    tablet.locator("#poll").get_by_role("button", name="满意", exact=True).click()
    within(1, shows(screen.locator(f"#poll-{poll.pk}-progress"), re.compile(r"^1 / 2$")))
    expect(tablet.locator("#vote-state")).to_contain_text("已记录")
    expect(control.locator(f"#poll-{poll.pk}-progress")).to_have_text("已投 1 / 应投 2")
    screenshot(screen, "screen-1920x1080", full_page=False)
    screenshot(control, "control-1920x1080", full_page=False)
    screenshot(public, "live-390x844", full_page=False)
    public.locator("#questions-card").scroll_into_view_if_needed()
    screenshot(public, "live-questions-390x844", full_page=False)

    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="结束投票").click()
    within(1, shows(screen.locator("#poll"), "投票已结束"))
    expect(public.locator("#polls")).not_to_contain_text("满意率")  # hidden until published
    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="公布结果").click()
    within(
        1,
        shows(screen.locator(f"#poll-{poll.pk}-rate"), "100.0%"),
        shows(public.locator(f"#poll-{poll.pk}"), "满意率 100.0%"),
    )
    expect(screen.locator('#poll .bar[data-choice="满意"] .bar-value')).to_have_text("1 票 · 100.0%")
    expect(screen.locator('#poll .bar[data-choice="不满意"] .bar-value')).to_have_text("0 票 · 0.0%")
    expect(public.locator(f"#poll-{poll.pk} .bar")).to_have_count(3)
    expect(tablet.locator("#poll")).to_contain_text("满意率 100.0%")
    expect(control.locator(f"#poll-{poll.pk}")).to_contain_text("满意率 100.0%")
    screenshot(screen, "screen-results-1920x1080", full_page=False)
    public.locator("#polls-card").scroll_into_view_if_needed()
    screenshot(public, "live-results-390x844", full_page=False)
    public.set_viewport_size(DESKTOP)
    screenshot(public, "live-1920x1080", full_page=False)
    screenshot(control, "control-results-1920x1080-full")


# --------------------------------------------------------------------------- the public page


def test_a_like_shows_at_once_and_counts_once(pages: Pages, asgi_server: str, world: World) -> None:
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    older = call(hearing_services.question_submit, hearing_id=hid, text="老问题", source="public")
    call(hearing_services.question_approve, hearing_id=hid, question_id=older.pk, by=None)
    newer = ask(world, "新问题", deputy=0)
    public = pages.new(PHONE)
    proxy = SocketProxy(public)
    public.goto(f"{asgi_server}/hearings/{hid}/")
    connected(public)
    rows = public.locator("#questions .question")
    expect(rows).to_have_count(2)

    # The server's answer is held back: the page does not wait for it.
    proxy.hold = lambda frame: frame.get("type") == "ack" and str(frame.get("id", "")).startswith("like")
    button = public.locator(f"#question-{older.pk} .like")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button.locator(".like-count")).to_have_text("1")
    wait_until(public, lambda: proxy.held, message="the held ack")
    proxy.release()
    wait_until(public, lambda: Like.objects.filter(question_id=older.pk).count() == 1, message="the like stored")
    button.click()  # one like per viewer: a second tap sends nothing
    public.wait_for_timeout(300)
    assert len(proxy.sent_of("like")) == 1
    expect(button.locator(".like-count")).to_have_text("1")

    # Most liked first; newest first on request.
    expect(rows.first).to_have_id(f"question-{older.pk}")
    public.get_by_role("button", name="最新").click()
    expect(rows.first).to_have_id(f"question-{newer.pk}")

    public.locator("#like-hearing").click()
    expect(public.locator("#likes")).to_have_text("1")
    expect(public.locator("#like-hearing")).to_have_text(re.compile("已点赞"))

    # A reload remembers both likes and the order chosen.
    public.reload()
    connected(public)
    expect(public.locator(f"#question-{older.pk} .like")).to_have_attribute("aria-pressed", "true")
    expect(public.locator("#like-hearing")).to_have_attribute("aria-pressed", "true")
    expect(rows.first).to_have_id(f"question-{newer.pk}")
    wait_until(public, lambda: Like.objects.filter(hearing_id=hid).count() == 2, message="both likes stored")


@pytest.mark.parametrize("engine", ["native", "hlsjs", "off"])
def test_the_livestream_plays_natively_through_hls_js_or_is_a_link(
    pages: Pages, asgi_server: str, world: World, engine: str
) -> None:
    """(tests/e2e/test_player.py plays a real stream each way.)"""
    stream = "https://live.example.org/hearing/index.m3u8"
    world.hearing.stream_url = stream
    world.hearing.status = "live"
    world.hearing.save()
    page = pages.new(PHONE)
    answer = "maybe" if engine == "native" else ""
    page.add_init_script(f"HTMLMediaElement.prototype.canPlayType = () => {answer!r};")
    if engine == "off":  # no MediaSource either: hls.js cannot help
        page.add_init_script("delete window.MediaSource; delete window.ManagedMediaSource;")
    page.route(re.compile(r"live\.example\.org"), lambda route: route.abort())  # never leaves the machine
    page.goto(f"{asgi_server}/hearings/{world.hearing.pk}/")
    connected(page)
    expect(page.locator("#stream-card")).to_have_attribute("data-engine", engine)
    if engine == "native":
        expect(page.locator("#stream-video")).to_be_visible()
        expect(page.locator("#stream-video")).to_have_attribute("src", stream)
        expect(page.locator("#stream-fallback")).to_be_hidden()
    elif engine == "hlsjs":
        expect(page.locator("#stream-video")).to_be_visible()
        expect(page.locator("#player-start")).to_be_visible()
        expect(page.locator("#stream-fallback")).to_be_hidden()
    else:
        expect(page.locator("#stream-video")).to_be_hidden()
        expect(page.locator("#stream-link")).to_have_attribute("href", stream)
        expect(page.locator("#stream-link")).to_be_visible()


def test_the_public_page_in_english(pages: Pages, asgi_server: str, world: World, screenshot: Shoot) -> None:
    page = pages.new(PHONE)
    page.goto(f"{asgi_server}/hearings/{world.hearing.pk}/")
    connected(page)
    page.get_by_role("button", name="English").click()
    expect(page.locator("#ask-heading")).to_have_text("Ask a question")
    connected(page)
    expect(page.locator("#conn")).to_have_text("Connected")  # from the JavaScript catalog
    expect(page.locator("#current-item")).to_contain_text("has not started")
    screenshot(page, "live-en-390x844", full_page=False)
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("#ask-heading")).to_have_text("我要提问")


def serve_with_limits(page: Any, url: str, **changed: int) -> None:
    """`page` gets `url` with its #data-limits changed as given (the rest of the page as served)."""

    def rewrite(route: Any) -> None:
        response = route.fetch()
        html = response.text()
        for name, value in changed.items():
            served = f'"{name}": {getattr(limits, name)}'
            assert served in html, f"the page does not carry {served}"
            html = html.replace(served, f'"{name}": {value}')
        route.fulfill(response=response, body=html)

    page.route(url, rewrite)


def test_the_ask_box_counts_and_stops_at_the_limit_the_page_carries(
    pages: Pages, asgi_server: str, world: World
) -> None:
    url = f"{asgi_server}/hearings/{world.hearing.pk}/"
    page = pages.new(PHONE)
    page.goto(url)
    connected(page)
    box, count = page.locator("#ask-text"), page.locator("#ask-count")
    limit = limits.QUESTION_TEXT
    expect(count).to_have_text(f"0 / {limit}")
    assert box.evaluate("(node) => node.maxLength") == limit
    box.fill("问" * (limit - 1))
    box.press_sequentially("多几个字")  # typing stops at the limit
    expect(count).to_have_text(f"{limit} / {limit}")
    assert box.input_value() == "问" * (limit - 1) + "多"

    # The script reads the limit from the page's data, not from a number of its own.
    smaller = pages.new(PHONE)
    serve_with_limits(smaller, url, QUESTION_TEXT=12)
    smaller.goto(url)  # (Chromium keeps a page it did not fetch itself off the local server's socket)
    box, count = smaller.locator("#ask-text"), smaller.locator("#ask-count")
    expect(count).to_have_text("0 / 12")  # the template wrote the real limit; the script the page's
    box.press_sequentially("营业执照办理要多久？还有别的问题")
    expect(count).to_have_text("12 / 12")
    assert box.input_value() == "营业执照办理要多久？还有"


# --------------------------------------------------------------------------- the control panel


def test_keyboard_shortcuts_next_item_approve_and_on_stage(
    pages: Pages, asgi_server: str, world: World, screenshot: Shoot
) -> None:
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    first = call(hearing_services.question_submit, hearing_id=hid, text="第一个问题", source="public")
    second = call(hearing_services.question_submit, hearing_id=hid, text="第二个问题", source="public")
    control = pages.new(DESKTOP)
    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    connected(control)

    control.keyboard.press("n")
    expect(control.locator(f"#item-{world.items[0].pk}")).to_contain_text("进行中")
    control.keyboard.press("n")
    expect(control.locator(f"#item-{world.items[1].pk}")).to_contain_text("进行中")
    expect(control.locator("#action-result")).to_contain_text(f"已开始议程：{world.items[1].title}")

    # A picks the selected card, else the first in the queue.
    control.locator(f"#question-{second.pk} .q-text").click()
    expect(control.locator(f"#question-{second.pk}")).to_have_class(re.compile("selected"))
    # A second A at once takes the next card: the approved one left the queue on the first.
    control.keyboard.press("a")
    control.keyboard.press("a")
    expect(control.locator(f"#control-questions #question-{second.pk}")).to_be_visible()
    expect(control.locator(f"#control-questions #question-{first.pk}")).to_be_visible()
    expect(control.locator("#control-queue .q-card")).to_have_count(0)
    control.keyboard.press("a")
    expect(control.locator("#action-result")).to_have_text("没有待审核的问题。")

    # J/K move the selection; S puts the selected question on stage.
    control.locator(f"#control-questions #question-{first.pk} .q-text").click()
    control.keyboard.press("k")
    selected = control.locator(".q-card.selected")
    expect(selected).to_have_count(1)
    chosen = int(selected.get_attribute("data-question"))
    control.keyboard.press("s")
    expect(control.locator(f"#question-{chosen}")).to_contain_text("正在回答")
    wait_until(control, lambda: Question.objects.get(pk=chosen).status == "on_stage", message="on stage")
    assert AgendaItem.objects.get(pk=world.items[1].pk).status == "current"

    # Typing is never a shortcut (the answer form of the question on stage is open).
    control.locator(f"#answer-note-{chosen}").press_sequentially("nas")
    control.wait_for_timeout(300)
    assert Question.objects.get(pk=chosen).status == "on_stage"
    assert AgendaItem.objects.get(pk=world.items[1].pk).status == "current"


def test_the_panel_shows_errors_and_keeps_what_the_moderator_is_typing(
    pages: Pages, asgi_server: str, world: World
) -> None:
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    question = call(hearing_services.question_submit, hearing_id=hid, text="营业执照办里要多久", source="public")
    control = pages.new(DESKTOP)
    proxy = SocketProxy(control)
    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    connected(control)
    card = control.locator(f"#question-{question.pk}")

    # Fixing a typo: the moderator's half-typed text survives a new question arriving.
    card.get_by_text("改错字").click()
    field = control.locator(f"#edit-text-{question.pk}")
    field.fill("营业执照办理要多久？")
    field.press("End")
    later = call(hearing_services.question_submit, hearing_id=hid, text="又来一个问题", source="public")
    expect(control.locator(f"#question-{later.pk}")).to_be_visible()
    expect(field).to_have_value("营业执照办理要多久？")
    expect(field).to_be_focused()
    card.get_by_role("button", name="保存修改").click()
    expect(control.locator("#action-result")).to_contain_text("已修改：营业执照办理要多久？")
    expect(card.locator(".q-text")).to_have_text("营业执照办理要多久？")

    # Another moderator rejected it while this panel did not hear of it: the click's error shows.
    proxy.hold = lambda frame: frame.get("type") not in ("ack", "error", "snapshot")
    call(hearing_services.question_reject, hearing_id=hid, question_id=question.pk, by=None)
    card.get_by_role("button", name="通过").click()
    result = control.locator("#action-result")
    expect(result).to_have_class(re.compile("failed"))
    expect(result).to_contain_text("当前状态下不能这样做")
    expect(result).to_contain_text("这个问题已不在待审核状态")
    proxy.release()
    expect(card).to_have_count(0)

    # Merging a duplicate into the question it repeats.
    call(hearing_services.question_approve, hearing_id=hid, question_id=later.pk, by=None)
    twin = call(hearing_services.question_submit, hearing_id=hid, text="又来一个问题？", source="public")
    twin_card = control.locator(f"#question-{twin.pk}")
    twin_card.get_by_text("合并重复").click()
    twin_card.locator(f"#merge-search-{twin.pk}").fill("又来")
    twin_card.get_by_label(f"#{later.pk}").check()
    twin_card.get_by_role("button", name="合并", exact=True).click()
    expect(result).to_contain_text("已合并到：又来一个问题")
    expect(twin_card).to_have_count(0)
    assert Question.objects.get(pk=twin.pk).merged_into_id == later.pk


def test_the_panel_stays_usable_with_2000_pending_questions(
    pages: Pages, asgi_server: str, world: World, screenshot: Shoot
) -> None:
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    Question.objects.bulk_create(
        [Question(hearing_id=hid, text=f"第{i}个问题：营业执照办理要多久？", source="public") for i in range(2000)]
    )
    pending = list(Question.objects.filter(hearing_id=hid).order_by("id").values_list("pk", flat=True))
    kept = Question.objects.create(hearing_id=hid, text="路灯坏了谁来修？", source="public", status="approved")
    control = pages.new({"width": 1280, "height": 900})
    requests: list[str] = []
    control.on("request", lambda request: requests.append(request.url))

    def fetched(kind: str) -> int:
        return sum(f"/control/{kind}/" in url for url in requests)

    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    connected(control)
    assert len(control.content().encode()) < 1_000_000
    queue = control.locator("#control-queue")
    cards = queue.locator(".q-card:visible")
    expect(control.locator("#queue-count")).to_have_text("2,000")
    expect(cards).to_have_count(50)
    expect(cards.first).to_have_id(f"question-{pending[0]}")
    expect(queue.locator(".pager-range")).to_have_text("第 1–50 条，共 2,000 条")
    screenshot(control, "control-2000-pending-1280", full_page=False)

    # The keyboard flow, without waiting between keys: each card leaves at once, so the next
    # key takes the next card. A, A; J J selects the 2nd card shown, A approves it and the
    # selection moves on, R rejects that one.
    for key in "aa":
        control.keyboard.press(key)
    control.keyboard.press("j")
    control.keyboard.press("j")
    expect(control.locator(".q-card.selected")).to_have_id(f"question-{pending[3]}")
    control.keyboard.press("a")
    expect(control.locator(".q-card.selected")).to_have_id(f"question-{pending[4]}")
    control.keyboard.press("r")
    control.keyboard.press("r")
    wait_until(
        control,
        lambda: (
            list(Question.objects.filter(pk__in=pending[:6]).order_by("id").values_list("status", flat=True))
            == ["approved", "approved", "pending", "approved", "rejected", "rejected"]
        ),
        message="A, A, (J J) A, R, R on the right cards",
    )
    # The cards that left are replaced from the next page; the count is of all pending.
    expect(control.locator("#queue-count")).to_have_text("1,995")
    expect(cards).to_have_count(50)
    expect(cards.first).to_have_id(f"question-{pending[2]}")
    expect(queue.locator(f"#question-{pending[50]}")).to_be_visible()
    expect(control.locator(f"#control-questions #question-{pending[0]}")).to_be_visible()

    # Approved in another moderator's panel: it leaves this queue too.
    call(hearing_services.question_approve, hearing_id=hid, question_id=pending[2], by=None)
    expect(queue.locator(f"#question-{pending[2]}")).to_have_count(0)
    expect(control.locator("#queue-count")).to_have_text("1,994")
    expect(cards).to_have_count(50)

    # A new question beyond the page shown: only the count rises, nothing is fetched again.
    parts, singles = fetched("part/queue"), fetched("question")
    late = call(hearing_services.question_submit, hearing_id=hid, text="新来的问题", source="public")
    expect(control.locator("#queue-count")).to_have_text("1,995")
    expect(queue.locator(".pager-range")).to_have_text("第 1–50 条，共 1,995 条")
    expect(queue.locator(f"#question-{late.pk}")).to_have_count(0)

    # Merging through the search box (whose request, seen after any the new question caused,
    # shows that there were none).
    card = queue.locator(f"#question-{pending[7]}")
    card.get_by_text("合并重复").click()
    search = control.locator(f"#merge-search-{pending[7]}")
    expect(search).to_be_focused()
    wait_until(control, lambda: fetched("merge-targets"), message="the latest public questions")
    assert (fetched("part/queue"), fetched("question")) == (parts, singles)
    search.press_sequentially("路灯")
    expect(card.locator(".merge-match")).to_have_count(1)
    card.scroll_into_view_if_needed()
    screenshot(control, "control-merge-search-1280", full_page=False)
    card.get_by_label(f"#{kept.pk}").check()
    card.get_by_role("button", name="合并", exact=True).click()
    expect(control.locator("#action-result")).to_contain_text("已合并到：路灯坏了谁来修？")
    expect(card).to_have_count(0)
    wait_until(control, lambda: Question.objects.get(pk=pending[7]).merged_into_id == kept.pk, message="merged")
    expect(control.locator("#queue-count")).to_have_text("1,994")

    # On the last page, a new question joins it on its own: one card fetched, not the page.
    last = control.locator("#control-queue [data-pager-next]")
    control.goto(f"{asgi_server}/hearings/{hid}/control/?queue=1950")
    connected(control)
    expect(cards).to_have_count(44)
    expect(last).to_be_disabled()
    parts, singles = fetched("part/queue"), fetched("question")
    newest = call(hearing_services.question_submit, hearing_id=hid, text="最新的问题", source="public")
    expect(queue.locator(f"#question-{newest.pk}")).to_be_visible()
    expect(control.locator("#queue-count")).to_have_text("1,995")
    expect(cards).to_have_count(45)
    assert (fetched("part/queue"), fetched("question")) == (parts, singles + 1)
    # A page full up: the next page opens.
    for n in range(6):
        call(hearing_services.question_submit, hearing_id=hid, text=f"又一个问题{n}", source="public")
    expect(control.locator("#queue-count")).to_have_text("2,001")
    expect(cards).to_have_count(50)
    expect(last).to_be_enabled()
    last.click()
    expect(cards).to_have_count(1)
    expect(queue.locator(".pager-range")).to_have_text("第 2,001–2,001 条，共 2,001 条")
