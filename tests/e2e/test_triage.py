"""Triage in a real browser: office staff filter a live hearing's questions by category, see a
question's near-duplicate, merge it in one click (likes summed, both askers on the
public page), bulk-approve three, hide one with a reason; the public page, open on a phone,
follows each step without a reload. Screenshots: artifacts/screenshots/triage-*.png."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from hearings import services
from hearings.models import Hearing, Person
from tests.e2e.helpers import DESKTOP, PHONE, call
from tests.factories import PASSWORD, World, make_user, make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Shoot = Callable[..., Path]


@pytest.fixture
def world(transactional_db: None) -> World:
    world = make_world(status=Hearing.Status.LIVE, title="优化营商环境代表问政会")
    Hearing.objects.filter(pk=world.hearing.pk).update(categories=["交通", "教育", "城市管理"])
    return world


@pytest.fixture
def pages(browser: Any) -> Iterator[list[Any]]:
    contexts: list[Any] = []
    errors: list[str] = []

    def new(viewport: dict[str, int]) -> Any:
        context = browser.new_context(viewport=viewport, locale="zh-CN", device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield [new(DESKTOP), new(PHONE)]
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def ask(world: World, text: str, category: str, name: str = "", viewer: str = "") -> Any:
    return call(
        services.question_submit,
        hearing_id=world.hearing.pk,
        text=text,
        source="public",
        asker_name=name,
        category=category,
        viewer=viewer,
    )


def approve(world: World, question: Any) -> Any:
    return call(services.question_approve, hearing_id=world.hearing.pk, question_id=question.pk, by=None)


def test_staff_triage_a_hearing_s_questions(pages: list[Any], asgi_server: str, world: World, screenshot: Shoot):
    hid = world.hearing.pk
    kept = approve(
        world, ask(world, "幸福小区门口的垃圾好几天没人清运，臭气熏天，请环卫部门管一管。", "城市管理", "张三")
    )
    for viewer in ("v1", "v2"):
        call(services.like_add, hearing_id=hid, viewer=viewer, question_id=kept.pk)
    duplicate = approve(
        world,
        ask(world, "幸福小区门口垃圾堆了好几天都没人清运，气味很臭，环卫部门能不能管一下？", "城市管理", "李四", "v3"),
    )
    call(services.like_add, hearing_id=hid, viewer="v3", question_id=duplicate.pk)
    schools = [
        ask(world, text, "教育")
        for text in ("城北小学学位不够，孩子只能去很远的学校。", "一中门口上下学太堵。", "教师绩效工资迟迟不发。")
    ]
    ask(world, "县城到赵集镇的公交车班次太少。", "交通")
    to_hide = approve(world, ask(world, "某某家的电话是多少，大家去找他。", "城市管理"))

    staff_user = make_user()
    Person.objects.create(user=staff_user, name="会务", role=Person.Role.STAFF)
    office, phone = pages
    phone.goto(f"{asgi_server}/hearings/{hid}/")
    expect(phone.locator("#conn")).to_have_attribute("data-state", "open")
    expect(phone.locator(f"#question-{kept.pk} .asker")).to_have_text("张三")
    expect(phone.locator(f"#question-{to_hide.pk}")).to_be_visible()

    triage = f"/manage/hearings/{hid}/questions/"
    office.goto(f"{asgi_server}/accounts/login/?next={triage}")
    office.fill("#id_username", staff_user.username)
    office.fill("#id_password", PASSWORD)
    office.click("button[type=submit]")
    expect(office).to_have_url(asgi_server + triage)

    # Filter by category: only the 城市管理 questions; the pending duplicate shows its suggestion.
    office.select_option("#triage-filters select[name=category]", "城市管理")
    office.click("#triage-filters button[type=submit]")
    expect(office.locator("#triage-table tbody tr")).to_have_count(3)
    row = office.locator(f"#triage-{duplicate.pk}")
    suggestion = row.locator(f".similar-row[data-into='{kept.pk}']")
    expect(suggestion).to_be_visible()
    screenshot(office, "triage-duplicates")

    # One click merges it: likes summed, both askers on the public page without a reload.
    suggestion.get_by_role("button").click()
    expect(office.locator(".message.success")).to_contain_text("张三、李四")
    expect(office.locator(f"#triage-{duplicate.pk}")).to_have_count(0)
    expect(phone.locator(f"#question-{kept.pk} .asker")).to_have_text("张三、李四")
    expect(phone.locator(f"#question-{kept.pk} .like-count")).to_have_text("3")
    screenshot(phone, "triage-merged-public")

    # Bulk-approve the three 教育 questions.
    office.select_option("#triage-filters select[name=category]", "教育")
    office.click("#triage-filters button[type=submit]")
    for question in schools:
        office.check(f"#triage-{question.pk} input[name=questions]")
    office.click("#bulk-approve")
    expect(office.locator(".message.success")).to_contain_text("已通过 3 个问题。")
    for question in schools:
        expect(phone.locator(f"#question-{question.pk}")).to_be_visible()

    # Hide one with a reason: it leaves the public page at once.
    office.select_option("#triage-filters select[name=category]", "城市管理")
    office.click("#triage-filters button[type=submit]")
    office.click(f"#hide-{to_hide.pk} summary")
    office.fill(f"#hide-reason-{to_hide.pk}", "涉及他人隐私")
    office.click(f"#hide-{to_hide.pk} button[type=submit]")
    expect(office.locator(".message.success")).to_contain_text(f"已撤下 #{to_hide.pk}")
    expect(office.locator(f"#triage-{to_hide.pk}")).to_contain_text("撤下理由：涉及他人隐私")
    expect(phone.locator(f"#question-{to_hide.pk}")).to_have_count(0)
    screenshot(office, "triage-page")
    screenshot(phone, "triage-public")
