"""A deputy's or moderator's socket lives only as long as the login session it was opened with.

Logging out ends that session, so it closes the sockets opened with it (4403) in every process:
the logout publishes the session's tag to one channel-layer group that every process's hub
subscribes to, and each hub closes its local sockets carrying that tag. The same user's other
sessions (another device, another browser) are other logins and keep their sockets.

A session that ends without a logout (deleted by an administrator or `clearsessions`, expired,
invalidated by a password change) is caught by the socket's periodic check
(`LIVE_ROLE_CHECK_SECONDS`), which also re-checks the role. A process's checks that come due
together are made together (`sockets_allowed`, batched in realtime/batch.py): a chamber's 500
tablets cost a few queries per batch, not a few each.

A tablet logged in by a seat code (hearings/seats.py) opens only its own hearing's deputy socket
(and public ones), and the same check closes it once its code is revoked or its hearing ended.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user,
    get_user_model,
    load_backend,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from hearings import selectors
from hearings.seats import SeatMarker, seat_marker, seat_session_active, seat_sessions_active

log = logging.getLogger(__name__)

GROUP = "realtime.sessions"  # every process's hub listens here
ENDED = "live.session_ended"  # message type: {"type": ENDED, "session": tag}


def session_tag(session_key: str | None) -> str | None:
    """What travels between processes instead of the session key itself (a credential)."""
    if not session_key:
        return None
    return hashlib.sha256(session_key.encode()).hexdigest()


def _session_user(session_key: str | None, user_id: int | None) -> SessionStore | None:
    """The session, when it still exists, unexpired, logging in `user_id` (active, password
    unchanged): Django's own check of an HTTP request's session, on the socket's session key."""
    if not session_key or user_id is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return store if user.is_authenticated and user.pk == user_id else None


def session_valid(session_key: str | None, user_id: int | None) -> bool:
    """Does the session still exist, unexpired, logging in `user_id` (active, password unchanged)?"""
    return _session_user(session_key, user_id) is not None


def _seat_allows(marker: SeatMarker, *, hearing_id: int, role: str) -> bool:
    """A tablet logged in by a seat code opens its own hearing's deputy socket only."""
    return role == "deputy" and marker["hearing"] == hearing_id


def socket_access(*, hearing_id: int, user: Any, role: str, session: Any) -> str:
    """selectors.socket_access for a socket opening with this login session (its seat marker,
    if a tablet logged in by a seat code). Reads the session: run it off the event loop."""
    marker = seat_marker(session) if role != "public" else None
    return selectors.socket_access(hearing_id=hearing_id, user=user, role=role, seat=marker)


def socket_allowed(*, hearing_id: int, user_id: int | None, role: str, session_key: str | None) -> bool:
    """The periodic check of an open deputy or control socket: role held and session alive,
    and for a tablet logged in by a seat code, that code still standing (not revoked, the
    hearing not ended)."""
    if not selectors.role_still_held(hearing_id=hearing_id, user_id=user_id, role=role):
        return False
    store = _session_user(session_key, user_id)
    if store is None:
        return False
    marker = seat_marker(store)
    return marker is None or (
        _seat_allows(marker, hearing_id=hearing_id, role=role) and seat_session_active(marker, user_id)
    )


@dataclass(frozen=True)
class SocketCheck:
    """What socket_allowed is asked about one socket."""

    hearing_id: int
    user_id: int | None
    role: str
    session_key: str | None


def sockets_allowed(checks: Sequence[SocketCheck]) -> list[bool]:
    """socket_allowed for each of many sockets, in order, in a few queries for all of them.

    Only a socket found allowed in bulk is allowed without more; any other is decided by
    socket_allowed itself (Django's own session check, which also flushes a session whose
    password hash no longer matches), so the bulk reading can only save work, never let a
    socket through that the one-by-one check would close."""
    held = selectors.roles_still_held((c.hearing_id, c.user_id, c.role) for c in checks)
    confirmed = _sessions_confirmed(
        [(c.session_key, c.user_id) for c in checks if (c.hearing_id, c.user_id, c.role) in held]
    )
    seats = seat_sessions_active((marker, user_id) for (_, user_id), marker in confirmed.items() if marker is not None)

    def in_bulk(c: SocketCheck) -> bool:
        if (c.hearing_id, c.user_id, c.role) not in held or (c.session_key, c.user_id) not in confirmed:
            return False
        marker = confirmed[(c.session_key, c.user_id)]  # type: ignore[index]
        return marker is None or (
            _seat_allows(marker, hearing_id=c.hearing_id, role=c.role)
            and (marker["hearing"], marker["seat"], c.user_id) in seats
        )

    return [
        in_bulk(c) or socket_allowed(hearing_id=c.hearing_id, user_id=c.user_id, role=c.role, session_key=c.session_key)
        for c in checks
    ]


def _sessions_confirmed(pairs: Sequence[tuple[str | None, int | None]]) -> dict[tuple[str, int], SeatMarker | None]:
    """The (session key, user id) pairs whose session certainly logs in that user, read as
    django.contrib.auth.get_user reads one (unexpired, the ModelBackend, an active user whose
    session auth hash matches), with one query for the sessions and one for the users, each
    with its session's seat marker (None for a login that is not a seat code's). Only for the
    database session store; any pair not confirmed here is checked one by one."""
    wanted = {(key, user_id) for key, user_id in pairs if key and user_id is not None}
    if not wanted or settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return {}
    rows = SessionStore.get_model_class().objects.filter(
        session_key__in={key for key, _ in wanted}, expire_date__gt=timezone.now()
    )
    store = SessionStore()
    sessions = {key: store.decode(data) for key, data in rows.values_list("session_key", "session_data")}
    user_model = get_user_model()
    users = user_model._default_manager.in_bulk({user_id for _, user_id in wanted})
    backends: dict[str, Any] = {}
    confirmed: dict[tuple[str, int], SeatMarker | None] = {}
    for key, user_id in wanted:
        session = sessions.get(key)
        if not session:
            continue
        backend_path = session.get(BACKEND_SESSION_KEY)
        if backend_path not in settings.AUTHENTICATION_BACKENDS:
            continue
        backend = backends.get(backend_path)
        if backend is None:
            backend = backends[backend_path] = load_backend(backend_path)
        if not isinstance(backend, ModelBackend) or type(backend).get_user is not ModelBackend.get_user:
            continue
        try:
            session_user = user_model._meta.pk.to_python(session[SESSION_KEY])
        except (KeyError, ValidationError):
            continue
        user = users.get(user_id)
        if user is None or session_user != user_id or not backend.user_can_authenticate(user):
            continue
        session_hash = session.get(HASH_SESSION_KEY)
        if session_hash and constant_time_compare(session_hash, user.get_session_auth_hash()):
            confirmed[(key, user_id)] = seat_marker(session)
    return confirmed


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """`user_logged_out`: tell every process to close the sockets of the session being ended."""
    session = getattr(request, "session", None)
    tag = session_tag(getattr(session, "session_key", None))
    layer = get_channel_layer()
    if tag is None or layer is None:
        return
    try:
        async_to_sync(layer.group_send)(GROUP, {"type": ENDED, "session": tag})
    except Exception:
        # The channel layer away (Redis restarting): the logout still succeeds, and each socket's
        # periodic check finds the session gone.
        log.warning("logout not broadcast to the live sockets", exc_info=True)
