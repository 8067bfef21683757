"""A collected question's contact (phone or e-mail) is for the congress office only: it is on no
public page, payload, export or API, nor in any socket frame or snapshot (control included: the
panel's cards carry none), whatever becomes of its question (approved, answered, assigned,
its hearing ended). The Django admin shows it to a superuser. Every surface reachable is searched
for the contact strings, as stored and as typed."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from assignments import services as assignment_services
from chamber import services as chamber_services
from hearings import services
from hearings.models import Hearing, Question
from live.models import LiveEvent
from live.schema import Stream
from realtime import snapshot
from tests.factories import World, make_user
from tests.hearings.collect_helpers import fresh_limit_window, open_window, viewer

pytestmark = pytest.mark.django_db
__all__ = ["fresh_limit_window"]

PHONE = "13712340987"
PHONE_TYPED = "137-1234-0987"
EMAIL = "zhang.contact@example.cn"
NEEDLES = [PHONE, PHONE_TYPED, "1234-0987", EMAIL, "zhang.contact"]


def texts(body: bytes) -> str:
    """A response as text: an XLSX's (or any zip's) XML parts unpacked, else its bytes decoded."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return body.decode("utf-8", "replace")


def assert_clean(where: str, text: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"{needle!r} in {where}"


@pytest.fixture
def w(world: World) -> World:
    open_window(world.hearing)
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.LIVE, started_at=timezone.now())
    h = world.hearing.pk
    answered = services.question_collect(
        hearing_id=h,
        text="开办企业能否一次办好？",
        category="营商环境",
        name="张先生",
        contact=PHONE_TYPED,
        viewer=viewer(),
    )
    approved = services.question_collect(
        hearing_id=h, text="学校周边交通拥堵", category="教育", name="", contact=EMAIL, viewer=viewer()
    )
    services.question_collect(hearing_id=h, text="还在审核的问题", category="教育", contact=PHONE, viewer=viewer())
    for q in (answered, approved):
        services.question_approve(hearing_id=h, question_id=q.pk, by=None)
    services.question_stage(hearing_id=h, question_id=answered.pk, by=None)
    services.question_answered(hearing_id=h, question_id=answered.pk, by=None)
    chamber_services.hearing_end(hearing_id=h, by=None)
    world.assignment = assignment_services.assignment_create(  # type: ignore[attr-defined]
        hearing_id=h,
        question_ids=[answered.pk],
        lead_department_id=world.departments[0].pk,
        working_days=10,
        by=None,
    )
    assert set(Question.objects.values_list("contact", flat=True)) == {PHONE, EMAIL}
    return world


def public_urls(w: World) -> list[str]:
    h, a = w.hearing.pk, w.assignment.pk  # type: ignore[attr-defined]
    return [
        "/",
        f"/hearings/{h}/",
        f"/hearings/{h}/collect/",
        f"/hearings/{h}/collect/?sent=1",
        f"/hearings/{h}/screen/",
        f"/hearings/{h}/report/",
        f"/hearings/{h}/report.xlsx",
        f"/hearings/{h}/report.pdf",
        f"/hearings/{h}/questions.csv",
        "/scorecards/",
        "/assignments/",
        f"/assignments/{a}/",
        "/assignments/export.csv",
        "/assignments/export.xlsx",
        "/api/v1/assignments/",
        f"/api/v1/assignments/{a}/",
        f"/api/v1/assignments/?hearing={h}",
    ]


def test_no_public_page_export_or_api_shows_a_contact(w: World) -> None:
    client = Client()
    shown = 0
    for url in public_urls(w):
        response = client.get(url, secure=True)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        text = texts(body)
        assert_clean(url, text)
        shown += "开办企业能否一次办好" in text
    assert shown >= 5  # the question itself is on these surfaces: its contact is not


def test_the_deputy_and_moderator_pages_show_no_contact_either(w: World) -> None:
    deputy, moderator = Client(), Client()
    deputy.force_login(w.deputies[0])
    moderator.force_login(w.moderator)
    h = w.hearing.pk
    for client, url in [
        (deputy, f"/hearings/{h}/tablet/"),
        (moderator, f"/hearings/{h}/control/"),
        (moderator, f"/hearings/{h}/control/part/queue/"),
        (moderator, f"/hearings/{h}/control/part/answered/"),
    ]:
        response = client.get(url, secure=True)
        assert response.status_code in (200, 404), url
        assert_clean(url, response.content.decode())


def test_no_snapshot_and_no_stored_frame_carries_a_contact(w: World) -> None:
    for stream in (Stream.PUBLIC, Stream.CONTROL):
        _seq, snap = snapshot.build(w.hearing.pk, stream)
        assert_clean(f"{stream} snapshot", snap.model_dump_json())
    frames = list(LiveEvent.objects.filter(hearing_id=w.hearing.pk).values_list("frame", flat=True))
    assert frames
    for frame in frames:
        assert_clean("a stored frame", frame)


def test_the_admin_shows_the_contact_to_a_superuser_only(w: World) -> None:
    q = Question.objects.filter(contact=PHONE).first()
    assert q is not None
    admin = Client()
    admin.force_login(make_user(is_staff=True, is_superuser=True))
    assert PHONE in admin.get(f"/admin/hearings/question/{q.pk}/change/", secure=True).content.decode()
    anon = Client().get(f"/admin/hearings/question/{q.pk}/change/", secure=True)
    assert anon.status_code == 302 and PHONE not in anon.content.decode()


def test_purged_contacts_are_gone_from_the_admin_too(w: World, settings: Any) -> None:
    settings.QUESTION_CONTACT_DAYS = 0
    assert services.contacts_purge() == 3
    assert set(Question.objects.values_list("contact", flat=True)) == {""}
