"""The chamber's pages (live, screen, tablet, control panel), the panel's actions and fragments.

Thin: pages read through selectors; every change goes through the same services the
WebSocket consumers call, and a refused change (DomainError) becomes a message for the
moderator. The live pages are then kept current by the socket, never by polling (save the
control panel's audience card, fetched every 30 s: its figures are no live events).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap

from audience import services as audience
from audience.panel import panel as audience_panel
from chamber import commands
from console import ballots
from core import limits
from core.errors import BadRequest, DomainError
from hearings import selectors
from hearings.models import Hearing, Question
from live.schema import AgendaItemOut, DepartmentRef, PollOut, QuestionOut
from live.viewer import page_viewer, set_viewer_cookie
from voting import selectors as voting_selectors

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------- pages


@dataclass(frozen=True)
class HearingRow:
    hearing: Hearing
    is_moderator: bool
    is_deputy: bool


def hearing_list(request: HttpRequest) -> HttpResponse:
    moderated, deputy_of = selectors.hearing_ids_where(request.user)
    rows = [
        HearingRow(hearing, is_moderator=hearing.pk in moderated, is_deputy=hearing.pk in deputy_of)
        for hearing in Hearing.objects.order_by("-starts_at", "-id")
    ]
    open_ballots = ballots.open_ballots_count(request.user) if deputy_of else 0
    context = {"rows": rows, "open_ballots": open_ballots, "collecting": selectors.collecting_hearing_ids()}
    return render(request, "hearings/list.html", context)


def _page(
    request: HttpRequest, template: str, context: dict[str, object], *, views_of: int | None = None
) -> HttpResponse:
    # The server's clock in ms: pages count item timers against it, not the device's clock.
    # watch_only: no viewer cookie (its address made too many new ones this minute).
    viewer, new = page_viewer(request)
    if views_of is not None and request.method == "GET":
        audience.page_view(views_of, viewer)  # a page view, and a unique viewer (audience figures)
    response = render(
        request, template, {"server_now_ms": int(time.time() * 1000), "watch_only": viewer is None, **context}
    )
    if viewer is not None and new:
        set_viewer_cookie(request, response, viewer)
    return response


def hearing_live(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    collecting = selectors.collect_state(hearing) == selectors.COLLECT_OPEN
    return _page(request, "hearings/live.html", {"hearing": hearing, "collecting": collecting}, views_of=hearing.pk)


def _qr_svg(url: str) -> str:
    """An inline SVG QR code (segno escapes nothing of ours: the URL is our own)."""
    code = segno.make(url, error="m")
    return code.svg_inline(scale=1, border=2, omitsize=True, dark="#1d2430", light="#ffffff", svgclass="qr")


def hearing_screen(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    public_url = request.build_absolute_uri(reverse("hearing_live", args=[hearing.pk]))
    return _page(
        request,
        "hearings/screen.html",
        {"hearing": hearing, "public_url": public_url, "qr_svg": mark_safe(_qr_svg(public_url))},
    )


@login_required
def hearing_tablet(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if not selectors.is_deputy(hearing, request.user):
        raise PermissionDenied("deputies of this hearing only")
    return _page(request, "hearings/tablet.html", {"hearing": hearing, "role": "deputy"})


def _moderated_hearing(request: HttpRequest, hearing_id: int) -> Hearing:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if not selectors.is_moderator(hearing, request.user):
        raise PermissionDenied("moderators of this hearing only")
    return hearing


@login_required
def hearing_control(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = _moderated_hearing(request, hearing_id)
    context = {"hearing": hearing, "board": _board(hearing, request.GET), "checkin": _checkin_board(hearing)}
    return _page(request, "hearings/control.html", context)


@dataclass(frozen=True)
class CheckinBoard:
    """The check-in board (签到): the figures and the quorum, and the hearing's deputies."""

    attendance: voting_selectors.AttendanceSummary
    roster: list[voting_selectors.RosterRow]

    @property
    def present(self) -> str:
        """Who has checked in, as the panel's script compares it with the counter frames."""
        return ",".join(str(row.id) for row in self.roster if row.checked_in)


