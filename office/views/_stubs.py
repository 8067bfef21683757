"""TEMPORARY (branch h-hearings only; the lead deletes this file and its line in office/urls.py
at merge): placeholder paths for URL names other helpers own, so that the hearing pages and
templates/office/base.html can be rendered in this branch. Each answers 404 to staff."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from office.access import staff_required


@staff_required
def _stub(request: HttpRequest, **kwargs: int) -> HttpResponse:
    raise Http404("stub")


urlpatterns = [
    path("_stub/hearings/<int:hearing_id>/agenda/", _stub, name="manage_agenda"),  # helper "agenda"
]
