"""The office's hearing pages (/manage/hearings/…): staff list, create, edit, copy and assign the
roster through them; anyone else gets 403 on every page and every form, and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from hearings.models import AgendaItem, Hearing, Person
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def person(role: str, *, name: str | None = None, delegation: str = "") -> Any:
    user = make_user()
    Person.objects.create(user=user, name=name or f"人员{user.pk}", role=role, delegation=delegation)
    return user


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def staff_client() -> Client:
    return client_for(person(Person.Role.STAFF))


def get(client: Client, url: str) -> Any:
    return client.get(url, secure=True)


def post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, secure=True)


FORM = {
    "title": "优化营商环境专题询问",
    "kind": "inquiry",
    "theme": "助企纾困",
    "venue": "第一会议室",
    "starts_at": "2026-12-08T09:00",
    "ends_at": "2026-12-08T12:00",
    "stream_url": "https://live.example.cn/1.m3u8",
    "quorum_percent": "60",
    "deputy_questions_need_approval": "on",
}


def state() -> Any:
    return (
        list(Hearing.objects.order_by("pk").values()),
        list(AgendaItem.objects.order_by("pk").values()),
        list(Hearing.deputies.through.objects.order_by("pk").values_list("hearing_id", "user_id")),
        list(Hearing.moderators.through.objects.order_by("pk").values_list("hearing_id", "user_id")),
        AuditEntry.objects.count(),
    )


# --------------------------------------------------------------------------- staff


def test_staff_see_the_list_with_counts_and_links(staff_client: Client, world: World) -> None:
    response = get(staff_client, reverse("manage_hearings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="hearing-{world.hearing.pk}"' in html
    assert reverse("manage_hearing", args=[world.hearing.pk]) in html
    assert reverse("manage_hearing_copy", args=[world.hearing.pk]) in html
    assert reverse("manage_hearing_new") in html
    row = response.context["hearings"].get(pk=world.hearing.pk)
    assert (row.n_items, row.n_deputies, row.n_moderators) == (4, 3, 1)
    assert "另一场" in html  # every hearing
    assert get(staff_client, "/manage/").url == reverse("manage_hearings")


def test_staff_create_a_hearing(staff_client: Client) -> None:
    page = get(staff_client, reverse("manage_hearing_new"))
    assert page.status_code == 200 and 'name="title"' in page.content.decode()
    response = post(staff_client, reverse("manage_hearing_new"), FORM)
    hearing = Hearing.objects.get()
    assert response.status_code == 302 and response.url == reverse("manage_hearing", args=[hearing.pk])
    assert (hearing.title, hearing.kind, hearing.status, hearing.quorum_percent) == (
        "优化营商环境专题询问",
        "inquiry",
        "draft",
        60,
    )
    assert hearing.deputy_questions_need_approval is True
    assert timezone.localtime(hearing.starts_at).strftime("%Y-%m-%d %H:%M") == "2026-12-08 09:00"
    assert AuditEntry.objects.filter(action="hearing.create").count() == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"title": "问" * 201},
        {"kind": "party"},
        {"starts_at": ""},
        {"starts_at": "tomorrow"},
        {"ends_at": "2026-12-08T08:00"},
        {"stream_url": "ftp://example.cn/a"},
        {"quorum_percent": "0"},
        {"quorum_percent": "100"},
        {"quorum_percent": "abc"},
        {"title": "问政\x00"},
    ],
)
def test_a_bad_new_hearing_is_shown_again_with_its_error_and_nothing_stored(
    staff_client: Client, changes: dict[str, str]
) -> None:
    before = state()
    response = post(staff_client, reverse("manage_hearing_new"), {**FORM, **changes})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert state() == before


def test_the_service_refusal_shows_on_the_form(staff_client: Client) -> None:
    # The form lets through a start-after-end; the service refuses it, in the page's language.
    response = post(staff_client, reverse("manage_hearing_new"), {**FORM, "ends_at": "2026-12-08T09:00"})
    assert response.status_code == 400
    assert "计划结束时间须晚于开始时间。" in response.content.decode()
    assert not Hearing.objects.exists()


def test_staff_see_and_edit_a_hearing(staff_client: Client, world: World) -> None:
    url = reverse("manage_hearing", args=[world.hearing.pk])
    page = get(staff_client, url)
    assert page.status_code == 200
    html = page.content.decode()
    for link in (
        reverse("manage_agenda", args=[world.hearing.pk]),
        reverse("manage_seats", args=[world.hearing.pk]),
        reverse("hearing_control", args=[world.hearing.pk]),
        reverse("hearing_screen", args=[world.hearing.pk]),
        reverse("hearing_live", args=[world.hearing.pk]),
    ):
        assert f'href="{link}"' in html
    form = page.context["form"]
    assert form["title"].value() == "测试问政会"
    posted = {**FORM, "title": "改过的标题"}
    response = post(staff_client, url, posted)
    assert response.status_code == 302 and response.url == url
    world.hearing.refresh_from_db()
    assert (world.hearing.title, world.hearing.quorum_percent) == ("改过的标题", 60)
    assert AuditEntry.objects.filter(action="hearing.update").count() == 1


def test_saving_the_form_unchanged_keeps_the_stored_times(staff_client: Client, world: World) -> None:
    # The form shows minutes; the stored start has seconds: an unchanged form changes nothing.
    h = world.hearing
    assert h.starts_at.second or h.starts_at.microsecond
    url = reverse("manage_hearing", args=[h.pk])
    shown = get(staff_client, url).content.decode()
    start = timezone.localtime(h.starts_at).strftime("%Y-%m-%dT%H:%M")
    assert f'value="{start}"' in shown
    data = {"title": h.title, "kind": h.kind, "starts_at": start, "quorum_percent": str(h.quorum_percent)}
    before = state()
    assert post(staff_client, url, data).status_code == 302
    assert state() == before


def test_an_ended_hearing_shows_and_refuses_an_edit(staff_client: Client) -> None:
    w = make_world(status="ended")
    url = reverse("manage_hearing", args=[w.hearing.pk])
    page = get(staff_client, url)
    assert page.status_code == 200 and 'id="hearing-form"' not in page.content.decode()
    before = state()
    response = post(staff_client, url, {**FORM, "title": "改"})
    assert response.status_code == 400
    assert "已结束的问政会不能再修改。" in response.content.decode()
    assert state() == before


def test_staff_copy_a_hearing_and_land_on_the_copy(staff_client: Client, world: World) -> None:
    response = post(staff_client, reverse("manage_hearing_copy", args=[world.hearing.pk]))
    copy = Hearing.objects.exclude(pk=world.hearing.pk).exclude(title="另一场").get()
    assert response.status_code == 302 and response.url == reverse("manage_hearing", args=[copy.pk])
    assert copy.status == "draft" and copy.title == "测试问政会（副本）"
    assert copy.agenda.count() == 4
    assert set(copy.deputies.all()) == set(world.deputies)
    assert get(staff_client, reverse("manage_hearing_copy", args=[world.hearing.pk])).status_code == 405


def test_unknown_hearings_are_404(staff_client: Client) -> None:
    for name in ("manage_hearing", "manage_hearing_roster", "manage_hearing_copy"):
        url = reverse(name, args=[10**9])
        assert (get if name == "manage_hearing" else post)(staff_client, url).status_code == 404


def test_staff_assign_the_roster(staff_client: Client) -> None:
    w = make_world(deputies=0)
    a = person(Person.Role.DEPUTY, name="甲代表", delegation="城关代表团")
    b = person(Person.Role.DEPUTY, name="乙代表", delegation="城关代表团")
    c = person(Person.Role.DEPUTY, name="丙代表", delegation="东乡代表团")
    m = person(Person.Role.MODERATOR, name="王主持")
    liaison = person(Person.Role.LIAISON, name="李联络")
    url = reverse("manage_hearing", args=[w.hearing.pk])
    page = get(staff_client, url)
    html = page.content.decode()
    assert "城关代表团" in html and "东乡代表团" in html
    assert [name for name, _people in page.context["delegations"]] == ["东乡代表团", "城关代表团"]
    assert f'name="deputies" value="{a.pk}"' in html and f'name="moderators" value="{m.pk}"' in html
    assert f'value="{liaison.pk}"' not in html  # a liaison is offered in neither list
    chosen = {"deputies": [a.pk, c.pk], "moderators": [m.pk]}
    response = post(staff_client, reverse("manage_hearing_roster", args=[w.hearing.pk]), chosen)
    assert response.status_code == 302 and response.url == url
    assert set(w.hearing.deputies.all()) == {a, c}
    assert set(w.hearing.moderators.all()) == {m}
    html = get(staff_client, url).content.decode()
    assert f'name="deputies" value="{a.pk}" checked' in html
    assert f'name="deputies" value="{b.pk}">' in html


@pytest.mark.parametrize("bad", ["liaison", "moderator as deputy", "unknown", "not a number", "negative"])
def test_a_bad_roster_is_refused_with_its_reason_and_nothing_changed(staff_client: Client, bad: str) -> None:
    w = make_world()
    liaison = person(Person.Role.LIAISON, name="李联络")
    moderator = person(Person.Role.MODERATOR, name="王主持")
    deputies = {
        "liaison": [liaison.pk],
        "moderator as deputy": [moderator.pk],
        "unknown": [10**9],
        "not a number": ["x"],
        "negative": ["-3"],
    }[bad]
    before = state()
    response = post(staff_client, reverse("manage_hearing_roster", args=[w.hearing.pk]), {"deputies": deputies})
    assert response.status_code == 400
    assert 'id="roster-error"' in response.content.decode()
    assert state() == before


# --------------------------------------------------------------------------- everyone else


OUTSIDERS = ["anonymous", "deputy", "liaison", "moderator", "admin-staff flag"]


def outsider(who: str, world: World) -> Any:
    if who == "anonymous":
        return None
    if who == "deputy":
        user = world.deputies[0]
        Person.objects.create(user=user, name="代表", role=Person.Role.DEPUTY)
        return user
    if who == "moderator":
        user = world.moderator  # a moderator of the hearing, not office staff
        Person.objects.create(user=user, name="主持", role=Person.Role.MODERATOR)
        return user
    if who == "liaison":
        return person(Person.Role.LIAISON)
    return make_user(is_staff=True)  # the Django admin's flag is not office staff


@pytest.mark.parametrize("who", OUTSIDERS)
def test_everyone_else_gets_403_on_every_page_and_form_and_nothing_changes(world: World, who: str) -> None:
    client = client_for(outsider(who, world))
    hid = world.hearing.pk
    deputy = person(Person.Role.DEPUTY)
    for url in (
        reverse("manage_hearings"),
        reverse("manage_hearing_new"),
        reverse("manage_hearing", args=[hid]),
        "/manage/",
    ):
        assert get(client, url).status_code == 403, url
    before = state()
    for url, data in (
        (reverse("manage_hearing_new"), FORM),
        (reverse("manage_hearing", args=[hid]), {**FORM, "title": "篡改"}),
        (reverse("manage_hearing_roster", args=[hid]), {"deputies": [deputy.pk]}),
        (reverse("manage_hearing_copy", args=[hid]), {}),
        (reverse("manage_hearing_roster", args=[10**9]), {}),
    ):
        assert post(client, url, data).status_code == 403, url
    assert state() == before
