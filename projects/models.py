"""民生实事 projects (群众提、代表定、政府办、人大评): chosen by deputies in a select poll, carried
out by a department that reports its progress, and rated by a later sheet poll.

Rules live in services.py. The history (ProjectUpdate) is append-only: every change writes one
entry and no entry is ever changed; it is what the public page shows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import limits


class Project(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("实施中")
        DONE = "done", _("已完成")
        STOPPED = "stopped", _("已终止")

    title = models.CharField(_("项目名称"), max_length=limits.PROJECT_TITLE)
    # Null only until the office names the department carrying it out (a candidate may have none).
    department = models.ForeignKey(
        "hearings.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="projects",
        verbose_name=_("责任单位"),
    )
    budget = models.DecimalField(_("预算（万元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("项目说明"), max_length=limits.PROJECT_NOTE, blank=True)
    year = models.PositiveSmallIntegerField(_("年度"))
    # The select poll and candidate it was chosen as; both null for a project the office adds by
    # hand. One project per candidate, so adopting a poll's choice twice adds nothing.
    poll = models.ForeignKey("voting.Poll", null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    candidate = models.OneToOneField(
        "voting.PollOption", null=True, blank=True, on_delete=models.PROTECT, related_name="project"
    )
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year", "id"]
        verbose_name = _("民生实事项目")
        verbose_name_plural = _("民生实事项目")
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="project_progress_le_100"),
            models.CheckConstraint(
                condition=Q(candidate__isnull=True) | Q(poll__isnull=False), name="project_candidate_has_poll"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Milestone(models.Model):
    """A step of a project (节点) with its planned date; the department marks it done."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveIntegerField()
    title = models.CharField(_("节点"), max_length=limits.MILESTONE_TITLE)
    due_date = models.DateField(_("计划完成日期"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["project", "position"]
        verbose_name = _("项目节点")
        verbose_name_plural = _("项目节点")
        constraints = [models.UniqueConstraint(fields=["project", "position"], name="milestone_position")]

    def __str__(self) -> str:
        return self.title


class ProjectUpdate(models.Model):
    """One change of a project, as the public sees it: when, by whom (the department, the
    office or the system, never a person's name), what, the progress and status after it."""

    class Kind(models.TextChoices):
        CREATED = "created", _("立项")
        EDITED = "edited", _("修改项目信息")
        PLAN = "plan", _("调整节点")
        PROGRESS = "progress", _("进展")
        MILESTONE = "milestone", _("完成节点")
        STATUS = "status", _("状态变更")
        REVIEW = "review", _("列入人大评")

    class By(models.TextChoices):
        DEPARTMENT = "department", _("责任单位")
        OFFICE = "office", _("人大常委会办公室")
        SYSTEM = "system", _("系统")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="updates")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_role = models.CharField(max_length=12, choices=By.choices)
    # The department that reported (by_role department): shown by its name.
    department = models.ForeignKey(
        "hearings.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    progress = models.PositiveSmallIntegerField()  # the project's, after the change
    status = models.CharField(max_length=10, choices=Project.Status.choices)  # the project's, after
    milestone = models.ForeignKey(Milestone, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(blank=True)  # what a person typed; the rest is worded by the page

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("项目动态")
        verbose_name_plural = _("项目动态")

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an entry is written once, never edited.
        if self.pk is not None:
            raise ValueError("project updates are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("project updates are immutable")


class ProjectReview(models.Model):
    """人大评: a row of a sheet poll that rates a project. A row rates one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    row = models.OneToOneField("voting.PollOption", on_delete=models.CASCADE, related_name="project_review")

    class Meta:
        ordering = ["id"]
        verbose_name = _("项目测评")
        verbose_name_plural = _("项目测评")

    def __str__(self) -> str:
        return f"{self.project_id} ← {self.row_id}"
