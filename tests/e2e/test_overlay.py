"""The video mixer's overlay (/hearings/<id>/overlay/) in a real browser at 1920×1080: its
background is transparent outside the lower third, it never shows pending text, and it shows a
published result as a chart for ?result= seconds. It follows the public stream; the tests drive
the hearing through the services, as a moderator's panel would."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from hearings import services as hearing_services
from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.helpers import DESKTOP, SocketProxy, call, wait_until
from tests.factories import World, make_world
from voting import services as voting_services

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUESTION = "请问县教育局，城区学校大班额问题什么时候能够解决？今年秋季学期能否新增学位两千个？"

# Every text the page ever showed, from its first paint: a MutationObserver records the text of
# each node added and each text changed, so something shown for a moment and gone is caught too.
RECORD_TEXT = """
window.__seen = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (r.type === 'characterData') window.__seen.push(r.target.data);
    for (const n of r.addedNodes) window.__seen.push(n.textContent);
  }
}).observe(document, { subtree: true, childList: true, characterData: true });
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));
"""
SHADOW = 40  # px: the panels' drop shadow reaches this far


def named(world: World) -> World:
    for deputy, name in zip(world.deputies, ("张敏", "李卫东", "王芳"), strict=False):
        deputy.first_name = name
        deputy.save(update_fields=["first_name"])
    return world


def open_overlay(pages: Callable[[dict[str, int]], Any]) -> Any:
    page = pages(DESKTOP)
    page.add_init_script(RECORD_TEXT)
    return page


def goto(page: Any, base: str, world: World, query: str = "") -> None:
    page.goto(f"{base}/hearings/{world.hearing.pk}/overlay/{query}")
    expect(page.locator("#overlay")).to_have_attribute("data-state", "open")


def seen(page: Any) -> str:
    text: str = page.evaluate("() => window.__seen.join('\\n') + '\\n' + document.documentElement.outerHTML")
    return text


def transparent(image: Image.Image) -> bool:
    """Every pixel's alpha is 0."""
    return image.getchannel("A").getbbox() is None


def pixel(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    value = image.getpixel((x, y))
    assert isinstance(value, tuple)
    return tuple(int(v) for v in value)


def checkerboard(size: tuple[int, int], square: int = 40) -> Image.Image:
    board = Image.new("RGBA", size, (255, 255, 255, 255))
    grey = Image.new("RGBA", (square, square), (190, 190, 190, 255))
    for y in range(0, size[1], square):
        for x in range(0, size[0], square):
            if (x // square + y // square) % 2:
                board.paste(grey, (x, y))
    return board


def test_the_background_is_transparent_outside_the_lower_third(pages: Any, asgi_server: str) -> None:
    world = named(make_world(deputies=2))
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    item = world.items[1]
    call(hearing_services.agenda_start, hearing_id=hid, item_id=item.pk, by=None)
    question = call(
        hearing_services.question_submit, hearing_id=hid, text=QUESTION, source="deputy", asker=world.deputies[0]
    )
    call(hearing_services.question_stage, hearing_id=hid, question_id=question.pk, by=None)

    page = open_overlay(pages)
    goto(page, asgi_server, world)
    third = page.locator("#ov-question")
    expect(third.locator(".ov-text")).to_have_text(QUESTION)
    expect(third.locator(".ov-asker")).to_have_text("提问：张敏")
    expect(third.locator(".ov-dept")).to_have_text(f"应询部门：{world.departments[0].name}")
    expect(page.locator("#ov-agenda")).to_contain_text(item.title)
    expect(page.locator("#ov-result")).to_be_hidden()
    assert page.evaluate("window.__violations") == [], "the site's Content-Security-Policy refuses nothing"
    page.evaluate("() => document.getAnimations().forEach((a) => a.finish())")

    png = page.screenshot(omit_background=True)
    shot = Image.open(io.BytesIO(png)).convert("RGBA")
    assert shot.size == (1920, 1080)
    box = page.locator("#ov-third").bounding_box()
    assert box is not None and box["y"] > 1080 / 2, "the lower third is in the lower half"
    # Outside the lower third (and its drop shadow) every pixel is fully transparent; inside,
    # the panel is opaque.
    top = int(box["y"]) - SHADOW
    above = shot.crop((0, 0, 1920, top))
    assert transparent(above), "nothing is painted above the lower third"
    assert pixel(shot, int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] - 10))[3] == 255
    # Over a checkerboard (what a mixer's preview shows): the board shows through above it.
    board = checkerboard(shot.size)
    board.alpha_composite(shot)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    board.save(SCREENSHOTS / "overlay-over-checkerboard-1920x1080.png")
    assert pixel(board, 20, 20) == (255, 255, 255, 255) and pixel(board, 60, 20) == (190, 190, 190, 255)

    # The other themes and the top position are transparent too.
    goto(page, asgi_server, world, "?theme=light&position=top&parts=question")
    expect(page.locator("#ov-question .ov-text")).to_have_text(QUESTION)
    expect(page.locator("#ov-agenda")).to_be_hidden()
    page.evaluate("() => document.getAnimations().forEach((a) => a.finish())")
    shot = Image.open(io.BytesIO(page.screenshot(omit_background=True))).convert("RGBA")
    box = page.locator("#ov-third").bounding_box()
    assert box is not None and box["y"] + box["height"] < 1080 / 2, "an upper third with position=top"
    below = shot.crop((0, int(box["y"] + box["height"]) + SHADOW, 1920, 1080))
    assert transparent(below), "nothing is painted below the upper third"
    board = checkerboard(shot.size)
    board.alpha_composite(shot)
    board.save(SCREENSHOTS / "overlay-light-top-over-checkerboard-1920x1080.png")

    # The hearing ends: the overlay clears.
    call(hearing_services.hearing_end, hearing_id=hid, by=None)
    expect(page.locator("#ov-question")).to_be_hidden()
    expect(page.locator("#ov-agenda")).to_be_hidden()


