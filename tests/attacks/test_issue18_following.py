"""Issue 18 attacks on following an assignment by e-mail (docs/notifications.md) and on the
notice settings page: the links a mail carries cannot be aimed elsewhere by a request's Host,
a follower never reads an internal note or the department's rating (双向评议), one assignment's
followers never hear of another, and nobody changes another person's settings."""

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

from assignments import notify, services
from assignments.models import Assignment, Follower, Preference
from tests.assignments.helpers import Case, create, make_case
from tests.delivery import deliver

pytestmark = pytest.mark.django_db

FAN = "fan@example.com"
RATING_COMMENT = "评议意见-仅内部可见-QX7"
INTERNAL = "内部批示-不得外传-ZK3"


@pytest.fixture(autouse=True)
def _setup(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    own = LocMemCache(f"follow-attack-{uuid.uuid4()}", {})
    with mock.patch("assignments.services.following.cache", own):
        yield


@pytest.fixture
def case(db: Any) -> Case:
    return make_case()


@pytest.fixture
def assignment(case: Case) -> Assignment:
    a = create(case)
    deliver()
    mail.outbox.clear()
    return a


def follow(client: Client, assignment: Assignment, email: str = FAN, **extra: Any) -> Any:
    return client.post(f"/assignments/{assignment.pk}/follow/", {"email": email}, **extra)


def confirm_link(message: Any) -> str:
    found = re.search(r"(https?://[^/\s]+)(/follow/[A-Za-z0-9_-]+/confirm/)", message.body)
    assert found, message.body
    return found.group(0)


def confirmed(client: Client, assignment: Assignment, email: str = FAN) -> Follower:
    follow(client, assignment, email)
    deliver()
    url = confirm_link(mail.outbox[-1])
    assert client.post(url[url.index("/follow/") :]).status_code == 200
    mail.outbox.clear()
    return Follower.objects.get(assignment=assignment, email=email)


def test_a_forged_host_header_does_not_aim_the_confirmation_link_elsewhere(
    settings: Any, assignment: Assignment
) -> None:
    """Host-header poisoning: the confirmation link, mailed from the county's server to anyone's
    address, must not point at a host the requester chose (and leak the token there)."""
    settings.SITE_URL = ""
    settings.ALLOWED_HOSTS = ["wz.example.cn", ".example.cn", "*"]
    response = Client().post(f"/assignments/{assignment.pk}/follow/", {"email": FAN}, HTTP_HOST="phish.example.cn")
    assert response.status_code == 200
    deliver()
    (message,) = mail.outbox
    assert "phish" not in message.body
    assert re.match(r"https?://wz\.example\.cn/follow/", confirm_link(message))


def test_a_follower_never_reads_an_internal_note_nor_the_departments_rating(
    client: Client, case: Case, assignment: Assignment
) -> None:
    confirmed(client, assignment)
    pk = assignment.pk
    services.assignment_accept(assignment_id=pk, by=case.liaison)
    services.assignment_progress(assignment_id=pk, by=case.liaison, note="已现场核查", internal_note=INTERNAL)
    services.assignment_reply(
        assignment_id=pk,
        by=case.liaison,
        text="已完成整改",
        internal_note=INTERNAL,
        science=2,
        feasibility=1,
        comment=RATING_COMMENT,
    )
    services.assignment_evaluate(assignment_id=pk, by=case.deputy, verdict="满意")
    services.assignment_close(assignment_id=pk, by=case.moderator)
    services.assignment_review(assignment_id=pk, by=case.moderator, outcome="relapsed", note="路灯又坏了")
    deliver()
    bodies = [f"{m.subject}\n{m.body}" for m in mail.outbox if m.to == [FAN]]
    assert len(bodies) == 6  # accept, progress, reply, evaluate, close, review (with its reopening)
    for body in bodies:
        assert INTERNAL not in body and RATING_COMMENT not in body
        assert "科学性" not in body and "可行性" not in body
    assert "路灯又坏了" in bodies[-1] or "重新办理" in bodies[-1]


def test_a_follower_hears_of_their_assignment_only(client: Client, case: Case, assignment: Assignment) -> None:
    other = create(case, questions=case.questions[1:2])
    deliver()
    mail.outbox.clear()
    confirmed(client, assignment)
    services.assignment_accept(assignment_id=other.pk, by=case.liaison)
    deliver()
    assert [m.to for m in mail.outbox if m.to == [FAN]] == []


def test_a_token_of_one_assignment_cannot_act_under_another_path(client: Client, assignment: Assignment) -> None:
    follower = confirmed(client, assignment)
    assert client.post(f"/follow/{follower.token}x/unsubscribe/").status_code == 404
    assert client.post("/follow//unsubscribe/").status_code == 404
    assert client.post("/follow/unsubscribe/").status_code == 404
    follower.refresh_from_db()
    assert follower.unsubscribed_at is None


def test_confirming_needs_the_csrf_token_but_not_the_one_click_unsubscribe(assignment: Assignment) -> None:
    Follower.objects.create(assignment=assignment, email=FAN, token="t" * 43)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/follow/{'t' * 43}/confirm/").status_code == 403
    assert Follower.objects.get().confirmed_at is None
    assert strict.get(f"/follow/{'t' * 43}/confirm/").status_code == 200
    assert Follower.objects.get().confirmed_at is None  # GET never confirms


def test_many_assignments_and_addresses_cannot_flood_one_mailbox(client: Client, case: Case) -> None:
    targets = [create(case, questions=[q]) for q in case.questions]
    deliver()
    mail.outbox.clear()
    for n, target in enumerate(targets * 3):
        services.follow_request(assignment_id=target.pk, email="Victim@Example.com", address=f"203.0.113.{n}")
    deliver()
    from core import limits

    assert len([m for m in mail.outbox if m.to == ["victim@example.com"]]) == limits.FOLLOW_MAILS_PER_DAY


# ------------------------------------------------------------------ the notice settings page


def test_nobody_changes_another_persons_settings(case: Case) -> None:
    client = Client()
    client.force_login(case.deputy)
    form = {"user": str(case.liaison.pk), "user_id": str(case.liaison.pk), "assigned.in_app": "on"}
    assert client.post("/inbox/notices/settings/", form).status_code == 302
    assert not Preference.objects.filter(user=case.liaison).exists()
    assert Preference.objects.filter(user=case.deputy).count() == len(notify.KINDS)


def test_the_settings_page_wants_the_csrf_token(case: Case) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(case.liaison)
    assert strict.post("/inbox/notices/settings/", {"assigned.in_app": "on"}).status_code == 403
    assert not Preference.objects.exists()
    assert strict.put("/inbox/notices/settings/").status_code in (403, 405)
