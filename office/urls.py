"""/manage/: the office's pages. Each module of office/views/ brings its own URLs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from office.views import agenda, hearings, home, people, projects, roster, seats

urlpatterns: list[URLPattern | URLResolver] = [
    *home.urlpatterns,
    *hearings.urlpatterns,
    *agenda.urlpatterns,
    *people.urlpatterns,
    *roster.urlpatterns,
    *seats.urlpatterns,
    *projects.urlpatterns,
]
