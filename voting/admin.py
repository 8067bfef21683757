"""Polls, attendance and ballots in the admin: read-only (hearings/admin.py says why). Polls open,
close and publish from the control panel; deputies check in on their tablets."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from voting.models import Attendance, Ballot, Poll, VoteRecord


@admin.register(Poll)
class PollAdmin(ReadOnlyAdmin):
    list_display = ("title", "hearing", "status", "secret", "cast", "eligible")
    list_filter = ("status", "hearing")


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ("hearing", "deputy", "checked_in_at")
    list_filter = ("hearing",)


class SealedAdmin(ReadOnlyAdmin):
    """Never shown (a secret ballot stays secret), but registered so that the admin refuses to
    delete what would take ballots or vote records with it (a hearing, a poll, a deputy)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return False


admin.site.register(Ballot, SealedAdmin)
admin.site.register(VoteRecord, SealedAdmin)
