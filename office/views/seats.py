"""Seat logins of a hearing (座位码): the deputies and their codes' state, the buttons that issue,
reissue and revoke them (hearings/services/seats.py), and the seat cards as an A4 PDF.

A card carries its deputy's unused code as a QR of the absolute /seat/<code>/ address and in large
type; it prints the same code every time (the code is derived, never stored)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from hearings import selectors, services
from hearings.models import Hearing, Person, SeatCode
from office.access import staff_required

PDF = "application/pdf"
STYLESHEET = "css/seat_cards.css"
CARDS_PER_PAGE = 8  # 2 × 4 on an A4 sheet
CARDS_PER_ROW = 2


@dataclass(frozen=True)
class SeatRow:
    """One deputy of the hearing and the state of their codes."""

    deputy_id: int
    name: str
    delegation: str
    seat: str
    unused: SeatCode | None  # the card to print, if any
    code: str  # its code, for staff to read out
    logged_in: list[SeatCode]  # used and not revoked: a tablet logged in by it
    revoked: SeatCode | None  # the latest revoked one

    @property
    def state(self) -> str:
        if self.unused is not None:
            return "unused"
        if self.logged_in:
            return "used"
        if self.revoked is not None:
            return "revoked"
        return "none"


def _person(user: Any) -> Person | None:
    try:
        person: Person = user.person
    except Person.DoesNotExist:
        return None
    return person


def seat_rows(hearing: Hearing) -> list[SeatRow]:
    """The hearing's deputies (by delegation, seat, name) with their codes: three queries."""
    deputies = list(hearing.deputies.select_related("person"))
    codes: dict[int, list[SeatCode]] = {}
    for code in SeatCode.objects.filter(hearing=hearing).order_by("id"):
        codes.setdefault(code.deputy_id, []).append(code)
    rows = []
    for user in deputies:
        person = _person(user)
        mine = codes.get(user.pk, [])
        unused = next((c for c in mine if c.used_at is None and c.revoked_at is None), None)
        revoked = [c for c in mine if c.revoked_at is not None]
        rows.append(
            SeatRow(
                deputy_id=user.pk,
                name=selectors.display_name(user),
                delegation=person.delegation if person else "",
                seat=person.seat if person else "",
                unused=unused,
                code=selectors.seat_code_text(unused) if unused is not None else "",
                logged_in=[c for c in mine if c.used_at is not None and c.revoked_at is None],
                revoked=max(revoked, key=_revoked_at) if revoked else None,
            )
        )
    rows.sort(key=lambda row: (row.delegation, row.seat, row.name, row.deputy_id))
    return rows


def _revoked_at(code: SeatCode) -> datetime:
    assert code.revoked_at is not None
    return code.revoked_at


