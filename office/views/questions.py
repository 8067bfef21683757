"""/manage/hearings/<id>/questions/: the office's triage of a hearing's questions (问题分拣).

Every question of the hearing, a page at a time, filtered by category, source, status, agenda
item, flagged (sensitive words) or the hidden list (blocked viewers' asks); each pending or
approved one with its near-duplicates (hearings/duplicates.py: one index per request). Actions, each a POST
that one service decides (hearings.services): approve or reject the ticked questions (all or
nothing), assign them to an agenda item and a department, merge a duplicate in one click, hide
a public question with a reason, block the viewer who asked. The result shows as a message on
the same page and filters; a refusal changed nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from core.errors import BadRequest, DomainError
from core.text import row_id
from hearings import selectors, services
from hearings.duplicates import DuplicateIndex
from hearings.models import AgendaItem, Department, Hearing, Question
from office.access import staff_required

PAGE_SIZE = 50
# The rows that show their near-duplicates: those still waiting to be asked.
SUGGESTED_FOR = (Question.Status.PENDING, Question.Status.APPROVED)
FILTERS = ("category", "source", "status", "item", "flagged", "hidden")


def _filtered(hearing: Hearing, params: QueryDict) -> QuerySet[Question]:
    qs = Question.objects.filter(hearing=hearing, merged_into__isnull=True)
    qs = qs.filter(dropped=params.get("hidden") == "1")
    category = params.get("category", "")
    if category == "none":
        qs = qs.filter(category="")
    elif category:
        qs = qs.filter(category=category)
    if params.get("source") in Question.Source.values:
        qs = qs.filter(source=params["source"])
    if params.get("status") in Question.Status.values:
        qs = qs.filter(status=params["status"])
    item = params.get("item", "")
    if item == "none":
        qs = qs.filter(item__isnull=True)
    elif (item_id := row_id(item)) is not None:
        qs = qs.filter(item_id=item_id)
    if params.get("flagged") == "1":
        qs = qs.exclude(Q(sensitive_words=[]) | Q(sensitive_words__isnull=True))
    return qs.select_related("asker__person", "item", "department").order_by("id")


def _query(params: QueryDict) -> str:
    kept = {name: params[name] for name in (*FILTERS, "page") if params.get(name)}
    return urlencode(kept)


@staff_required
@require_GET
def questions_page(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    page = Paginator(_filtered(hearing, request.GET), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    open_rows = [q.pk for q in rows if q.status in SUGGESTED_FOR and not q.dropped]
    similar = DuplicateIndex(hearing.pk).for_each(open_rows) if open_rows else {}
    filters = {name: request.GET.get(name, "") for name in FILTERS}
    context: dict[str, Any] = {
        "hearing": hearing,
        "page": page,
        "rows": [{"q": q, "asker": selectors.question_asker(q), "similar": similar.get(q.pk, [])} for q in rows],
        "filters": filters,
        "query": _query(request.GET),
        "paging": urlencode({k: v for k, v in filters.items() if v}),
        "categories": hearing.categories,
        "sources": Question.Source.choices,
        "statuses": Question.Status.choices,
        "items": AgendaItem.objects.filter(hearing=hearing).order_by("position"),
        "departments": Department.objects.order_by("id"),
        "counts": selectors.question_counts(hearing.pk),
        "dropped": Question.objects.filter(hearing=hearing, merged_into__isnull=True, dropped=True).count(),
    }
    return render(request, "office/questions.html", context)


# ------------------------------------------------------------------------------- actions


def _id(data: QueryDict, name: str) -> int:
    number = row_id(data.get(name, ""))
    if number is None:
        raise BadRequest(gettext_lazy("请选择要操作的对象。"))
    return number


def _ids(data: QueryDict) -> list[int]:
    numbers = [row_id(v) for v in data.getlist("questions")]
    if None in numbers:
        raise BadRequest(gettext_lazy("请选择要操作的对象。"))
    return [n for n in numbers if n is not None]


def _choice(data: QueryDict, name: str) -> Any:
    """An assign form's select: "" keeps, "none" takes away, an id sets."""
    value = data.get(name, "")
    if value == "":
        return services.UNCHANGED
    if value == "none":
        return None
    return _id(data, name)


def _approve(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    done = services.questions_approve(hearing_id=hearing.pk, question_ids=_ids(data), by=by)
    return ngettext("已通过 %(n)s 个问题。", "已通过 %(n)s 个问题。", len(done)) % {"n": len(done)}


def _reject(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    done = services.questions_reject(hearing_id=hearing.pk, question_ids=_ids(data), by=by)
    return ngettext("%(n)s 个问题未采用。", "%(n)s 个问题未采用。", len(done)) % {"n": len(done)}


def _assign(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    done = services.question_assign(
        hearing_id=hearing.pk,
        question_ids=_ids(data),
        item_id=_choice(data, "item"),
        department_id=_choice(data, "department"),
        by=by,
    )
    return ngettext("已分配 %(n)s 个问题。", "已分配 %(n)s 个问题。", len(done)) % {"n": len(done)}


def _merge(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    kept = services.question_merge(
        hearing_id=hearing.pk, question_id=_id(data, "question"), into_id=_id(data, "into"), by=by
    )
    return _("已合并到 #%(id)s，提问人：%(asker)s，点赞 %(likes)s。") % {
        "id": kept.pk,
        "asker": selectors.question_asker(kept),
        "likes": kept.likes,
    }


def _hide(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    question = services.question_hide(
        hearing_id=hearing.pk, question_id=_id(data, "question"), reason=data.get("reason", ""), by=by
    )
    return _("已撤下 #%(id)s，公众不再看到它。") % {"id": question.pk}


def _block(hearing: Hearing, data: QueryDict, by: AbstractBaseUser) -> str:
    question_id = _id(data, "question")
    services.viewer_block(hearing_id=hearing.pk, question_id=question_id, reason=data.get("reason", ""), by=by)
    return _("已屏蔽 #%(id)s 的提问人：其以后的提问进入隐藏列表。") % {"id": question_id}


ACTIONS: dict[str, Callable[[Hearing, QueryDict, AbstractBaseUser], str]] = {
    "approve": _approve,
    "reject": _reject,
    "assign": _assign,
    "merge": _merge,
    "hide": _hide,
    "block": _block,
}


@staff_required
@require_POST
def questions_action(request: HttpRequest, hearing_id: int, action: str) -> HttpResponse:
    run = ACTIONS.get(action)
    if run is None:
        raise Http404("no such triage action")
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    assert isinstance(request.user, AbstractBaseUser)  # staff_required
    try:
        messages.success(request, run(hearing, request.POST, request.user))
    except DomainError as exc:
        messages.error(request, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message})
    back = reverse("manage_questions", args=[hearing.pk])
    query = _query(QueryDict(request.POST.get("back", "")))
    return redirect(f"{back}?{query}" if query else back)


urlpatterns: list[URLPattern] = [
    path("hearings/<int:hearing_id>/questions/", questions_page, name="manage_questions"),
    path("hearings/<int:hearing_id>/questions/do/<slug:action>/", questions_action, name="manage_questions_action"),
]
