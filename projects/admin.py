"""民生实事 projects in the Django admin: read only. Changes go through projects/services.py
(the office's pages under /manage/projects/, the department's reports), which audit them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from projects.models import Milestone, Project, ProjectUpdate


class _ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MilestoneInline(_ReadOnlyInline):
    model = Milestone
    fields = readonly_fields = ("position", "title", "due_date", "done_at")


class UpdateInline(_ReadOnlyInline):
    model = ProjectUpdate
    fields = readonly_fields = ("at", "kind", "by_role", "department", "progress", "status", "text")


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("title", "year", "department", "status", "progress")
    list_filter = ("year", "status")
    search_fields = ("title",)
    inlines = (MilestoneInline, UpdateInline)