def _checkin_board(hearing: Hearing) -> CheckinBoard:
    return CheckinBoard(
        attendance=voting_selectors.attendance_summary(hearing.pk, percent=hearing.quorum_percent),
        roster=voting_selectors.attendance_roster(hearing.pk),
    )


# ------------------------------------------------------------------------------- control board
# Every list of questions is a page of settings.CONTROL_PAGE_SIZE cards with the count of all:
# the panel weighs the same with 20 pending questions or 2,000. The page each list shows is a
# query parameter (its offset) of the part's URL, so a part fetched again stays on its page.


@dataclass
class QuestionRow:
    question: QuestionOut
    created: datetime
    item: AgendaItemOut | None
    parent: QuestionOut | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list of questions."""

    rows: list[QuestionRow]
    offset: int
    size: int
    total: int
    prev_url: str
    next_url: str

    @property
    def first(self) -> int:
        return self.offset + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.rows)

    @property
    def has_prev(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + self.size < self.total


@dataclass(frozen=True)
class Bar:
    choice: str
    count: int
    percent: float  # of the valid ballots, 0–100


@dataclass
class PollRow:
    poll: PollOut
    item: AgendaItemOut | None
    bars: list[Bar] = field(default_factory=list)

    @property
    def rate(self) -> str:
        """满意率 as the screens print it."""
        rate = self.poll.satisfaction_rate
        return f"{rate * 100:.1f}%" if isinstance(rate, float) else "—"

    @property
    def cast_percent(self) -> float:
        return round(100 * self.poll.cast / self.poll.eligible, 1) if self.poll.eligible else 0.0

    @property
    def sheet_rows(self) -> list[tuple[str, str]]:
        """A published sheet's rows with their 满意率."""
        rates = self.poll.satisfaction_rate
        if self.poll.kind != "sheet" or not isinstance(rates, dict):
            return []
        return [
            (row.label, f"{rate * 100:.1f}%" if (rate := rates.get(str(row.id))) is not None else "—")
            for row in self.poll.rows or []
        ]

    @property
    def ranking_rows(self) -> list[tuple[str, int, bool]]:
        """A published select's candidates, most picks first: label, picks, chosen."""
        if self.poll.kind != "select" or self.poll.ranking is None or self.poll.results is None:
            return []
        labels = {c.id: c.label for c in self.poll.candidates or []}
        chosen = set(self.poll.chosen or [])
        picks = {key: n for key, n in self.poll.results.items() if isinstance(n, int)}
        return [(labels.get(pk, str(pk)), picks.get(str(pk), 0), pk in chosen) for pk in self.poll.ranking]


@dataclass
class Board:
    """What the control panel shows, read at one moment."""

    hearing: Hearing
    agenda: list[AgendaItemOut]
    departments: list[DepartmentRef]  # the choices of an agenda item's department
    current: AgendaItemOut | None
    next_item: AgendaItemOut | None
    pending: Page
    on_stage: QuestionRow | None
    waiting: Page
    answered: Page
    polls: list[PollRow]
    open_poll: PollRow | None  # the live poll open in the chamber (a window poll runs on its own)
    drafts: list[PollRow]  # polls the office prepared, for the moderator to open
    rejected: int
    src: dict[str, str]  # the URL each paged part is fetched again from


def poll_bars(poll: PollOut) -> list[Bar]:
    """A satisfaction poll's published counts as bars (a sheet's rows and a select's ranking
    are not drawn here yet)."""
    if poll.results is None or poll.kind != "satisfaction":
        return []
    counts = {choice: n for choice, n in poll.results.items() if isinstance(n, int)}
    valid = sum(counts.values())
    return [
        Bar(choice, count, round(100 * count / valid, 1) if valid else 0.0)
        for choice, count in ((c, counts.get(c, 0)) for c in poll.choices)
    ]


# The query parameter holding each list's offset, and the part that shows the list.
PAGED_LISTS = {"queue": "queue", "waiting": "questions", "answered": "questions"}


def _offsets(query: QueryDict) -> dict[str, int]:
    offsets = {}
    for name in PAGED_LISTS:
        try:
            offsets[name] = max(0, int(query.get(name, "0")))
        except ValueError:
            offsets[name] = 0
    return offsets


