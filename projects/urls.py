from django.urls import path

from projects import views

urlpatterns = [
    path("projects/", views.project_list, name="project_list"),
    path("projects/mine/", views.project_mine, name="project_mine"),
    path("projects/<int:project_id>/", views.project_detail, name="project_detail"),
    path("projects/<int:project_id>/report/", views.project_report, name="project_report"),
    path(
        "projects/<int:project_id>/milestones/<int:milestone_id>/done/",
        views.milestone_done,
        name="project_milestone_done",
    ),
]
