from django.apps import AppConfig


class ChamberConfig(AppConfig):
    name = "chamber"
    verbose_name = "Chamber"
