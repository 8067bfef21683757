"""The public following an assignment by e-mail: double opt-in by the mailed link, a mail for
each later change to confirmed followers only, one-click unsubscribe, limits, and hostile input."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client

from assignments import services
from assignments.models import Assignment, Follower
from core import limits
from core.errors import BadRequest, NotFound, RateLimited
from tests.assignments.helpers import Case, advance, create
from tests.delivery import deliver

pytestmark = pytest.mark.django_db

FAN = "fan@example.com"


@pytest.fixture(autouse=True)
def cache() -> Iterator[LocMemCache]:
    """The limits' counters in a cache of the test's own (never clear() a shared Redis)."""
    own = LocMemCache(f"follow-{uuid.uuid4()}", {})
    with mock.patch("assignments.services.following.cache", own):
        yield own


@pytest.fixture
def assignment(case: Case) -> Assignment:
    a = create(case)
    deliver()
    mail.outbox.clear()  # the liaison's notice of the new assignment
    return a


def follow(client: Client, assignment: Assignment, email: str = FAN, **extra: Any) -> Any:
    return client.post(f"/assignments/{assignment.pk}/follow/", {"email": email}, **extra)


def link(message: Any, kind: str) -> str:
    found = re.search(rf"https?://\S+(/follow/[A-Za-z0-9_-]+/{kind}/)", message.body)
    assert found, message.body
    return found.group(1)


def section(response: Any) -> str:
    found = re.search(r"<main.*</main>", response.content.decode(), re.S)
    assert found
    return found.group(0)


def confirmed_follower(client: Client, assignment: Assignment, email: str = FAN) -> Follower:
    follow(client, assignment, email)
    deliver()
    confirm = link(mail.outbox[-1], "confirm")
    assert client.post(confirm).status_code == 200
    mail.outbox.clear()
    return Follower.objects.get(assignment=assignment, email=email)


def test_the_public_page_offers_the_form(client: Client, assignment: Assignment) -> None:
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert "关注办理进展" in page and f'action="/assignments/{assignment.pk}/follow/"' in page


def test_a_follower_confirms_by_the_link_then_hears_of_each_change(
    client: Client, case: Case, assignment: Assignment
) -> None:
    response = follow(client, assignment, "  Fan@Example.COM ")
    assert response.status_code == 200 and "确认邮件" in response.content.decode()
    deliver()
    assert [m.to for m in mail.outbox] == [[FAN]]
    confirm = link(mail.outbox[0], "confirm")
    assert mail.outbox[0].body.count("http") == 1
    follower = Follower.objects.get(assignment=assignment)
    assert follower.email == FAN and follower.confirmed_at is None

    # GET (a mail scanner prefetching the link) confirms nothing; the page's button does.
    page = client.get(confirm)
    assert page.status_code == 200 and "确认关注" in page.content.decode()
    follower.refresh_from_db()
    assert follower.confirmed_at is None
    assert client.post(confirm).status_code == 200
    follower.refresh_from_db()
    assert follower.confirmed_at is not None
    mail.outbox.clear()

    services.assignment_accept(assignment_id=assignment.pk, by=case.liaison)
    services.assignment_progress(
        assignment_id=assignment.pk, by=case.liaison, note="已现场核查", internal_note="内部：领导批示"
    )
    deliver()
    assert [m.to for m in mail.outbox] == [[FAN], [FAN]]
    accepted, progress = mail.outbox
    assert assignment.title in accepted.subject
    assert "已签收" in accepted.body and "承办单位已签收" in accepted.body
    assert "办理中" in progress.body and "已现场核查" in progress.body
    assert "内部" not in progress.body  # internal notes never reach a follower
    assert f"/assignments/{assignment.pk}/" in progress.body
    unsubscribe = link(progress, "unsubscribe")
    assert progress.extra_headers["List-Unsubscribe"].endswith(f"{unsubscribe}>")
    assert progress.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_an_unconfirmed_follower_gets_nothing_but_the_confirmation(
    client: Client, case: Case, assignment: Assignment
) -> None:
    follow(client, assignment)
    deliver()
    mail.outbox.clear()
    advance(case, assignment, "replied")
    deliver()
    assert [m.to for m in mail.outbox] == []


def test_unsubscribe_stops_the_mail_by_the_button_or_the_one_click_post(
    client: Client, case: Case, assignment: Assignment
) -> None:
    follower = confirmed_follower(client, assignment)
    other = confirmed_follower(client, assignment, "other@example.com")
    services.assignment_accept(assignment_id=assignment.pk, by=case.liaison)
    deliver()
    mine = next(m for m in mail.outbox if m.to == [FAN])
    theirs = next(m for m in mail.outbox if m.to == ["other@example.com"])
    mail.outbox.clear()

    # The page: GET shows a button and changes nothing.
    page = client.get(link(mine, "unsubscribe"))
    assert page.status_code == 200 and "退订" in page.content.decode()
    follower.refresh_from_db()
    assert follower.unsubscribed_at is None
    assert client.post(link(mine, "unsubscribe")).status_code == 200
    # RFC 8058: the mail client's POST, with no CSRF token of ours.
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(link(theirs, "unsubscribe"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert Follower.objects.filter(unsubscribed_at__isnull=False).count() == 2

    services.assignment_progress(assignment_id=assignment.pk, by=case.liaison, note="继续办理")
    deliver()
    assert mail.outbox == []
    assert other.pk  # both unsubscribed


def test_a_bad_or_forged_token_is_404_and_changes_nothing(client: Client, assignment: Assignment) -> None:
    follower = Follower.objects.create(assignment=assignment, email=FAN, token="a" * 43)
    for token in ["b" * 43, "a" * 42 + "b", "short", "a" * 65, "%00" * 20, "../" * 20]:
        for kind in ["confirm", "unsubscribe"]:
            assert client.get(f"/follow/{token}/{kind}/").status_code == 404
            assert client.post(f"/follow/{token}/{kind}/").status_code == 404
    follower.refresh_from_db()
    assert follower.confirmed_at is None and follower.unsubscribed_at is None
    with pytest.raises(NotFound):
        services.follower_confirm(token="")


def test_an_unsubscribed_follower_cannot_be_reconfirmed_by_the_old_link(client: Client, assignment: Assignment) -> None:
    follower = confirmed_follower(client, assignment)
    services.follower_unsubscribe(token=follower.token)
    assert client.post(f"/follow/{follower.token}/confirm/").status_code == 409
    follower.refresh_from_db()
    assert follower.unsubscribed_at is not None


def test_the_answer_never_says_whether_an_address_follows(client: Client, assignment: Assignment) -> None:
    fresh = follow(client, assignment, "new@example.com")
    confirmed_follower(client, assignment)
    again = follow(client, assignment)
    assert again.status_code == fresh.status_code == 200
    assert section(again) == section(fresh)
    deliver()
    # ... and a confirmed follower is not mailed again by a repeated request.
    assert mail.outbox == []
    assert Follower.objects.filter(email="new@example.com", confirmed_at__isnull=True).exists()


def test_an_address_gets_a_few_confirmations_a_day_however_often_asked(client: Client, case: Case) -> None:
    others = [create(case, questions=[q]) for q in case.questions[1:3]]
    targets = [*others]
    for a in targets * 3:
        assert follow(client, a).status_code == 200
    deliver()
    confirmations = [m for m in mail.outbox if m.to == [FAN]]
    assert len(confirmations) == limits.FOLLOW_MAILS_PER_DAY


def test_a_client_address_is_limited_per_hour(client: Client, assignment: Assignment) -> None:
    for n in range(limits.FOLLOW_PER_HOUR):
        assert follow(client, assignment, f"p{n}@example.com").status_code == 200
    refused = follow(client, assignment, "late@example.com")
    assert refused.status_code == 429
    assert not Follower.objects.filter(email="late@example.com").exists()
    # Another client address is not held back.
    assert follow(client, assignment, "late@example.com", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_with_the_cache_away_no_confirmation_is_mailed(
    client: Client, assignment: Assignment, cache: LocMemCache
) -> None:
    with mock.patch.object(cache, "add", side_effect=ConnectionError("redis away")):
        assert follow(client, assignment).status_code == 200
    deliver()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "email",
    [
        "",
        "not-an-address",
        "fan@example.com\r\nBcc: victim@example.com",
        "fan@example.com\nSubject: hi",
        "fan@example.com, victim@example.com",
        "fan@exa mple.com",
        "用户@例子.中国",
        "x" * 250 + "@example.com",
        "a" * 100_000,
        "fan\x00@example.com",
    ],
)
def test_hostile_addresses_are_refused_and_nothing_is_stored_or_sent(
    client: Client, assignment: Assignment, email: str
) -> None:
    response = follow(client, assignment, email)
    assert response.status_code == 400
    assert "有效的电子邮箱" in response.content.decode()
    deliver()
    assert not Follower.objects.exists()
    assert mail.outbox == []
    with pytest.raises(BadRequest):
        services.follow_request(assignment_id=assignment.pk, email=email)


def test_only_an_assignment_that_exists_can_be_followed(client: Client, assignment: Assignment) -> None:
    assert follow(client, Assignment(pk=assignment.pk + 1000)).status_code == 404
    assert client.get(f"/assignments/{assignment.pk}/follow/").status_code == 405
    with pytest.raises(NotFound):
        services.follow_request(assignment_id=assignment.pk + 1000, email=FAN)
    assert not Follower.objects.exists()


def test_a_follow_request_without_the_page_s_csrf_token_is_refused(assignment: Assignment) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert follow(strict, assignment).status_code == 403
    assert not Follower.objects.exists()


def test_a_rate_limited_request_is_refused_before_anything(assignment: Assignment) -> None:
    for n in range(limits.FOLLOW_PER_HOUR):
        services.follow_request(assignment_id=assignment.pk, email=f"q{n}@example.com", address="198.51.100.1")
    with pytest.raises(RateLimited):
        services.follow_request(assignment_id=assignment.pk, email="r@example.com", address="198.51.100.1")


def test_asking_again_before_confirming_sends_a_fresh_link_and_the_old_one_dies(
    client: Client, assignment: Assignment
) -> None:
    follow(client, assignment)
    deliver()
    old = link(mail.outbox[-1], "confirm")
    follow(client, assignment)
    deliver()
    new = link(mail.outbox[-1], "confirm")
    assert old != new
    assert client.post(old).status_code == 404
    assert client.post(new).status_code == 200
    assert Follower.objects.get(assignment=assignment).confirmed_at is not None
