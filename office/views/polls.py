"""/manage/hearings/<id>/polls/: the polls the office prepares (会前准备) and the window polls it
runs (现场或事后: after the hearing, or an annual 评议 round with no live hearing at all).

The page lists the hearing's polls: drafts (the moderator opens them from the control panel,
or the office gives them a window here), window polls with their times and N of M voted, and
the closed and published ones. Its form prepares one: a satisfaction poll, a sheet (rows:
departments, or department × aspect) or a select (candidates one per line or as a small table).

Thin: the form parses the post into one call of voting.services (poll_prepare, poll_schedule,
poll_discard, poll_close, poll_publish), which decides and audits; a refusal is shown with the
input kept and nothing stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from chamber import services as chamber_services
from core import limits
from core.errors import BadRequest, DomainError, NotFound
from core.text import CleanTextField
from hearings.models import AgendaItem, Department, Hearing
from live.schema import PollOut
from office.access import staff_required
from voting import selectors, services
from voting.models import DEFAULT_CHOICES, Poll

_MINUTE = "%Y-%m-%dT%H:%M"
# The scales the form offers: the 3-level default and the 5-level one many congresses use.
FIVE_LEVEL = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
SCALES = {"three": DEFAULT_CHOICES, "five": FIVE_LEVEL}
# A textarea holds at most this many characters (a long candidate table fits).
TEXT_MAX = 20_000
# A candidate line's fields: label, department, budget (万元), note; tab (pasted from a
# spreadsheet) or a bar between them.
_FIELD_SEPARATOR = re.compile(r"\t|\||｜")
_NUMBER_SEPARATOR = re.compile(r"[\s,，、;；/]+")


class _When(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=_MINUTE)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class PollForm(forms.Form):
    """A poll as the office prepares it; voting.services.poll_prepare checks it again and decides."""

    kind = forms.ChoiceField(
        label=gettext_lazy("类型"), choices=Poll.Kind.choices, initial=Poll.Kind.SHEET, widget=forms.RadioSelect
    )
    title = CleanTextField(
        label=gettext_lazy("标题"),
        max_length=limits.POLL_TITLE,
        required=False,
        multiline=False,
        help_text=gettext_lazy("留空则按议程或会议自动命名。"),
    )
    item = forms.TypedChoiceField(label=gettext_lazy("议程"), coerce=int, required=False, empty_value=None)
    ballot = forms.ChoiceField(
        label=gettext_lazy("投票方式"),
        choices=[("secret", gettext_lazy("无记名")), ("named", gettext_lazy("记名"))],
        initial="secret",
        widget=forms.RadioSelect,
    )
    departments = forms.TypedMultipleChoiceField(
        label=gettext_lazy("测评的部门"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    aspects = CleanTextField(
        label=gettext_lazy("测评的方面（可选）"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "应询态度\n回答质量\n整改措施"}),
        help_text=gettext_lazy("每行一个；每个部门的每个方面各为一项，如「县住建局·应询态度」。"),
    )
    scale = forms.ChoiceField(
        label=gettext_lazy("测评选项"),
        choices=[
            ("three", "满意 / 基本满意 / 不满意"),
            ("five", " / ".join(FIVE_LEVEL)),
            ("custom", gettext_lazy("自定义")),
        ],
        initial="three",
        required=False,  # none posted: the 3-level default
        widget=forms.RadioSelect,
    )
    custom_choices = CleanTextField(
        label=gettext_lazy("自定义选项"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("每行一个，从好到差。"),
    )
    weights = CleanTextField(
        label=gettext_lazy("分值（可选）"),
        max_length=200,
        required=False,
        multiline=False,
        help_text=gettext_lazy("按选项的顺序，每个选项一个数，用空格分开，如 100 80 60 0。"),
    )
    candidates = CleanTextField(
        label=gettext_lazy("候选项"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "每行一个；也可以从表格粘贴，各列依次为：名称、部门、预算（万元）、说明，用 Tab 或 | 分开。"
        ),
    )
    min_picks = forms.IntegerField(
        label=gettext_lazy("至少选"), required=False, min_value=1, max_value=limits.POLL_CANDIDATES
    )
    max_picks = forms.IntegerField(
        label=gettext_lazy("至多选"), required=False, min_value=1, max_value=limits.POLL_CANDIDATES
    )
    choose = forms.IntegerField(
        label=gettext_lazy("入选数量"), required=False, min_value=1, max_value=limits.POLL_CANDIDATES
    )
    opens_at = forms.DateTimeField(label=gettext_lazy("开始投票"), required=False, widget=_When())
    closes_at = forms.DateTimeField(label=gettext_lazy("截止投票"), required=False, widget=_When())

    def __init__(self, hearing: Hearing, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = AgendaItem.objects.filter(hearing=hearing).order_by("position", "pk")
        self.fields["item"].choices = [("", _("（不挂在议程上）")), *((i.pk, i.title) for i in items)]  # type: ignore[attr-defined]
        self.fields["departments"].choices = list(  # type: ignore[attr-defined]
            Department.objects.order_by("pk").values_list("pk", "name")
        )


class ScheduleForm(forms.Form):
    """A draft's window: from when to when the hearing's deputies vote on their own devices."""

    opens_at = forms.DateTimeField(label=gettext_lazy("开始投票"), required=False, widget=_When())
    closes_at = forms.DateTimeField(label=gettext_lazy("截止投票"), required=False, widget=_When())


# ------------------------------------------------------------------------------- parsing


def _choices(data: dict[str, Any]) -> list[str] | None:
    """The scale: None for the 3-level default (the service's), else its lines."""
    if data["scale"] in ("", "three"):
        return None
    if data["scale"] == "five":
        return list(FIVE_LEVEL)
    return _lines(data["custom_choices"])


def _weights(text: str, choices: list[str]) -> dict[str, float] | None:
    """'100 80 60 0' → {choice: 100, ...}, one number per choice in order."""
    if not text.strip():
        return None
    numbers = [part for part in _NUMBER_SEPARATOR.split(text.strip()) if part]
    try:
        values = [float(part) for part in numbers]
    except ValueError:
        raise BadRequest(_("分值须是数字。")) from None
    if len(values) != len(choices) or not all(abs(v) < limits.POLL_WEIGHT for v in values):
        raise BadRequest(_("分值须是 %(n)s 个数，每个选项一个。"), n=len(choices))
    return dict(zip(choices, values, strict=True))


def _sheet_rows(department_ids: list[int], aspects: list[str]) -> list[services.OptionSpec]:
    """Department × aspect ("部门·方面"), departments alone, or aspects alone. No more than one
    row beyond the service's limit is built: the service refuses with its own message."""
    names = dict(Department.objects.filter(pk__in=department_ids).values_list("pk", "name"))
    departments = [(pk, names.get(pk, "")) for pk in department_ids]

    def all_rows() -> Any:
        if departments and aspects:
            for pk, name in departments:
                for aspect in aspects:
                    yield services.OptionSpec(f"{name}·{aspect}", pk)
        elif departments:
            for pk, name in departments:
                yield services.OptionSpec(name, pk)
        else:
            for aspect in aspects:
                yield services.OptionSpec(aspect)

    return list(islice(all_rows(), limits.POLL_ROWS + 1))


def _department_named(name: str, line: int) -> int | None:
    if not name:
        return None
    found = Department.objects.filter(name=name).values_list("pk", flat=True).first()
    if found is None:
        found = Department.objects.filter(short_name=name).values_list("pk", flat=True).first()
    if found is None:
        raise NotFound(_("第 %(line)s 行：找不到部门「%(name)s」。"), line=line, name=name)
    return found


def _budget(text: str, line: int) -> Decimal | None:
    text = text.replace(",", "").replace("，", "").removesuffix("万元").removesuffix("万").strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise BadRequest(_("第 %(line)s 行：预算「%(text)s」不是数。"), line=line, text=text) from None


def _candidates(text: str) -> list[services.OptionSpec]:
    """One candidate per line: a label, or label, department, budget (万元), note."""
    candidates = []
    lines = [line for line in text.splitlines() if line.strip()]
    for n, line in enumerate(islice(lines, limits.POLL_CANDIDATES + 1), start=1):
        fields = [field.strip() for field in _FIELD_SEPARATOR.split(line)]
        if len(fields) > 4:
            raise BadRequest(_("第 %(line)s 行：最多四列（名称、部门、预算、说明）。"), line=n)
        label, department, budget, note = [*fields, "", "", ""][:4]
        candidates.append(services.OptionSpec(label, _department_named(department, n), _budget(budget, n), note))
    return candidates


def poll_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The form's cleaned data as poll_prepare's arguments; the fields of other kinds are left out."""
    kind = data["kind"]
    fields: dict[str, Any] = {
        "kind": kind,
        "title": data["title"],
        "item_id": data["item"],
        "secret": data["ballot"] == "secret",
        "opens_at": data["opens_at"],
        "closes_at": data["closes_at"],
    }
    if kind != Poll.Kind.SELECT:
        choices = _choices(data)
        fields["choices"] = choices
        fields["weights"] = _weights(data["weights"], choices if choices is not None else list(DEFAULT_CHOICES))
    if kind == Poll.Kind.SHEET:
        fields["rows"] = _sheet_rows(data["departments"], _lines(data["aspects"]))
    elif kind == Poll.Kind.SELECT:
        fields["candidates"] = _candidates(data["candidates"])
        fields |= {"min_picks": data["min_picks"], "max_picks": data["max_picks"], "choose": data["choose"]}
    return fields


# ------------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class PollRow:
    poll: Poll
    out: PollOut
    phase: str  # draft, upcoming, open (a window poll taking ballots), live, closed, published
    options: list[str]  # a sheet's rows or a select's candidates, as labels


def _phase(poll: Poll, now: datetime) -> str:
    if poll.status == Poll.Status.OPEN:
        if not poll.is_window:
            return "live"
        return "upcoming" if poll.opens_at is not None and now < poll.opens_at else "open"
    return str(poll.status)


def _rows(hearing: Hearing) -> list[PollRow]:
    now = timezone.now()
    polls = Poll.objects.filter(hearing=hearing).select_related("item").order_by("pk")
    return [
        PollRow(poll, selectors.poll_out(poll), _phase(poll, now), [o.label for o in selectors.poll_options(poll)])
        for poll in polls
    ]


def _page(
    request: HttpRequest,
    hearing: Hearing,
    form: PollForm,
    *,
    status: int = 200,
    failed: int | None = None,
    failure: str = "",
    schedule: ScheduleForm | None = None,
) -> HttpResponse:
    services.close_due_polls(hearing_id=hearing.pk)  # a window poll past its time shows closed
    context = {
        "hearing": hearing,
        "form": form,
        "rows": _rows(hearing),
        "failed": failed,  # the poll whose action was refused, with `failure` and its input kept
        "failure": failure,
        "schedule": schedule or ScheduleForm(),
        "live": hearing.status == Hearing.Status.LIVE,
    }
    return render(request, "office/polls.html", context, status=status)


@staff_required
def manage_polls(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if request.method != "POST":
        return _page(request, hearing, PollForm(hearing))
    assert isinstance(request.user, AbstractBaseUser)  # staff_required
    form = PollForm(hearing, request.POST)
    status = 400
    if form.is_valid():
        try:
            poll = services.poll_prepare(hearing_id=hearing.pk, by=request.user, **poll_fields(form.cleaned_data))
        except DomainError as error:
            form.add_error(None, error.message)
            status = 400 if isinstance(error, NotFound) else error.status  # a department named wrong
        else:
            if poll.status == Poll.Status.DRAFT:
                messages.success(request, _("已准备测评「%(title)s」。") % {"title": poll.title})
            else:
                messages.success(request, _("已设定测评「%(title)s」的投票时间。") % {"title": poll.title})
            return redirect("manage_polls", hearing.pk)
    return _page(request, hearing, form, status=status)


ACTIONS = ("schedule", "discard", "close", "publish")


@staff_required
@require_POST
def manage_poll_action(request: HttpRequest, hearing_id: int, poll_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("no such poll action")
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    assert isinstance(request.user, AbstractBaseUser)  # staff_required
    schedule = ScheduleForm(request.POST) if action == "schedule" else None
    try:
        if action == "schedule":
            assert schedule is not None
            if not schedule.is_valid():
                raise BadRequest(_("请按「年-月-日 时:分」填写投票时间。"))
            data = schedule.cleaned_data
            poll = services.poll_schedule(
                hearing_id=hearing.pk,
                poll_id=poll_id,
                opens_at=data["opens_at"],
                closes_at=data["closes_at"],
                by=request.user,
            )
            text = _("「%(title)s」将由代表在自己的设备上投票。") % {"title": poll.title}
        elif action == "discard":
            services.poll_discard(hearing_id=hearing.pk, poll_id=poll_id, by=request.user)
            text = _("已删除这项测评。")
        elif action == "close":
            poll = services.poll_close(hearing_id=hearing.pk, poll_id=poll_id, by=request.user)
            text = _("「%(title)s」已结束投票。") % {"title": poll.title}
        else:
            # chamber's: a select poll's chosen candidates become 民生实事 projects (docs/projects.md)
            poll = chamber_services.poll_publish(hearing_id=hearing.pk, poll_id=poll_id, by=request.user)
            text = _("「%(title)s」的结果已公布。") % {"title": poll.title}
    except NotFound as error:
        raise Http404(error.message) from None
    except DomainError as error:
        return _page(
            request,
            hearing,
            PollForm(hearing),
            status=error.status,
            failed=poll_id,
            failure=error.message,
            schedule=schedule,
        )
    messages.success(request, text)
    return redirect("manage_polls", hearing.pk)


urlpatterns = [
    path("hearings/<int:hearing_id>/polls/", manage_polls, name="manage_polls"),
    path(
        "hearings/<int:hearing_id>/polls/<int:poll_id>/<slug:action>/",
        manage_poll_action,
        name="manage_poll_action",
    ),
]
