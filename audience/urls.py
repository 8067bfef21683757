from django.urls import path

from audience import views

urlpatterns = [
    path("hearings/<int:hearing_id>/stats.json", views.stats_json, name="hearing_stats"),
]