@staff_required
@require_GET
def manage_seats(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    rows = seat_rows(hearing)
    return render(
        request,
        "office/seats.html",
        {
            "hearing": hearing,
            "rows": rows,
            "lacking": sum(1 for row in rows if row.unused is None),
            "unused": sum(1 for row in rows if row.unused is not None),
            "ended": hearing.status == Hearing.Status.ENDED,
            "seat_login_url": request.build_absolute_uri(reverse("seat_login")),
        },
    )


def _act(request: HttpRequest, hearing_id: int, change: Callable[[], str]) -> HttpResponse:
    """Run one service call for the page's button, say what it did (or why not), back to the page."""
    get_object_or_404(Hearing, pk=hearing_id)
    try:
        messages.success(request, change())
    except DomainError as error:
        messages.error(request, f"{error.title}{_('：')}{error.message}")
    return redirect("manage_seats", hearing_id=hearing_id)


@staff_required
@require_POST
def manage_seats_issue(request: HttpRequest, hearing_id: int) -> HttpResponse:
    def change() -> str:
        made = services.seat_codes_issue(hearing_id=hearing_id, by=request.user)  # type: ignore[arg-type]
        return _("已生成 %(count)s 个座位码。") % {"count": len(made)}

    return _act(request, hearing_id, change)


@staff_required
@require_POST
def manage_seat_reissue(request: HttpRequest, hearing_id: int, deputy_id: int) -> HttpResponse:
    def change() -> str:
        services.seat_code_reissue(hearing_id=hearing_id, deputy_id=deputy_id, by=request.user)  # type: ignore[arg-type]
        return _("已重新生成座位码，原座位卡作废，请打印新的座位卡。")

    return _act(request, hearing_id, change)


@staff_required
@require_POST
def manage_seat_revoke(request: HttpRequest, hearing_id: int, deputy_id: int) -> HttpResponse:
    def change() -> str:
        count = services.seat_code_revoke(hearing_id=hearing_id, deputy_id=deputy_id, by=request.user)  # type: ignore[arg-type]
        return _("已收回 %(count)s 个座位码。") % {"count": count}

    return _act(request, hearing_id, change)


@staff_required
@require_POST
def manage_seats_revoke_unused(request: HttpRequest, hearing_id: int) -> HttpResponse:
    def change() -> str:
        count = services.seat_codes_revoke_unused(hearing_id=hearing_id, by=request.user)  # type: ignore[arg-type]
        return _("已收回 %(count)s 个未使用的座位码。") % {"count": count}

    return _act(request, hearing_id, change)


# ------------------------------------------------------------------------------- seat cards (PDF)


@dataclass(frozen=True)
class SeatCard:
    name: str
    delegation: str
    seat: str
    code: str
    url: str
    qr: SafeString


def _qr_svg(url: str) -> SafeString:
    """An inline SVG QR code (segno writes it; the URL is our own), sized by the card's CSS."""
    qr = segno.make(url, error="m")
    return mark_safe(qr.svg_inline(scale=1, border=2, omitsize=True, dark="#000000", light="#ffffff", svgclass="qr"))


def seat_cards(request: HttpRequest, hearing: Hearing) -> list[SeatCard]:
    """A card for each unused, unrevoked code of the hearing, in the page's deputy order."""
    cards = []
    for row in seat_rows(hearing):
        if row.unused is None:
            continue
        url = request.build_absolute_uri(selectors.seat_url(row.code))
        cards.append(SeatCard(row.name, row.delegation, row.seat, row.code, url, _qr_svg(url)))
    return cards


def seat_cards_html(request: HttpRequest, hearing: Hearing) -> str:
    """The HTML the PDF is typeset from: sheets of CARDS_PER_PAGE cards, CARDS_PER_ROW a row."""
    cards = seat_cards(request, hearing)
    sheets = [
        [
            cards[row : row + CARDS_PER_ROW]
            for row in range(start, min(start + CARDS_PER_PAGE, len(cards)), CARDS_PER_ROW)
        ]
        for start in range(0, len(cards), CARDS_PER_PAGE)
    ]
    return render_to_string(
        "office/seat_cards.html",
        {"hearing": hearing, "sheets": sheets, "seat_login_url": request.build_absolute_uri(reverse("seat_login"))},
        request=request,
    )


def _stylesheet() -> str:
    found = finders.find(STYLESHEET)
    if found is None:  # collected for production: STATIC_ROOT
        return str(Path(settings.STATIC_ROOT) / STYLESHEET)
    return str(found)


def typeset(html: str) -> bytes:
    # Imported here: WeasyPrint loads pango, needed only when a PDF is built.
    from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415

    pdf = HTML(string=html, url_fetcher=_no_fetch).write_pdf(stylesheets=[CSS(filename=_stylesheet())])
    assert pdf is not None
    return bytes(pdf)


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    # Everything a card needs is inline (its QR an SVG element): the typesetter fetches nothing.
    raise ValueError(f"not fetched: {url}")


@staff_required
@require_GET
def manage_seat_cards(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    response = HttpResponse(typeset(seat_cards_html(request, hearing)), content_type=PDF)
    response["Content-Disposition"] = f'attachment; filename="hearing-{hearing.pk}-seat-cards.pdf"'
    return response


urlpatterns: list[URLPattern] = [
    path("hearings/<int:hearing_id>/seats/", manage_seats, name="manage_seats"),
    path("hearings/<int:hearing_id>/seats.pdf", manage_seat_cards, name="manage_seat_cards"),
    path("hearings/<int:hearing_id>/seats/issue/", manage_seats_issue, name="manage_seats_issue"),
    path(
        "hearings/<int:hearing_id>/seats/revoke-unused/", manage_seats_revoke_unused, name="manage_seats_revoke_unused"
    ),
    path("hearings/<int:hearing_id>/seats/<int:deputy_id>/reissue/", manage_seat_reissue, name="manage_seat_reissue"),
    path("hearings/<int:hearing_id>/seats/<int:deputy_id>/revoke/", manage_seat_revoke, name="manage_seat_revoke"),
]
