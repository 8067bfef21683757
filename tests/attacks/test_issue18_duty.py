"""Issue 18 attacks on the deputy duty record (docs/reports.md "Deputy duty record"): outsiders
and other deputies never read the full record; with the record private a refusal never tells a
deputy's id from any other; odd ids and years are a clear answer, never a 500; the public
version carries no secret-poll participation; the points rules page wants staff and CSRF."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from reports import duty
from reports.models import DutyRule
from tests.reports.duty_seed import YEAR, Seed, seed_year

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def seed() -> Seed:
    return seed_year()


def client_of(user: Any = None, **options: Any) -> Client:
    client = Client(raise_request_exception=False, **options)
    if user is not None:
        client.force_login(user)
    return client


def cells(content: bytes) -> str:
    book = load_workbook(io.BytesIO(content))
    return " ".join(str(c) for s in book for r in s.iter_rows(values_only=True) for c in r if c is not None)


def test_while_private_every_id_is_the_same_refusal(seed: Seed, settings: Any) -> None:
    settings.DUTY_RECORD_PUBLIC = False
    ids = [seed.a.pk, seed.b.pk, seed.liaison.pk, seed.moderator.pk, 999999, 2**63 - 1, 2**63, 10**30]
    for user in (None, seed.b, seed.liaison):
        client = client_of(user)
        answers = set()
        for pk in ids:
            if user is not None and pk == user.pk:
                continue
            for suffix in ("", "record.xlsx"):
                response = client.get(f"/deputies/{pk}/{suffix}")
                page = re.sub(r"/deputies/[0-9]+/", "", response.content.decode())  # a page may name its path
                page = re.sub(r'("X-CSRFToken": |value=)"[^"]*"', "", page)  # the CSRF token, per request
                answers.add((response.status_code, suffix, page))
        assert {code for code, _suffix, _page in answers} == {403}
        assert len(answers) <= 2  # the page and the download; the same bytes for every id


@pytest.mark.parametrize("pk", [2**63 - 1, 2**63, 10**30])
def test_a_huge_id_is_404_never_a_500(seed: Seed, settings: Any, pk: int) -> None:
    settings.DUTY_RECORD_PUBLIC = True
    for user in (None, seed.staff):
        assert client_of(user).get(f"/deputies/{pk}/").status_code == 404
        assert client_of(user).get(f"/deputies/{pk}/record.xlsx").status_code == 404


def test_another_deputy_reads_the_public_version_at_most(seed: Seed, settings: Any) -> None:
    settings.DUTY_RECORD_PUBLIC = True
    response = client_of(seed.b).get(f"/deputies/{seed.a.pk}/?year={YEAR}")
    assert response.status_code == 200
    assert not response.context["record"].full
    body = response.content.decode()
    assert str(duty.MEASURE[duty.SECRET_POLLS].label) not in body
    book = client_of(seed.b).get(f"/deputies/{seed.a.pk}/record.xlsx?year={YEAR}")
    assert str(duty.MEASURE[duty.SECRET_POLLS].label) not in cells(book.content)


@pytest.mark.parametrize("year", ["2025\n", " 2025", "2025 ", "+2025", "2_025", "0x7e9", "2025&year=2026"])
def test_a_year_with_anything_around_it_is_a_400(seed: Seed, year: str) -> None:
    response = client_of(seed.a).get(f"/deputies/{seed.a.pk}/", {"year": year})
    assert response.status_code == 400


def test_the_points_rules_want_staff_and_the_csrf_token(seed: Seed) -> None:
    form = {f"points_{rule.kind}": "100" for rule in duty.rules_in_force()} | {
        f"active_{rule.kind}": "on" for rule in duty.rules_in_force()
    }
    for user in (seed.a, seed.liaison, seed.moderator):
        response = client_of(user).post("/manage/duty-rules/", form)
        assert response.status_code in (302, 403)
        assert client_of(user).get("/manage/deputies.xlsx").status_code in (302, 403)
    assert client_of(seed.staff, enforce_csrf_checks=True).post("/manage/duty-rules/", form).status_code == 403
    assert not DutyRule.objects.exists()


def test_a_deputy_cannot_raise_their_own_points(seed: Seed) -> None:
    before = duty.duty_record(seed.a, YEAR, full=True).total
    client = client_of(seed.a)
    client.post("/manage/duty-rules/", {"points_question": "100", "active_question": "on"})
    client.post(f"/deputies/{seed.a.pk}/", {"points": "100"})
    assert duty.duty_record(seed.a, YEAR, full=True).total == before
