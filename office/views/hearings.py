"""The office's hearing pages: the list, a new hearing, one hearing's overview with its edit
form, its roster (deputies and moderators) and its replay (the recording's URL and start), and
copying a hearing.

Thin: a Django form parses the post (types, a date and time, a number), one service call
decides and changes (hearings.services: hearing_create, hearing_update, hearing_copy,
hearing_set_roster, hearing_set_replay); a refusal is shown on the page with its status and nothing changed."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import limits
from core.errors import BadRequest, DomainError, Forbidden, NotFound
from core.text import CleanTextField
from hearings import services
from hearings.models import Hearing, Person
from hearings.services.hearing import STREAM_URL_MAX, THEME_MAX, TITLE_MAX, VENUE_MAX, VOD_URL_MAX
from office.access import staff_required

_MINUTE = "%Y-%m-%dT%H:%M"


class _When(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=_MINUTE)


class CategoriesField(forms.CharField):
    """The question categories, one a line: a list of the non-blank lines, trimmed (the service
    checks each one, their number and that they are distinct)."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list | tuple) else value


class HearingForm(forms.Form):
    """A hearing's set-up as the page posts it; the service checks it again and decides."""

    title = CleanTextField(label=gettext_lazy("标题"), max_length=TITLE_MAX, multiline=False)
    kind = forms.ChoiceField(label=gettext_lazy("会议类型"), choices=Hearing.Kind.choices)
    theme = CleanTextField(label=gettext_lazy("主题"), max_length=THEME_MAX, required=False, multiline=False)
    venue = CleanTextField(label=gettext_lazy("地点"), max_length=VENUE_MAX, required=False, multiline=False)
    starts_at = forms.DateTimeField(label=gettext_lazy("开始时间"), widget=_When())
    ends_at = forms.DateTimeField(label=gettext_lazy("计划结束时间"), required=False, widget=_When())
    stream_url = forms.CharField(
        label=gettext_lazy("直播地址 (HLS)"),
        max_length=STREAM_URL_MAX,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    quorum_percent = forms.IntegerField(
        label=gettext_lazy("法定人数 (%)"),
        min_value=limits.QUORUM_PERCENT_MIN,
        max_value=limits.QUORUM_PERCENT_MAX,
        initial=limits.QUORUM_PERCENT,
        help_text=gettext_lazy("签到代表须超过本场代表的这一百分比。"),
    )
    deputy_questions_need_approval = forms.BooleanField(
        label=gettext_lazy("代表提问需审核"),
        required=False,
        help_text=gettext_lazy("默认代表的提问直接公开；群众的提问一律先审核。"),
    )
    categories = CategoriesField(
        label=gettext_lazy("问题类别"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy("每行一个类别（如“教育”“医疗卫生”），征集页面上群众须从中选择；不填则不分类别。"),
    )
    collect_opens_at = forms.DateTimeField(label=gettext_lazy("征集开始时间"), required=False, widget=_When())
    collect_closes_at = forms.DateTimeField(
        label=gettext_lazy("征集截止时间"),
        required=False,
        widget=_When(),
        help_text=gettext_lazy("在这段时间内，群众可在征集页面提交问题；不填则不征集。"),
    )

    @classmethod
    def of(cls, hearing: Hearing, data: Any = None) -> HearingForm:
        initial = {name: getattr(hearing, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class _Second(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M:%S", attrs={"step": "1"})


class ReplayForm(forms.Form):
    """The recording of a hearing (回放): its URL and the moment its position 0 shows."""

    vod_url = forms.CharField(
        label=gettext_lazy("回放地址"),
        max_length=VOD_URL_MAX,
        required=False,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text=gettext_lazy("HLS（.m3u8）或 MP4 录像的网址；问政会结束后，公开直播页显示回放和问题章节。"),
    )
    vod_started_at = forms.DateTimeField(
        label=gettext_lazy("回放起点时间"),
        required=False,
        widget=_Second(),
        help_text=gettext_lazy("录像第 0 秒对应的时刻，精确到秒；不填则为问政会开始的时刻。"),
    )

    @classmethod
    def of(cls, hearing: Hearing, data: Any = None) -> ReplayForm:
        return cls(data, initial={"vod_url": hearing.vod_url, "vod_started_at": hearing.vod_started_at})


def _kept_minute(posted: datetime | None, stored: datetime | None) -> datetime | None:
    """The form shows minutes: a posted time in the stored time's minute is the stored time."""
    if posted is not None and stored is not None and stored.replace(second=0, microsecond=0) == posted:
        return stored
    return posted


def _refused(error: DomainError) -> None:
    """A refusal the page does not show in place: 404 and 403 as the site's pages."""
    if isinstance(error, NotFound):
        raise Http404(error.message)
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.message)


def _with_counts(hearings: QuerySet[Hearing]) -> QuerySet[Hearing]:
    return hearings.annotate(
        n_items=Count("agenda", distinct=True),
        n_deputies=Count("deputies", distinct=True),
        n_moderators=Count("moderators", distinct=True),
    )


@staff_required
def manage_hearings(request: HttpRequest) -> HttpResponse:
    hearings = _with_counts(Hearing.objects.all())
    return render(request, "office/hearing_list.html", {"hearings": hearings})


@staff_required
def manage_hearing_new(request: HttpRequest) -> HttpResponse:
    form = HearingForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                hearing = services.hearing_create(by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except DomainError as error:
                _refused(error)
                form.add_error(None, error.message)
            else:
                messages.success(request, _("已新建问政会「%(title)s」。") % {"title": hearing.title})
                return redirect("manage_hearing", hearing_id=hearing.pk)
        status = 400
    return render(request, "office/hearing_new.html", {"form": form}, status=status)


def _roster_choices() -> dict[str, Any]:
    deputies = (
        Person.objects.filter(role=Person.Role.DEPUTY).select_related("user").order_by("delegation", "name", "pk")
    )
    moderators = (
        Person.objects.filter(role__in=[Person.Role.MODERATOR, Person.Role.STAFF])
        .select_related("user")
        .order_by("role", "name", "pk")
    )
    return {
        "delegations": [(name, list(people)) for name, people in groupby(deputies, key=lambda p: p.delegation)],
        "moderator_people": list(moderators),
    }


def _overview(
    request: HttpRequest,
    hearing: Hearing,
    form: HearingForm,
    *,
    status: int = 200,
    roster_error: str = "",
    replay_form: ReplayForm | None = None,
) -> HttpResponse:
    counted = _with_counts(Hearing.objects.filter(pk=hearing.pk)).get()
    context = {
        "hearing": counted,
        "form": form,
        "editable": hearing.status != Hearing.Status.ENDED,
        "deputy_ids": set(hearing.deputies.values_list("pk", flat=True)),
        "moderator_ids": set(hearing.moderators.values_list("pk", flat=True)),
        "roster_error": roster_error,
        "replay_form": replay_form or ReplayForm.of(hearing),
        **_roster_choices(),
    }
    return render(request, "office/hearing_detail.html", context, status=status)


@staff_required
def manage_hearing(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    if request.method != "POST":
        return _overview(request, hearing, HearingForm.of(hearing))
    form = HearingForm.of(hearing, request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["starts_at"] = _kept_minute(data["starts_at"], hearing.starts_at)
        data["ends_at"] = _kept_minute(data["ends_at"], hearing.ends_at)
        data["collect_opens_at"] = _kept_minute(data["collect_opens_at"], hearing.collect_opens_at)
        data["collect_closes_at"] = _kept_minute(data["collect_closes_at"], hearing.collect_closes_at)
        try:
            services.hearing_update(hearing_id=hearing.pk, by=request.user, **data)  # type: ignore[arg-type]
        except DomainError as error:
            _refused(error)
            form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存。"))
            return redirect("manage_hearing", hearing_id=hearing.pk)
    return _overview(request, hearing, form, status=400)


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**63:
            raise BadRequest(_("人员编号有误。"))
        ids.append(int(value))
    return ids


@staff_required
@require_POST
def manage_hearing_roster(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    try:
        services.hearing_set_roster(
            hearing_id=hearing.pk,
            by=request.user,  # type: ignore[arg-type]
            deputy_ids=_ids(request.POST.getlist("deputies")),
            moderator_ids=_ids(request.POST.getlist("moderators")),
        )
    except DomainError as error:
        _refused(error)
        return _overview(request, hearing, HearingForm.of(hearing), status=error.status, roster_error=error.message)
    messages.success(request, _("名单已保存。"))
    return redirect("manage_hearing", hearing_id=hearing.pk)


@staff_required
@require_POST
def manage_hearing_replay(request: HttpRequest, hearing_id: int) -> HttpResponse:
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    form = ReplayForm.of(hearing, request.POST)
    if form.is_valid():
        try:
            services.hearing_set_replay(hearing_id=hearing.pk, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            _refused(error)
            form.add_error(None, error.message)
        else:
            messages.success(request, _("回放已保存。"))
            return redirect("manage_hearing", hearing_id=hearing.pk)
    return _overview(request, hearing, HearingForm.of(hearing), status=400, replay_form=form)


@staff_required
@require_POST
def manage_hearing_copy(request: HttpRequest, hearing_id: int) -> HttpResponse:
    try:
        copy = services.hearing_copy(hearing_id=hearing_id, by=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        _refused(error)
        messages.error(request, f"{error.title}：{error.message}")
        return redirect("manage_hearings")
    messages.success(request, _("已复制为新的问政会「%(title)s」，请修改标题和时间。") % {"title": copy.title})
    return redirect("manage_hearing", hearing_id=copy.pk)


urlpatterns = [
    path("hearings/", manage_hearings, name="manage_hearings"),
    path("hearings/new/", manage_hearing_new, name="manage_hearing_new"),
    path("hearings/<int:hearing_id>/", manage_hearing, name="manage_hearing"),
    path("hearings/<int:hearing_id>/roster/", manage_hearing_roster, name="manage_hearing_roster"),
    path("hearings/<int:hearing_id>/copy/", manage_hearing_copy, name="manage_hearing_copy"),
    path("hearings/<int:hearing_id>/replay/", manage_hearing_replay, name="manage_hearing_replay"),
]
