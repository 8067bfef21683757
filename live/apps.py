from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from live.sessions import on_logout

        user_logged_out.connect(on_logout, dispatch_uid="live.sessions.on_logout")
