from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from office.access import staff_required


@staff_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("manage_hearings")


urlpatterns = [path("", index, name="manage_home")]
