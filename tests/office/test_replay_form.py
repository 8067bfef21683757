"""The office sets a hearing's replay (/manage/hearings/<id>/replay/): the recording's URL and
the second its position 0 shows, on an ended hearing too; a bad post is shown again with its
error and nothing changes; anyone else gets 403. The admin edits the same two fields."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from hearings.models import Hearing, Person
from tests.factories import make_user, make_world
from tests.office.test_hearing_pages import client_for, person

pytestmark = pytest.mark.django_db

VOD = "https://vod.example.cn/hearing/1/index.m3u8"


@pytest.fixture
def ended() -> Hearing:
    start = timezone.now() - timedelta(hours=3)
    return make_world(status=Hearing.Status.ENDED, started_at=start, ended_at=start + timedelta(hours=2)).hearing


def replay_url(hearing: Hearing) -> str:
    return reverse("manage_hearing_replay", args=[hearing.pk])


def stored(hearing: Hearing) -> Any:
    hearing.refresh_from_db()
    return hearing.vod_url, hearing.vod_started_at, AuditEntry.objects.count()


def test_staff_set_the_replay_of_an_ended_hearing_to_the_second(ended: Hearing) -> None:
    client = client_for(person(Person.Role.STAFF))
    page = client.get(reverse("manage_hearing", args=[ended.pk]), secure=True).content.decode()
    assert 'id="replay-form"' in page and 'name="vod_url"' in page
    assert 'name="vod_started_at"' in page and 'step="1"' in page  # seconds, not just minutes
    assert ended.started_at is not None
    at = timezone.localtime(ended.started_at + timedelta(seconds=37)).replace(microsecond=0)
    response = client.post(
        replay_url(ended), {"vod_url": VOD, "vod_started_at": at.strftime("%Y-%m-%dT%H:%M:%S")}, secure=True
    )
    assert response.status_code == 302 and response["Location"] == reverse("manage_hearing", args=[ended.pk])
    vod_url, vod_started_at, _ = stored(ended)
    assert (vod_url, vod_started_at) == (VOD, at)
    page = client.get(reverse("manage_hearing", args=[ended.pk]), secure=True).content.decode()
    assert f'value="{VOD}"' in page and 'id="replay-link"' in page
    assert AuditEntry.objects.filter(action="hearing.replay").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"vod_url": "ftp://vod.example.cn/1.mp4"},
        {"vod_url": "javascript:alert(1)"},
        {"vod_url": "https://vod.example.cn/" + "a" * 200},
        {"vod_url": VOD, "vod_started_at": "yesterday"},
        {"vod_url": VOD, "vod_started_at": "2099-01-01T09:00:00"},  # after the hearing ended
    ],
)
def test_a_bad_replay_is_shown_again_with_its_error_and_nothing_changes(ended: Hearing, data: dict[str, str]) -> None:
    client = client_for(person(Person.Role.STAFF))
    before = stored(ended)
    response = client.post(replay_url(ended), data, secure=True)
    assert response.status_code == 400
    assert response.context["replay_form"].errors
    assert 'class="office-error"' in response.content.decode() or 'class="error"' in response.content.decode()
    assert stored(ended) == before


@pytest.mark.parametrize("who", ["anonymous", "deputy", "moderator", "public"])
def test_no_one_else_sets_a_replay(ended: Hearing, who: str) -> None:
    user = {
        "anonymous": None,
        "deputy": person(Person.Role.DEPUTY),
        "moderator": person(Person.Role.MODERATOR),
        "public": make_user(),
    }[who]
    client = client_for(user)
    before = stored(ended)
    response = client.post(replay_url(ended), {"vod_url": VOD}, secure=True)
    assert response.status_code in (302, 403)  # anonymous: to the login page
    if user is not None:
        assert response.status_code == 403
    assert stored(ended) == before
    assert client.get(replay_url(ended), secure=True).status_code in (302, 403, 405)


def test_the_admin_edits_the_replay_fields(admin_client: Client, ended: Hearing) -> None:
    html = admin_client.get(f"/admin/hearings/hearing/{ended.pk}/change/", secure=True).content.decode()
    assert 'name="vod_url"' in html and 'name="vod_started_at_0"' in html
