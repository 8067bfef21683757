"""The tablet when the office's window poll (scheduled while the hearing was being prepared)
is still open as the hearing runs: the chamber's live poll is the one the tablet shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hearings import services as hearing_services
from hearings.models import Person
from tests.e2e.helpers import PHONE, call
from tests.e2e.test_tablet import open_tablet_and_check_in
from tests.factories import World, make_user, make_world
from voting import services as voting_services
from voting.models import VoteRecord

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


def test_the_tablet_shows_the_live_poll_not_an_older_window_poll(page: Any, asgi_server: str, world: World) -> None:
    staff = make_user()
    Person.objects.create(user=staff, name="会务工作人员", role=Person.Role.STAFF)
    hid = world.hearing.pk
    soon = timezone.now() + timedelta(hours=1)
    window = call(
        voting_services.poll_prepare,
        hearing_id=hid,
        by=staff,
        kind="sheet",
        title="事后测评",
        rows=[voting_services.OptionSpec(d.name, d.pk) for d in world.departments],
        opens_at=soon,
        closes_at=soon + timedelta(days=2),
    )
    call(hearing_services.hearing_start, hearing_id=hid, by=None)
    deputy = open_tablet_and_check_in(page, asgi_server, world)
    live = call(voting_services.poll_open, hearing_id=hid, item_id=world.items[1].pk, by=None, title="现场测评")
    expect(page.locator("#poll")).to_contain_text("现场测评")
    expect(page.locator("#poll .choice")).to_have_count(3)
    page.click("#poll .choice[data-choice='基本满意']")
    expect(page.locator("#vote-state")).to_have_attribute("data-state", "recorded")
    assert VoteRecord.objects.filter(poll=live, deputy=deputy).count() == 1
    assert not VoteRecord.objects.filter(poll=window).exists()
