"""Reads: who is a project's department, the public lists, a project's history and its 人大评."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from hearings.models import Department
from projects.models import Project, ProjectReview, ProjectUpdate
from voting import selectors as voting_selectors
from voting.models import Poll

User = AbstractBaseUser | AnonymousUser


def is_liaison(department_id: int, user: User | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Department.liaisons.through.objects.filter(department_id=department_id, user_id=user.pk).exists()


def liaison_department_ids(user: User | None) -> list[int]:
    if user is None or not user.is_authenticated:
        return []
    return list(Department.liaisons.through.objects.filter(user_id=user.pk).values_list("department_id", flat=True))


def with_details(qs: QuerySet[Project]) -> QuerySet[Project]:
    return qs.select_related("department", "poll", "poll__hearing")


def years() -> list[int]:
    return list(Project.objects.order_by("-year").values_list("year", flat=True).distinct())


def public_projects(year: int | None = None) -> QuerySet[Project]:
    qs = with_details(Project.objects.all())
    return qs.filter(year=year) if year is not None else qs


def department_projects(user: User | None) -> QuerySet[Project]:
    """The projects of the user's departments (a liaison's), newest year first."""
    return with_details(Project.objects.filter(department_id__in=liaison_department_ids(user)))


def picks(project: Project) -> int | None:
    """How many deputies picked the project in the poll that chose it (its published count)."""
    poll = project.poll
    if poll is None or project.candidate_id is None or poll.status != Poll.Status.PUBLISHED:
        return None
    return int((poll.results or {}).get(str(project.candidate_id), 0))


def history(project: Project) -> QuerySet[ProjectUpdate]:
    return project.updates.select_related("department", "milestone").order_by("at", "id")


@dataclass(frozen=True)
class ReviewResult:
    """A published 人大评 of a project: the sheet poll, its row's counts per choice, 满意率."""

    poll: Poll
    counts: list[tuple[str, int]]
    rate: float | None
    cast: int


def reviews(project: Project) -> list[ReviewResult]:
    """The published sheet polls that rated the project, oldest first."""
    results = []
    links = ProjectReview.objects.filter(project=project, row__poll__status=Poll.Status.PUBLISHED).select_related(
        "row__poll"
    )
    for link in links.order_by("row__poll_id"):
        poll = link.row.poll
        out = voting_selectors.poll_out(poll)
        key = str(link.row_id)
        row = (out.results or {}).get(key, {})
        rates = out.satisfaction_rate if isinstance(out.satisfaction_rate, dict) else {}
        assert isinstance(row, dict)
        results.append(
            ReviewResult(
                poll=poll,
                counts=[(choice, int(row.get(choice, 0))) for choice in poll.choices],
                rate=rates.get(key),
                cast=out.cast,
            )
        )
    return results
