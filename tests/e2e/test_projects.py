"""民生实事 in a real browser: deputies choose the year's projects in a select poll on their
tablets, the moderator closes and publishes it on the control panel, the chosen projects appear
on the public projects page; the department's liaison reports progress and the public sees it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hearings import services as hearing_services
from hearings.models import Person
from projects.models import Project
from tests.e2e.helpers import DESKTOP, PHONE, call, login, wider_than_viewport
from tests.factories import World, make_user, make_world
from voting import services as voting_services
from voting.models import Poll

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 1180, "height": 820}
PROJECTS = [
    ("城区老旧小区改造", Decimal("3200")),
    ("农村饮水安全提升", Decimal("1850.5")),
    ("中小学食堂改造", Decimal("960")),
    ("乡镇养老服务中心建设", Decimal("2400")),
]


@pytest.fixture
def world(transactional_db: None) -> World:
    return make_world(deputies=3)


def test_a_select_poll_chooses_projects_that_the_public_then_follows(
    pages: Callable[[dict[str, int]], Any], asgi_server: str, world: World, screenshot: Callable[..., Path]
) -> None:
    hid = world.hearing.pk
    department = world.departments[0]
    liaison = make_user("liaison-projects")
    Person.objects.create(user=liaison, name="教育局联络员", role=Person.Role.LIAISON)
    department.liaisons.add(liaison)

    tablet = pages(TABLET)
    login(tablet, asgi_server, world.deputies[0], f"/hearings/{hid}/tablet/")
    expect(tablet.locator("#conn")).to_have_attribute("data-state", "open")
    tablet.click("#checkin")
    expect(tablet.locator("#checkin")).to_have_text("✓ 已签到")
    control = pages(DESKTOP)
    login(control, asgi_server, world.moderator, f"/hearings/{hid}/control/")
    expect(control.locator("#conn")).to_have_attribute("data-state", "open")

    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    call(hearing_services.agenda_start, hearing_id=hid, item_id=world.items[-1].pk, by=None)
    for deputy in world.deputies[1:]:
        call(voting_services.checkin, hearing_id=hid, deputy=deputy)
    poll = call(
        voting_services.poll_open,
        hearing_id=hid,
        item_id=world.items[-1].pk,
        by=None,
        title="2027 年民生实事项目票决",
        kind=Poll.Kind.SELECT,
        candidates=[
            voting_services.OptionSpec(label, department.pk if n == 2 else None, budget=budget, note=f"{label}的说明")
            for n, (label, budget) in enumerate(PROJECTS)
        ],
        min_picks=1,
        max_picks=2,
        choose=2,
    )
    candidates = list(poll.options.order_by("position"))

    # The deputy picks 中小学食堂改造 and 农村饮水安全提升 on the tablet; two more ballots elsewhere.
    cards = tablet.locator("#candidates .candidate")
    expect(cards).to_have_count(4)
    cards.nth(2).click()
    cards.nth(1).click()
    tablet.click("#review-ballot")
    tablet.click("#confirm-ballot")
    expect(tablet.locator("#vote-state")).to_have_attribute("data-state", "recorded")
    for deputy, picks in zip(world.deputies[1:], [[2, 3], [2, 1]], strict=True):
        call(
            voting_services.ballot_cast,
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            picks=[candidates[i].pk for i in picks],
        )
    expect(control.locator(f"#poll-{poll.pk}-progress")).to_contain_text("已投 3 / 应投 3")

    # The moderator closes and publishes on the panel: publishing adopts the two chosen.
    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="结束投票").click()
    expect(control.locator(f"#poll-{poll.pk}").get_by_role("button", name="公布结果")).to_be_visible()
    assert not Project.objects.exists()
    control.locator(f"#poll-{poll.pk}").get_by_role("button", name="公布结果").click()
    expect(control.locator("#action-result")).to_contain_text("结果已公布")
    chosen = list(Project.objects.order_by("pk"))
    assert [p.candidate_id for p in chosen] == [candidates[2].pk, candidates[1].pk]

    public = pages(PHONE)
    public.goto(f"{asgi_server}/")
    public.get_by_role("link", name="民生实事").click()
    expect(public).to_have_url(f"{asgi_server}/projects/")
    rows = public.locator(".p-table tbody tr")
    expect(rows).to_have_count(2)
    first = public.locator(f"#project-{chosen[0].pk}")
    expect(first).to_contain_text("中小学食堂改造")
    expect(first).to_contain_text(department.name)
    expect(first).to_contain_text("960")
    expect(first).to_contain_text("3 票")
    expect(first).to_contain_text("实施中")
    expect(public.locator(f"#project-{chosen[1].pk}")).to_contain_text("2 票")
    expect(public.locator(f"#project-{chosen[1].pk}")).to_contain_text("待定")
    expect(public.locator(".p-table")).not_to_contain_text("乡镇养老服务中心建设")
    assert wider_than_viewport(public) == []
    screenshot(public, "projects-list-390x844")
    desktop = pages(DESKTOP)
    desktop.goto(f"{asgi_server}/projects/")
    expect(desktop.locator(".p-table tbody tr")).to_have_count(2)
    screenshot(desktop, "projects-list-1920x1080", full_page=False)

    # The liaison finds the project from the inbox and reports progress.
    office = pages(DESKTOP)
    login(office, asgi_server, liaison, "/inbox/")
    office.get_by_role("link", name="本单位的民生实事项目：报送进展").click()
    expect(office).to_have_url(f"{asgi_server}/projects/mine/")
    office.get_by_role("link", name="中小学食堂改造").click()
    report = office.locator("#project-report")
    report.locator("input[name=progress]").fill("40")
    report.locator("textarea[name=text]").fill("完成设计和招标，施工队已进场")
    screenshot(office, "projects-liaison-report", full_page=False)
    report.get_by_role("button", name="报送").click()
    expect(office.locator(".messages")).to_contain_text("进展已报送")
    assert Project.objects.get(pk=chosen[0].pk).progress == 40

    public.goto(f"{asgi_server}/projects/")
    expect(public.locator(f"#project-{chosen[0].pk}-progress")).to_have_attribute("aria-valuenow", "40")
    public.get_by_role("link", name="中小学食堂改造").click()
    expect(public).to_have_url(f"{asgi_server}/projects/{chosen[0].pk}/")
    expect(public.locator(f"#project-{chosen[0].pk}-poll")).to_contain_text("2027 年民生实事项目票决（3 票）")
    history = public.locator(f"#project-{chosen[0].pk}-history li")
    expect(history).to_have_count(2)
    expect(history.nth(1)).to_contain_text(department.name)
    expect(history.nth(1)).to_contain_text("进度 40%")
    expect(history.nth(1)).to_contain_text("完成设计和招标，施工队已进场")
    expect(public.locator("#project-report")).to_have_count(0)
    expect(public.locator("body")).not_to_contain_text(liaison.username)
    assert wider_than_viewport(public) == []
    screenshot(public, "projects-detail-390x844")
