from django.urls import path

from hearings import views

urlpatterns = [
    path("", views.hearing_list, name="hearing_list"),
    path("hearings/<int:hearing_id>/", views.hearing_live, name="hearing_live"),
    path("hearings/<int:hearing_id>/screen/", views.hearing_screen, name="hearing_screen"),
    path("hearings/<int:hearing_id>/tablet/", views.hearing_tablet, name="hearing_tablet"),
    path("hearings/<int:hearing_id>/control/", views.hearing_control, name="hearing_control"),
]
