"""The audit log: one row per recorded action, each chained to the one before by its hash.

Rows are written once by audit.chain.append and never changed: save() refuses an update,
delete() refuses, and so do the default manager's bulk update() and delete(). Whatever
gets past that (SQL, another manager) is what `manage.py verify_audit` finds.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _


class ImmutableError(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableError("audit entries are append-only")

    def delete(self) -> NoReturn:
        raise ImmutableError("audit entries are append-only")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"))
    # Who: "user" (actor = username), a model label such as "hearings.department" (a
    # department's API token), "system" (management commands, automatic steps) or "anonymous".
    actor_kind = models.CharField(_("操作者类型"), max_length=60)
    actor = models.CharField(_("操作者"), max_length=200, blank=True)
    actor_id = models.BigIntegerField(_("操作者 id"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=60, db_index=True)
    subject = models.CharField(_("对象"), max_length=120, db_index=True)  # "hearings.question:17"
    payload = models.JSONField(_("内容"), default=dict, blank=True)
    # Unique: two entries never follow the same one, so the chain cannot fork.
    prev_hash = models.CharField(_("前一条哈希"), max_length=64, unique=True)
    hash = models.CharField(_("哈希"), max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableError("audit entries are append-only")
