from django.contrib import admin
from django.urls import include, path

from assignments.api import api as assignments_api
from audit import views as audit_views
from config import metrics
from core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("audit/head.json", audit_views.head_json, name="audit_head"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", assignments_api.urls),
    path("manage/", include("office.urls")),
    path("", include("assignments.urls")),
    path("", include("projects.urls")),
    path("", include("reports.urls")),
    path("", include("audience.urls")),
    path("", include("console.urls")),
]
