"""Tablet seat logins (console/seat.py): a code logs a tablet in once, as its deputy, for its
hearing only; GET never uses it up; failures are limited per client address; a seat session that
loses its code (revoked, the hearing ended) is logged out on its next request."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from console.seat import failures_key
from hearings import seats, selectors, services
from hearings.models import Hearing, Person, SeatCode
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_failures() -> None:
    cache.delete_many([failures_key(ADDRESS), failures_key("198.51.100.8"), failures_key("127.0.0.1")])


@pytest.fixture
def staff(db: Any) -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务甲", role=Person.Role.STAFF)
    return user


@pytest.fixture
def codes(world: World, staff: Any) -> dict[int, str]:
    """{deputy id: printed code} for every deputy of the world's hearing."""
    return {
        c.deputy_id: selectors.seat_code_text(c)
        for c in services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    }


def tablet(address: str = ADDRESS, **headers: Any) -> Client:
    return Client(REMOTE_ADDR=address, **headers)


def get(client: Client, path: str, **extra: Any) -> Any:
    return client.get(path, secure=True, **extra)


def post(client: Client, path: str, data: dict[str, str] | None = None) -> Any:
    return client.post(path, data or {}, secure=True)


def logged_in(world: World, deputy: Any, code: str) -> Client:
    client = tablet()
    response = post(client, f"/seat/{code}/")
    assert response.status_code == 302 and response["Location"] == f"/hearings/{world.hearing.pk}/tablet/"
    return client


