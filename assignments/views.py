"""Pages: public progress, the liaison's and deputy's inbox, the moderator's assigning page, exports.

Thin: read through selectors, change through services; a refused change comes back as a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from assignments import exports, selectors, services
from assignments.models import OPEN_STATUSES, Assignment, Attachment, Notice, Rating, ReviewOutcome, Status, Verdict
from assignments.services.transitions import FROM_ASSIGNMENT
from assignments.workdays import add_working_days, years_reachable, years_without_data, years_without_data_in
from assignments.workflow import Transition
from audit import chain as audit_chain
from core.errors import BadRequest, DomainError
from hearings import selectors as hearing_selectors
from hearings.labels import list_separator
from hearings.models import Department, Hearing


def _int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _filters(request: HttpRequest) -> dict[str, Any]:
    status = request.GET.get("status") or None
    overdue = request.GET.get("overdue")
    return {
        "hearing": _int(request.GET.get("hearing")),
        "department": _int(request.GET.get("department")),
        "status": status if status in Status.values else None,
        "overdue": True if overdue in ("1", "true", "on") else None,
        "lead": request.GET.get("lead") in ("1", "true", "on"),
    }


def _rows(assignments: Iterable[Assignment]) -> list[tuple[Assignment, bool]]:
    today = timezone.localdate()
    return [(a, selectors.is_overdue(a, today=today)) for a in assignments]


def assignment_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    qs = selectors.with_details(selectors.assignments_filtered(**filters))
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "assignments/list.html",
        {
            "page": page,
            "rows": _rows(page),
            "filters": filters,
            "query": query.urlencode(),
            "hearings": Hearing.objects.filter(assignments__isnull=False).distinct(),
            "departments": Department.objects.all(),
            "statuses": Status.choices,
            "audit_head": audit_chain.head(),
        },
    )


# The detail page's forms that give a due date in working days.
_WORKING_DAY_FORMS = {"reassign", "reopen", "review"}


def _detail_holiday_gaps(assignment: Assignment, user_roles: set[str], actions: list[Transition]) -> list[int]:
    """For the liaison and the moderator: the due date's year, when it has no holiday data, and
    any such year a new due date from the page's forms could reach."""
    if not user_roles & {"liaison", "moderator"}:
        return []
    years = {assignment.due_date.year} if assignment.status in OPEN_STATUSES else set()
    if any(action.name in _WORKING_DAY_FORMS for action in actions):
        years |= set(years_reachable(timezone.localdate(), services.MAX_WORKING_DAYS))
    return years_without_data_in(years)


