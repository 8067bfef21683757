from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assignments import notes
from assignments.models import ApiToken, Assignment, Notice, TimelineEntry
from core.admin import ReadOnlyAdmin


class TimelineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TimelineEntry
    extra = 0
    can_delete = False
    fields = ("at", "action", "status", "actor_label", "note", "internal_note")
    readonly_fields = fields

    @admin.display(description="public note")
    def note(self, entry: TimelineEntry) -> str:
        return notes.entry_note(entry)

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

    @admin.display(description="text")
    def text(self, notice: Notice) -> str:
        return notes.notice_text(notice)
