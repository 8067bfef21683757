from django.contrib import admin

from hearings.models import AgendaItem, Department, Hearing, Question


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 1
    fields = ("position", "title", "kind", "department", "planned_minutes", "status")
    readonly_fields = ("status",)


@admin.register(Hearing)
class HearingAdmin(admin.ModelAdmin):
    list_display = ("title", "starts_at", "venue", "status")
    list_filter = ("status",)
    search_fields = ("title", "theme")
    readonly_fields = ("status", "started_at", "ended_at", "likes")
    filter_horizontal = ("deputies", "moderators")
    inlines = [AgendaItemInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "short_name")
    search_fields = ("name", "short_name")
    filter_horizontal = ("liaisons",)


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    # State changes go through the moderator's control panel (services); here: read and search.
    list_display = ("id", "hearing", "source", "status", "likes", "text")
    list_filter = ("hearing", "status", "source")
    search_fields = ("text", "asker_name")
    readonly_fields = ("status", "likes", "merged_into", "parent", "viewer", "approved_at", "staged_at", "answered_at")
