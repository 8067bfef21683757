from django.urls import path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

from console import ballots, collect, overlay, seat, views

urlpatterns = [
    path("", views.hearing_list, name="hearing_list"),
    path("hearings/<int:hearing_id>/", views.hearing_live, name="hearing_live"),
    path("hearings/<int:hearing_id>/screen/", views.hearing_screen, name="hearing_screen"),
    path("hearings/<int:hearing_id>/tablet/", views.hearing_tablet, name="hearing_tablet"),
    path("hearings/<int:hearing_id>/control/", views.hearing_control, name="hearing_control"),
    path("hearings/<int:hearing_id>/control/part/<slug:part>/", views.control_part, name="control_part"),
    path(
        "hearings/<int:hearing_id>/control/question/<int:question_id>/",
        views.control_question,
        name="control_question",
    ),
    path(
        "hearings/<int:hearing_id>/control/merge-targets/",
        views.control_merge_targets,
        name="control_merge_targets",
    ),
    path("hearings/<int:hearing_id>/control/do/<slug:action>/", views.control_action, name="control_action"),
    # Question collection before the session (console/collect.py).
    *collect.urlpatterns,
    # The video mixer's overlay, a browser source for OBS / vMix (console/overlay.py).
    *overlay.urlpatterns,
    # Window polls on a deputy's own device (console/ballots.py).
    *ballots.urlpatterns,
    # A tablet's login by its seat card: the code typed, or the card's QR (console/seat.py).
    path("seat/", seat.seat_login, name="seat_login"),
    path("seat/<str:code>/", seat.seat_login_code, name="seat_login_code"),
    # The live pages' strings in the visitor's language; pages add ?l=<language> so a cached
    # catalog never outlives a language switch.
    path(
        "jsi18n/",
        cache_control(max_age=3600)(JavaScriptCatalog.as_view()),
        name="javascript_catalog",
    ),
]
