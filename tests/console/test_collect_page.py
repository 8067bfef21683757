"""The public collection page (/hearings/<id>/collect/, console/collect.py): the form and its
window, a question sent and the thank-you state (POST → 303 → GET, so a reload sends nothing),
the one-time submission token (a resent form stores one question), CSRF, the page outside the
window (form disabled, the message), a deputy's own path, and the contact never shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hearings.models import Hearing, Question
from live.viewer import COOKIE
from tests.factories import World, make_user
from tests.hearings.collect_helpers import CATEGORIES, fresh_limit_window, open_window

pytestmark = pytest.mark.django_db
__all__ = ["fresh_limit_window"]

CONTACT = "13912345678"


def url(world: World) -> str:
    return reverse("hearing_collect", args=[world.hearing.pk])


@pytest.fixture
def w(world: World) -> World:
    open_window(world.hearing)
    return world


def form_of(response: Any) -> dict[str, str]:
    html = response.content.decode()
    match = re.search(r'name="token" value="([^"]+)"', html)
    assert match, html
    return {"token": match.group(1)}


def phone(world: World, client: Client | None = None) -> tuple[Client, dict[str, str]]:
    """A phone that opened the page: its viewer cookie and the form's token."""
    client = client or Client()
    page = client.get(url(world), secure=True)
    assert page.status_code == 200
    return client, form_of(page)


def send(client: Client, world: World, token: dict[str, str], **fields: str) -> Any:
    data = {"text": "园区企业用电成本高，有什么办法？", "category": "营商环境", "name": "", "contact": "", **fields}
    return client.post(url(world), {**token, **data}, secure=True)