def assignment_detail(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_object_or_404(selectors.with_details(Assignment.objects.all()), pk=assignment_id)
    user_roles = selectors.roles(assignment, request.user)
    actions = selectors.available_actions(assignment, request.user)
    context = {
        # 双向评议: the department's rating of the question is not public (docs/assignments.md).
        "show_rating": selectors.may_see_rating(assignment, request.user, user_roles),
        "may_plan_review": "moderator" in user_roles,
        "ratings": Rating.choices,
        "review_months_max": services.MAX_REVIEW_MONTHS,
        "assignment": assignment,
        "overdue": selectors.is_overdue(assignment),
        "questions": assignment.questions.select_related("asker__person").order_by("id"),
        "timeline": selectors.public_timeline(assignment),
        "roles": user_roles,
        "actions": actions,
        "holiday_gaps": _detail_holiday_gaps(assignment, user_roles, actions),
        "show_internal": bool(user_roles & {"liaison", "moderator"}),
        "verdicts": Verdict.choices,
        "default_days": services.DEFAULT_WORKING_DAYS,
        "outcomes": ReviewOutcome.choices,
        "departments": Department.objects.all(),
    }
    return render(request, "assignments/detail.html", context)


def attachment_download(request: HttpRequest, assignment_id: int, attachment_id: int) -> FileResponse:
    attachment = get_object_or_404(Attachment, pk=attachment_id, assignment_id=assignment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("file missing") from None
    return FileResponse(handle, as_attachment=True, filename=attachment.name)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Liaisons: their departments' items; deputies: their questions'; moderators: their hearings'."""
    user = request.user
    assert user.is_authenticated
    led = selectors.inbox_for(user)
    asked = selectors.asked_by(user)
    moderated = selectors.moderated_by(user)
    if not (selectors.liaison_department_ids(user) or asked.exists() or moderated.exists()):
        raise PermissionDenied("no assignments for you")
    notices = Notice.objects.filter(user_id=user.pk).select_related("assignment")[:20]
    unread = Notice.objects.filter(user_id=user.pk, read_at__isnull=True).count()
    return render(
        request,
        "assignments/inbox.html",
        {
            "led": _rows(led),
            "asked": _rows(asked),
            "moderated": _rows(moderated),
            "departments": Department.objects.filter(pk__in=selectors.liaison_department_ids(user)),
            # Due dates in a year with no holiday data count Monday to Friday only.
            "holiday_gaps": years_without_data(led.filter(status__in=OPEN_STATUSES).dates("due_date", "year")),
            "notices": notices,
            "unread": unread,
        },
    )


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    assert request.user.is_authenticated
    services.notice_read_all(user=request.user)
    return redirect("assignment_inbox")


def holiday_gap_text(year: int) -> str:
    """The warning for a due date in a year with no holiday data (as _holiday_gaps.html says it)."""
    return _("%(year)s 年的节假日安排尚未录入，期限按周一至周五计算，可能不准确。") % {"year": str(year)}


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(gettext_lazy("期限不是有效的日期。")) from None


def _due(request: HttpRequest) -> dict[str, Any]:
    """working_days or due_date from a form (a date wins when both are filled)."""
    due_date = _date(request.POST.get("due_date"))
    if due_date is not None:
        return {"due_date": due_date, "working_days": None}
    days = request.POST.get("working_days")
    if not days:
        return {"due_date": None, "working_days": None}
    try:
        return {"due_date": None, "working_days": int(days)}
    except ValueError:
        raise BadRequest(gettext_lazy("办理时限须为整数。")) from None


def _ids(values: list[str]) -> list[int]:
    ids = [_int(value) for value in values]
    if any(i is None for i in ids):
        raise BadRequest(gettext_lazy("选择无效，请重新选择。"))
    return [i for i in ids if i is not None]


def _review_months(value: str | None, *, keep: bool = False) -> Any:
    """A form's 回头看 interval: a number of months, "none" (no 回头看); empty: none, or with
    `keep` the assignment's own."""
    value = (value or "").strip()
    if not value:
        return FROM_ASSIGNMENT if keep else None
    if value == "none":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 3:  # "²".isdigit(), yet int() refuses it
        raise BadRequest(gettext_lazy("回头看间隔须为整数（月）。"))
    return int(value)


Act = Callable[[HttpRequest, int, Any], object]

ACTIONS: dict[str, Act] = {
    "accept": lambda r, pk, by: services.assignment_accept(assignment_id=pk, by=by, note=r.POST.get("note", "")),
    "return": lambda r, pk, by: services.assignment_return(
        assignment_id=pk, by=by, reason=r.POST.get("reason", ""), internal_note=r.POST.get("internal_note", "")
    ),
    "progress": lambda r, pk, by: services.assignment_progress(
        assignment_id=pk, by=by, note=r.POST.get("note", ""), internal_note=r.POST.get("internal_note", "")
    ),
    # The page asks for the department's rating (双向评议); the REST API leaves it optional.
    "reply": lambda r, pk, by: services.assignment_reply(
        assignment_id=pk,
        by=by,
        text=r.POST.get("text", ""),
        files=r.FILES.getlist("files"),
        internal_note=r.POST.get("internal_note", ""),
        science=r.POST.get("science", ""),
        feasibility=r.POST.get("feasibility", ""),
        comment=r.POST.get("comment", ""),
        rating_required=True,
    ),
    "request_extension": lambda r, pk, by: services.assignment_request_extension(
        assignment_id=pk, by=by, due_date=_date(r.POST.get("due_date")), reason=r.POST.get("reason", "")
    ),
    "decide_extension": lambda r, pk, by: services.assignment_decide_extension(
        assignment_id=pk, by=by, approve=r.POST.get("approve") == "1", note=r.POST.get("note", "")
    ),
    "reassign": lambda r, pk, by: services.assignment_reassign(
        assignment_id=pk,
        by=by,
        lead_department_id=_int(r.POST.get("lead_department")) or 0,
        co_department_ids=_ids(r.POST.getlist("co_departments")),
        note=r.POST.get("note", ""),
        **_due(r),
    ),
    "reopen": lambda r, pk, by: services.assignment_reopen(
        assignment_id=pk, by=by, note=r.POST.get("note", ""), **_due(r)
    ),
    "close": lambda r, pk, by: services.assignment_close(
        assignment_id=pk,
        by=by,
        resolved={"1": True, "0": False}.get(r.POST.get("resolved", "")),
        note=r.POST.get("note", ""),
        review_months=_review_months(r.POST.get("review_months"), keep=True),
    ),
    "review": lambda r, pk, by: services.assignment_review(
        assignment_id=pk, by=by, outcome=r.POST.get("outcome", ""), note=r.POST.get("note", ""), **_due(r)
    ),
    "evaluate": lambda r, pk, by: services.assignment_evaluate(
        assignment_id=pk, by=by, verdict=r.POST.get("verdict", ""), comment=r.POST.get("comment", "")
    ),
}


@login_required
@require_POST
def assignment_act(request: HttpRequest, assignment_id: int, action: str) -> HttpResponse:
    """One transition from a form; the service checks who may do it."""
    act = ACTIONS.get(action)
    if act is None:
        raise Http404("no such action")
    return _done(request, assignment_id, lambda: act(request, assignment_id, request.user))


def _done(request: HttpRequest, assignment_id: int, change: Callable[[], object]) -> HttpResponse:
    """Make the change; back to the assignment, or to the 回头看 list the form came from."""
    back = (
        redirect("assignment_reviews")
        if request.POST.get("next") == "reviews"
        else redirect("assignment_detail", assignment_id=assignment_id)
    )
    try:
        change()
    except DomainError as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from None
        if exc.code == "forbidden":
            raise PermissionDenied(exc.message) from None
        messages.error(request, _("未能完成：%(reason)s") % {"reason": exc.message})
        return back
    messages.success(request, _("已保存。"))
    return back


@login_required
@require_POST
def assignment_review_plan(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """A moderator sets the 回头看: the interval after closing, or the date of a due one."""
    user = request.user
    assert user.is_authenticated
    return _done(
        request,
        assignment_id,
        lambda: services.assignment_set_review(
            assignment_id=assignment_id,
            by=user,
            months=_review_months(request.POST.get("review_months")),
            due_date=_date(request.POST.get("review_due")),
        ),
    )


@login_required
def assignment_reviews(request: HttpRequest) -> HttpResponse:
    """回头看 due: the moderator's hearings' closed assignments whose review falls within a few
    working days, overdue first, each with the form to record it (office staff see all)."""
    user = request.user
    assert user.is_authenticated
    moderated = list(Hearing.objects.filter(moderators__id=user.pk).values_list("pk", flat=True))
    staff = hearing_selectors.is_office_staff(user)
    if not (moderated or staff):
        raise PermissionDenied("moderators and office staff only")
    today = timezone.localdate()
    horizon = add_working_days(today, selectors.REVIEW_SOON_WORKING_DAYS)
    due = selectors.reviews_due(horizon=horizon, hearing_ids=None if staff else moderated)
    rows = [(a, a.review_due is not None and a.review_due < today, a.hearing_id in moderated) for a in due]
    return render(
        request,
        "assignments/reviews.html",
        {
            "rows": rows,
            "horizon": horizon,
            "soon": selectors.REVIEW_SOON_WORKING_DAYS,
            "outcomes": ReviewOutcome.choices,
            "default_days": services.DEFAULT_WORKING_DAYS,
        },
    )


def _chosen_departments(request: HttpRequest, question_ids: list[int]) -> dict[int, int]:
    """The batch form's lead department per question (`department-<question id>`), where chosen."""
    chosen = {}
    for pk in question_ids:
        value = request.POST.get(f"department-{pk}")
        if value:
            department = _int(value)
            if department is None:
                raise BadRequest(gettext_lazy("选择无效，请重新选择。"))
            chosen[pk] = department
    return chosen


@login_required
def assignment_new(request: HttpRequest) -> HttpResponse:
    """The moderator turns the question list into assignments: answered questions (现场答复) and,
    once the hearing ended, the ones it never answered (书面答复), one each or grouped as one;
    or the leftovers in one batch, each to its own department."""
    hearing = get_object_or_404(Hearing, pk=_int(request.GET.get("hearing") or request.POST.get("hearing")) or 0)
    if not hearing_selectors.is_moderator(hearing, request.user):
        raise PermissionDenied("moderators only")
    if request.method == "POST":
        user = request.user
        assert user.is_authenticated
        skipped: list[int] = []
        try:
            question_ids = _ids(request.POST.getlist("questions"))
            common: dict[str, Any] = {
                "hearing_id": hearing.pk,
                "question_ids": question_ids,
                "lead_department_id": _int(request.POST.get("lead_department")) or 0,
                "co_department_ids": _ids(request.POST.getlist("co_departments")),
                "by": request.user,
                **_due(request),
            }
            if request.POST.get("mode") == "batch":
                result = services.leftovers_assign(
                    hearing_id=hearing.pk,
                    question_ids=question_ids,
                    departments=_chosen_departments(request, question_ids),
                    by=user,
                    **_due(request),
                )
                made, skipped = result.created, result.skipped
            elif request.POST.get("mode") == "each":
                made = services.assignments_create_each(**common)
            else:
                made = [
                    services.assignment_create(
                        **common, title=request.POST.get("title", ""), commitment=request.POST.get("commitment", "")
                    )
                ]
        except DomainError as exc:
            messages.error(request, _("未能交办：%(reason)s") % {"reason": exc.message})
        else:
            ids = list_separator().join(f"#{a.pk}" for a in made)
            text = ngettext("已生成 %(n)s 件交办件：%(ids)s", "已生成 %(n)s 件交办件：%(ids)s", len(made))
            messages.success(request, text % {"n": len(made), "ids": ids})
            for year in years_without_data(a.due_date for a in made):
                messages.warning(request, holiday_gap_text(year))
            if skipped:
                numbers = list_separator().join(f"#{pk}" for pk in skipped)
                messages.info(request, _("已交办过、本次跳过的问题：%(numbers)s") % {"numbers": numbers})
            return redirect(f"{request.path}?hearing={hearing.pk}")
    assignable = selectors.assignable_questions(hearing)
    return render(
        request,
        "assignments/new.html",
        {
            "hearing": hearing,
            "questions": assignable,
            "leftovers": [row for row in assignable if row.written],
            "departments": Department.objects.all(),
            "default_days": services.DEFAULT_WORKING_DAYS,
            "default_due": add_working_days(timezone.localdate(), services.DEFAULT_WORKING_DAYS),
            "holiday_gaps": years_without_data_in(years_reachable(timezone.localdate(), services.MAX_WORKING_DAYS)),
            "made": selectors.with_details(Assignment.objects.filter(hearing=hearing)).order_by("id"),
        },
    )


def export_assignments(request: HttpRequest, fmt: str) -> HttpResponse:
    qs = selectors.with_details(selectors.assignments_filtered(**_filters(request)))
    return exports.assignments_response(qs, fmt=fmt)


def export_questions(request: HttpRequest, hearing_id: str, fmt: str) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=_int(hearing_id) or 0)
    return exports.questions_response(hearing, fmt=fmt)
