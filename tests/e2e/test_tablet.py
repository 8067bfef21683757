"""The deputy tablet in a real browser: check in, vote, and a vote that survives the network."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hearings import services as hearing_services
from hearings.models import Question
from tests.e2e.helpers import DESKTOP, PHONE, SocketProxy, call, login, wait_until
from tests.factories import World, make_world
from tests.voting.helpers import stored_counts, stored_total
from voting import services as voting_services
from voting.models import Attendance, Poll, VoteRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world(deputies=2)


@pytest.fixture
def page(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_tablet_and_check_in(page: Any, asgi_server: str, world: World) -> Any:
    deputy = world.deputies[0]
    path = f"/hearings/{world.hearing.pk}/tablet/"
    login(page, asgi_server, deputy, path)
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#checkin")).to_be_enabled()
    page.click("#checkin")
    expect(page.locator("#checkin")).to_have_text("✓ 已签到")
    assert Attendance.objects.filter(hearing=world.hearing, deputy=deputy).count() == 1
    return deputy


def open_poll(page: Any, world: World) -> Poll:
    """The moderator's side, through the same services the control panel calls."""
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=world.items[1].pk, by=None)
    poll = call(voting_services.poll_open, hearing_id=hid, item_id=world.items[1].pk, by=None)
    expect(page.locator("#current-item")).to_contain_text(world.items[1].title)
    expect(page.locator("#poll .choice")).to_have_count(3)
    expect(page.locator("#poll")).to_contain_text("已投 0 / 应投 1")
    return poll


def stored_ballot(page: Any, world: World) -> dict[str, Any] | None:
    key = f"wenzheng.vote.{world.hearing.pk}.{world.deputies[0].pk}"
    return page.evaluate("key => JSON.parse(localStorage.getItem(key))", key)


def shoot_both(page: Any, screenshot: Callable[[Any, str], Path], name: str) -> None:
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.wait_for_timeout(100)
        screenshot(page, f"{name}-{size['width']}x{size['height']}")
    page.set_viewport_size(PHONE)


def test_vote_is_recorded_only_after_the_ack(
    page: Any, asgi_server: str, world: World, screenshot: Callable[[Any, str], Path]
) -> None:
    proxy = SocketProxy(page)
    open_tablet_and_check_in(page, asgi_server, world)
    poll = open_poll(page, world)
    assert [b.text_content() for b in page.locator("#poll .choice").all()] == ["满意", "基本满意", "不满意"]
    shoot_both(page, screenshot, "tablet-poll-open")

    # Hold back the server's answer to the vote: the ballot is counted, the tablet not told yet.
    proxy.hold = lambda frame: frame.get("type") == "ack" and str(frame.get("id", "")).startswith("vote.")
    page.click("#poll .choice[data-choice='满意']")
    wait_until(page, lambda: proxy.held, message="the vote's ack from the server")
    assert stored_total(poll) == 1
    vote_state = page.locator("#vote-state")
    expect(vote_state).to_have_attribute("data-state", "pending")
    expect(page.locator("#poll-card")).not_to_contain_text("已记录")
    pending = stored_ballot(page, world)
    assert pending is not None and pending["choice"] == "满意"

    proxy.release()
    expect(vote_state).to_have_attribute("data-state", "recorded")
    expect(vote_state).to_contain_text("已记录")
    expect(page.locator("#poll .choice")).to_have_count(0)
    votes = proxy.sent_of("vote")
    assert len(votes) == 1
    assert votes[0]["ballot"] == pending["ballot"] and votes[0]["poll"] == poll.pk
    assert stored_ballot(page, world) is None
    assert stored_total(poll) == 1
    assert VoteRecord.objects.filter(poll=poll).count() == 1
    expect(page.locator("#poll")).to_contain_text("已投 1 / 应投 1")
    shoot_both(page, screenshot, "tablet-recorded")

    # A reload shows the vote as recorded from the snapshot (me.voted), with no new ballot.
    page.reload()
    expect(page.locator("#vote-state")).to_have_attribute("data-state", "recorded")
    assert len(proxy.sent_of("vote")) == 1


