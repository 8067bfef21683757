"""The office's seat pages (office/views/seats.py): the deputies and their codes' state, the
buttons (issue, reissue, revoke, revoke all unused), and the seat cards' PDF. Staff only: anyone
else gets 403 and changes nothing."""

from __future__ import annotations

import io
import re
from html import unescape
from typing import Any

import pytest
from django.test import Client, RequestFactory

from audit.models import AuditEntry
from hearings import selectors, services
from hearings.models import Hearing, Person, SeatCode
from office.views import seats as seat_views
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def person(user: Any, role: str, **fields: Any) -> Any:
    Person.objects.create(user=user, name=fields.pop("name", f"人员{user.pk}"), role=role, **fields)
    return user


@pytest.fixture
def staff(db: Any) -> Any:
    return person(make_user(), Person.Role.STAFF)


@pytest.fixture
def office(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def url(world: World, tail: str = "") -> str:
    return f"/manage/hearings/{world.hearing.pk}/seats/{tail}"


def pdf_url(world: World) -> str:
    return f"/manage/hearings/{world.hearing.pk}/seats.pdf"


def codes_state() -> list[Any]:
    return list(SeatCode.objects.order_by("pk").values())


def press(client: Client, path: str) -> tuple[Any, list[str]]:
    """POST a button as a browser does: its redirect, and the messages the page then shows."""
    response = client.post(path, secure=True)
    assert response.status_code == 302
    page = client.get(response["Location"], secure=True).content.decode()
    return response, [unescape(m) for m in re.findall(r'<li class="message [^"]*">([^<]*)</li>', page)]


# --------------------------------------------------------------------------- the page


def test_the_page_lists_the_deputies_and_their_codes_state(world: World, staff: Any, office: Client) -> None:
    a, b, c = world.deputies
    person(a, Person.Role.DEPUTY, name="张三", delegation="城关代表团", seat="A-1")
    person(b, Person.Role.DEPUTY, name="李四", delegation="城关代表团", seat="A-2")
    html = office.get(url(world), secure=True).content.decode()
    for text in ("张三", "城关代表团", "A-1", "李四", c.get_username()):
        assert text in html
    assert html.count('data-state="none"') == 3
    made = {
        s.deputy_id: selectors.seat_code_text(s)
        for s in services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    }
    services.seat_code_redeem(code=made[a.pk])
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=b.pk, by=staff)
    html = office.get(url(world), secure=True).content.decode()
    assert re.search(rf'id="seat-deputy-{a.pk}" data-state="used"', html)
    assert re.search(rf'id="seat-deputy-{b.pk}" data-state="revoked"', html)
    assert re.search(rf'id="seat-deputy-{c.pk}" data-state="unused"', html)
    assert made[c.pk] in html  # staff can read an unused code out
    assert made[a.pk] not in html and made[b.pk] not in html
    assert f'href="{pdf_url(world)}"' in html


def test_the_buttons_issue_reissue_and_revoke(world: World, office: Client) -> None:
    a, b, _ = world.deputies
    response, said = press(office, url(world, "issue/"))
    assert response["Location"] == url(world) and said == ["已生成 3 个座位码。"]
    assert SeatCode.objects.filter(used_at__isnull=True, revoked_at__isnull=True).count() == 3
    old = SeatCode.objects.get(deputy=a)
    assert press(office, url(world, f"{a.pk}/reissue/"))[1] == ["已重新生成座位码，原座位卡作废，请打印新的座位卡。"]
    assert SeatCode.objects.get(pk=old.pk).revoked_at is not None
    assert SeatCode.objects.filter(deputy=a, revoked_at__isnull=True).exclude(pk=old.pk).count() == 1
    assert press(office, url(world, f"{b.pk}/revoke/"))[1] == ["已收回 1 个座位码。"]
    assert not SeatCode.objects.filter(deputy=b, revoked_at__isnull=True).exists()
    assert press(office, url(world, "revoke-unused/"))[1] == ["已收回 2 个未使用的座位码。"]
    assert not SeatCode.objects.filter(revoked_at__isnull=True).exists()
    assert [e.action for e in AuditEntry.objects.order_by("seq")] == [
        "seat.issue",
        "seat.reissue",
        "seat.revoke",
        "seat.revoke_unused",
    ]


def test_a_refused_button_says_why_and_changes_nothing(world: World, office: Client) -> None:
    outsider = make_user()
    before = codes_state()
    assert press(office, url(world, f"{outsider.pk}/reissue/"))[1] == ["找不到要操作的对象：此人不是这场问政会的代表。"]
    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    said = press(office, url(world, "issue/"))[1]
    assert len(said) == 1 and "问政会已结束" in said[0]
    assert codes_state() == before and not AuditEntry.objects.exists()
    page = office.get(url(world), secure=True).content.decode()
    assert 'id="seats-ended"' in page and 'id="seats-issue"' not in page


