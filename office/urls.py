"""/manage/: the office's pages. Each module of office/views/ brings its own URLs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from office.views import (
    agenda,
    hearings,
    holidays,
    home,
    people,
    polls,
    projects,
    questions,
    roster,
    seats,
    sensitive_words,
    thresholds,
    webhooks,
)

urlpatterns: list[URLPattern | URLResolver] = [
    *home.urlpatterns,
    *hearings.urlpatterns,
    *agenda.urlpatterns,
    *polls.urlpatterns,
    *people.urlpatterns,
    *roster.urlpatterns,
    *seats.urlpatterns,
    *thresholds.urlpatterns,
    *projects.urlpatterns,
    *questions.urlpatterns,
    *sensitive_words.urlpatterns,
    *webhooks.urlpatterns,
    *holidays.urlpatterns,
]
