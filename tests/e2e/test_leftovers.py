"""Leftover questions and the question list in a real browser: a hearing ends with approved
questions it never answered; its moderator assigns them in one batch from the assigning page
(one of them needs a department chosen there), the answered ones one each; then opens the
question list's print view, as the office prints it on A4. Screenshots land in
artifacts/screenshots/ (question-list-*)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from assignments.models import Assignment, Origin
from tests.assignments.played import Played, play
from tests.e2e.helpers import call, login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Shoot = Callable[..., Path]
# Wide enough for the A4 sheet (210 mm at 96 dpi is 794 px) and its margins.
SHEET = {"width": 1000, "height": 1200}


@pytest.fixture
def played(asgi_server: str) -> Played:
    return call(play)


def test_the_leftovers_are_assigned_in_one_batch_and_the_list_prints(
    browser: Any, asgi_server: str, played: Played, screenshot: Shoot
) -> None:
    p = played
    context = browser.new_context(viewport=SHEET, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    path = f"/assignments/new/?hearing={p.hearing.pk}"
    login(page, asgi_server, p.world.moderator, path)

    # The leftovers are offered as 书面答复, each with its department chosen where it has one.
    batch = page.locator("#leftovers-form")
    for q in p.leftovers:
        expect(batch.locator(f"#leftover-{q.pk}")).to_contain_text(q.text)
        expect(batch.locator(f"#leftover-{q.pk} .origin.written")).to_have_text("书面答复")
    by_item, by_own, homeless = p.leftovers
    expect(batch.locator(f"select[name=department-{by_item.pk}]")).to_have_value(str(p.world.items[2].department_id))
    expect(batch.locator(f"select[name=department-{by_own.pk}]")).to_have_value(str(p.own.pk))
    expect(batch.locator(f"select[name=department-{homeless.pk}]")).to_have_value("")
    expect(page.locator(f"#question-{p.answered.pk} .origin.on-site")).to_have_text("现场答复")

    # Without a department for the last one the batch refuses, naming it, and stores nothing.
    batch.locator("button[value=batch]").click()
    expect(page.locator("ul.messages")).to_contain_text(f"#{homeless.pk}")  # beside the holiday-data warning
    assert call(Assignment.objects.count) == 0

    page.locator(f"#leftovers-form select[name=department-{homeless.pk}]").select_option(str(p.world.departments[0].pk))
    page.locator("#leftovers-form button[value=batch]").click()
    expect(page.locator("ul.messages")).to_contain_text("已生成 3 件交办件")
    expect(page.locator("#leftovers-form")).to_have_count(0)  # nothing left to reply to in writing

    # The answered ones, one assignment each, to one department.
    form = page.locator("#assign-form")
    form.locator(f"#question-{p.answered.pk} input").check()
    form.locator(f"#question-{p.staged.pk} input").check()
    form.locator("select[name=lead_department]").select_option(str(p.world.departments[2].pk))
    form.locator("button[value=each]").click()
    expect(page.locator("ul.messages")).to_contain_text("已生成 2 件交办件")

    def made() -> list[tuple[int, str]]:
        return [(a.questions.get().pk, a.origin) for a in Assignment.objects.order_by("id")]

    assert call(made) == [
        *[(q.pk, Origin.WRITTEN) for q in p.leftovers],
        (p.answered.pk, Origin.ON_SITE),
        (p.staged.pk, Origin.ON_SITE),
    ]

    # The question list: every assigned question, by category and lead department.
    page.click("#question-list-link")
    expect(page.locator("h1.paper-title")).to_have_text(f"{p.hearing.title}问题清单（交办单）")
    expect(page.locator(".qlist-group")).to_have_count(4)
    expect(page.locator(".qlist-table tbody tr")).to_have_count(5)
    expect(page.locator(".qlist-group h2").first).to_contain_text("一、营商环境")
    expect(page.locator(f"#entry-{homeless.pk} .commitment")).to_have_text("书面答复")
    expect(page.locator(f"#entry-{p.answered.pk} .commitment")).to_have_text("一个月内增设窗口")
    expect(page.locator(".paper-stamp")).to_contain_text("县人大常委会办公室（盖章）")
    screenshot(page, "question-list-screen")

    with page.expect_download() as docx:
        page.click("text=下载 Word")
    assert docx.value.suggested_filename == f"hearing-{p.hearing.pk}-question-list.docx"
    assert Path(docx.value.path()).read_bytes().startswith(b"PK")

    # On paper: the sheet alone, no navigation or buttons.
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator(".qlist-actions")).to_be_hidden()
    screenshot(page, "question-list-a4-print")
    assert not errors
    context.close()