def without_tokens(response: Any) -> str:
    """A page with its CSRF tokens (masked anew for every response) blanked."""
    return re.sub(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", response.content.decode())


def used(code: str) -> bool:
    row = seats.seat_code_find(code)
    assert row is not None
    return row.used_at is not None


# --------------------------------------------------------------------------- logging in


def test_the_typing_page_has_a_form(client: Client) -> None:
    html = get(client, "/seat/").content.decode()
    assert 'name="code"' in html and 'action="/seat/"' in html
    english = get(client, "/seat/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and 'name="code"' in english


def test_the_qr_page_asks_and_does_not_use_the_code(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    Person.objects.create(user=deputy, name="张代表", role=Person.Role.DEPUTY, delegation="城关代表团", seat="A-12")
    client = tablet()
    for _ in range(3):  # a link previewer, a second look: nothing used up
        response = get(client, f"/seat/{codes[deputy.pk]}/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "张代表" in html and world.hearing.title in html and "城关代表团" in html and "A-12" in html
        assert f'action="/seat/{codes[deputy.pk]}/"' in html and 'method="post"' in html
    assert not used(codes[deputy.pk])
    assert SESSION_KEY not in client.session
    assert not AuditEntry.objects.filter(action="seat.redeem").exists()


def test_posting_logs_the_tablet_in_as_the_deputy_for_the_hearing(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    client = logged_in(world, deputy, codes[deputy.pk])
    assert used(codes[deputy.pk])
    session = client.session
    assert session[SESSION_KEY] == str(deputy.pk)
    row = SeatCode.objects.get(hearing=world.hearing, deputy=deputy)
    assert session[seats.SESSION_KEY] == {"hearing": world.hearing.pk, "seat": row.pk}
    page = get(client, f"/hearings/{world.hearing.pk}/tablet/")
    assert page.status_code == 200 and f'data-user="{deputy.pk}"' in page.content.decode()
    # The QR page of the code this tablet used takes it back to its tablet.
    again = get(client, f"/seat/{codes[deputy.pk]}/")
    assert again.status_code == 302 and again["Location"] == f"/hearings/{world.hearing.pk}/tablet/"


def test_a_code_typed_on_the_form_logs_in(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[1]
    client = tablet()
    response = post(client, "/seat/", {"code": " " + codes[deputy.pk].lower().replace("-", " ") + " "})
    assert response.status_code == 302 and response["Location"] == f"/hearings/{world.hearing.pk}/tablet/"
    assert client.session[SESSION_KEY] == str(deputy.pk)


def test_a_code_works_once(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    logged_in(world, deputy, codes[deputy.pk])
    second = tablet("198.51.100.8")
    for response in (post(second, f"/seat/{codes[deputy.pk]}/"), get(second, f"/seat/{codes[deputy.pk]}/")):
        assert response.status_code == 404
        assert "座位码无效或已失效" in response.content.decode()
    assert SESSION_KEY not in second.session


def test_a_previous_login_on_the_tablet_is_ended_first(world: World, codes: dict[int, str]) -> None:
    client = tablet()
    client.force_login(world.moderator)
    old_key = client.session.session_key
    deputy = world.deputies[0]
    post(client, f"/seat/{codes[deputy.pk]}/")
    assert client.session.session_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert client.session[SESSION_KEY] == str(deputy.pk)
    assert get(client, f"/hearings/{world.hearing.pk}/control/").status_code != 200  # no longer the moderator


@pytest.mark.parametrize("guess", ["AAAA-AAAA-AAAA", "not-a-code", "0" * 12])
def test_a_guessed_code_is_refused_with_the_one_answer(world: World, codes: dict[int, str], guess: str) -> None:
    client = tablet()
    for response in (
        get(client, f"/seat/{guess}/"),
        post(client, f"/seat/{guess}/"),
        post(client, "/seat/", {"code": guess}),
    ):
        assert response.status_code == 404
        html = response.content.decode()
        assert "座位码无效或已失效" in html and 'name="code"' in html
    assert SESSION_KEY not in client.session
    assert not SeatCode.objects.filter(used_at__isnull=False).exists()


def test_a_revoked_code_gets_the_same_page_as_a_guess(world: World, staff: Any, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    client = tablet()
    revoked = post(client, f"/seat/{codes[deputy.pk]}/")
    guessed = post(client, "/seat/AAAA-AAAA-AAAA/")
    assert revoked.status_code == guessed.status_code == 404
    # The same page but for the address it was asked at.
    assert without_tokens(revoked).replace(codes[deputy.pk], "") == without_tokens(guessed).replace(
        "AAAA-AAAA-AAAA", ""
    )


def test_a_code_of_an_ended_hearing_says_so(world: World, codes: dict[int, str]) -> None:
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    client = tablet()
    for response in (
        get(client, f"/seat/{codes[world.deputies[0].pk]}/"),
        post(client, f"/seat/{codes[world.deputies[0].pk]}/"),
    ):
        assert response.status_code == 409
        assert "这场问政会已结束" in response.content.decode()
    assert SESSION_KEY not in client.session
    english = get(client, f"/seat/{codes[world.deputies[0].pk]}/", HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 409 and '<html lang="en">' in english.content.decode()


def test_failures_are_limited_per_client_address(world: World, codes: dict[int, str], settings: Any) -> None:
    settings.SEAT_LOGIN_FAILURES_PER_HOUR = 3
    client = tablet()
    assert get(client, "/seat/AAAA-AAAA-AAA1/").status_code == 404  # a GET counts: it would tell a guesser
    assert post(client, "/seat/AAAA-AAAA-AAA2/").status_code == 404
    assert post(client, "/seat/", {"code": "AAAA-AAAA-AAA3"}).status_code == 404
    deputy = world.deputies[0]
    for response in (
        post(client, f"/seat/{codes[deputy.pk]}/"),
        get(client, f"/seat/{codes[deputy.pk]}/"),
        post(client, "/seat/", {"code": codes[deputy.pk]}),
        get(client, "/seat/"),
    ):
        assert response.status_code == 429
        html = response.content.decode()
        assert "输错座位码的次数过多" in html and 'name="code"' not in html
    assert not used(codes[deputy.pk]) and SESSION_KEY not in client.session
    # Another address is not held up by this one.
    other = tablet("198.51.100.8")
    assert post(other, f"/seat/{codes[deputy.pk]}/").status_code == 302


def test_successes_and_ended_hearings_are_not_failures(world: World, codes: dict[int, str], settings: Any) -> None:
    settings.SEAT_LOGIN_FAILURES_PER_HOUR = 1
    for deputy in world.deputies:
        assert post(tablet(), f"/seat/{codes[deputy.pk]}/").status_code == 302
    assert get(tablet(), "/seat/").status_code == 200


# --------------------------------------------------------------------------- its hearing only


@pytest.fixture
def everywhere(world: World) -> tuple[Any, Hearing]:
    """The first deputy is also a deputy and a moderator of another hearing, office staff and a
    superuser: a seat login must reach none of it."""
    deputy = world.deputies[0]
    other = make_world().hearing
    other.deputies.add(deputy)
    other.moderators.add(deputy)
    Person.objects.create(user=deputy, name="张代表", role=Person.Role.STAFF)
    deputy.is_superuser = True
    deputy.is_staff = True
    deputy.save()
    return deputy, other


def test_a_seat_login_reaches_its_hearings_tablet_and_nothing_else(
    world: World, codes: dict[int, str], everywhere: tuple[Any, Hearing]
) -> None:
    deputy, other = everywhere
    client = logged_in(world, deputy, codes[deputy.pk])
    anonymous = Client()
    assert get(client, f"/hearings/{world.hearing.pk}/tablet/").status_code == 200
    for path in (
        f"/hearings/{other.pk}/tablet/",
        f"/hearings/{other.pk}/control/",
        f"/hearings/{world.hearing.pk}/control/",
        "/manage/",
        f"/manage/hearings/{world.hearing.pk}/seats/",
        "/inbox/",
        "/admin/",
        "/api/v1/assignments/",
        "/accounts/password_change/",
    ):
        response, expected = get(client, path), get(anonymous, path)
        assert (response.status_code, response.get("Location")) == (expected.status_code, expected.get("Location")), (
            path
        )
        assert response.status_code != 200 or path.startswith("/api/"), path
    # Staff buttons refuse it too: nothing changes.
    before = list(SeatCode.objects.order_by("pk").values())
    assert post(client, f"/manage/hearings/{world.hearing.pk}/seats/issue/").status_code == 403
    assert list(SeatCode.objects.order_by("pk").values()) == before
    # The session is still the deputy's own tablet login.
    assert get(client, f"/hearings/{world.hearing.pk}/tablet/").status_code == 200
    # The public pages work; logging out works.
    assert get(client, f"/hearings/{world.hearing.pk}/").status_code == 200
    assert get(client, "/").status_code == 200
    assert post(client, "/accounts/logout/").status_code == 302
    assert SESSION_KEY not in client.session


def test_a_password_login_of_the_same_deputy_reaches_the_other_hearing(
    world: World, everywhere: tuple[Any, Hearing]
) -> None:
    """The restriction is the seat session's, not the deputy's."""
    deputy, other = everywhere
    client = Client()
    client.force_login(deputy)
    assert get(client, f"/hearings/{other.pk}/tablet/").status_code == 200


def test_a_revoked_codes_tablet_is_logged_out_on_its_next_request(
    world: World, staff: Any, codes: dict[int, str]
) -> None:
    deputy = world.deputies[0]
    client = logged_in(world, deputy, codes[deputy.pk])
    kept = logged_in(world, world.deputies[1], codes[world.deputies[1].pk])
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    response = get(client, f"/hearings/{world.hearing.pk}/tablet/")
    assert response.status_code == 302 and response["Location"] == "/seat/?ended=1"
    assert SESSION_KEY not in client.session and seats.SESSION_KEY not in client.session
    assert "座位登录已结束" in get(client, response["Location"]).content.decode()
    assert get(client, f"/hearings/{world.hearing.pk}/tablet/").status_code == 302  # to the login now
    # Another deputy's tablet is unaffected.
    assert get(kept, f"/hearings/{world.hearing.pk}/tablet/").status_code == 200


def test_a_tablet_is_logged_out_when_its_hearing_ends(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    client = logged_in(world, deputy, codes[deputy.pk])
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    assert get(client, "/").status_code == 200  # any page: logged out there too
    assert SESSION_KEY not in client.session


def test_a_tablet_is_logged_out_when_its_deputy_leaves_the_hearing(world: World, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    client = logged_in(world, deputy, codes[deputy.pk])
    world.hearing.deputies.remove(deputy)
    assert get(client, f"/hearings/{world.hearing.pk}/tablet/")["Location"] == "/seat/?ended=1"
    assert SESSION_KEY not in client.session


def test_reissue_leaves_the_tablet_but_the_old_card_is_dead(world: World, staff: Any, codes: dict[int, str]) -> None:
    deputy = world.deputies[0]
    services.seat_code_reissue(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    assert post(tablet(), f"/seat/{codes[deputy.pk]}/").status_code == 404


def test_a_seat_session_costs_one_query_and_other_sessions_none(
    world: World, codes: dict[int, str], settings: Any
) -> None:
    deputy = world.deputies[0]
    seat_client = logged_in(world, deputy, codes[deputy.pk])
    password_client = Client()
    password_client.force_login(deputy)
    path = f"/hearings/{world.hearing.pk}/tablet/"

    def queries(client: Client) -> int:
        get(client, path)  # warm
        with CaptureQueriesContext(connection) as captured:
            assert get(client, path).status_code == 200
        return len(captured)

    seat, password = queries(seat_client), queries(password_client)
    assert seat == password + 1
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "console.seat.SeatSessionMiddleware"]
    assert queries(password_client) == password
