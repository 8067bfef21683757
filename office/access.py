"""Who may open /manage/: office staff (会务工作人员, hearings.selectors.is_office_staff) only.

Everyone else gets 403, the public included (the 403 page offers a login): these pages hold
the roster's phone numbers and the seat codes, so they do not even say where the login is by
redirecting to it. A seat-code login (a tablet) is never staff (hearings/seats: such a session
reaches its own hearing's tablet and nothing else)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.cache import never_cache

from hearings import selectors

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    @wraps(view)
    @never_cache
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.is_office_staff(request.user):
            raise PermissionDenied("office staff only")
        return view(request, *args, **kwargs)

    return wrapped


def context(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: `office_staff` (the top bar's /manage/ link), read only when
    a page asks."""
    return {"office_staff": SimpleLazyObject(lambda: selectors.is_office_staff(getattr(request, "user", None)))}
