"""Seat codes (hearings/services/seats.py, hearings/seats.py): issued by staff, one unused per
deputy, used once, refused after use, revocation, reissue or the hearing's end; never stored,
audited or logged as the code itself."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from audit.models import AuditEntry
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings import seats, selectors, services
from hearings.models import Hearing, Person, SeatCode
from hearings.services.seats import ENDED, NOT_A_DEPUTY, UNUSABLE
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def make_staff(**extra: Any) -> Any:
    user = make_user(**extra)
    Person.objects.create(user=user, name="会务甲", role=Person.Role.STAFF)
    return user


@pytest.fixture
def staff(db: Any) -> Any:
    return make_staff()


def state() -> dict[str, Any]:
    return {
        "codes": list(SeatCode.objects.order_by("pk").values()),
        "hearings": list(Hearing.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
    }


def refused(error: type[DomainError], call: Callable[[], object]) -> DomainError:
    """`call` raises exactly `error` and changes nothing (no code, no audit entry)."""
    before = state()
    with pytest.raises(DomainError) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert state() == before
    return info.value


def issued(world: World, staff: Any) -> dict[int, str]:
    """Issue codes for every deputy: {deputy id: printed code}."""
    return {
        c.deputy_id: selectors.seat_code_text(c)
        for c in services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    }


# --------------------------------------------------------------------------- the code


def test_a_code_is_twelve_crockford_characters_derived_never_stored(world: World, staff: Any, settings: Any) -> None:
    codes = issued(world, staff)
    assert set(codes) == {d.pk for d in world.deputies}
    for deputy_id, code in codes.items():
        assert CODE.match(code), code
        row = SeatCode.objects.get(hearing=world.hearing, deputy_id=deputy_id)
        plain = code.replace("-", "")
        assert row.digest == hashlib.sha256(plain.encode()).hexdigest()
        stored = json.dumps(list(SeatCode.objects.filter(pk=row.pk).values()), default=str)
        assert plain not in stored and code not in stored
        # Printed again: the same code (derived from the nonce with the server's key) ...
        assert selectors.seat_code_text(SeatCode.objects.get(pk=row.pk)) == code
    assert len(set(codes.values())) == len(codes)
    # ... and another server key gives other codes (the cards must be printed again).
    some = SeatCode.objects.filter(hearing=world.hearing).first()
    assert some is not None
    settings.SECRET_KEY = "another-key-" + "x" * 40
    assert selectors.seat_code_text(some) != codes[some.deputy_id]


@pytest.mark.parametrize(
    "typed",
    [
        lambda c: c,
        lambda c: c.lower(),
        lambda c: c.replace("-", ""),
        lambda c: " ".join(c.replace("-", "")),
        lambda c: c.replace("-", " — "),
        lambda c: c.translate(
            str.maketrans(
                "0123456789ABCDEFGHJKMNPQRSTVWXYZ-",
                "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＭＮＰＱＲＳＴＶＷＸＹＺ－",
            )
        ),
        lambda c: c.replace("0", "O").replace("1", "l"),
        lambda c: c.replace("0", "o").replace("1", "I"),
    ],
)
def test_what_people_type_is_normalised_as_crockford_does(typed: Callable[[str], str]) -> None:
    code = "K7Q2-M9XP-40H1"
    assert seats.normalise(typed(code)) == "K7Q2M9XP40H1"


@pytest.mark.parametrize(
    "typed", ["", "K7Q2-M9XP-4HD", "K7Q2-M9XP-4HDAA", "K7Q2-M9XP-4HDU", "K7Q2/M9XP/4HDA", "座位码座位码座位码座位码"]
)
def test_what_cannot_be_a_code_is_none(typed: str) -> None:
    assert seats.normalise(typed) is None


def test_seat_url_is_the_qr_target(world: World, staff: Any) -> None:
    code = next(iter(issued(world, staff).values()))
    assert selectors.seat_url(code) == f"/seat/{code}/"


# --------------------------------------------------------------------------- issue


def test_issue_makes_one_unused_code_per_deputy_lacking_one_and_audits_it(world: World, staff: Any) -> None:
    first = services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    assert sorted(c.deputy_id for c in first) == sorted(d.pk for d in world.deputies)
    assert all(c.created_by_id == staff.pk and c.used_at is None and c.revoked_at is None for c in first)
    entry = AuditEntry.objects.get(action="seat.issue")
    assert entry.actor == staff.get_username() and entry.subject == f"hearings.hearing:{world.hearing.pk}"
    assert entry.payload == {"deputies": [c.deputy_id for c in first], "seats": [c.pk for c in first]}
    # A second run makes none: every deputy has one.
    assert services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff) == []
    assert AuditEntry.objects.filter(action="seat.issue").count() == 1
    # A new deputy lacks one: only theirs is made.
    newcomer = make_user()
    world.hearing.deputies.add(newcomer)
    again = services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    assert [c.deputy_id for c in again] == [newcomer.pk]


def test_issue_for_given_deputies(world: World, staff: Any) -> None:
    made = services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff, deputy_ids=[world.deputies[1].pk])
    assert [c.deputy_id for c in made] == [world.deputies[1].pk]


def test_issue_for_someone_not_a_deputy_of_the_hearing_is_refused(world: World, staff: Any) -> None:
    outsider = make_user()
    error = refused(
        NotFound,
        lambda: services.seat_codes_issue(
            hearing_id=world.hearing.pk, by=staff, deputy_ids=[world.deputies[0].pk, outsider.pk]
        ),
    )
    assert str(error) == "此人不是这场问政会的代表。"
    refused(NotFound, lambda: services.seat_code_reissue(hearing_id=world.hearing.pk, deputy_id=outsider.pk, by=staff))
    refused(NotFound, lambda: services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=outsider.pk, by=staff))


def test_issue_for_an_ended_hearing_is_refused(world: World, staff: Any) -> None:
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    refused(InvalidState, lambda: services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff))
    refused(
        InvalidState,
        lambda: services.seat_code_reissue(hearing_id=world.hearing.pk, deputy_id=world.deputies[0].pk, by=staff),
    )


def test_issue_for_a_missing_hearing_is_not_found(staff: Any) -> None:
    refused(NotFound, lambda: services.seat_codes_issue(hearing_id=999_999, by=staff))


@pytest.mark.parametrize("who", ["moderator", "deputy", "liaison", "admin_staff", "inactive_staff", "anonymous"])
def test_only_office_staff_issue_reissue_and_revoke(world: World, staff: Any, who: str) -> None:
    issued(world, staff)
    if who == "moderator":
        user: Any = world.moderator
    elif who == "deputy":
        user = world.deputies[0]
    elif who == "liaison":
        user = make_user()
        Person.objects.create(user=user, name="联络员", role=Person.Role.LIAISON)
    elif who == "admin_staff":  # the Django admin's is_staff is not office staff
        user = make_user(is_staff=True)
    elif who == "inactive_staff":
        user = make_staff(is_active=False)
    else:
        user = AnonymousUser()
    hid, dep = world.hearing.pk, world.deputies[0].pk
    error = refused(Forbidden, lambda: services.seat_codes_issue(hearing_id=hid, by=user))
    assert str(error) == "只有会务工作人员可以这样做。"
    refused(Forbidden, lambda: services.seat_code_reissue(hearing_id=hid, deputy_id=dep, by=user))
    refused(Forbidden, lambda: services.seat_code_revoke(hearing_id=hid, deputy_id=dep, by=user))
    refused(Forbidden, lambda: services.seat_codes_revoke_unused(hearing_id=hid, by=user))


def test_a_superuser_may_issue(world: World) -> None:
    boss = make_user(is_superuser=True)
    assert len(services.seat_codes_issue(hearing_id=world.hearing.pk, by=boss)) == len(world.deputies)


# --------------------------------------------------------------------------- redeem


def test_a_code_logs_in_once_and_is_audited_without_the_code(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    seat = services.seat_code_redeem(code=codes[deputy.pk])
    assert seat.deputy == deputy and seat.hearing == world.hearing
    assert SeatCode.objects.get(pk=seat.pk).used_at is not None
    entry = AuditEntry.objects.get(action="seat.redeem")
    assert entry.actor == deputy.get_username()
    assert entry.payload == {"deputy": deputy.pk, "seat": seat.pk}
    # No audit entry holds a code, its nonce or its digest.
    everything = json.dumps(list(AuditEntry.objects.values("payload", "subject", "actor")), ensure_ascii=False)
    for row in SeatCode.objects.all():
        for secret in (
            selectors.seat_code_text(row),
            selectors.seat_code_text(row).replace("-", ""),
            row.nonce,
            row.digest,
        ):
            assert secret not in everything
    # Used: refused with the one answer for unknown, used and revoked codes.
    error = refused(NotFound, lambda: services.seat_code_redeem(code=codes[deputy.pk]))
    assert error.message == str(UNUSABLE)


def test_a_code_typed_loosely_still_logs_in(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[1]
    typed = codes[deputy.pk].lower().replace("-", " ")
    assert services.seat_code_redeem(code=typed).deputy == deputy


@pytest.mark.parametrize("guess", ["AAAA-AAAA-AAAA", "0000-0000-0000", "nonsense", "", "x" * 500])
def test_a_guessed_code_gets_the_one_answer(world: World, staff: Any, guess: str) -> None:
    issued(world, staff)
    error = refused(NotFound, lambda: services.seat_code_redeem(code=guess))
    assert error.message == str(UNUSABLE)


def test_a_revoked_code_gets_the_same_answer(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    assert services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff) == 1
    error = refused(NotFound, lambda: services.seat_code_redeem(code=codes[deputy.pk]))
    assert error.message == str(UNUSABLE)


def test_a_code_stops_working_when_the_hearing_ends(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    error = refused(InvalidState, lambda: services.seat_code_redeem(code=codes[world.deputies[0].pk]))
    assert error.message == str(ENDED)


def test_a_code_stops_working_when_its_person_is_no_longer_a_deputy_of_the_hearing(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[2]
    world.hearing.deputies.remove(deputy)
    error = refused(Forbidden, lambda: services.seat_code_redeem(code=codes[deputy.pk]))
    assert error.message == str(NOT_A_DEPUTY)


def test_a_code_of_a_disabled_account_gets_the_one_answer(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    deputy.is_active = False
    deputy.save()
    assert refused(NotFound, lambda: services.seat_code_redeem(code=codes[deputy.pk])).message == str(UNUSABLE)


# --------------------------------------------------------------------------- reissue and revoke


def test_reissue_invalidates_the_old_code_and_makes_a_new_one(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    new = services.seat_code_reissue(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    new_code = selectors.seat_code_text(new)
    assert new_code != codes[deputy.pk]
    old = SeatCode.objects.get(hearing=world.hearing, deputy=deputy, revoked_at__isnull=False)
    entry = AuditEntry.objects.get(action="seat.reissue")
    assert entry.payload == {"deputy": deputy.pk, "seat": new.pk, "revoked": [old.pk]}
    assert refused(NotFound, lambda: services.seat_code_redeem(code=codes[deputy.pk])).message == str(UNUSABLE)
    assert services.seat_code_redeem(code=new_code).pk == new.pk


def test_reissue_leaves_a_tablet_logged_in_alone(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    used = services.seat_code_redeem(code=codes[deputy.pk])
    services.seat_code_reissue(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff)
    assert SeatCode.objects.get(pk=used.pk).revoked_at is None
    assert SeatCode.objects.filter(hearing=world.hearing, deputy=deputy, used_at__isnull=True).count() == 1


def test_revoke_a_deputy_revokes_their_unused_and_used_codes(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    deputy = world.deputies[0]
    used = services.seat_code_redeem(code=codes[deputy.pk])
    services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff, deputy_ids=[deputy.pk])
    assert services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff) == 2
    assert not SeatCode.objects.filter(hearing=world.hearing, deputy=deputy, revoked_at__isnull=True).exists()
    entry = AuditEntry.objects.get(action="seat.revoke")
    assert entry.payload["deputy"] == deputy.pk and used.pk in entry.payload["seats"]
    # Nothing left to revoke: nothing changes, nothing audited.
    assert services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=deputy.pk, by=staff) == 0
    assert AuditEntry.objects.filter(action="seat.revoke").count() == 1
    # Other deputies' codes stand.
    assert SeatCode.objects.filter(hearing=world.hearing, revoked_at__isnull=True).count() == len(world.deputies) - 1


def test_revoke_one_code_by_its_id(world: World, staff: Any) -> None:
    issued(world, staff)
    row = SeatCode.objects.filter(hearing=world.hearing).first()
    assert row is not None
    assert services.seat_code_revoke(hearing_id=world.hearing.pk, seat_id=row.pk, by=staff) == 1
    assert SeatCode.objects.get(pk=row.pk).revoked_at is not None
    assert SeatCode.objects.filter(revoked_at__isnull=True).count() == len(world.deputies) - 1


def test_revoke_a_code_of_another_hearing_is_not_found(world: World, staff: Any) -> None:
    issued(world, staff)
    other = make_world()
    row = SeatCode.objects.filter(hearing=world.hearing).first()
    assert row is not None
    refused(NotFound, lambda: services.seat_code_revoke(hearing_id=other.hearing.pk, seat_id=row.pk, by=staff))


@pytest.mark.parametrize("which", [{}, {"deputy_id": 1, "seat_id": 1}])
def test_revoke_names_one_deputy_or_one_code(world: World, staff: Any, which: dict[str, int]) -> None:
    issued(world, staff)
    refused(BadRequest, lambda: services.seat_code_revoke(hearing_id=world.hearing.pk, by=staff, **which))


def test_revoke_all_unused_leaves_tablets_logged_in(world: World, staff: Any) -> None:
    codes = issued(world, staff)
    used = services.seat_code_redeem(code=codes[world.deputies[0].pk])
    assert services.seat_codes_revoke_unused(hearing_id=world.hearing.pk, by=staff) == len(world.deputies) - 1
    assert SeatCode.objects.get(pk=used.pk).revoked_at is None
    assert not SeatCode.objects.filter(used_at__isnull=True, revoked_at__isnull=True).exists()
    assert AuditEntry.objects.get(action="seat.revoke_unused").payload["seats"] == sorted(
        SeatCode.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    )
    for code in [codes[deputy.pk] for deputy in world.deputies[1:]]:
        refused(NotFound, functools.partial(services.seat_code_redeem, code=code))


# --------------------------------------------------------------------------- two tablets, one code


@pytest.mark.django_db(transaction=True)
def test_two_tablets_racing_with_one_code_exactly_one_wins() -> None:
    """Run on PostgreSQL too (DATABASE_URL): the row is locked, the second redeem sees it used."""
    world = make_world(deputies=1)
    staff = make_staff()
    deputy = world.deputies[0]
    for round_ in range(1, 6):
        code = selectors.seat_code_text(
            services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff, deputy_ids=[deputy.pk])[0]
        )
        barrier = threading.Barrier(2)
        results: list[object] = []

        def tablet(code: str = code, barrier: threading.Barrier = barrier, results: list[object] = results) -> None:
            try:
                barrier.wait()
                results.append(services.seat_code_redeem(code=code))
            except DomainError as error:
                results.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=tablet) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        wins = [r for r in results if isinstance(r, SeatCode)]
        losses = [r for r in results if isinstance(r, NotFound)]
        assert len(wins) == 1 and len(losses) == 1, results
        assert AuditEntry.objects.filter(action="seat.redeem").count() == round_
        assert SeatCode.objects.filter(deputy=deputy, used_at__isnull=False).count() == round_
