# Placeholder until the scorecard view lands (being written now).
from django.http import HttpRequest, HttpResponse


def scorecards(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
