"""/polls/: window polls (现场或事后) on a deputy's own device, after logging in.

The office gives a poll a window (opens_at … closes_at); the hearing's deputies vote in it
from a phone or a PC, with no check-in, and it closes by itself at its closing time
(voting.services.close_due_polls runs before a page shows such a poll, whoever looks first).

A ballot carries a UUID made when the page is rendered (a hidden field): sending the same
ballot again (a double tap, a resend after a flaky connection) is a `duplicate`, never a second
vote. A cast ballot is answered by a redirect to the poll's page, which says "已投票" and shows
no choice back: the page a browser keeps in its history, or reloads, holds nothing of the
ballot, and the pages are not stored (Cache-Control: no-store; the form does not autocomplete).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import AlreadyVoted, BadRequest, DomainError
from hearings import selectors as hearing_selectors
from live.schema import PollOut
from voting import selectors, services
from voting.models import Poll, VoteRecord

# ------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ResultLine:
    """One line of a published poll's results: a sheet's row, a candidate, or the one question."""

    label: str
    counts: list[tuple[str, int]]  # (choice, n) in the choices' order; a candidate's: empty
    picked: int | None = None  # a candidate's picks
    rate: str = ""  # 满意率, printed
    chosen: bool = False  # a candidate among the `choose` most picked


def _rate(value: float | None) -> str:
    return f"{value * 100:.1f}%" if value is not None else "—"


def result_lines(out: PollOut) -> list[ResultLine]:
    """A published poll's results as lines (none before it is published)."""
    results: dict[str, Any] | None = out.results
    if results is None:
        return []
    rates = out.satisfaction_rate
    if out.kind == "select":
        labels = {c.id: c.label for c in out.candidates or []}
        chosen = set(out.chosen or [])
        return [
            ResultLine(labels[pk], [], picked=int(results.get(str(pk), 0)), chosen=pk in chosen)
            for pk in out.ranking or []
        ]
    if out.kind == "sheet":
        assert isinstance(rates, dict)
        return [
            ResultLine(
                row.label,
                [(choice, int(results[str(row.id)].get(choice, 0))) for choice in out.choices],
                rate=_rate(rates.get(str(row.id))),
            )
            for row in out.rows or []
        ]
    assert rates is None or isinstance(rates, float)
    return [ResultLine(out.title, [(choice, int(results.get(choice, 0))) for choice in out.choices], rate=_rate(rates))]


# ------------------------------------------------------------------------------- the list


@dataclass
class BallotRow:
    poll: Poll
    voted: bool
    results: list[ResultLine] = field(default_factory=list)


def _phase(poll: Poll, now: datetime) -> str:
    """open (taking ballots now), upcoming, or closed (closed or published)."""
    if poll.status != Poll.Status.OPEN:
        return "closed"
    return "upcoming" if poll.opens_at is not None and now < poll.opens_at else "open"


def _close_due(hearing_ids: set[int]) -> None:
    """Close the window polls of these hearings whose time has come (they close by themselves)."""
    due = Poll.objects.filter(hearing_id__in=hearing_ids, status=Poll.Status.OPEN, closes_at__lte=timezone.now())
    for hearing_id in sorted(set(due.values_list("hearing_id", flat=True))):
        services.close_due_polls(hearing_id=hearing_id)


def deputy_polls(user: Any) -> dict[str, list[BallotRow]]:
    """The window polls of the hearings `user` is a deputy of: open now, upcoming, closed."""
    _, hearing_ids = hearing_selectors.hearing_ids_where(user)
    _close_due(hearing_ids)
    polls = (
        Poll.objects.filter(hearing_id__in=hearing_ids, closes_at__isnull=False)
        .exclude(status=Poll.Status.DRAFT)
        .select_related("hearing")
        .order_by("closes_at", "pk")
    )
    voted = set(VoteRecord.objects.filter(deputy_id=user.pk, poll__in=polls).values_list("poll_id", flat=True))
    now = timezone.now()
    groups: dict[str, list[BallotRow]] = {"open": [], "upcoming": [], "closed": []}
    for poll in polls:
        phase = _phase(poll, now)
        results = result_lines(selectors.poll_out(poll)) if poll.status == Poll.Status.PUBLISHED else []
        groups[phase].append(BallotRow(poll, poll.pk in voted, results))
    groups["closed"].reverse()  # the latest closed first
    return groups