def test_it_never_shows_pending_text(pages: Any, asgi_server: str) -> None:
    """A public question waiting for moderation and a deputy's waiting for approval never reach
    the overlay, nor its socket, before, during or after a reconnect; an approved one, staged,
    does (so the page was listening)."""
    world = named(make_world(deputies=2, deputy_questions_need_approval=True))
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=world.items[1].pk, by=None)
    page = open_overlay(pages)
    proxy = SocketProxy(page)
    goto(page, asgi_server, world)

    public_pending = call(
        hearing_services.question_submit, hearing_id=hid, text="群众待审核问题甲", source="public", asker_name="路人"
    )
    deputy_pending = call(
        hearing_services.question_submit,
        hearing_id=hid,
        text="代表待审批问题乙",
        source="deputy",
        asker=world.deputies[1],
    )
    assert public_pending.status == deputy_pending.status == "pending"
    # An edit of a pending question is pending text too.
    call(
        hearing_services.question_edit,
        hearing_id=hid,
        question_id=public_pending.pk,
        text="群众待审核问题甲（改）",
        by=None,
    )
    approved = call(hearing_services.question_submit, hearing_id=hid, text="已公开的问题丙", source="public")
    call(hearing_services.question_approve, hearing_id=hid, question_id=approved.pk, by=None)
    call(hearing_services.question_stage, hearing_id=hid, question_id=approved.pk, by=None)
    expect(page.locator("#ov-question .ov-text")).to_have_text("已公开的问题丙")

    # A reconnect brings a new snapshot or the missed events: still nothing pending.
    proxy.cut()
    expect(page.locator("#overlay")).to_have_attribute("data-state", "open")
    call(hearing_services.question_stage, hearing_id=hid, question_id=None, by=None)
    expect(page.locator("#ov-question")).to_be_hidden()
    wait_until(page, lambda: len(proxy.received) >= 2, message="frames")

    for text in ("群众待审核问题甲", "代表待审批问题乙", "路人"):
        assert text not in seen(page), f"{text!r} was shown"
        assert not any(text in str(frame) for frame in proxy.received), f"{text!r} came over the socket"
    assert "已公开的问题丙" in seen(page)

    # Once approved and staged, the deputy's question shows: the page does show what it is sent.
    call(hearing_services.question_approve, hearing_id=hid, question_id=deputy_pending.pk, by=None)
    call(hearing_services.question_stage, hearing_id=hid, question_id=deputy_pending.pk, by=None)
    expect(page.locator("#ov-question .ov-text")).to_have_text("代表待审批问题乙")
    expect(page.locator("#ov-question .ov-asker")).to_have_text("提问：李卫东")
    assert "群众待审核问题甲" not in seen(page)


