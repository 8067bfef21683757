from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime"

    def ready(self) -> None:
        # Imported once the app registry is ready: realtime.sessions imports models.
        from realtime.sessions import on_logout  # noqa: PLC0415

        user_logged_out.connect(on_logout, dispatch_uid="realtime.sessions.on_logout")
