from django.contrib import admin
from django.urls import include, path

from hearings import views as hearing_views

urlpatterns = [
    path("healthz", hearing_views.healthz, name="healthz"),
    path("readyz", hearing_views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("hearings.urls")),
]