def test_the_page_shows_the_window_categories_and_the_contact_note(w: World) -> None:
    client = Client()
    response = client.get(url(w), secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert COOKIE in response.cookies  # the live page's viewer identity
    assert 'id="collect-window"' in html and "开始" in html and "截止" in html
    for category in CATEGORIES:
        assert f'value="{category}"' in html
    assert 'name="contact"' in html and "不会公开" in html
    assert 'id="collect-form"' in html and '<fieldset class="collect-fields">' in html  # not disabled
    assert "<script>" not in html and " style=" not in html  # CSP: files only
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_phone_sends_a_question_and_lands_on_the_thank_you_state(w: World) -> None:
    client, token = phone(w)
    response = send(client, w, token, name="李女士", contact=" 139 1234 5678 ")
    assert response.status_code == 303 and response["Location"] == url(w) + "?sent=1"
    q = Question.objects.get()
    assert (q.source, q.status, q.category, q.asker_name, q.contact) == (
        "collected",
        "pending",
        "营商环境",
        "李女士",
        CONTACT,
    )
    assert q.viewer and q.viewer == client.cookies[COOKIE].value.split(":")[0]
    thanks = client.get(response["Location"], secure=True)
    html = thanks.content.decode()
    assert 'id="collect-thanks"' in html and CONTACT not in html and "园区企业" not in html
    # Reloading the thank-you page sends nothing.
    client.get(response["Location"], secure=True)
    assert Question.objects.count() == 1


def test_the_same_form_sent_twice_stores_one_question(w: World) -> None:
    client, token = phone(w)
    first = send(client, w, token)
    again = send(client, w, token, text="连点两次")
    assert (first.status_code, again.status_code) == (303, 303)
    assert again["Location"] == first["Location"]
    assert list(Question.objects.values_list("text", flat=True)) == ["园区企业用电成本高，有什么办法？"]
    # A fresh form (the page opened again) sends another.
    _client, token2 = phone(w, client)
    assert send(client, w, token2, text="第二个问题").status_code == 303
    assert Question.objects.count() == 2


def test_a_refused_form_keeps_what_was_typed_and_the_same_token_works_once_corrected(w: World) -> None:
    client, token = phone(w)
    response = send(client, w, token, contact="不是电话", name="王")
    html = response.content.decode()
    assert response.status_code == 400 and 'id="collect-error"' in html
    assert "联系方式须是手机号码或电子邮箱地址" in html
    assert "园区企业用电成本高" in html and 'value="不是电话"' in html and 'value="营商环境" required checked' in html
    assert Question.objects.count() == 0
    assert send(client, w, token, contact=CONTACT).status_code == 303
    assert Question.objects.count() == 1


@pytest.mark.parametrize("token", ["", "garbage", "1:abc:forged"])
def test_a_missing_or_forged_token_is_refused(w: World, token: str) -> None:
    client, _token = phone(w)
    response = send(client, w, {"token": token})
    assert response.status_code == 400 and "页面已过期" in response.content.decode()
    assert Question.objects.count() == 0


def test_another_hearings_token_is_refused(w: World) -> None:
    other = Hearing.objects.exclude(pk=w.hearing.pk).first()
    assert other is not None
    open_window(other)
    client = Client()
    token = form_of(client.get(reverse("hearing_collect", args=[other.pk]), secure=True))
    response = send(client, w, token)
    assert response.status_code == 400 and Question.objects.count() == 0


def test_csrf_is_required(w: World) -> None:
    client = Client(enforce_csrf_checks=True)
    _client, token = phone(w, client)
    response = client.post(url(w), {**token, "text": "没有 CSRF", "category": "教育"}, secure=True)
    assert response.status_code == 403 and Question.objects.count() == 0


def test_without_a_viewer_cookie_nothing_is_taken(w: World) -> None:
    client, token = phone(w)
    del client.cookies[COOKIE]
    response = send(client, w, token)
    assert response.status_code == 403 and "Cookie" in response.content.decode()
    assert Question.objects.count() == 0


@pytest.mark.parametrize(
    ("opens", "closes", "status", "message"),
    [
        (timedelta(hours=1), timedelta(days=1), "draft", "尚未开始"),
        (-timedelta(days=2), -timedelta(hours=1), "draft", "截止"),
        (None, None, "draft", "本场问政会不征集问题"),
        (-timedelta(days=2), timedelta(days=1), "ended", "问政会已结束"),
    ],
)
def test_outside_the_window_the_form_is_disabled_and_a_post_is_refused(
    w: World, opens: timedelta | None, closes: timedelta | None, status: str, message: str
) -> None:
    client, token = phone(w)
    now = timezone.now()
    Hearing.objects.filter(pk=w.hearing.pk).update(
        collect_opens_at=now + opens if opens is not None else None,
        collect_closes_at=now + closes if closes is not None else None,
        status=status,
    )
    page = client.get(url(w), secure=True).content.decode()
    assert 'id="collect-closed"' in page and message in page
    assert '<fieldset class="collect-fields" disabled>' in page
    response = send(client, w, token)
    assert response.status_code == 409 and message in response.content.decode()
    assert Question.objects.count() == 0


def test_a_deputy_of_the_hearing_sends_as_a_deputy(w: World) -> None:
    client = Client()
    client.force_login(w.deputies[0])
    page = client.get(url(w), secure=True)
    html = page.content.decode()
    assert "代表的身份提问" in html and 'name="contact"' not in html
    assert send(client, w, form_of(page), contact=CONTACT).status_code == 303
    q = Question.objects.get()
    assert (q.source, q.asker_id, q.contact) == ("deputy", w.deputies[0].pk, "")


def test_another_signed_in_user_sends_as_the_public(w: World) -> None:
    client = Client()
    client.force_login(make_user())
    _client, token = phone(w, client)
    assert send(client, w, token).status_code == 303
    assert Question.objects.get().source == "collected"


def test_the_page_lists_no_questions(w: World) -> None:
    client, token = phone(w)
    send(client, w, token, text="别人看不到的征集问题")
    Question.objects.update(status="approved")
    html = Client().get(url(w), secure=True).content.decode()
    assert "别人看不到的征集问题" not in html


def test_an_unknown_hearing_is_404() -> None:
    assert Client().get("/hearings/999999/collect/", secure=True).status_code == 404


def test_other_methods_are_refused(w: World) -> None:
    assert Client().put(url(w), secure=True).status_code == 405


def test_the_live_page_and_the_list_link_it_while_the_window_is_open(w: World) -> None:
    live = Client().get(reverse("hearing_live", args=[w.hearing.pk]), secure=True).content.decode()
    listing = Client().get(reverse("hearing_list"), secure=True).content.decode()
    assert url(w) in live and f'id="collect-link-{w.hearing.pk}"' in listing
    Hearing.objects.filter(pk=w.hearing.pk).update(collect_closes_at=timezone.now() - timedelta(minutes=1))
    live = Client().get(reverse("hearing_live", args=[w.hearing.pk]), secure=True).content.decode()
    listing = Client().get(reverse("hearing_list"), secure=True).content.decode()
    assert url(w) not in live and url(w) not in listing


def test_over_the_limit_the_page_says_so(w: World, settings: Any) -> None:
    settings.COLLECT = {**settings.COLLECT, "PER_MINUTE": 1}
    client, token = phone(w)
    assert send(client, w, token).status_code == 303
    _client, token = phone(w, client)
    response = send(client, w, token)
    assert response.status_code == 429 and "太频繁" in response.content.decode()
    assert Question.objects.count() == 1
