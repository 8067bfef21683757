from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assignments.models import ApiToken, Assignment, Notice, TimelineEntry
from core.admin import ReadOnlyAdmin


class TimelineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TimelineEntry
    extra = 0
    can_delete = False
    fields = ("at", "action", "status", "actor_label", "public_note", "internal_note")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    # Transitions go through the pages and the API (services, audited and notified); here: read
    # and search (hearings/admin.py says why).
    list_display = ("id", "title", "hearing", "lead_department", "status", "due_date", "loop", "verdict", "resolved")
    list_filter = ("status", "hearing", "lead_department")
    search_fields = ("title", "commitment", "reply")
    inlines = [TimelineInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("prefix", "department", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked", "department")
    readonly_fields = ("department", "digest", "prefix", "created_at", "last_used_at")


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "assignment", "text", "created_at", "read_at")
