from django.urls import path, re_path

from assignments import following_views, views
from assignments.services.following import TOKEN

urlpatterns = [
    path("assignments/", views.assignment_list, name="assignment_list"),
    path("assignments/new/", views.assignment_new, name="assignment_new"),
    re_path(r"^assignments/export\.(?P<fmt>csv|xlsx)$", views.export_assignments, name="assignment_export"),
    path("assignments/<int:assignment_id>/", views.assignment_detail, name="assignment_detail"),
    path("assignments/reviews/", views.assignment_reviews, name="assignment_reviews"),
    path("assignments/<int:assignment_id>/do/<str:action>/", views.assignment_act, name="assignment_act"),
    path("assignments/<int:assignment_id>/review-plan/", views.assignment_review_plan, name="assignment_review_plan"),
    path(
        "assignments/<int:assignment_id>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="assignment_attachment",
    ),
    re_path(
        r"^hearings/(?P<hearing_id>[0-9]+)/questions\.(?P<fmt>csv|xlsx)$",
        views.export_questions,
        name="hearing_questions_export",
    ),
    path("inbox/", views.inbox, name="assignment_inbox"),
    path("inbox/notices/read/", views.notices_read, name="assignment_notices_read"),
    path("inbox/notices/settings/", following_views.notice_preferences, name="notice_preferences"),
    path("assignments/<int:assignment_id>/follow/", following_views.assignment_follow, name="assignment_follow"),
    re_path(rf"^follow/(?P<token>{TOKEN})/confirm/$", following_views.follower_confirm, name="follower_confirm"),
    re_path(
        rf"^follow/(?P<token>{TOKEN})/unsubscribe/$", following_views.follower_unsubscribe, name="follower_unsubscribe"
    ),
]
