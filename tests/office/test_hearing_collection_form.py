"""The hearing form's collection fields (/manage/hearings/…): question categories, one a line,
and the collection window (site time zone). The services check them again (hearing_create,
hearing_update, hearing_copy); a refusal shows on the form and changes nothing; a change is
audited as every hearing update is; a copy keeps the categories, not the window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from core import limits
from core.errors import BadRequest
from hearings import services
from hearings.models import Hearing, Person
from tests.factories import World, make_user

pytestmark = pytest.mark.django_db

TZ = timezone.get_current_timezone()
FORM = {
    "title": "优化营商环境专题询问",
    "kind": "wenzheng",
    "theme": "助企纾困",
    "venue": "第一会议室",
    "starts_at": "2026-12-08T09:00",
    "ends_at": "2026-12-08T12:00",
    "stream_url": "",
    "quorum_percent": "50",
    "categories": "营商环境\r\n 教育 \r\n\r\n医疗卫生\r\n",
    "collect_opens_at": "2026-11-20T08:00",
    "collect_closes_at": "2026-12-05T18:00",
}


def staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


@pytest.fixture
def client() -> Client:
    c = Client()
    c.force_login(staff())
    return c


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, data, secure=True)


def snapshot() -> Any:
    return list(Hearing.objects.order_by("pk").values()), AuditEntry.objects.count()


def test_staff_create_a_hearing_with_categories_and_a_window(client: Client) -> None:
    response = post(client, reverse("manage_hearing_new"), FORM)
    hearing = Hearing.objects.get()
    assert response.status_code == 302
    assert hearing.categories == ["营商环境", "教育", "医疗卫生"]
    assert hearing.collect_opens_at == datetime(2026, 11, 20, 8, 0, tzinfo=TZ)  # the site's time zone
    assert hearing.collect_closes_at == datetime(2026, 12, 5, 18, 0, tzinfo=TZ)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "hearing.create"
    assert entry.payload["categories"] == ["营商环境", "教育", "医疗卫生"]


def test_the_form_shows_the_stored_values_and_the_overview_the_window(client: Client, world: World) -> None:
    services.hearing_update(hearing_id=world.hearing.pk, by=None, **_fields(world.hearing, categories=["教育", "养老"]))
    Hearing.objects.filter(pk=world.hearing.pk).update(
        collect_opens_at=datetime(2026, 11, 20, 8, 0, tzinfo=TZ),
        collect_closes_at=datetime(2026, 12, 5, 18, 0, tzinfo=TZ),
    )
    html = client.get(reverse("manage_hearing", args=[world.hearing.pk]), secure=True).content.decode()
    assert 'name="categories"' in html and "教育\n养老</textarea>" in html
    assert 'name="collect_opens_at" value="2026-11-20T08:00"' in html
    assert 'name="collect_closes_at" value="2026-12-05T18:00"' in html
    assert 'id="collect-window"' in html and reverse("hearing_collect", args=[world.hearing.pk]) in html


def test_staff_edit_the_categories_and_window_and_it_is_audited(client: Client, world: World) -> None:
    response = post(client, reverse("manage_hearing", args=[world.hearing.pk]), FORM)
    assert response.status_code == 302
    world.hearing.refresh_from_db()
    assert world.hearing.categories == ["营商环境", "教育", "医疗卫生"]
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "hearing.update"
    assert set(entry.payload["changed"]) >= {"categories", "collect_opens_at", "collect_closes_at"}


def test_saving_the_form_unchanged_keeps_the_window_to_the_second(client: Client, world: World) -> None:
    opens = datetime(2026, 11, 20, 8, 0, 42, 123456, tzinfo=TZ)
    Hearing.objects.filter(pk=world.hearing.pk).update(
        collect_opens_at=opens, collect_closes_at=opens + timedelta(days=3), categories=["教育"]
    )
    world.hearing.refresh_from_db()
    data = {
        **FORM,
        "title": world.hearing.title,
        "starts_at": timezone.localtime(world.hearing.starts_at).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": "",
        "categories": "教育",
        "collect_opens_at": "2026-11-20T08:00",
        "collect_closes_at": "2026-11-23T08:00",
    }
    post(client, reverse("manage_hearing", args=[world.hearing.pk]), data)
    world.hearing.refresh_from_db()
    assert world.hearing.collect_opens_at == opens and world.hearing.collect_closes_at == opens + timedelta(days=3)


BAD = {
    "closes before it opens": {"collect_closes_at": "2026-11-19T08:00"},
    "closes as it opens": {"collect_closes_at": "2026-11-20T08:00"},
    "only an opening": {"collect_closes_at": ""},
    "only a closing": {"collect_opens_at": ""},
    "repeated category": {"categories": "教育\n医疗卫生\n 教育"},
    "too long a category": {"categories": "教" * (limits.QUESTION_CATEGORY + 1)},
    "too many categories": {"categories": "\n".join(f"类别{n}" for n in range(limits.HEARING_CATEGORIES + 1))},
    "a control character": {"categories": "教\x07育"},
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_collection_setting_is_refused_on_the_form_and_nothing_changes(
    client: Client, world: World, case: str
) -> None:
    before = snapshot()
    response = post(client, reverse("manage_hearing", args=[world.hearing.pk]), {**FORM, **BAD[case]})
    assert response.status_code == 400
    assert 'class="office-error"' in response.content.decode() or "has-error" in response.content.decode()
    assert snapshot() == before
    response = post(client, reverse("manage_hearing_new"), {**FORM, **BAD[case]})
    assert response.status_code == 400
    assert snapshot() == before


def test_exactly_the_limits_are_taken(client: Client) -> None:
    many = [f"类别{n}" for n in range(limits.HEARING_CATEGORIES - 1)] + ["教" * limits.QUESTION_CATEGORY]
    response = post(client, reverse("manage_hearing_new"), {**FORM, "categories": "\n".join(many)})
    assert response.status_code == 302
    assert Hearing.objects.get().categories == many


def _fields(hearing: Hearing, **changes: Any) -> dict[str, Any]:
    hearing.refresh_from_db()
    names = ("title", "kind", "theme", "venue", "starts_at", "ends_at", "stream_url", "quorum_percent")
    base = {name: getattr(hearing, name) for name in names}
    return {**base, "deputy_questions_need_approval": hearing.deputy_questions_need_approval, **changes}


def test_the_service_refuses_what_the_form_would(world: World) -> None:
    opens = timezone.now()
    for bad in (
        {"categories": "教育"},  # a string, not a list
        {"categories": ["教育", 3]},
        {"categories": ["", "教育"]},
        {"collect_opens_at": opens, "collect_closes_at": opens},
        {"collect_opens_at": "2026-11-20", "collect_closes_at": "2026-11-21"},
    ):
        with pytest.raises(BadRequest):
            services.hearing_update(hearing_id=world.hearing.pk, by=None, **_fields(world.hearing, **bad))


def test_an_update_that_leaves_them_out_keeps_them(world: World) -> None:
    opens = timezone.now()
    services.hearing_update(
        hearing_id=world.hearing.pk,
        by=None,
        **_fields(world.hearing, categories=["教育"], collect_opens_at=opens, collect_closes_at=opens + timedelta(1)),
    )
    services.hearing_update(hearing_id=world.hearing.pk, by=None, **_fields(world.hearing, title="改名"))
    world.hearing.refresh_from_db()
    assert (world.hearing.title, world.hearing.categories) == ("改名", ["教育"])
    assert world.hearing.collect_opens_at == opens


def test_a_copy_keeps_the_categories_but_not_the_window(world: World) -> None:
    opens = timezone.now()
    Hearing.objects.filter(pk=world.hearing.pk).update(
        categories=["教育", "养老"], collect_opens_at=opens, collect_closes_at=opens + timedelta(days=1)
    )
    copy = services.hearing_copy(hearing_id=world.hearing.pk, by=None)
    assert copy.categories == ["教育", "养老"]
    assert (copy.collect_opens_at, copy.collect_closes_at) == (None, None)
