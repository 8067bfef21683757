"""What leaves the process: e-mail and outbound webhooks, each a task run by `manage.py db_worker`
(Django's Tasks API, django-tasks' database backend), retried with backoff (outbound/retry.py).
Callers enqueue inside their transaction; the task is queued only once it commits."""

from django.apps import AppConfig
from django.core.checks import Tags, register
from django.utils.translation import gettext_lazy as _

from outbound import checks


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = _("对外推送")

    def ready(self) -> None:
        register(checks.webhook_hosts_allowlist, Tags.security, deploy=True)
