"""Pages of notices and following: a signed-in person's notice settings, and the public's
following of an assignment by e-mail (request, confirm, unsubscribe). Thin: the rules are
assignments/services/following.py's and preferences.py's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from assignments import notify, services
from assignments.models import Assignment
from core.clientaddr import request_address
from core.errors import DomainError, NotFound

# ------------------------------------------------------------------------------- notice settings


@login_required
@require_http_methods(["GET", "POST"])
def notice_preferences(request: HttpRequest) -> HttpResponse:
    """Two boxes per kind: in the app, by e-mail."""
    user = request.user
    assert user.is_authenticated
    if request.method == "POST":
        choices = {
            kind.key: notify.Choice(
                in_app=request.POST.get(f"{kind.key}.in_app") == "on",
                email=request.POST.get(f"{kind.key}.email") == "on",
            )
            for kind in notify.KINDS
        }
        services.preferences_set(user=user, choices=choices)
        messages.success(request, _("提醒设置已保存。"))
        return redirect("notice_preferences")
    return render(
        request,
        "assignments/preferences.html",
        {"rows": notify.preferences_of(user), "has_email": bool(getattr(user, "email", ""))},
    )


# ------------------------------------------------------------------------------- following by e-mail


def _page(request: HttpRequest, state: str, *, status: int = 200, **context: object) -> HttpResponse:
    return render(request, "assignments/follow.html", {"state": state, **context}, status=status)


@never_cache
@require_POST
def assignment_follow(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_object_or_404(Assignment, pk=assignment_id)
    try:
        services.follow_request(
            assignment_id=assignment.pk,
            email=str(request.POST.get("email", "")),
            address=request_address(request),
        )
    except DomainError as error:
        return _page(request, "refused", status=error.status, assignment=assignment, error=error)
    # The same answer whether or not the address follows already.
    return _page(request, "sent", assignment=assignment)


@never_cache
@require_http_methods(["GET", "POST"])
def follower_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (a mail scanner fetching the link confirms nothing); POST confirms."""
    try:
        follower = services.follower_get(token=token)
        if request.method == "POST":
            follower = services.follower_confirm(token=token)
            return _page(request, "confirmed", assignment=follower.assignment)
    except NotFound as error:
        return _page(request, "unknown", status=404, error=error)
    except DomainError as error:
        return _page(request, "refused", status=error.status, assignment=follower.assignment, error=error)
    state = "confirmed" if follower.confirmed_at and not follower.unsubscribed_at else "confirm"
    return _page(request, state, assignment=follower.assignment, token=token)


@never_cache
@csrf_exempt  # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" without our form
@require_http_methods(["GET", "POST"])
def follower_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; POST (the button, or the mail client's one click) unsubscribes."""
    try:
        follower = services.follower_get(token=token)
        if request.method == "POST":
            follower = services.follower_unsubscribe(token=token)
            return _page(request, "unsubscribed", assignment=follower.assignment)
    except NotFound as error:
        return _page(request, "unknown", status=404, error=error)
    state = "unsubscribed" if follower.unsubscribed_at else "unsubscribe"
    return _page(request, state, assignment=follower.assignment, token=token)
