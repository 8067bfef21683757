"""Outbound webhooks (PROTOCOL.md "Webhooks"): the endpoints staff register, one delivery per
event and endpoint (its body stored exactly as sent, so the signature can be recomputed), and
every attempt to deliver it — the delivery log staff read at /manage/webhooks/deliveries/."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import limits


class WebhookEndpoint(models.Model):
    """A URL another platform receives events at, and the secret they are signed with.
    `department`: only that department's assignments (as lead department); none: every event,
    poll results included."""

    url = models.CharField(_("地址"), max_length=limits.WEBHOOK_URL)
    secret = models.CharField(_("密钥"), max_length=limits.WEBHOOK_SECRET)
    department = models.ForeignKey(
        "hearings.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("部门"),
    )
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("推送地址")
        verbose_name_plural = _("推送地址")

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint. `id` is the body's `id`, the same on every attempt; `body` is
    the JSON text exactly as POSTed (UTF-8). `next_at`: when the next attempt is due (none once
    delivered or failed)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("失败")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("事件"), max_length=64)
    body = models.TextField()
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    next_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"])]
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")

    def __str__(self) -> str:
        return f"{self.event} {self.pk}"


class DeliveryAttempt(models.Model):
    """One try: the receiver's status code, or why there was none (`error`), and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(_("时间"))
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("推送尝试")
        verbose_name_plural = _("推送尝试")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