def test_a_published_result_shows_as_a_chart_for_the_set_time(pages: Any, asgi_server: str) -> None:
    world = named(make_world(deputies=3))
    hid = world.hearing.pk
    item = world.items[1]
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=item.pk, by=None)
    for deputy in world.deputies:
        call(voting_services.checkin, hearing_id=hid, deputy=deputy)
    page = open_overlay(pages)
    goto(page, asgi_server, world, "?result=3&parts=result,agenda")

    poll = call(voting_services.poll_open, hearing_id=hid, item_id=item.pk, by=None)
    for deputy, choice in zip(world.deputies, ("满意", "满意", "不满意"), strict=True):
        call(
            voting_services.ballot_cast,
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            choice=choice,
        )
    call(voting_services.poll_close, hearing_id=hid, poll_id=poll.pk, by=None)
    result = page.locator("#ov-result")
    expect(result).to_be_hidden()  # open and closed: nothing on air until published
    call(voting_services.poll_publish, hearing_id=hid, poll_id=poll.pk, by=None)

    expect(result).to_be_visible()
    shown_at = time.monotonic()
    expect(result).to_have_attribute("data-poll", str(poll.pk))
    expect(result.locator(f"#poll-{poll.pk}-rate")).to_have_text("66.7%")
    expect(result.locator('.bar[data-choice="满意"] .bar-value')).to_have_text("2 票 · 66.7%")
    expect(result.locator('.bar[data-choice="基本满意"] .bar-value')).to_have_text("0 票 · 0.0%")
    expect(result.locator('.bar[data-choice="不满意"] .bar-value')).to_have_text("1 票 · 33.3%")
    expect(result.locator(".bar-fill").first).to_have_attribute("style", "width: 66.7%")
    expect(result.locator(f"#poll-{poll.pk}-turnout")).to_have_text("3 / 3 位代表参加测评")
    page.evaluate("() => document.getAnimations().forEach((a) => a.finish())")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = Image.open(io.BytesIO(page.screenshot(omit_background=True))).convert("RGBA")
    board = checkerboard(shot.size)
    board.alpha_composite(shot)
    board.save(SCREENSHOTS / "overlay-result-over-checkerboard-1920x1080.png")

    # Off air after ?result=3 seconds (not before: it was checked visible above meanwhile).
    expect(result).to_be_hidden(timeout=8_000)
    elapsed = time.monotonic() - shown_at
    assert 2.0 <= elapsed <= 6.0, elapsed

    # A source (re)loaded later does not replay an old result.
    goto(page, asgi_server, world, "?result=3")
    expect(page.locator("#ov-agenda")).to_contain_text(item.title)
    expect(result).to_be_hidden()


def test_a_result_published_during_a_disconnection_still_goes_on_air(pages: Any, asgi_server: str) -> None:
    world = named(make_world(deputies=1))
    hid = world.hearing.pk
    item = world.items[1]
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=item.pk, by=None)
    call(voting_services.checkin, hearing_id=hid, deputy=world.deputies[0])
    page = open_overlay(pages)
    proxy = SocketProxy(page)
    goto(page, asgi_server, world, "?result=30")
    poll = call(voting_services.poll_open, hearing_id=hid, item_id=item.pk, by=None)
    call(
        voting_services.ballot_cast,
        hearing_id=hid,
        poll_id=poll.pk,
        deputy=world.deputies[0],
        ballot_id=uuid.uuid4(),
        choice="基本满意",
    )
    call(voting_services.poll_close, hearing_id=hid, poll_id=poll.pk, by=None)
    wait_until(page, lambda: any(f.get("type") == "poll.closed" for f in proxy.received), message="poll.closed")

    proxy.blocked = True
    proxy.cut()
    expect(page.locator("#overlay")).to_have_attribute("data-state", "reconnecting")
    call(voting_services.poll_publish, hearing_id=hid, poll_id=poll.pk, by=None)
    proxy.blocked = False
    expect(page.locator("#overlay")).to_have_attribute("data-state", "open", timeout=20_000)
    expect(page.locator("#ov-result")).to_have_attribute("data-poll", str(poll.pk))
    expect(page.locator('#ov-result .bar[data-choice="基本满意"] .bar-value')).to_have_text("1 票 · 100.0%")
