from django.urls import path, re_path

from reports import duty_views, question_list_views, scorecard_views, views

urlpatterns = [
    path("hearings/<int:hearing_id>/report/", views.report, name="hearing_report"),
    re_path(
        r"^hearings/(?P<hearing_id>[0-9]+)/report\.(?P<fmt>pdf|xlsx)$",
        views.report_download,
        name="hearing_report_download",
    ),
    path("hearings/<int:hearing_id>/list/", question_list_views.question_list_page, name="hearing_question_list"),
    re_path(
        r"^hearings/(?P<hearing_id>[0-9]+)/list\.(?P<fmt>docx|xlsx)$",
        question_list_views.question_list_download,
        name="hearing_question_list_file",
    ),
    path("scorecards/", scorecard_views.scorecards, name="scorecards"),
    # The duty records (代表履职档案) and their office pages under /manage/.
    *duty_views.urlpatterns,
]
