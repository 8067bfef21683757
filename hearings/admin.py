"""The Django admin: people, departments and hearing set-up are edited here; what happens in a
hearing (questions, polls, ballots) and afterwards (assignments) is only shown.

Every change to a question, a poll or an assignment goes through its service, which checks the
rule, writes an audit entry and publishes the live event; the moderator's control panel and the
assignment pages call them. An edit here would do none of that (a published 满意率 could move
silently), so those models are read-only for everyone, superusers included: no add, no change, no
delete, hence no bulk delete either, and an object that would be deleted with them (a hearing, a
user, a department) cannot be deleted here while they exist.

Text typed in the remaining forms is cleaned like every other client text (core.text).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from core.text import CleanTextField
from hearings.models import AgendaItem, Department, Hearing, Person, Question, SeatCode


class CleanTextMixin:
    """Plain CharField and TextField inputs clean with core.text (URL, e-mail and choice fields
    keep their own form fields)."""

    def formfield_for_dbfield(self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any) -> Any:
        if type(db_field) in (models.CharField, models.TextField) and not db_field.choices:
            kwargs.setdefault("form_class", CleanTextField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


class AgendaItemInline(CleanTextMixin, admin.TabularInline):
    model = AgendaItem
    extra = 1
    fields = ("position", "title", "kind", "department", "planned_minutes", "status")
    readonly_fields = ("status",)


@admin.register(Hearing)
class HearingAdmin(CleanTextMixin, admin.ModelAdmin):
    list_display = ("title", "starts_at", "venue", "status")
    list_filter = ("status",)
    search_fields = ("title", "theme")
    readonly_fields = ("status", "started_at", "ended_at", "likes")
    filter_horizontal = ("deputies", "moderators")
    inlines = [AgendaItemInline]


@admin.register(Department)
class DepartmentAdmin(CleanTextMixin, admin.ModelAdmin):
    list_display = ("name", "short_name")
    search_fields = ("name", "short_name")
    filter_horizontal = ("liaisons",)


@admin.register(Question)
class QuestionAdmin(ReadOnlyAdmin):
    # Edits, approval, answers: the moderator's control panel (hearings.services).
    # A collected question's contact (phone or e-mail) shows on its page here, to staff only.
    list_display = ("id", "hearing", "source", "category", "status", "likes", "text")
    list_filter = ("hearing", "status", "source")
    search_fields = ("text", "asker_name")


@admin.register(Person)
class PersonAdmin(CleanTextMixin, admin.ModelAdmin):
    # The office's people pages (/manage/) are where staff keep the roster; this is the superuser's view.
    list_display = ("name", "role", "delegation", "seat", "user")
    list_filter = ("role", "delegation")
    search_fields = ("name", "user__username", "delegation")
    raw_id_fields = ("user",)


@admin.register(SeatCode)
class SeatCodeAdmin(ReadOnlyAdmin):
    # Issued, printed and revoked by the office's seat pages (audited); only shown here. The code
    # itself is never stored.
    list_display = ("hearing", "deputy", "created_at", "used_at", "revoked_at")
    list_filter = ("hearing",)
    exclude = ("nonce", "digest")
