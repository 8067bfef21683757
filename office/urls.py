"""/manage/: the office's pages. Each module of office/views/ brings its own URLs."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from office.views import _stubs, agenda, hearings, home, people, roster, seats  # _stubs: TEMPORARY, h-hearings

urlpatterns: list[URLPattern | URLResolver] = [
    *home.urlpatterns,
    *hearings.urlpatterns,
    *agenda.urlpatterns,
    *people.urlpatterns,
    *roster.urlpatterns,
    *seats.urlpatterns,
    *_stubs.urlpatterns,  # TEMPORARY (h-hearings): delete at merge with office/views/_stubs.py
]
