"""/manage/hearings/<id>/polls/ (office/views/polls.py): the office prepares polls from a form
(a satisfaction poll, a sheet of departments × aspects, a select of candidates from a pasted
table), as drafts for the panel or as window polls; schedules, discards, closes and publishes
them. Bad input is shown with the input kept and stores nothing; only staff get in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from hearings.models import Hearing, Person
from office.views.polls import FIVE_LEVEL
from tests.factories import World, make_user, make_world
from voting.models import Poll, PollOption, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
WINDOW = {"opens_at": "2026-12-02T09:00", "closes_at": "2026-12-09T18:00"}


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


@pytest.fixture
def world(db: Any) -> World:
    return make_world(status=Hearing.Status.ENDED)


@pytest.fixture
def staff(client: Client) -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    client.force_login(user)
    return user


def page(world: World) -> str:
    return reverse("manage_polls", args=[world.hearing.pk])


def action(world: World, poll: Poll, name: str) -> str:
    return reverse("manage_poll_action", args=[world.hearing.pk, poll.pk, name])


def stored() -> dict[str, Any]:
    return {
        "polls": list(Poll.objects.values_list("pk", "status", "opens_at", "closes_at")),
        "options": PollOption.objects.count(),
        "tallies": SecretTally.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def sheet_form(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "sheet",
        "title": "部门满意度测评",
        "ballot": "secret",
        "departments": [d.pk for d in world.departments],
        "aspects": "",
        "scale": "three",
        "opens_at": "2026-12-02T09:00",
        "closes_at": "2026-12-09T18:00",
        **extra,
    }


def test_the_urls_are_the_agreed_ones() -> None:
    assert reverse("manage_polls", args=[7]) == "/manage/hearings/7/polls/"
    assert reverse("manage_poll_action", args=[7, 3, "schedule"]) == "/manage/hearings/7/polls/3/schedule/"


def test_the_hearing_page_links_to_its_polls(client: Client, staff: Any, world: World) -> None:
    response = client.get(reverse("manage_hearing", args=[world.hearing.pk]), secure=True)
    assert f'href="{page(world)}"' in response.content.decode()


def test_a_sheet_of_departments_by_aspects_on_a_five_level_scale_as_a_window_poll(
    client: Client, staff: Any, world: World
) -> None:
    form = sheet_form(world, aspects="应询态度\n回答质量\n\n整改措施\n", scale="five", weights="100 80 60 20 0")
    with clock(NOW):
        response = client.post(page(world), form, secure=True)
    assert response.status_code == 302, response.content.decode()[:1000]
    poll = Poll.objects.get()
    assert (poll.kind, poll.title, poll.secret, poll.status) == ("sheet", "部门满意度测评", True, "open")
    assert poll.choices == FIVE_LEVEL
    assert poll.weights == {"非常满意": 100, "满意": 80, "基本满意": 60, "不满意": 20, "非常不满意": 0}
    # datetime-local read in the site's time zone
    assert poll.opens_at == datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
    assert poll.closes_at == datetime(2026, 12, 9, 18, 0, tzinfo=SHANGHAI)
    rows = list(PollOption.objects.filter(poll=poll).order_by("position").values_list("label", "department_id"))
    first = world.departments[0]
    assert len(rows) == 9
    assert rows[:3] == [
        (f"{first.name}·应询态度", first.pk),
        (f"{first.name}·回答质量", first.pk),
        (f"{first.name}·整改措施", first.pk),
    ]
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["poll.prepare", "poll.schedule"]
    with clock(NOW):
        listed = client.get(page(world), secure=True).content.decode()
    assert f'id="office-poll-{poll.pk}"' in listed and "已投 0 / 应投 3" in listed and "未开始" in listed


def test_a_satisfaction_draft_on_an_agenda_item_named(client: Client, staff: Any, world: World) -> None:
    world.hearing.status = Hearing.Status.DRAFT
    world.hearing.save()
    item = world.items[1]
    response = client.post(
        page(world),
        {"kind": "satisfaction", "ballot": "named", "item": item.pk, "scale": "custom", "custom_choices": "好\n不好"},
        secure=True,
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    poll = Poll.objects.get()
    assert (poll.kind, poll.status, poll.item_id, poll.secret, poll.choices) == (
        "satisfaction",
        "draft",
        item.pk,
        False,
        ["好", "不好"],
    )
    assert poll.opens_at is None and PollOption.objects.count() == 0


def test_a_select_from_a_pasted_table(client: Client, staff: Any, world: World) -> None:
    department = world.departments[1]
    table = (
        f"城区道路改造\t{department.name}\t1,200\t改造主干道三条\n"
        f"老旧小区加装电梯 | {department.short_name} | 300万元 | \n"
        "社区食堂\n"
    )
    form = {
        "kind": "select",
        "ballot": "secret",
        "scale": "three",
        "departments": [world.departments[0].pk],  # a sheet's field, left from switching kind: ignored
        "candidates": table,
        "min_picks": "1",
        "max_picks": "2",
        "choose": "2",
        "opens_at": "2026-12-02T09:00",
        "closes_at": "2026-12-03T09:00",
    }
    with clock(NOW):
        response = client.post(page(world), form, secure=True)
    assert response.status_code == 302, response.content.decode()[:1000]
    poll = Poll.objects.get()
    assert (poll.kind, poll.min_picks, poll.max_picks, poll.choose, poll.choices) == ("select", 1, 2, 2, [])
    options = list(PollOption.objects.order_by("position").values_list("label", "department_id", "budget", "note"))
    assert options == [
        ("城区道路改造", department.pk, Decimal("1200.00"), "改造主干道三条"),
        ("老旧小区加装电梯", department.pk, Decimal("300.00"), ""),
        ("社区食堂", None, None, ""),
    ]


BAD_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("no rows", {"departments": [], "aspects": ""}, "测评表至少需要一个测评项"),
    ("closes before it opens", {"closes_at": "2026-12-01T08:00", "opens_at": "2026-12-02T09:00"}, "截止投票时间须晚于"),
    ("only a closing time", {"opens_at": ""}, "请给出开始和截止投票的时间"),
    ("too many rows", {"aspects": "\n".join(f"方面{n}" for n in range(30))}, "测评表最多"),
    ("weights do not fit", {"weights": "100 50"}, "分值须是 3 个数"),
    ("weights not numbers", {"weights": "高 中 低"}, "分值须是数字"),
    ("custom scale of one", {"scale": "custom", "custom_choices": "满意"}, "至少需要两个不同的选项"),
    ("a kind that is none", {"kind": "vote"}, "vote"),
    ("an ended hearing's draft", {"opens_at": "", "closes_at": ""}, "问政会已结束"),
]


@pytest.mark.parametrize(("case", "changes", "message"), BAD_FORMS, ids=[c[0] for c in BAD_FORMS])
def test_bad_input_is_shown_with_the_input_kept_and_nothing_stored(
    client: Client, staff: Any, world: World, case: str, changes: dict[str, Any], message: str
) -> None:
    before = stored()
    form = sheet_form(world, title="保留的标题", **changes)
    with clock(NOW):
        response = client.post(page(world), form, secure=True)
    body = response.content.decode()
    assert response.status_code in (400, 409), body[:500]
    assert message in body
    assert 'value="保留的标题"' in body  # the input is kept
    assert stored() == before


def test_a_candidate_of_an_unknown_department_is_refused_with_its_line(
    client: Client, staff: Any, world: World
) -> None:
    form = {"kind": "select", "ballot": "secret", "scale": "three", "candidates": "甲\n乙\t县不存在局\t5\n"}
    response = client.post(page(world), form, secure=True)
    body = response.content.decode()
    assert response.status_code == 400
    assert "第 2 行：找不到部门「县不存在局」" in body and "县不存在局" in body
    assert Poll.objects.count() == 0


def test_a_draft_is_scheduled_discarded_and_a_window_poll_closed_and_published(
    client: Client, staff: Any, world: World
) -> None:
    world.hearing.status = Hearing.Status.DRAFT
    world.hearing.save()
    for title in ("甲", "乙"):
        client.post(page(world), sheet_form(world, title=title, opens_at="", closes_at=""), secure=True)
    first, second = Poll.objects.order_by("pk")
    assert first.status == second.status == Poll.Status.DRAFT

    with clock(NOW):
        # a bad window: the error beside that poll, its input kept, nothing changed
        bad = {"opens_at": "2026-12-05T09:00", "closes_at": "2026-12-04T09:00"}
        response = client.post(action(world, first, "schedule"), bad, secure=True)
        assert response.status_code == 400
        body = response.content.decode()
        assert f'id="poll-{first.pk}-error"' in body and "截止投票时间须晚于开始时间" in body
        assert 'value="2026-12-05T09:00"' in body
        first.refresh_from_db()
        assert first.status == Poll.Status.DRAFT

        good = {"opens_at": "2026-12-01T08:00", "closes_at": "2026-12-04T09:00"}
        assert client.post(action(world, first, "schedule"), good, secure=True).status_code == 302
        first.refresh_from_db()
        assert (first.status, first.closes_at) == ("open", datetime(2026, 12, 4, 9, 0, tzinfo=SHANGHAI))

        assert client.post(action(world, second, "discard"), secure=True).status_code == 302
        assert not Poll.objects.filter(pk=second.pk).exists()
        # an open poll cannot be discarded, nor published before it closes
        for name in ("discard", "publish"):
            assert client.post(action(world, first, name), secure=True).status_code == 409
        assert client.post(action(world, first, "close"), secure=True).status_code == 302
        assert client.post(action(world, first, "publish"), secure=True).status_code == 302
    first.refresh_from_db()
    assert first.status == Poll.Status.PUBLISHED
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions[-4:] == ["poll.schedule", "poll.discard", "poll.close", "poll.publish"]


def test_a_window_poll_past_its_closing_time_shows_closed(client: Client, staff: Any, world: World) -> None:
    with clock(NOW):
        client.post(page(world), sheet_form(world), secure=True)
    poll = Poll.objects.get()
    with clock(datetime(2026, 12, 10, 9, 0, tzinfo=SHANGHAI)):
        body = client.get(page(world), secure=True).content.decode()
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED
    assert "公布结果" in body


def test_a_poll_of_another_hearing_or_an_unknown_action_is_404(client: Client, staff: Any, world: World) -> None:
    with clock(NOW):
        client.post(page(world), sheet_form(world), secure=True)
    poll = Poll.objects.get()
    other = make_world(status=Hearing.Status.ENDED)
    before = stored()
    assert (
        client.post(reverse("manage_poll_action", args=[other.hearing.pk, poll.pk, "close"]), secure=True).status_code
        == 404
    )
    assert client.post(action(world, poll, "open"), secure=True).status_code == 404
    assert stored() == before


def test_no_one_but_staff_prepares_or_acts(client: Client, world: World) -> None:
    with clock(NOW):
        staff_client = Client()
        staff_user = make_user()
        Person.objects.create(user=staff_user, name="工作人员", role=Person.Role.STAFF)
        staff_client.force_login(staff_user)
        staff_client.post(page(world), sheet_form(world), secure=True)
    poll = Poll.objects.get()
    before = stored()
    for outsider in (None, world.moderator, world.deputies[0], make_user()):
        other = Client()
        if outsider is not None:
            other.force_login(outsider)
        assert other.get(page(world), secure=True).status_code == 403
        with clock(NOW):
            assert other.post(page(world), sheet_form(world), secure=True).status_code == 403
            for name in ("schedule", "discard", "close", "publish"):
                assert other.post(action(world, poll, name), secure=True).status_code == 403
    assert stored() == before
    assert VoteRecord.objects.count() == 0


def test_a_post_without_a_scale_takes_the_three_level_default(client: Client, staff: Any, world: World) -> None:
    with clock(NOW):
        response = client.post(page(world), {"kind": "satisfaction", "ballot": "secret", **WINDOW}, secure=True)
    assert response.status_code == 302, response.content.decode()[:500]
    assert Poll.objects.get().choices == ["满意", "基本满意", "不满意"]
