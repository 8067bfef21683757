"""Seat codes (座位码): what a tablet's one-time login is made of, and the reads about it.

A code is never stored. It is the HMAC of its row's `nonce` under the server's SECRET_KEY (with a
salt of its own), written as 12 Crockford base32 characters in groups of four (`K7Q2-M9XP-4HDA`,
60 bits), so a card prints the same code every time; the row is found by `digest`, the SHA-256 of
the normalised code. A new SECRET_KEY makes every printed card useless (print them again).

The changes (issue, reissue, revoke, redeem) are hearings/services/seats.py. A tablet logged in
by a code carries SESSION_KEY in its session: {"hearing": id, "seat": seat code id}; such a
session reaches its own hearing's tablet and nothing else (console/seat.py for pages,
realtime/sessions.py for sockets), and only while its code stands (`seat_session_active`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.crypto import salted_hmac

from hearings.models import Hearing, SeatCode

SESSION_KEY = "seat"  # the session's seat marker
SALT = "wenzheng.seat-code"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
LENGTH = 12  # characters: 60 bits
GROUP = 4
# What people mistype or what an input method gives: Crockford reads O as 0, I and L as 1.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\t\u00a0\u2010\u2011\u2012\u2013\u2014\u2212\u30fc")


class SeatMarker(TypedDict):
    hearing: int
    seat: int


def derive(nonce: str) -> str:
    """The code of a nonce, normalised (12 characters, no dashes)."""
    mac = int.from_bytes(salted_hmac(SALT, nonce, algorithm="sha256").digest()[:8], "big")
    mac >>= 64 - 5 * LENGTH
    chars = []
    for _ in range(LENGTH):
        chars.append(ALPHABET[mac & 31])
        mac >>= 5
    return "".join(reversed(chars))


def formatted(code: str) -> str:
    """`K7Q2M9XP4HDA` → `K7Q2-M9XP-4HDA`."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def normalise(text: str) -> str | None:
    """What a person typed (any case, spaces, dashes, full-width characters, O/I/L for 0/1/1) as
    a code, or None when it cannot be one."""
    code = unicodedata.normalize("NFKC", text).upper().translate(_SEPARATORS).translate(_READ_AS)
    if len(code) != LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def digest(code: str) -> str:
    """What a normalised code is looked up by."""
    return hashlib.sha256(code.encode()).hexdigest()


# ------------------------------------------------------------------------------- reads


def seat_code_text(seat_code: SeatCode) -> str:
    """The code printed on the card and shown to staff: `K7Q2-M9XP-4HDA`."""
    return formatted(derive(seat_code.nonce))


def seat_url(code: str) -> str:
    """The seat login page of a code (the QR's target; a path: callers make it absolute)."""
    return reverse("seat_login_code", kwargs={"code": code})


def seat_code_find(text: str) -> SeatCode | None:
    """The seat code typed, with its hearing and its deputy's roster entry; None when no code is
    written so. Whatever its state: the caller decides what an unusable one means."""
    code = normalise(text)
    if code is None:
        return None
    return SeatCode.objects.select_related("hearing", "deputy__person").filter(digest=digest(code)).first()


def seat_marker(session: Mapping[str, Any] | None) -> SeatMarker | None:
    """The seat marker of a session (a tablet logged in by a code), else None."""
    value = session.get(SESSION_KEY) if session is not None else None
    if not isinstance(value, dict):
        return None
    hearing, seat = value.get("hearing"), value.get("seat")
    if not isinstance(hearing, int) or not isinstance(seat, int):
        return None
    return {"hearing": hearing, "seat": seat}


def _standing(seat_ids: Iterable[int]) -> Any:
    """Seat codes that still log a tablet in: used (a tablet logged in by it), not revoked, the
    hearing not ended, its deputy still a deputy of the hearing."""
    still_deputy = Hearing.deputies.through.objects.filter(
        hearing_id=OuterRef("hearing_id"), user_id=OuterRef("deputy_id")
    )
    return (
        SeatCode.objects.filter(pk__in=list(seat_ids), used_at__isnull=False, revoked_at__isnull=True)
        .exclude(hearing__status=Hearing.Status.ENDED)
        .filter(Exists(still_deputy))
    )


def seat_session_active(marker: SeatMarker, user_id: int | None) -> bool:
    """Does a seat session still stand (one query)? Its code used by this user for this hearing,
    not revoked, the hearing not ended, the user still its deputy."""
    if user_id is None:
        return False
    return _standing([marker["seat"]]).filter(hearing_id=marker["hearing"], deputy_id=user_id).exists()


def seat_sessions_active(markers: Iterable[tuple[SeatMarker, int | None]]) -> set[tuple[int, int, int]]:
    """seat_session_active for many (marker, user id) at once, in one query: the (hearing id,
    seat id, user id) triples that stand."""
    wanted = {(m["hearing"], m["seat"], user_id) for m, user_id in markers if user_id is not None}
    if not wanted:
        return set()
    rows = _standing(seat for _, seat, _ in wanted).values_list("hearing_id", "pk", "deputy_id")
    return {row for row in rows if row in wanted}