def _part_url(hearing: Hearing, part: str, offsets: dict[str, int]) -> str:
    url = reverse("control_part", args=[hearing.pk, part])
    query = urlencode({name: offset for name, offset in offsets.items() if PAGED_LISTS[name] == part and offset})
    return f"{url}?{query}" if query else url


def _question_row(question: Question, items: dict[int, AgendaItemOut]) -> QuestionRow:
    parent = question.parent
    return QuestionRow(
        question=selectors.question_out(question, control=True),
        created=question.created_at,
        item=items.get(question.item_id) if question.item_id else None,
        parent=selectors.question_out(parent) if parent is not None else None,
    )


def _board(hearing: Hearing, query: QueryDict) -> Board:
    agenda = selectors.agenda_out(hearing.pk)
    items = {item.id: item for item in agenda}
    current = next((item for item in agenda if item.status == "current"), None)
    if current is not None:
        later = [item for item in agenda if item.position > current.position]
        next_item = later[0] if later else None
    else:
        next_item = next((item for item in agenda if item.status == "pending"), None)

    size = max(1, settings.CONTROL_PAGE_SIZE)
    counts = selectors.question_counts(hearing.pk)
    totals = {"queue": counts["pending"], "waiting": counts["approved"], "answered": counts["answered"]}
    # A page past the end (its last questions left) shows the last page there is.
    offsets = {
        name: min(offset - offset % size, max(0, totals[name] - 1) // size * size)
        for name, offset in _offsets(query).items()
    }
    read: dict[str, Callable[[int], list[Question]]] = {
        "queue": lambda offset: selectors.pending_page(hearing.pk, offset=offset, limit=size),
        "waiting": lambda offset: selectors.waiting_page(
            hearing.pk, current_item=current.id if current else None, offset=offset, limit=size
        ),
        "answered": lambda offset: selectors.answered_page(hearing.pk, offset=offset, limit=size),
    }
    pages = {}
    for name, offset in offsets.items():
        part = PAGED_LISTS[name]
        pages[name] = Page(
            rows=[_question_row(q, items) for q in read[name](offset)],
            offset=offset,
            size=size,
            total=totals[name],
            prev_url=_part_url(hearing, part, {**offsets, name: max(0, offset - size)}),
            next_url=_part_url(hearing, part, {**offsets, name: offset + size}),
        )
    on_stage = selectors.question_on_stage(hearing.pk)

    polls = [
        PollRow(poll, items.get(poll.item) if poll.item else None, poll_bars(poll))
        for poll in reversed(voting_selectors.polls_out(hearing.pk))
    ]
    drafts = voting_selectors.drafts_out(hearing.pk)
    return Board(
        hearing=hearing,
        agenda=agenda,
        departments=selectors.department_refs(),
        current=current,
        next_item=next_item,
        pending=pages["queue"],
        on_stage=_question_row(on_stage, items) if on_stage else None,
        waiting=pages["waiting"],
        answered=pages["answered"],
        polls=polls,
        open_poll=next((row for row in polls if row.poll.status == "open" and row.poll.closes_at is None), None),
        drafts=[PollRow(draft, items.get(draft.item) if draft.item else None) for draft in drafts],
        rejected=counts["rejected"],
        src={part: _part_url(hearing, part, offsets) for part in ("queue", "questions")},
    )


CONTROL_PARTS = {
    "hearing": "hearings/_control_hearing.html",
    "agenda": "hearings/_control_agenda.html",
    "queue": "hearings/_control_queue.html",
    "questions": "hearings/_control_questions.html",
    "polls": "hearings/_control_polls.html",
    "checkin": "hearings/_control_checkin.html",
    "audience": "hearings/_control_audience.html",
}


@login_required
@require_GET
@never_cache
def control_part(request: HttpRequest, hearing_id: int, part: str) -> HttpResponse:
    """One section of the control panel, fetched again when the socket says it changed."""
    template = CONTROL_PARTS.get(part)
    if template is None:
        raise Http404("no such part")
    hearing = _moderated_hearing(request, hearing_id)
    if part == "checkin":  # the board's own reads: the questions' are not needed
        return render(request, template, {"hearing": hearing, "checkin": _checkin_board(hearing)})
    if part == "audience":
        return render(request, template, {"hearing": hearing, "audience": audience_panel(hearing.pk)})
    return render(request, template, {"hearing": hearing, "board": _board(hearing, request.GET)})


@login_required
@require_GET
@never_cache
def control_question(request: HttpRequest, hearing_id: int, question_id: int) -> HttpResponse:
    """One question's card, as its list shows it: the panel adds a new question with it
    instead of fetching the whole list again."""
    hearing = _moderated_hearing(request, hearing_id)
    question = selectors.control_question(hearing.pk, question_id)
    if question is None or question.status == Question.Status.REJECTED:
        raise Http404("no such question")
    items = {item.id: item for item in selectors.agenda_out(hearing.pk)}
    pending = question.status == Question.Status.PENDING
    template = "hearings/_queue_question.html" if pending else "hearings/_control_question.html"
    return render(request, template, {"hearing": hearing, "row": _question_row(question, items)})


@login_required
@require_GET
@never_cache
def control_merge_targets(request: HttpRequest, hearing_id: int) -> HttpResponse:
    """The public questions a duplicate may merge into, matching what the moderator typed
    (text or id): at most settings.CONTROL_MERGE_MATCHES of them, as choices for the merge form."""
    hearing = _moderated_hearing(request, hearing_id)
    try:
        question = _optional_id(request.GET, "question")
    except BadRequest:
        question = None
    search = request.GET.get("q", "")[: limits.MERGE_SEARCH]
    matches = selectors.merge_targets(
        hearing.pk, search=search, exclude=question, limit=max(1, settings.CONTROL_MERGE_MATCHES)
    )
    context = {"question": question or 0, "matches": [selectors.question_out(q) for q in matches], "search": search}
    return render(request, "hearings/_merge_matches.html", context)


# ------------------------------------------------------------------------------- control actions


def _id(data: QueryDict, name: str) -> int:
    try:
        value = int(data.get(name, ""))
    except ValueError:
        value = 0
    if value < 1:
        raise BadRequest(gettext_lazy("请选择要操作的对象。"))
    return value


def _optional_id(data: QueryDict, name: str) -> int | None:
    return _id(data, name) if data.get(name) else None


@login_required
@require_POST
def control_action(request: HttpRequest, hearing_id: int, action: str) -> HttpResponse:
    """Run one moderator command (chamber/commands.py: the form validated by its model, then its
    service, as the control socket does); answer with its result or its error.

    htmx gets the `_action_result` fragment (the live socket then updates the panel);
    a plain form post is redirected back to the panel with the same message."""
    command = commands.for_slug(action)
    if command is None:
        raise Http404("no such action")
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    assert isinstance(request.user, AbstractBaseUser)  # login_required
    try:
        fields = commands.parse_form(command.model, request.POST)
        result = commands.execute(command.name, hearing_id=hearing.pk, by=request.user, fields=fields)
        message = command.message(result)
    except DomainError as exc:
        # The code's line and the refusal's sentence, in the moderator's language; the
        # code's HTTP status (core.errors.CODES).
        return _action_result(
            request, hearing, ok=False, message=exc.title, detail=exc.message, code=exc.code, status=exc.status
        )
    return _action_result(request, hearing, ok=True, message=message)


def _action_result(
    request: HttpRequest,
    hearing: Hearing,
    *,
    ok: bool,
    message: str,
    detail: str = "",
    code: str = "ok",
    status: int = 200,
) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        if ok:
            messages.success(request, message)
        elif detail:
            messages.error(request, _("%(title)s：%(reason)s") % {"title": message, "reason": detail})
        else:
            messages.error(request, message)
        return redirect("hearing_control", hearing.pk)
    context = {"ok": ok, "message": message, "detail": detail, "code": code}
    response = render(request, "hearings/_action_result.html", context, status=status)
    # Said by the answer itself, not left to the attributes the form inherits: the queue may
    # have been fetched again while the action was on its way, and htmx reads the swap style
    # from the (by then detached) form, which would nest the result inside the old one.
    return reswap(response, "outerHTML")