def test_vote_tapped_while_offline_is_sent_once_reconnected(
    page: Any, asgi_server: str, world: World, screenshot: Callable[[Any, str], Path]
) -> None:
    proxy = SocketProxy(page)
    open_tablet_and_check_in(page, asgi_server, world)
    poll = open_poll(page, world)

    proxy.blocked = True
    proxy.cut()
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    page.click("#poll .choice[data-choice='满意']")
    vote_state = page.locator("#vote-state")
    expect(vote_state).to_have_attribute("data-state", "pending")
    expect(vote_state).to_contain_text("网络中断")
    expect(page.locator("#poll-card")).not_to_contain_text("已记录")
    pending = stored_ballot(page, world)
    assert pending is not None
    screenshot(page, "tablet-offline-pending-390x844")
    page.wait_for_timeout(1000)  # still nothing reaches the server while the network is down
    assert proxy.sent_of("vote") == []
    assert stored_total(poll) == 0

    proxy.blocked = False
    expect(page.locator("#conn")).to_have_attribute("data-state", "open", timeout=20_000)
    expect(vote_state).to_have_attribute("data-state", "recorded")
    votes = proxy.sent_of("vote")
    assert [v["ballot"] for v in votes] == [pending["ballot"]]
    assert stored_total(poll) == 1
    assert VoteRecord.objects.filter(poll=poll).count() == 1


def test_lost_ack_resends_the_same_ballot_and_counts_once(page: Any, asgi_server: str, world: World) -> None:
    proxy = SocketProxy(page)
    open_tablet_and_check_in(page, asgi_server, world)
    poll = open_poll(page, world)

    # The vote arrives and is counted, then the line drops before the ack reaches the tablet.
    proxy.drop_and_cut = lambda frame: frame.get("type") == "ack" and str(frame.get("id", "")).startswith("vote.")
    page.click("#poll .choice[data-choice='基本满意']")
    expect(page.locator("#vote-state")).to_have_attribute("data-state", "recorded", timeout=20_000)
    votes = proxy.sent_of("vote")
    assert len(votes) == 2, votes
    assert votes[0]["ballot"] == votes[1]["ballot"]
    acks = [f for f in proxy.received if f.get("type") == "ack" and f.get("id") == votes[1]["id"]]
    assert acks and acks[0]["duplicate"] is True
    assert stored_total(poll) == 1
    assert stored_counts(poll) == {"基本满意": 1}


def test_reload_while_offline_resends_the_stored_ballot(page: Any, asgi_server: str, world: World) -> None:
    proxy = SocketProxy(page)
    open_tablet_and_check_in(page, asgi_server, world)
    poll = open_poll(page, world)

    proxy.blocked = True
    proxy.cut()
    page.click("#poll .choice[data-choice='不满意']")
    pending = stored_ballot(page, world)
    assert pending is not None
    page.reload()  # the page itself comes back over HTTP; its socket stays down
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    proxy.blocked = False
    expect(page.locator("#vote-state")).to_have_attribute("data-state", "recorded", timeout=20_000)
    assert [v["ballot"] for v in proxy.sent_of("vote")] == [pending["ballot"]]
    assert stored_counts(poll)["不满意"] == 1


def test_errors_are_shown_in_plain_words(page: Any, asgi_server: str, world: World) -> None:
    deputy = world.deputies[0]
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    poll = call(voting_services.poll_open, hearing_id=hid, item_id=world.items[1].pk, by=None)
    path = f"/hearings/{hid}/tablet/"
    login(page, asgi_server, deputy, path)
    # Not checked in: the choices wait for 签到.
    expect(page.locator("#poll .choice").first).to_be_disabled()
    expect(page.locator("#poll")).to_contain_text("请先签到")
    page.click("#checkin")
    expect(page.locator("#poll .choice").first).to_be_enabled()

    # Another ballot of this deputy was already counted (e.g. from a second device).
    call(
        voting_services.ballot_cast,
        hearing_id=hid,
        poll_id=poll.pk,
        deputy=deputy,
        choice="满意",
        ballot_id=uuid.uuid4(),
    )
    page.click("#poll .choice[data-choice='不满意']")
    expect(page.locator("#vote-error")).to_have_text("您已在本次测评中投过票，以第一次提交的为准。")
    assert stored_total(poll) == 1


def test_deputy_asks_a_question_and_a_follow_up(page: Any, asgi_server: str, world: World) -> None:
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=world.items[1].pk, by=None)
    login(page, asgi_server, world.deputies[0], f"/hearings/{hid}/tablet/")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    text = "<b>企业开办</b> 还要跑几次？"
    page.fill("#ask-text", text)
    page.click("#ask-submit")
    expect(page.locator("#ask-state")).to_have_text("已提交并公开。")
    question = page.locator("#questions .question").first
    expect(question).to_contain_text(text)  # shown as text, not markup
    assert page.locator("#questions b").count() == 0

    question.get_by_role("button", name="追问").click()
    expect(page.locator("#ask-parent")).to_be_visible()
    page.fill("#ask-text", "具体时间表是什么？")
    page.click("#ask-submit")
    expect(page.locator("#questions .question.follow")).to_contain_text("具体时间表是什么？")
    follow = Question.objects.get(text="具体时间表是什么？")
    assert follow.parent is not None and follow.parent.text == text
