"""A deputy's or moderator's socket lives only as long as the login session it was opened with.

Logging out ends that session, so it closes the sockets opened with it (4403) in every process:
the logout publishes the session's tag to one channel-layer group that every process's hub
subscribes to, and each hub closes its local sockets carrying that tag. The same user's other
sessions (another device, another browser) are other logins and keep their sockets.

A session that ends without a logout (deleted by an administrator or `clearsessions`, expired,
invalidated by a password change) is caught by the socket's periodic check
(`LIVE_ROLE_CHECK_SECONDS`), which also re-checks the role.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user

from hearings import selectors

log = logging.getLogger(__name__)

GROUP = "realtime.sessions"  # every process's hub listens here
ENDED = "live.session_ended"  # message type: {"type": ENDED, "session": tag}


def session_tag(session_key: str | None) -> str | None:
    """What travels between processes instead of the session key itself (a credential)."""
    if not session_key:
        return None
    return hashlib.sha256(session_key.encode()).hexdigest()


def session_valid(session_key: str | None, user_id: int | None) -> bool:
    """Does the session still exist, unexpired, logging in `user_id` (active, password unchanged)?
    Django's own check of an HTTP request's session, on the socket's session key."""
    if not session_key or user_id is None:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return bool(user.is_authenticated and user.pk == user_id)


def socket_allowed(*, hearing_id: int, user_id: int | None, role: str, session_key: str | None) -> bool:
    """The periodic check of an open deputy or control socket: role held and session alive."""
    return selectors.role_still_held(hearing_id=hearing_id, user_id=user_id, role=role) and session_valid(
        session_key, user_id
    )


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