def open_ballots_count(user: Any) -> int:
    """How many window polls `user` may vote in now and has not: the hearing list's reminder."""
    if user is None or not user.is_authenticated:
        return 0
    _, hearing_ids = hearing_selectors.hearing_ids_where(user)
    if not hearing_ids:
        return 0
    now = timezone.now()
    return (
        Poll.objects.filter(hearing_id__in=hearing_ids, status=Poll.Status.OPEN, opens_at__lte=now, closes_at__gt=now)
        .exclude(vote_records__deputy_id=user.pk)
        .count()
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def ballot_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/ballots.html", {"groups": deputy_polls(request.user)})


# ------------------------------------------------------------------------------- one poll


def _window_poll(request: HttpRequest, poll_id: int) -> Poll:
    """The window poll, for a deputy of its hearing (403 for anyone else), closed if due."""
    poll = Poll.objects.filter(pk=poll_id, closes_at__isnull=False).exclude(status=Poll.Status.DRAFT).first()
    if poll is None:
        raise Http404("no such window poll")
    if not hearing_selectors.is_deputy(poll.hearing_id, request.user):
        raise PermissionDenied("deputies of this hearing only")
    if poll.status == Poll.Status.OPEN and poll.closes_at is not None and poll.closes_at <= timezone.now():
        services.close_due_polls(hearing_id=poll.hearing_id)
        poll.refresh_from_db()
    return poll


@dataclass(frozen=True)
class Posted:
    """What the deputy ticked, to show the form again as it was after a refusal."""

    ballot: str
    rows: dict[str, str]  # sheet: row id → choice; satisfaction: "choice" → choice
    picks: set[str]


def _ballot_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise BadRequest(_("投票页面已失效，请重新打开后再投。")) from None


def _picks(values: list[str]) -> list[int]:
    picks = []
    for value in values:
        if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
            raise BadRequest(_("所选的候选项不在这项票选中。"))
        picks.append(int(value))
    return picks


def _cast(request: HttpRequest, poll: Poll, data: QueryDict) -> bool:
    """Cast the posted ballot; True when it was a resend of one already counted."""
    assert isinstance(request.user, AbstractBaseUser)  # login_required
    ballot_id = _ballot_id(data.get("ballot", ""))
    common: dict[str, Any] = {"hearing_id": poll.hearing_id, "poll_id": poll.pk, "deputy": request.user}
    if poll.kind == Poll.Kind.SHEET:
        rows = {str(pk): str(data.get(f"row-{pk}", "")) for pk in selectors.option_ids(poll) if data.get(f"row-{pk}")}
        result = services.ballot_cast(ballot_id=ballot_id, choices=rows, **common)
    elif poll.kind == Poll.Kind.SELECT:
        result = services.ballot_cast(ballot_id=ballot_id, picks=_picks(data.getlist("pick")), **common)
    else:
        result = services.ballot_cast(ballot_id=ballot_id, choice=data.get("choice", ""), **common)
    return result.duplicate


def _poll_page(
    request: HttpRequest, poll: Poll, *, status: int = 200, error: str = "", posted: Posted | None = None
) -> HttpResponse:
    voted = VoteRecord.objects.filter(poll=poll, deputy_id=request.user.pk).exists()
    phase = _phase(poll, timezone.now())
    out = selectors.poll_out(poll)
    posted = posted or Posted(str(uuid.uuid4()), {}, set())
    options = selectors.poll_options(poll)
    entries: list[Any]
    if poll.kind == Poll.Kind.SELECT:
        entries = [(option, str(option.pk) in posted.picks) for option in options]
    elif poll.kind == Poll.Kind.SHEET:
        entries = [
            (option.label, f"row-{option.pk}", [(c, posted.rows.get(str(option.pk)) == c) for c in poll.choices])
            for option in options
        ]
    else:
        entries = [(poll.title, "choice", [(c, posted.rows.get("choice") == c) for c in poll.choices])]
    context = {
        "poll": poll,
        "out": out,
        "phase": phase,
        "voted": voted,
        "results": result_lines(out) if poll.status == Poll.Status.PUBLISHED else [],
        "entries": entries,
        "error": error,
        "posted": posted,
    }
    return render(request, "console/ballot.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def ballot_page(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = _window_poll(request, poll_id)
    if request.method != "POST":
        return _poll_page(request, poll)
    try:
        _cast(request, poll, request.POST)
    except AlreadyVoted as refusal:
        messages.info(request, refusal.message)
        return redirect("ballot_page", poll.pk)
    except DomainError as refusal:
        poll.refresh_from_db()
        data = request.POST
        try:  # the same ballot again, so a retry that goes through is still one vote
            ballot = str(uuid.UUID(data.get("ballot", "")))
        except ValueError:
            ballot = str(uuid.uuid4())
        posted = Posted(
            ballot,
            {key.removeprefix("row-"): str(value) for key, value in data.items() if key.startswith("row-")}
            | {"choice": str(data.get("choice", ""))},
            set(data.getlist("pick")),
        )
        return _poll_page(request, poll, status=refusal.status, error=refusal.message, posted=posted)
    # A resend of a ballot already counted lands here too: the same page, "已投票".
    response = redirect("ballot_page", poll.pk)
    response.status_code = 303
    return response


urlpatterns = [
    path("polls/", ballot_list, name="ballot_list"),
    path("polls/<int:poll_id>/", ballot_page, name="ballot_page"),
]
