"""Pages: the public projects by year and a project's page (milestones, history, 人大评); the
department's page of its projects, and its reports.

Thin: read through selectors, change through services; a refused change comes back as a message.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError
from projects import selectors, services
from projects.models import Project


def _year(value: str | None) -> int | None:
    try:
        year = int(value or "")
    except ValueError:
        return None
    return year if services.YEAR_MIN <= year <= services.YEAR_MAX else None


def _rows(projects: list[Project]) -> list[tuple[Project, int | None]]:
    return [(project, selectors.picks(project)) for project in projects]


def project_list(request: HttpRequest) -> HttpResponse:
    """民生实事 projects by year: department, budget, progress, status, the poll that chose each."""
    year = _year(request.GET.get("year"))
    projects = list(selectors.public_projects(year))
    by_year = [(y, _rows(list(group))) for y, group in groupby(projects, key=lambda p: p.year)]
    return render(
        request,
        "projects/list.html",
        {"by_year": by_year, "years": selectors.years(), "year": year},
    )


def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = get_object_or_404(selectors.with_details(Project.objects.all()), pk=project_id)
    liaison = project.department_id is not None and selectors.is_liaison(project.department_id, request.user)
    context = {
        "project": project,
        "picks": selectors.picks(project),
        "milestones": project.milestones.order_by("position"),
        "history": selectors.history(project),
        "reviews": selectors.reviews(project),
        "may_report": liaison and project.status == Project.Status.ACTIVE,
    }
    return render(request, "projects/detail.html", context)


@login_required
def project_mine(request: HttpRequest) -> HttpResponse:
    """A liaison's page: their departments' projects, to report on."""
    if not selectors.liaison_department_ids(request.user):
        raise PermissionDenied("liaisons only")
    projects = list(selectors.department_projects(request.user))
    return render(request, "projects/mine.html", {"rows": _rows(projects)})


def _refused(request: HttpRequest, project_id: int, exc: DomainError) -> HttpResponse:
    if exc.code == "not_found":
        raise Http404(exc.message)
    if exc.code == "forbidden":
        raise PermissionDenied(exc.message)
    messages.error(request, _("未能完成：%(reason)s") % {"reason": exc.message})
    return redirect("project_detail", project_id=project_id)


@login_required
@require_POST
def project_report(request: HttpRequest, project_id: int) -> HttpResponse:
    """The department reports progress (the service checks who may)."""
    assert request.user.is_authenticated
    try:
        services.progress_report(
            project_id=project_id,
            by=request.user,
            progress=request.POST.get("progress", ""),
            text=request.POST.get("text", ""),
        )
    except DomainError as exc:
        return _refused(request, project_id, exc)
    messages.success(request, _("进展已报送。"))
    return redirect("project_detail", project_id=project_id)


@login_required
@require_POST
def milestone_done(request: HttpRequest, project_id: int, milestone_id: int) -> HttpResponse:
    """The department marks a milestone done."""
    assert request.user.is_authenticated
    try:
        services.milestone_complete(
            project_id=project_id, milestone_id=milestone_id, by=request.user, text=request.POST.get("text", "")
        )
    except DomainError as exc:
        return _refused(request, project_id, exc)
    messages.success(request, _("节点已完成。"))
    return redirect("project_detail", project_id=project_id)
