from django.contrib import admin

from voting.models import Attendance, Poll


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    # Polls open, close and publish from the control panel; ballots are never shown here.
    list_display = ("title", "hearing", "status", "secret", "cast", "eligible")
    list_filter = ("status", "hearing")
    readonly_fields = ("status", "eligible", "cast", "results", "opened_at", "closed_at", "published_at")


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ("hearing", "deputy", "checked_in_at")
    list_filter = ("hearing",)
