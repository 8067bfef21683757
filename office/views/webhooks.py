"""Outbound webhooks under /manage/webhooks/: the endpoints (register, deactivate) and the delivery
log (every attempt: time, status code or error, duration; a failed delivery can be retried);
and the e-mail the task worker could not send (/manage/webhooks/mail/).
The rules are outbound/webhooks.py's (URL, secret, host allowlist); each change is one call."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core.errors import BadRequest, DomainError
from core.text import row_id
from hearings.models import Department
from office.access import staff_required
from office.views.people import _errors, _refuse, acting_staff
from outbound import mail, webhooks
from outbound.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

LOG_ROWS = 100  # deliveries one page of the log shows, newest first


def _department(value: str) -> Department | None:
    if not value:
        return None
    number = row_id(value)
    department = Department.objects.filter(pk=number).first() if number is not None else None
    if department is None:
        raise BadRequest(gettext_lazy("找不到这个部门。"))
    return department


def _page(request: HttpRequest, values: dict[str, str], errors: dict[str, str]) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.select_related("department").annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.DELIVERED)),
        pending=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
    )
    context: dict[str, Any] = {
        "endpoints": endpoints.order_by("-active", "id"),
        "departments": Department.objects.order_by("short_name"),
        "allowed_hosts": webhooks.allowed_hosts_text(),
        "values": values,
        "errors": errors,
    }
    return render(request, "office/webhooks.html", context, status=400 if errors else 200)


@staff_required
def manage_webhooks(request: HttpRequest) -> HttpResponse:
    """GET: the endpoints and the form; POST: register one."""
    values = {"url": "", "department": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {"url": request.POST.get("url", ""), "department": request.POST.get("department", "")}
        try:
            endpoint = webhooks.register(
                values["url"],
                request.POST.get("secret", ""),
                department=_department(values["department"]),
                by=acting_staff(request),
            )
        except DomainError as exc:
            _refuse(exc)
            errors = _errors(exc)
        else:
            messages.success(request, _("已添加推送地址：%(url)s。") % {"url": endpoint.url})
            return redirect("manage_webhooks")
    return _page(request, values, errors)


@staff_required
@require_POST
def manage_webhook_deactivate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    try:
        endpoint = webhooks.deactivate(endpoint_id, by=acting_staff(request))
    except DomainError as exc:
        _refuse(exc)
        raise
    messages.success(request, _("已停用推送地址：%(url)s。") % {"url": endpoint.url})
    return redirect("manage_webhooks")


@staff_required
@require_GET
def manage_webhook_deliveries(request: HttpRequest) -> HttpResponse:
    """The log, newest first: ?status= (pending, delivered, failed) and ?endpoint= narrow it."""
    deliveries = WebhookDelivery.objects.select_related("endpoint").prefetch_related(
        Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("at", "id"))
    )
    status = request.GET.get("status", "")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    endpoint = request.GET.get("endpoint", "")
    if (endpoint_id := row_id(endpoint)) is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    else:
        endpoint = ""
    context = {
        "deliveries": deliveries.order_by("-created_at")[:LOG_ROWS],
        "statuses": WebhookDelivery.Status.choices,
        "status": status,
        "endpoint": endpoint,
        "endpoints": WebhookEndpoint.objects.order_by("id"),
        "failed": WebhookDelivery.objects.filter(status=WebhookDelivery.Status.FAILED).count(),
        "rows": LOG_ROWS,
    }
    return render(request, "office/webhook_deliveries.html", context)


@staff_required
@require_POST
def manage_webhook_retry(request: HttpRequest, delivery_id: UUID) -> HttpResponse:
    try:
        webhooks.retry_now(delivery_id, by=acting_staff(request))
    except DomainError as exc:
        _refuse(exc)
        messages.error(request, _("%(title)s：%(reason)s") % {"title": exc.title, "reason": exc.message})
    else:
        messages.success(request, _("已重新排队发送。"))
    return redirect("manage_webhook_deliveries")


@staff_required
@require_GET
def manage_mail_troubles(request: HttpRequest) -> HttpResponse:
    """E-mail the worker could not send: failed for good, and waiting for a retry."""
    rows = mail.troubled(LOG_ROWS)
    context = {"rows": rows, "failed": sum(row.failed for row in rows), "limit": LOG_ROWS}
    return render(request, "office/mail_troubles.html", context)


urlpatterns = [
    path("webhooks/", manage_webhooks, name="manage_webhooks"),
    path("webhooks/<int:endpoint_id>/deactivate/", manage_webhook_deactivate, name="manage_webhook_deactivate"),
    path("webhooks/deliveries/", manage_webhook_deliveries, name="manage_webhook_deliveries"),
    path("webhooks/deliveries/<uuid:delivery_id>/retry/", manage_webhook_retry, name="manage_webhook_retry"),
    path("webhooks/mail/", manage_mail_troubles, name="manage_mail_troubles"),
]
