"""Sheet (测评表) and select (票选) ballots on the deputy tablet, and their results on the big
screen, in a real browser: fill every row, check the summary, cast one ballot; pick between
min and max candidates; the screen shows progress, then the per-row chart or the ranking."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hearings import services as hearing_services
from hearings.models import Department
from tests.e2e.helpers import DESKTOP, PHONE, SocketProxy, call, login, wider_than_viewport
from tests.factories import World, make_department, make_world
from voting import services as voting_services
from voting.models import Ballot, Poll, SecretTally, VoteRecord

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1180, "height": 820}  # a 10-inch tablet, landscape
DEPARTMENTS = ["县教育局", "县卫生健康局", "县住房和城乡建设局", "县交通运输局", "县市场监督管理局"]
PROJECTS = ["城区老旧小区改造", "农村饮水安全提升", "中小学食堂改造", "乡镇养老服务中心建设"]


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world(deputies=3)


def tablet_checked_in(new: Callable[[dict[str, int]], Any], asgi_server: str, world: World) -> Any:
    tablet = new(TABLET)
    login(tablet, asgi_server, world.deputies[0], f"/hearings/{world.hearing.pk}/tablet/")
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    tablet.click("#checkin")
    expect(tablet.locator("#checkin")).to_have_text("✓ 已签到")
    return tablet


def big_screen(new: Callable[[dict[str, int]], Any], asgi_server: str, world: World) -> Any:
    screen = new(DESKTOP)
    screen.goto(f"{asgi_server}/hearings/{world.hearing.pk}/screen/")
    expect(screen.locator("#conn")).to_have_attribute("data-state", "open")
    return screen


def start_with_others_checked_in(world: World) -> None:
    """The hearing is live at its last item; the two other deputies checked in elsewhere."""
    hid = world.hearing.pk
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=world.items[-1].pk, by=None)
    for deputy in world.deputies[1:]:
        call(voting_services.checkin, hearing_id=hid, deputy=deputy)


def stored_draft_and_ballot(page: Any, world: World) -> list[str | None]:
    key = f"wenzheng.vote.{world.hearing.pk}.{world.deputies[0].pk}"
    stored: list[str | None] = page.evaluate(
        "key => [localStorage.getItem(key + '.draft'), localStorage.getItem(key)]", key
    )
    return stored


def test_deputy_fills_a_sheet_and_the_screen_shows_the_chart_per_row(
    pages: Any, asgi_server: str, world: World, screenshot: Callable[..., Path]
) -> None:
    departments = [make_department(name, name.removeprefix("县")) for name in DEPARTMENTS]
    tablet = tablet_checked_in(pages, asgi_server, world)
    proxy = SocketProxy(tablet)
    tablet.reload()
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    screen = big_screen(pages, asgi_server, world)
    start_with_others_checked_in(world)
    hid = world.hearing.pk
    poll = call(
        voting_services.poll_open,
        hearing_id=hid,
        item_id=world.items[-1].pk,
        by=None,
        title="对五个部门的满意度测评",
        kind=Poll.Kind.SHEET,
        rows=[voting_services.OptionSpec(d.name, d.pk) for d in departments],
    )
    rows = list(poll.options.order_by("position"))
    assert [r.label for r in rows] == DEPARTMENTS

    # The screen: N / M voted while the poll is open.
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("0 / 3")
    expect(screen.locator("#poll")).to_contain_text("对五个部门的满意度测评")

    # The tablet: every row with the three choices; nothing to confirm until each row has one.
    expect(tablet.locator("#poll-heading")).to_have_text("满意度测评表")
    sheet = tablet.locator("#sheet-rows .sheet-row")
    expect(sheet).to_have_count(5)
    count = tablet.locator("#sheet-count")
    expect(count).to_have_text("已填 0 / 5 行")
    review = tablet.locator("#review-ballot")
    expect(review).to_be_disabled()
    for n, row in enumerate(rows):
        expect(sheet.nth(n).locator(".row-label")).to_have_text(row.label)
        assert [b.text_content() for b in sheet.nth(n).locator(".choice").all()] == ["满意", "基本满意", "不满意"]

    taps = ["满意", "基本满意", "满意", "不满意", "满意"]
    sheet.nth(0).locator(".choice[data-choice='不满意']").click()  # first thoughts …
    expect(count).to_have_text("已填 1 / 5 行")
    for n, choice in enumerate(taps[:4]):
        sheet.nth(n).locator(f".choice[data-choice='{choice}']").click()
    # … changed by tapping another choice in the same row: still one choice per row.
    expect(sheet.nth(0).locator(".choice.chosen")).to_have_text("满意")
    expect(sheet.nth(0).locator(".choice[aria-pressed='true']")).to_have_count(1)
    expect(count).to_have_text("已填 4 / 5 行")
    expect(review).to_be_disabled()
    sheet.nth(4).locator(".choice[data-choice='满意']").click()
    expect(count).to_have_text("已填 5 / 5 行")
    expect(review).to_be_enabled()
    assert proxy.sent_of("vote") == []  # nothing cast by the taps themselves
    screenshot(tablet, "ballots-tablet-sheet")
    assert wider_than_viewport(tablet) == []
    tablet.set_viewport_size(PHONE)  # a deputy on a phone: the rows fit the width too
    expect(tablet.locator("#review-ballot")).to_be_in_viewport()  # the bar stays at hand
    assert wider_than_viewport(tablet) == []
    screenshot(tablet, "ballots-phone-sheet", full_page=False)
    tablet.set_viewport_size(TABLET)

    # A reload keeps the taps (the draft is stored on the tablet).
    tablet.reload()
    expect(tablet.locator("#sheet-count")).to_have_text("已填 5 / 5 行")
    expect(tablet.locator("#sheet-rows .choice.chosen")).to_have_text(taps)

    # The summary: every row with its choice; confirm casts one ballot.
    tablet.click("#review-ballot")
    summary = tablet.locator("#ballot-summary li")
    expect(summary).to_have_count(5)
    for n, (row, choice) in enumerate(zip(rows, taps, strict=True)):
        expect(summary.nth(n).locator(".summary-label")).to_have_text(row.label)
        expect(summary.nth(n).locator(".summary-choice")).to_have_text(choice)
    screenshot(tablet, "ballots-tablet-summary")
    tablet.click("#edit-ballot")  # back to the sheet, taps intact, then to the summary again
    expect(tablet.locator("#sheet-count")).to_have_text("已填 5 / 5 行")
    tablet.click("#review-ballot")
    tablet.click("#confirm-ballot")
    expect(tablet.locator("#vote-state")).to_have_attribute("data-state", "recorded")
    expect(tablet.locator("#vote-state")).to_contain_text("已记录")
    expect(tablet.locator("#sheet-rows, #confirm-ballot")).to_have_count(0)

    votes = proxy.sent_of("vote")
    assert len(votes) == 1
    expected = {str(row.pk): choice for row, choice in zip(rows, taps, strict=True)}
    assert votes[0]["choices"] == expected and votes[0]["poll"] == poll.pk
    assert "choice" not in votes[0] and "picks" not in votes[0]
    assert VoteRecord.objects.filter(poll=poll, deputy=world.deputies[0]).count() == 1
    assert SecretTally.objects.get(poll=poll).counts == {key: {choice: 1} for key, choice in expected.items()}
    assert not Ballot.objects.filter(poll=poll).exists()  # secret: counts only
    assert stored_draft_and_ballot(tablet, world) == [None, None]
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("1 / 3")

    # The other two deputies vote elsewhere; then the moderator closes and publishes.
    others = [
        ["满意", "满意", "不满意", "不满意", "基本满意"],
        ["基本满意", "满意", "不满意", "满意", "满意"],
    ]
    for deputy, choices in zip(world.deputies[1:], others, strict=True):
        call(
            voting_services.ballot_cast,
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            choices={str(row.pk): c for row, c in zip(rows, choices, strict=True)},
        )
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("3 / 3")
    call(voting_services.poll_close, hearing_id=hid, poll_id=poll.pk, by=None)
    call(voting_services.poll_publish, hearing_id=hid, poll_id=poll.pk, by=None)

    chart = screen.locator(f"#poll-{poll.pk}-tally .chart-row")
    expect(chart).to_have_count(5)
    expect(screen.locator("#live-view")).to_have_class("screen-layout has-poll wide-poll")
    expect(screen.locator("#screen-stage")).to_be_hidden()
    ballots = [taps, *others]
    for n, row in enumerate(rows):
        counts = {c: [b[n] for b in ballots].count(c) for c in ("满意", "基本满意", "不满意")}
        line = chart.nth(n)
        expect(line.locator(".chart-label")).to_have_text(row.label)
        for choice, k in counts.items():
            expect(line.locator(f".segment[data-choice='{choice}']")).to_have_count(1 if k else 0)
            if k:
                expect(line.locator(f".segment[data-choice='{choice}']")).to_have_attribute("data-count", str(k))
        rate = (counts["满意"] + counts["基本满意"]) / 3
        expect(line.locator(".chart-rate")).to_have_text(f"{100 * rate:.1f}%")
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("3 / 3 位代表参加测评")
    fits = screen.evaluate(
        """() => {
          const card = document.getElementById('screen-poll').getBoundingClientRect();
          const rows = [...document.querySelectorAll('.chart-row')].map((r) => r.getBoundingClientRect());
          return rows.every((r) => r.bottom <= card.bottom + 0.5) && card.bottom <= innerHeight;
        }"""
    )
    assert fits, "the chart's rows fit in the poll card on a 16:9 screen"
    screenshot(screen, "ballots-screen-sheet-published", full_page=False)

    # The tablet shows the published results per row too.
    expect(tablet.locator(f"#poll .published-results #poll-{poll.pk}-tally .bar")).to_have_count(5)
    screenshot(tablet, "ballots-tablet-sheet-published")


def test_select_poll_takes_between_min_and_max_picks_and_the_screen_ranks_them(
    pages: Any, asgi_server: str, world: World, screenshot: Callable[..., Path]
) -> None:
    department = Department.objects.get(pk=world.departments[0].pk)
    tablet = tablet_checked_in(pages, asgi_server, world)
    proxy = SocketProxy(tablet)
    tablet.reload()
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    screen = big_screen(pages, asgi_server, world)
    start_with_others_checked_in(world)
    hid = world.hearing.pk
    poll = call(
        voting_services.poll_open,
        hearing_id=hid,
        item_id=world.items[-1].pk,
        by=None,
        title="2027 年民生实事项目票决",
        kind=Poll.Kind.SELECT,
        candidates=[
            voting_services.OptionSpec(label, department.pk if n == 0 else None) for n, label in enumerate(PROJECTS)
        ],
        min_picks=1,
        max_picks=2,
    )
    candidates = list(poll.options.order_by("position"))
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("0 / 3")

    expect(tablet.locator("#poll-heading")).to_have_text("票选")
    cards = tablet.locator("#candidates .candidate")
    expect(cards).to_have_count(4)
    expect(cards.nth(0)).to_contain_text(PROJECTS[0])
    expect(cards.nth(0).locator(".candidate-dept")).to_have_text(department.name)  # the agenda knows it
    counter = tablet.locator("#select-count")
    review = tablet.locator("#review-ballot")
    expect(counter).to_have_text("已选 0 项（须选 1–2 项）")
    expect(review).to_be_disabled()

    # Three picks are one too many: no way to the summary, and the tablet says why.
    for n in (0, 2, 3):
        cards.nth(n).click()
    expect(counter).to_have_text("已选 3 项（须选 1–2 项）")
    expect(tablet.locator("#fill-hint")).to_have_text("最多选 2 项，请取消 1 项。")
    expect(review).to_be_disabled()
    cards.nth(3).click()  # untick one
    expect(cards.nth(3)).to_have_attribute("aria-pressed", "false")
    expect(counter).to_have_text("已选 2 项（须选 1–2 项）")
    expect(tablet.locator("#fill-hint")).to_be_hidden()
    expect(review).to_be_enabled()
    screenshot(tablet, "ballots-tablet-select")

    review.click()
    summary = tablet.locator("#ballot-summary li")
    expect(summary).to_have_text([PROJECTS[0], PROJECTS[2]])
    screenshot(tablet, "ballots-tablet-select-summary")
    tablet.click("#confirm-ballot")
    expect(tablet.locator("#vote-state")).to_have_attribute("data-state", "recorded")
    votes = proxy.sent_of("vote")
    assert len(votes) == 1 and votes[0]["picks"] == [candidates[0].pk, candidates[2].pk]
    assert SecretTally.objects.get(poll=poll).counts == {str(candidates[0].pk): 1, str(candidates[2].pk): 1}
    assert VoteRecord.objects.filter(poll=poll).count() == 1

    # Two more ballots elsewhere: project 3 (index 2) gets 3 picks, project 2 (index 1) 2, project 1 one.
    for deputy, picks in zip(world.deputies[1:], [[1, 2], [1, 2]], strict=True):
        call(
            voting_services.ballot_cast,
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            picks=[candidates[i].pk for i in picks],
        )
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("3 / 3")
    call(voting_services.poll_close, hearing_id=hid, poll_id=poll.pk, by=None)
    call(voting_services.poll_publish, hearing_id=hid, poll_id=poll.pk, by=None)

    ranking = screen.locator(f"#poll-{poll.pk}-tally .chart-row")
    expect(ranking).to_have_count(4)
    expect(ranking.locator(".chart-label")).to_have_text(
        [f"{PROJECTS[2]}入选", f"{PROJECTS[1]}入选", PROJECTS[0], PROJECTS[3]]
    )
    expect(ranking.locator(".chart-votes")).to_have_text(["3 票", "2 票", "1 票", "0 票"])
    expect(screen.locator(f"#poll-{poll.pk}-tally .chart-row.chosen")).to_have_count(2)
    expect(ranking.nth(0)).to_have_attribute("data-candidate", str(candidates[2].pk))
    expect(ranking.nth(1)).to_have_attribute("data-candidate", str(candidates[1].pk))
    screenshot(screen, "ballots-screen-select-published", full_page=False)
    expect(screen.locator("#poll-label")).to_have_text("票选")
    expect(screen.locator(f"#poll-{poll.pk}-progress")).to_have_text("3 / 3 位代表参加票选")
    expect(tablet.locator(f"#poll-{poll.pk}-tally .bar")).to_have_count(4)


ROWS_FIT = """() => {
  const card = document.getElementById('screen-poll').getBoundingClientRect();
  const rows = [...document.querySelectorAll('.chart-row')].map((r) => r.getBoundingClientRect());
  const columns = new Set(rows.map((r) => Math.round(r.left))).size;
  const inside = rows.every((r) => r.bottom <= card.bottom + 0.5 && r.right <= card.right + 0.5);
  const labels = [...document.querySelectorAll('.chart-label')];
  const smallest = Math.min(...labels.map((l) => parseFloat(getComputedStyle(l).fontSize)));
  return { columns, inside, smallest, fitsScreen: card.bottom <= innerHeight };
}"""


@pytest.mark.parametrize(("departments", "columns", "font"), [(6, 2, 20), (15, 2, 16), (30, 3, 12)])
def test_a_long_sheet_goes_into_columns_on_the_screen(
    pages: Any,
    asgi_server: str,
    world: World,
    screenshot: Callable[..., Path],
    departments: int,
    columns: int,
    font: int,
) -> None:
    """Department × aspect: 12, 30 and 60 rows (a sheet's most) still fit the 16:9 screen, in
    two or three columns, the type as large as the rows allow."""
    aspects = ["应询态度", "整改措施"]
    depts = [make_department() for _ in range(departments)]
    screen = big_screen(pages, asgi_server, world)
    start_with_others_checked_in(world)
    hid = world.hearing.pk
    poll = call(
        voting_services.poll_open,
        hearing_id=hid,
        item_id=world.items[-1].pk,
        by=None,
        kind=Poll.Kind.SHEET,
        rows=[voting_services.OptionSpec(f"{d.short_name}·{a}", d.pk) for d in depts for a in aspects],
    )
    rows = list(poll.options.order_by("position"))
    choices = ["满意", "基本满意", "不满意"]
    for n, deputy in enumerate(world.deputies[1:]):
        call(
            voting_services.ballot_cast,
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            choices={str(row.pk): choices[(i + n) % 3] for i, row in enumerate(rows)},
        )
    call(voting_services.poll_close, hearing_id=hid, poll_id=poll.pk, by=None)
    call(voting_services.poll_publish, hearing_id=hid, poll_id=poll.pk, by=None)
    expect(screen.locator(f"#poll-{poll.pk}-tally .chart-row")).to_have_count(len(rows))
    layout = screen.evaluate(ROWS_FIT)
    screenshot(screen, f"ballots-screen-sheet-{len(rows)}-rows", full_page=False)
    assert layout["columns"] == columns, layout
    assert layout["inside"] and layout["fitsScreen"], layout
    assert layout["smallest"] >= font, layout  # CSS pixels on a 1920 × 1080 screen


def test_a_sheet_cast_offline_is_kept_and_sent_once_after_a_reload(pages: Any, asgi_server: str, world: World) -> None:
    """The satisfaction ballot's network promises hold for a sheet: stored with its UUID before
    sending, resent with the same UUID after a reload and a reconnect, counted once."""
    tablet = tablet_checked_in(pages, asgi_server, world)
    proxy = SocketProxy(tablet)
    tablet.reload()
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    start_with_others_checked_in(world)
    poll = call(
        voting_services.poll_open,
        hearing_id=world.hearing.pk,
        item_id=world.items[-1].pk,
        by=None,
        kind=Poll.Kind.SHEET,
        rows=[voting_services.OptionSpec(d.name, d.pk) for d in world.departments[:2]],
    )
    rows = list(poll.options.order_by("position"))
    sheet = tablet.locator("#sheet-rows .sheet-row")
    expect(sheet).to_have_count(2)
    sheet.nth(0).locator(".choice[data-choice='基本满意']").click()
    sheet.nth(1).locator(".choice[data-choice='不满意']").click()
    tablet.click("#review-ballot")

    proxy.blocked = True
    proxy.cut()
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    tablet.click("#confirm-ballot")
    expect(tablet.locator("#vote-state")).to_have_attribute("data-state", "pending")
    expect(tablet.locator("#vote-state")).to_contain_text("网络中断")
    expect(tablet.locator("#ballot-summary li")).to_have_count(2)  # what is being sent, read-only
    expect(tablet.locator("#confirm-ballot")).to_have_count(0)
    key = f"wenzheng.vote.{world.hearing.pk}.{world.deputies[0].pk}"
    pending = tablet.evaluate("key => JSON.parse(localStorage.getItem(key))", key)
    expected = {str(rows[0].pk): "基本满意", str(rows[1].pk): "不满意"}
    assert pending["choices"] == expected and pending["poll"] == poll.pk

    tablet.reload()  # the page comes back over HTTP; its socket stays down
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    assert proxy.sent_of("vote") == []
    proxy.blocked = False
    expect(tablet.locator("#vote-state")).to_have_attribute("data-state", "recorded", timeout=20_000)
    votes = proxy.sent_of("vote")
    assert [v["ballot"] for v in votes] == [pending["ballot"]]
    assert SecretTally.objects.get(poll=poll).counts == {k: {c: 1} for k, c in expected.items()}
    assert VoteRecord.objects.filter(poll=poll).count() == 1
    assert stored_draft_and_ballot(tablet, world) == [None, None]
