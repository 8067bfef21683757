"""/manage/hearings/<id>/agenda/ (office/views/agenda.py): the office's agenda editor. Staff
see the agenda and add, edit, move and remove items, before and during the hearing, through the
same commands as the control panel (so every screen gets one agenda.updated); refusals are
shown; anyone else gets 403 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from hearings import services
from hearings.models import AgendaItem, Person
from tests.conftest import Published
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def person(role: str) -> Any:
    user = make_user()
    Person.objects.create(user=user, name=f"{role}-{user.pk}", role=role)
    return user


def page_url(world: World) -> str:
    return reverse("manage_agenda", args=[world.hearing.pk])


def action_url(world: World, slug: str) -> str:
    return reverse("manage_agenda_action", args=[world.hearing.pk, slug])


def post(client: Client, world: World, slug: str, *, htmx: bool = True, **data: Any) -> Any:
    headers = {"HX-Request": "true"} if htmx else None
    return client.post(action_url(world, slug), data, secure=True, headers=headers)


def titles(world: World) -> list[str]:
    return list(AgendaItem.objects.filter(hearing=world.hearing).order_by("position").values_list("title", flat=True))


def agenda_rows(world: World) -> list[Any]:
    return list(AgendaItem.objects.filter(hearing=world.hearing).order_by("pk").values())


@pytest.fixture
def staff(client: Client) -> Any:
    user = person("staff")
    client.force_login(user)
    return user


def test_the_url_is_the_agreed_one() -> None:
    assert reverse("manage_agenda", args=[7]) == "/manage/hearings/7/agenda/"


@pytest.mark.parametrize("status", ["draft", "live"])
def test_staff_see_the_agenda_with_its_tools(client: Client, staff: Any, status: str) -> None:
    w = make_world(status=status)
    response = client.get(page_url(w), secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    for item in w.items:
        assert f'id="office-item-{item.pk}"' in html
        assert item.title in html
        assert f'id="office-edit-{item.pk}"' in html
    for department in w.departments:
        assert f'<option value="{department.pk}">{department.name}</option>' in html
    for label in ("开场", "问政", "测评", "闭幕", "其他"):
        assert f">{label}</option>" in html
    assert action_url(w, "agenda-add") in html


def test_an_ended_hearings_agenda_is_shown_without_tools(client: Client, staff: Any) -> None:
    w = make_world(status="ended")
    html = client.get(page_url(w), secure=True).content.decode()
    assert w.items[1].title in html
    assert "agenda-add" not in html and "office-edit-" not in html
    assert "问政会已结束，议程不能再修改。" in html


def test_staff_add_edit_move_and_remove_while_the_hearing_is_live(
    client: Client, staff: Any, published: Published
) -> None:
    w = make_world(status="live")
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[1].pk, by=None)
    start = len(published)
    names = titles(w)

    response = post(
        client,
        w,
        "agenda-add",
        title="临时议程",
        kind="evaluation",
        department=w.departments[0].pk,
        minutes="7",
        after=w.items[1].pk,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<section id="office-agenda"')
    assert "已添加议程：临时议程" in html and 'class="office-result ok"' in html
    added = AgendaItem.objects.get(hearing=w.hearing, title="临时议程")
    assert (added.position, added.kind, added.department_id, added.planned_minutes) == (
        3,
        "evaluation",
        w.departments[0].pk,
        7,
    )
    assert f'id="office-item-{added.pk}"' in html  # the list it answers with has it

    response = post(
        client,
        w,
        "agenda-edit",
        item=w.items[1].pk,
        title="正在进行的议程（改）",
        kind="questioning",
        department="",
        minutes="20",
    )
    assert response.status_code == 200
    current = AgendaItem.objects.get(pk=w.items[1].pk)
    assert (current.title, current.department_id, current.planned_minutes, current.status) == (
        "正在进行的议程（改）",
        None,
        20,
        "current",
    )

    assert post(client, w, "agenda-move", item=w.items[3].pk, position="1").status_code == 200
    assert titles(w)[0] == names[3]

    assert post(client, w, "agenda-remove", item=w.items[2].pk).status_code == 200
    assert not AgendaItem.objects.filter(pk=w.items[2].pk).exists()
    assert titles(w) == [names[3], names[0], "正在进行的议程（改）", "临时议程"]

    assert published.types()[start:] == ["agenda.updated"] * 4
    actions = list(AuditEntry.objects.order_by("-seq").values_list("action", "actor_id")[:4])
    assert actions == [
        ("agenda.remove", staff.pk),
        ("agenda.move", staff.pk),
        ("agenda.edit", staff.pk),
        ("agenda.add", staff.pk),
    ]


def test_a_staff_member_needs_no_moderator_role(client: Client, staff: Any) -> None:
    w = make_world()
    assert not w.hearing.moderators.filter(pk=staff.pk).exists()
    assert post(client, w, "agenda-add", title="会务添加").status_code == 200
    assert titles(w)[-1] == "会务添加"


@pytest.mark.parametrize(
    ("slug", "data", "status", "message"),
    [
        ("agenda-add", {"title": ""}, 400, "请填写标题。"),
        ("agenda-add", {"title": "x", "minutes": "601"}, 400, "计划时长应为 1 到 600 分钟。"),
        ("agenda-add", {"title": "x", "department": "999999"}, 404, "没有这个部门。"),
        ("agenda-edit", {"item": "ITEM", "title": "x", "kind": "party", "minutes": "5"}, 400, "输入有误"),
        ("agenda-move", {"item": "ITEM", "position": "9"}, 400, "位置应为 1 到 4 之间的数。"),
        ("agenda-remove", {"item": "STARTED"}, 409, "这项议程已经开始过，不能删除。"),
        ("agenda-remove", {"item": "ASKED"}, 409, "这项议程下已有问题"),
    ],
)
def test_refusals_are_shown_and_change_nothing(
    client: Client, staff: Any, published: Published, slug: str, data: dict[str, str], status: int, message: str
) -> None:
    w = make_world(status="live")
    services.agenda_start(hearing_id=w.hearing.pk, item_id=w.items[0].pk, by=None)
    services.question_submit(hearing_id=w.hearing.pk, text="问题", source="public", item_id=w.items[3].pk)
    ids = {"ITEM": str(w.items[1].pk), "STARTED": str(w.items[0].pk), "ASKED": str(w.items[3].pk)}
    before, seen = agenda_rows(w), len(published)
    form: dict[str, Any] = {k: ids.get(v, v) for k, v in data.items()}
    response = post(client, w, slug, **form)
    assert response.status_code == status
    html = response.content.decode()
    assert 'class="office-result failed"' in html and message in html
    assert agenda_rows(w) == before
    assert len(published) == seen


def test_an_ended_hearing_refuses_on_the_page(client: Client, staff: Any) -> None:
    w = make_world(status="ended")
    before = agenda_rows(w)
    response = post(client, w, "agenda-add", title="会后补充")
    assert response.status_code == 409
    assert "问政会已结束，议程不能再修改。" in response.content.decode()
    assert agenda_rows(w) == before


def test_a_plain_post_redirects_back_with_the_message(client: Client, staff: Any) -> None:
    w = make_world()
    response = client.post(action_url(w, "agenda-add"), {"title": "无脚本添加"}, secure=True, follow=True)
    assert response.redirect_chain[-1][0].endswith(page_url(w))
    assert "已添加议程：无脚本添加" in response.content.decode()
    response = client.post(action_url(w, "agenda-add"), {"title": ""}, secure=True, follow=True)
    assert "请填写标题。" in response.content.decode()
    assert titles(w)[-1] == "无脚本添加"


def test_unknown_actions_and_hearings_are_404_and_get_is_405(client: Client, staff: Any) -> None:
    w = make_world()
    assert post(client, w, "agenda-start", item=w.items[0].pk).status_code == 404
    assert post(client, w, "hearing-end").status_code == 404
    assert client.post("/manage/hearings/999999/agenda/do/agenda-add/", {"title": "x"}, secure=True).status_code == 404
    assert client.get("/manage/hearings/999999/agenda/", secure=True).status_code == 404
    assert client.get(action_url(w, "agenda-add"), secure=True).status_code == 405
    assert w.hearing.status == "draft"


@pytest.mark.parametrize("who", ["anonymous", "deputy", "liaison", "moderator", "moderator person", "django staff"])
def test_only_staff_may_open_or_post(client: Client, published: Published, who: str) -> None:
    w = make_world(status="live")
    users = {
        "anonymous": None,
        "deputy": w.deputies[0],
        "liaison": person("liaison"),
        "moderator": w.moderator,  # this hearing's moderator, but not office staff
        "moderator person": person("moderator"),
        "django staff": make_user(is_staff=True),  # the admin's staff flag is not the office's role
    }
    Person.objects.create(user=w.deputies[0], name="代表", role="deputy")
    if users[who] is not None:
        client.force_login(users[who])
    assert client.get(page_url(w), secure=True).status_code == 403
    before = agenda_rows(w)
    for slug, data in (
        ("agenda-add", {"title": "x"}),
        ("agenda-edit", {"item": w.items[1].pk, "title": "x"}),
        ("agenda-move", {"item": w.items[1].pk, "position": 1}),
        ("agenda-remove", {"item": w.items[1].pk}),
    ):
        assert post(client, w, slug, **data).status_code == 403
        assert post(client, w, slug, htmx=False, **data).status_code == 403
    assert agenda_rows(w) == before
    assert published == []


def test_the_page_renders_in_english(client: Client, staff: Any) -> None:
    w = make_world()
    response = client.get(page_url(w), secure=True, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert '<html lang="en">' in response.content.decode()
