from django.urls import path, re_path

from reports import scorecard_views, views

urlpatterns = [
    path("hearings/<int:hearing_id>/report/", views.report, name="hearing_report"),
    re_path(
        r"^hearings/(?P<hearing_id>[0-9]+)/report\.(?P<fmt>pdf|xlsx)$",
        views.report_download,
        name="hearing_report_download",
    ),
    path("scorecards/", scorecard_views.scorecards, name="scorecards"),
]
