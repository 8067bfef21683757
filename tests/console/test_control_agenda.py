"""The control panel's agenda tools: add, edit, move up / down and remove through the panel's
actions (/hearings/<id>/control/do/agenda-*/), each answered with `_action_result`; the agenda
part renders the tools and forms the moderator posts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from core import limits
from hearings import services
from hearings.models import AgendaItem, Person
from tests.conftest import Published
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def act(client: Client, world: World, slug: str, **data: Any) -> Any:
    return client.post(
        f"/hearings/{world.hearing.pk}/control/do/{slug}/", data, secure=True, headers={"HX-Request": "true"}
    )


def part(client: Client, world: World) -> str:
    response = client.get(f"/hearings/{world.hearing.pk}/control/part/agenda/", secure=True)
    assert response.status_code == 200
    return str(response.content.decode())


def titles(world: World) -> list[str]:
    return list(AgendaItem.objects.filter(hearing=world.hearing).order_by("position").values_list("title", flat=True))


@pytest.fixture
def moderator(client: Client, live_world: World) -> World:
    client.force_login(live_world.moderator)
    return live_world


def ok(response: Any, text: str) -> None:
    html = response.content.decode()
    assert response.status_code == 200, html
    assert 'class="action-result ok"' in html
    assert text in html


def test_add_an_item_from_the_panel(client: Client, moderator: World, published: Published) -> None:
    w = moderator
    dept = w.departments[2]
    response = act(client, w, "agenda-add", title=" 追加：县医保局 ", department=dept.pk, minutes="12", after="")
    ok(response, "已添加议程：追加：县医保局")
    item = AgendaItem.objects.get(hearing=w.hearing, title="追加：县医保局")
    assert (item.position, item.department_id, item.planned_minutes, item.kind) == (5, dept.pk, 12, "questioning")
    assert published.types() == ["agenda.updated"]
    # Minutes left empty: the model's default; after an item: right behind it.
    ok(act(client, w, "agenda-add", title="插入", department="", minutes="", after=w.items[0].pk), "插入")
    assert titles(w)[1] == "插入"
    assert AgendaItem.objects.get(title="插入").planned_minutes == 15
    assert published.types() == ["agenda.updated"] * 2


def test_edit_an_item_from_the_panel(client: Client, moderator: World, published: Published) -> None:
    w = moderator
    item = w.items[1]
    response = act(client, w, "agenda-edit", item=item.pk, title="改名", department="", minutes="33")
    ok(response, "已修改议程：改名")
    item.refresh_from_db()
    assert (item.title, item.department_id, item.planned_minutes) == ("改名", None, 33)
    assert published.types() == ["agenda.updated"]
    # The same form again: nothing new, said as done, nothing published.
    ok(act(client, w, "agenda-edit", item=item.pk, title="改名", department="", minutes="33"), "改名")
    assert published.types() == ["agenda.updated"]


def test_move_up_and_down_from_the_panel(client: Client, moderator: World, published: Published) -> None:
    w = moderator
    names = titles(w)
    ok(act(client, w, "agenda-move", item=w.items[2].pk, position="2"), "已将议程移到第 2 项")
    assert titles(w) == [names[0], names[2], names[1], names[3]]
    ok(act(client, w, "agenda-move", item=w.items[0].pk, position="2"), "已将议程移到第 2 项")
    assert titles(w) == [names[2], names[0], names[1], names[3]]
    assert published.types() == ["agenda.updated"] * 2


def test_remove_from_the_panel(client: Client, moderator: World, published: Published) -> None:
    w = moderator
    ok(act(client, w, "agenda-remove", item=w.items[3].pk), "已删除议程：")
    assert not AgendaItem.objects.filter(pk=w.items[3].pk).exists()
    assert published.types() == ["agenda.updated"]


@pytest.mark.parametrize(
    ("slug", "data", "status", "code", "detail"),
    [
        ("agenda-add", {"title": "", "minutes": ""}, 400, "bad_request", "请填写标题。"),
        ("agenda-add", {"title": "x", "minutes": "0"}, 400, "bad_request", "计划时长应为 1 到 600 分钟。"),
        ("agenda-add", {"title": "x", "minutes": "九"}, 400, "bad_request", "请填写整数。"),
        ("agenda-add", {"title": "x", "kind": "party"}, 400, "bad_request", ""),
        ("agenda-add", {"title": "x", "department": "999999"}, 404, "not_found", "没有这个部门。"),
        ("agenda-add", {"title": "长" * (limits.AGENDA_TITLE + 1)}, 400, "bad_request", "标题最多 200 字。"),
        ("agenda-edit", {"item": "ITEM", "title": "x", "minutes": "601"}, 400, "bad_request", "计划时长应为"),
        ("agenda-edit", {"item": "ITEM", "title": "两行\r\n标题"}, 400, "bad_request", "标题只能填写一行。"),
        ("agenda-edit", {"item": "", "title": "x"}, 400, "bad_request", "请选择要操作的对象。"),
        ("agenda-move", {"item": "ITEM", "position": "0"}, 400, "bad_request", "位置应为 1 到 4 之间的数。"),
        ("agenda-move", {"item": "ITEM", "position": "5"}, 400, "bad_request", "位置应为 1 到 4 之间的数。"),
        ("agenda-remove", {"item": "CURRENT"}, 409, "invalid_state", "这项议程已经开始过，不能删除。"),
        ("agenda-remove", {"item": "999999"}, 404, "not_found", "本场问政会没有这项议程。"),
    ],
)
def test_refusals_are_shown_and_change_nothing(
    client: Client,
    moderator: World,
    published: Published,
    slug: str,
    data: dict[str, str],
    status: int,
    code: str,
    detail: str,
) -> None:
    w = moderator
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=None)
    ids = {"ITEM": str(w.items[1].pk), "CURRENT": str(w.items[0].pk)}
    data = {k: ids.get(v, v) for k, v in data.items()}
    before = list(AgendaItem.objects.filter(hearing=w.hearing).order_by("pk").values())
    seen = len(published)
    response = act(client, w, slug, **data)
    html = response.content.decode()
    assert response.status_code == status, html
    assert 'class="action-result failed"' in html
    assert f'data-code="{code}"' in html
    assert detail in html
    assert list(AgendaItem.objects.filter(hearing=w.hearing).order_by("pk").values()) == before
    assert len(published) == seen


@pytest.mark.parametrize("who", ["deputy", "other moderator", "liaison"])
def test_only_the_hearings_moderators_and_staff_act(client: Client, live_world: World, who: str) -> None:
    w = live_world
    liaison = make_user()
    Person.objects.create(user=liaison, name="联络员", role="liaison")
    user = {"deputy": w.deputies[0], "other moderator": w.other_moderator, "liaison": liaison}[who]
    client.force_login(user)
    for slug, data in (
        ("agenda-add", {"title": "x"}),
        ("agenda-edit", {"item": w.items[1].pk, "title": "x"}),
        ("agenda-move", {"item": w.items[1].pk, "position": 1}),
        ("agenda-remove", {"item": w.items[1].pk}),
    ):
        response = act(client, w, slug, **data)
        assert response.status_code == 403
        assert 'data-code="forbidden"' in response.content.decode()
    assert titles(w) == [item.title for item in w.items]


def test_anonymous_is_sent_to_log_in(client: Client, live_world: World) -> None:
    response = act(client, live_world, "agenda-add", title="x")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert AgendaItem.objects.filter(hearing=live_world.hearing).count() == 4


def test_the_agenda_part_offers_the_tools_while_the_hearing_is_not_over(client: Client, moderator: World) -> None:
    w = moderator
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=None)
    html = part(client, w)
    assert 'id="agenda-editing"' in html
    assert 'id="agenda-add-tool"' in html
    for item in w.items:
        assert f'id="agenda-edit-{item.pk}"' in html
        assert f'id="agenda-title-{item.pk}" value="{item.title}"' in html
    # Remove only for items never started; the first ↑ and last ↓ are disabled.
    removable = re.findall(r'agenda-remove/" hx-vals=\'\{"item": (\d+)\}\'', html)
    assert removable == [str(item.pk) for item in w.items[1:]]
    assert '"position": 0}\' hx-disabled-elt="this" disabled' in html
    assert f'"item": {w.items[3].pk}, "position": 5}}\' hx-disabled-elt="this" disabled' in html
    for department in w.departments:
        assert f'<option value="{department.pk}">{department.name}</option>' in html
    assert f'max="{limits.AGENDA_MINUTES}"' in html


def test_an_ended_hearing_offers_no_tools(client: Client) -> None:
    w = make_world(status="ended")
    client.force_login(w.moderator)
    html = part(client, w)
    assert "agenda-editing" not in html and "agenda-add-tool" not in html and "agenda-remove" not in html


def test_the_panel_shows_an_added_item_at_once_after_the_event(client: Client, moderator: World) -> None:
    """The part the panel fetches again on agenda.updated lists the new item."""
    w = moderator
    services.agenda_add(hearing_id=w.hearing.pk, by=w.moderator, title="刚刚添加的议程")
    assert "刚刚添加的议程" in part(client, w)
