"""民生实事 projects under /manage/: the list and adding one by hand, a project's facts, status and
milestones. Every change is one call of projects.services, which checks and audits."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import BadRequest, DomainError
from hearings.models import Department, Hearing
from office.access import staff_required
from office.views.people import acting_staff
from projects import selectors, services
from projects.models import Milestone, Project

PROJECT_FIELDS = ("title", "year", "department", "budget", "note")


def _values(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in PROJECT_FIELDS}


def _project_values(project: Project) -> dict[str, str]:
    return {
        "title": project.title,
        "year": str(project.year),
        "department": str(project.department_id or ""),
        "budget": "" if project.budget is None else f"{project.budget:f}",
        "note": project.note,
    }


def _fields(values: dict[str, str]) -> dict[str, Any]:
    return {
        "title": values["title"],
        "year": values["year"],
        "department_id": values["department"],
        "budget": values["budget"],
        "note": values["note"],
    }


@staff_required
def manage_projects(request: HttpRequest) -> HttpResponse:
    values = {name: "" for name in PROJECT_FIELDS}
    values["year"] = str(timezone.localdate().year)
    error = ""
    if request.method == "POST":
        values = _values(request)
        try:
            project = services.project_add(by=acting_staff(request), **_fields(values))
        except DomainError as exc:
            if exc.code == "forbidden":
                raise PermissionDenied(exc.message) from None
            error = exc.message
        else:
            messages.success(request, _("已添加项目 %(title)s。") % {"title": project.title})
            return redirect("manage_project", project_id=project.pk)
    context = {
        "projects": selectors.with_details(Project.objects.all()),
        "values": values,
        "error": error,
        "departments": Department.objects.order_by("short_name"),
    }
    return render(request, "office/projects.html", context, status=400 if error else 200)


def _act(request: HttpRequest, project: Project) -> str:
    """The form's action; returns the message to show once done."""
    by = acting_staff(request)
    action = request.POST.get("action", "save")
    if action == "save":
        services.project_edit(project_id=project.pk, by=by, **_fields(_values(request)))
        return _("已保存。")
    if action == "status":
        services.project_set_status(
            project_id=project.pk, by=by, status=request.POST.get("status", ""), text=request.POST.get("text", "")
        )
        return _("状态已更新。")
    if action == "milestone-add":
        services.milestone_add(
            project_id=project.pk, by=by, title=request.POST.get("title", ""), due_date=request.POST.get("due_date")
        )
        return _("已添加节点。")
    if action == "milestone-edit":
        try:
            milestone_id = int(request.POST.get("milestone", ""))
        except ValueError:
            raise Http404("no such milestone") from None
        services.milestone_edit(
            milestone_id=milestone_id,
            project_id=project.pk,
            by=by,
            title=request.POST.get("title", ""),
            due_date=request.POST.get("due_date"),
        )
        return _("节点已保存。")
    raise Http404("no such action")


@staff_required
def manage_project(request: HttpRequest, project_id: int) -> HttpResponse:
    """A project's facts (`action` save), its status (status) and milestones (milestone-add,
    milestone-edit)."""
    project = get_object_or_404(selectors.with_details(Project.objects.all()), pk=project_id)
    values = _project_values(project)
    error = ""
    if request.method == "POST":
        try:
            done = _act(request, project)
        except DomainError as exc:
            if exc.code == "forbidden":
                raise PermissionDenied(exc.message) from None
            if exc.code == "not_found" and request.POST.get("action") == "milestone-edit":
                raise Http404(exc.message) from None
            error = exc.message
            if request.POST.get("action", "save") == "save":
                values = _values(request)
        else:
            messages.success(request, done)
            return redirect("manage_project", project_id=project.pk)
    context = {
        "project": project,
        "values": values,
        "error": error,
        "departments": Department.objects.order_by("short_name"),
        "milestones": Milestone.objects.filter(project=project).order_by("position"),
        "statuses": Project.Status.choices,
        "picks": selectors.picks(project),
    }
    return render(request, "office/project.html", context, status=400 if error else 200)


def _ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except ValueError:
            continue  # not a project: the service refuses an empty choice
    return ids


@staff_required
def manage_project_review(request: HttpRequest) -> HttpResponse:
    """人大评: prepare a sheet poll on a hearing rating the chosen projects, one row each."""
    values: dict[str, Any] = {"hearing": "", "title": "", "projects": []}
    error = ""
    if request.method == "POST":
        values = {
            "hearing": request.POST.get("hearing", ""),
            "title": request.POST.get("title", ""),
            "projects": _ids(request.POST.getlist("projects")),
        }
        hearing = Hearing.objects.filter(pk__in=_ids([values["hearing"]])).first()
        try:
            if hearing is None:
                raise BadRequest(gettext_lazy("请选择问政会。"))
            poll = services.review_prepare(
                hearing_id=hearing.pk, by=acting_staff(request), project_ids=values["projects"], title=values["title"]
            )
        except DomainError as exc:
            if exc.code == "forbidden":
                raise PermissionDenied(exc.message) from None
            error = exc.message
        else:
            messages.success(
                request,
                _("已准备测评表“%(title)s”：由主持人在控制台开启，或设定投票时间。") % {"title": poll.title},
            )
            return redirect("manage_hearing", hearing_id=hearing.pk)
    context = {
        "values": values,
        "error": error,
        "hearings": Hearing.objects.exclude(status=Hearing.Status.ENDED).order_by("-starts_at"),
        "projects": selectors.with_details(Project.objects.exclude(status=Project.Status.STOPPED)),
    }
    return render(request, "office/project_review.html", context, status=400 if error else 200)


urlpatterns = [
    path("projects/", manage_projects, name="manage_projects"),
    path("projects/review/", manage_project_review, name="manage_project_review"),
    path("projects/<int:project_id>/", manage_project, name="manage_project"),
]