def test_a_missing_hearing_is_404(office: Client) -> None:
    assert office.get("/manage/hearings/999999/seats/", secure=True).status_code == 404
    assert office.post("/manage/hearings/999999/seats/issue/", secure=True).status_code == 404
    assert office.get("/manage/hearings/999999/seats.pdf", secure=True).status_code == 404


def test_the_buttons_take_posts_only(world: World, office: Client) -> None:
    for tail in ("issue/", "revoke-unused/", f"{world.deputies[0].pk}/reissue/", f"{world.deputies[0].pk}/revoke/"):
        assert office.get(url(world, tail), secure=True).status_code == 405
    assert not SeatCode.objects.exists()


# --------------------------------------------------------------------------- who may


@pytest.fixture(params=["anonymous", "deputy", "liaison", "moderator", "admin_staff", "no_role"])
def outsider(request: pytest.FixtureRequest, world: World) -> Client:
    client = Client()
    who = request.param
    if who == "deputy":
        client.force_login(person(world.deputies[0], Person.Role.DEPUTY))
    elif who == "liaison":
        client.force_login(person(make_user(), Person.Role.LIAISON))
    elif who == "moderator":  # the hearing's own moderator, not office staff
        client.force_login(person(world.moderator, Person.Role.MODERATOR))
    elif who == "admin_staff":  # the Django admin's is_staff alone is not office staff
        client.force_login(make_user(is_staff=True))
    elif who == "no_role":  # logged in, on no roster
        client.force_login(make_user())
    return client


def test_only_staff_open_the_pages_and_press_the_buttons(world: World, staff: Any, outsider: Client) -> None:
    services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    before = codes_state()
    audit = AuditEntry.objects.count()
    d = world.deputies[0].pk
    assert outsider.get(url(world), secure=True).status_code == 403
    assert outsider.get(pdf_url(world), secure=True).status_code == 403
    for tail in ("issue/", "revoke-unused/", f"{d}/reissue/", f"{d}/revoke/"):
        assert outsider.post(url(world, tail), secure=True).status_code == 403, tail
    assert codes_state() == before and AuditEntry.objects.count() == audit


def test_a_superuser_opens_them(world: World) -> None:
    client = Client()
    client.force_login(make_user(is_superuser=True))
    assert client.get(url(world), secure=True).status_code == 200


# --------------------------------------------------------------------------- seat cards


def seat_world(staff: Any, deputies: int) -> tuple[World, dict[int, str]]:
    world = make_world(deputies=deputies, title="助企纾困 优化营商环境 问政会")
    for i, user in enumerate(world.deputies):
        person(user, Person.Role.DEPUTY, name=f"代表{i:02d}", delegation="城关代表团", seat=f"B-{i:02d}")
    made = services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)
    return world, {s.deputy_id: selectors.seat_code_text(s) for s in made}


def test_the_cards_html_has_one_card_per_unused_code_with_its_qr(staff: Any) -> None:
    world, codes = seat_world(staff, 11)
    used, revoked = world.deputies[0], world.deputies[1]
    services.seat_code_redeem(code=codes[used.pk])
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=revoked.pk, by=staff)
    request = RequestFactory().get("/", secure=True)
    html = seat_views.seat_cards_html(request, world.hearing)
    assert html.count('class="card"') == 9
    assert html.count('class="sheet"') == 2  # 8 a sheet
    for user in world.deputies[2:]:
        code = codes[user.pk]
        assert html.count(code) == 1
        address = f"https://testserver/seat/{code}/"
        assert str(seat_views._qr_svg(address)) in html  # the QR of the absolute seat address
    assert codes[used.pk] not in html and codes[revoked.pk] not in html
    assert "代表02" in html and "B-02" in html and "城关代表团" in html and world.hearing.title in html
    # Printed again: the same cards.
    assert seat_views.seat_cards_html(request, world.hearing) == html


def test_the_cards_are_a_pdf(staff: Any, office: Client) -> None:
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except OSError as error:  # pango and its fonts are system libraries
        pytest.skip(f"WeasyPrint cannot load its system libraries: {error}")
    pypdf = pytest.importorskip("pypdf")
    world, codes = seat_world(staff, 9)
    services.seat_code_revoke(hearing_id=world.hearing.pk, deputy_id=world.deputies[0].pk, by=staff)
    response = office.get(pdf_url(world), secure=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="hearing-{world.hearing.pk}-seat-cards.pdf"'
    assert response.content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1  # 8 cards: one sheet
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))
    for user in world.deputies[1:]:
        assert codes[user.pk] in text
    assert codes[world.deputies[0].pk] not in text
    assert "代表05" in text and "B-05" in text
    services.seat_codes_issue(hearing_id=world.hearing.pk, by=staff)  # the revoked one's new card
    again = pypdf.PdfReader(io.BytesIO(office.get(pdf_url(world), secure=True).content))
    assert len(again.pages) == 2
