from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class HearingsConfig(AppConfig):
    name = "hearings"
    verbose_name = pgettext_lazy("plural", "问政会")
