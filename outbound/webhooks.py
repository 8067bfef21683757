"""Outbound webhooks (PROTOCOL.md "Webhooks"): staff register a URL and a secret; `emit` queues one
delivery per endpoint that wants the event; the worker POSTs it, signed, and retries it with
backoff (outbound/retry.py) until a 2xx or the last attempt. Every attempt is logged.

The guard against a staff account aiming the server at internal services is the host allowlist
(settings.WEBHOOK_ALLOWED_HOSTS), checked when an endpoint is registered and again before every
attempt (the setting may have changed since). A redirect is never followed: it could point
anywhere. `check --deploy` warns while the allowlist is empty (outbound/checks.py)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import task

import audit
from core import limits
from core.errors import BadRequest, InvalidState, NotFound
from hearings import guards
from hearings.models import Department
from outbound import retry
from outbound.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Wenzheng-Signature"
TIMEOUT_SECONDS = 10
USER_AGENT = "wenzheng-live-webhooks/1"
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ERROR = 500  # characters of an attempt's error text kept in the log

# The events (PROTOCOL.md): `assignment.<action>` for "create" and every action of
# assignments/workflow.py, and `poll.published`.
POLL_PUBLISHED = "poll.published"


# ------------------------------------------------------------------ the allowlist


def _allowlist() -> list[tuple[str, int | None]]:
    """settings.WEBHOOK_ALLOWED_HOSTS as (host, port or None for any port); hosts lowercased,
    IPv6 literals without brackets (`[::1]:8080` or `::1`)."""
    entries: list[tuple[str, int | None]] = []
    for raw in settings.WEBHOOK_ALLOWED_HOSTS:
        entry = raw.strip().lower()
        if not entry:
            continue
        host, port = entry, None
        if entry.startswith("["):
            host, _sep, rest = entry[1:].partition("]")
            if rest.startswith(":") and rest[1:].isascii() and rest[1:].isdigit():
                port = int(rest[1:])
        elif entry.count(":") == 1:
            name, _sep, number = entry.partition(":")
            if number.isascii() and number.isdigit():
                host, port = name, int(number)
        entries.append((host.rstrip("."), port))
    return entries


def host_allowed(url: str) -> bool:
    """Whether `url`'s host (and port) is on the allowlist; any host while the list is empty."""
    allowlist = _allowlist()
    if not allowlist:
        return True
    try:
        parts = urlsplit(url)
        port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    host = (parts.hostname or "").rstrip(".")
    return bool(host) and any(host == allowed and (only is None or only == port) for allowed, only in allowlist)


def allowed_hosts_text() -> str:
    """The allowlist as staff read it ("" when unset: any host)."""
    return ", ".join(entry.strip() for entry in settings.WEBHOOK_ALLOWED_HOSTS if entry.strip())


# ------------------------------------------------------------------ registering


def _clean_url(url: str) -> SplitResult:
    url = url.strip()
    if not url:
        raise BadRequest(gettext_lazy("请填写推送地址。"))
    if len(url) > limits.WEBHOOK_URL:
        raise BadRequest(gettext_lazy("推送地址最多 %(limit)s 个字符。"), limit=limits.WEBHOOK_URL)
    # Printable ASCII only: no spaces or control characters (a header injected through the
    # request line), an international name written as punycode, a path percent-encoded.
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        raise BadRequest(gettext_lazy("推送地址只能包含可见的 ASCII 字符（中文域名请用 punycode，路径请百分号编码）。"))
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not one (above 65535, not digits)
    except ValueError:
        raise BadRequest(gettext_lazy("推送地址无效。")) from None
    if port == 0:  # no port to connect to; nor may it borrow the default port's place on the allowlist
        raise BadRequest(gettext_lazy("推送地址无效。"))
    if parts.scheme not in DEFAULT_PORTS:
        raise BadRequest(gettext_lazy("推送地址必须以 http:// 或 https:// 开头。"))
    if not parts.hostname:
        raise BadRequest(gettext_lazy("推送地址缺少主机名。"))
    if "@" in parts.netloc:
        raise BadRequest(gettext_lazy("推送地址不能包含用户名或密码；请用密钥验证签名。"))
    if not host_allowed(url):
        raise BadRequest(
            gettext_lazy("主机 %(host)s 不在允许推送的主机列表中（WEBHOOK_ALLOWED_HOSTS）。"), host=parts.netloc
        )
    return parts


def _clean_secret(secret: str) -> str:
    if len(secret) < limits.WEBHOOK_SECRET_MIN:
        raise BadRequest(gettext_lazy("密钥至少 %(limit)s 个字符。"), limit=limits.WEBHOOK_SECRET_MIN)
    if len(secret) > limits.WEBHOOK_SECRET:
        raise BadRequest(gettext_lazy("密钥最多 %(limit)s 个字符。"), limit=limits.WEBHOOK_SECRET)
    if not secret.isascii() or not secret.isprintable() or any(c.isspace() for c in secret):
        raise BadRequest(gettext_lazy("密钥只能包含可见的 ASCII 字符，不能有空格。"))
    return secret


@transaction.atomic
def register(
    url: str, secret: str, department: Department | None = None, by: AbstractBaseUser | None = None
) -> WebhookEndpoint:
    """A new active endpoint: an http(s) URL with a host and no credentials, on the allowlist
    when one is set, and a secret of WEBHOOK_SECRET_MIN to WEBHOOK_SECRET visible ASCII
    characters. Office staff only (`by` None: the system, e.g. `manage.py add_webhook`)."""
    guards.require_office_staff(by)
    parts = _clean_url(url)
    cleaned_secret = _clean_secret(secret)
    endpoint = WebhookEndpoint.objects.create(
        url=parts.geturl(),
        secret=cleaned_secret,
        department=department,
        created_by_id=by.pk if by is not None else None,
    )
    audit.record(
        action="webhook.register",
        actor=by,
        subject=endpoint,
        payload={"url": endpoint.url, "department": department.pk if department else None},
    )
    return endpoint


@transaction.atomic
def deactivate(endpoint_id: int, by: AbstractBaseUser | None = None) -> WebhookEndpoint:
    """No more deliveries to the endpoint: none queued from now on, and a pending one is failed
    at its next attempt without a request. Idempotent."""
    guards.require_office_staff(by)
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound(gettext_lazy("找不到这个推送地址。"))
    if endpoint.active:
        endpoint.active = False
        endpoint.save(update_fields=["active"])
        audit.record(action="webhook.deactivate", actor=by, subject=endpoint, payload={"url": endpoint.url})
    return endpoint


@transaction.atomic
def retry_now(delivery_id: str | uuid.UUID, by: AbstractBaseUser | None = None) -> WebhookDelivery:
    """A failed delivery tried once more, now (and, if that fails and attempts remain, with backoff)."""
    guards.require_office_staff(by)
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(gettext_lazy("找不到这条推送记录。"))
    if delivery.status != WebhookDelivery.Status.FAILED:
        raise InvalidState(gettext_lazy("只有失败的推送可以重试。"))
    if not delivery.endpoint.active:
        raise InvalidState(gettext_lazy("推送地址已停用。"))
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_at = timezone.now()
    delivery.save(update_fields=["status", "next_at"])
    audit.record(action="webhook.retry", actor=by, subject=f"webhook_delivery:{delivery.pk}", payload={})
    _enqueue(delivery, attempt=delivery.attempts + 1)
    return delivery


# ------------------------------------------------------------------ emitting


def body_of(delivery_id: str, event: str, data: Any) -> str:
    """The JSON text POSTed: {"id", "event", "at", "data"} (UTF-8, compact)."""
    payload = {"id": delivery_id, "event": event, "at": timezone.localtime().isoformat(), "data": data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signature(secret: str, body: bytes) -> str:
    """The header's value: `sha256=` and the hex HMAC-SHA256 of the raw body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _listening(department_id: int | None) -> QuerySet[WebhookEndpoint]:
    wanted = Q(department__isnull=True)
    if department_id is not None:
        wanted |= Q(department_id=department_id)
    return WebhookEndpoint.objects.filter(wanted, active=True)


def listening(department_id: int | None = None) -> bool:
    """Whether any endpoint would receive an event of `department_id` (callers skip building a
    payload nobody receives)."""
    return _listening(department_id).exists()


def emit(event: str, data: Any, department_id: int | None = None) -> list[WebhookDelivery]:
    """Queue `event` with `data` (JSON-ready) to every active endpoint that wants it: those for
    all events, and those of `department_id` when given. Inside the caller's transaction; the
    deliveries are sent once it commits (nothing is sent for a change rolled back)."""
    deliveries = []
    for endpoint in _listening(department_id):
        delivery_id = uuid.uuid4()
        deliveries.append(
            WebhookDelivery.objects.create(
                id=delivery_id,
                endpoint=endpoint,
                event=event,
                body=body_of(str(delivery_id), event, data),
                next_at=timezone.now(),
            )
        )
    for delivery in deliveries:
        _enqueue(delivery, attempt=1)
    return deliveries


def _enqueue(delivery: WebhookDelivery, *, attempt: int) -> None:
    delivery_id, run_after = str(delivery.pk), delivery.next_at
    transaction.on_commit(lambda: deliver.using(run_after=run_after).enqueue(delivery_id, attempt))


# ------------------------------------------------------------------ delivering


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str


def _post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """One POST; http.client never follows a redirect, and reads no proxy from the environment.
    TIMEOUT_SECONDS bounds each wait on the socket and, by a watchdog that shuts the socket,
    the whole attempt: a receiver that drips its answer a byte at a time cannot hold the worker."""
    parts = urlsplit(url)
    # The port always given: without one, http.client parses the host for it, and reads an IPv6
    # literal ("::1") as host ":" and port 1, or refuses it ("fe80::abcd": a non-numeric port).
    host = parts.hostname or ""
    port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme, 80)
    connection: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
    except (OSError, ValueError) as exc:  # a host http.client refuses: a failed attempt like any other
        return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(TIMEOUT_SECONDS, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        if expired.is_set():  # the deadline passed while connecting, before there was a socket to shut
            raise TimeoutError
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)
    except (OSError, http.client.HTTPException, ValueError) as exc:  # http.client.InvalidURL is a ValueError
        if not expired.is_set():
            return Answer(None, f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    finally:
        watchdog.cancel()
        connection.close()
    if expired.is_set():  # cut short: whatever was read of the answer does not count
        return Answer(None, f"TimeoutError: timed out after {TIMEOUT_SECONDS} s")
    error = ""
    if 300 <= response.status < 400:
        error = _("重定向未跟随（%(location)s）") % {"location": (response.getheader("Location") or "")[:200]}
    elif not 200 <= response.status < 300:
        error = response.reason[:MAX_ERROR] if response.reason else ""
    return Answer(response.status, error)


def _refusal(delivery: WebhookDelivery) -> str:
    """Why the attempt is not made at all, or ""."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _("推送地址已停用，未发送。")
    if not host_allowed(endpoint.url):
        return _("主机不在允许推送的主机列表中（WEBHOOK_ALLOWED_HOSTS），未发送。")
    return ""


def release(delivery_id: str, attempt: int) -> bool:
    """Undo the claim of attempt `attempt` whose task died before recording it (a worker killed
    mid-request: the housekeeping finds the task left running, chamber/housekeeping.py), so the
    task, run again, makes that attempt. An attempt already recorded is not released."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempts=attempt)
            .first()
        )
        if delivery is None or delivery.attempt_log.count() >= attempt:
            return False
        WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=attempt - 1)
    return True


@task()
def deliver(delivery_id: str, attempt: int = 1) -> str:
    """Attempt number `attempt` of one delivery. The attempt is claimed first (pending, with
    attempt − 1 attempts made): a task that runs twice, or a delivery delivered meanwhile,
    sends nothing. 2xx: delivered. A refusal (endpoint deactivated, host no longer allowed):
    failed at once, no request. Anything else: retried after retry.delay(attempt) while
    attempts remain, then failed."""
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, attempts=attempt - 1
    ).update(attempts=attempt)
    if not claimed:
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    started_at, started = timezone.now(), time.monotonic()
    refusal = _refusal(delivery)
    if refusal:
        answer = Answer(None, refusal)
    else:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature(delivery.endpoint.secret, body),
        }
        answer = _post(delivery.endpoint.url, body, headers)
    duration_ms = round((time.monotonic() - started) * 1000)
    ok = answer.status_code is not None and 200 <= answer.status_code < 300
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=started_at,
            status_code=answer.status_code,
            error=answer.error,
            duration_ms=duration_ms,
        )
        if ok:
            delivery.status, delivery.next_at = WebhookDelivery.Status.DELIVERED, None
        elif refusal or attempt >= retry.ATTEMPTS:
            delivery.status, delivery.next_at = WebhookDelivery.Status.FAILED, None
        else:
            delivery.next_at = timezone.now() + retry.delay(attempt)
            _enqueue(delivery, attempt=attempt + 1)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=delivery.status, next_at=delivery.next_at)
    if not ok:
        log.warning(
            "webhook %s to %s: attempt %s failed (%s %s)",
            delivery.event,
            delivery.endpoint.url,
            attempt,
            answer.status_code,
            answer.error,
        )
    return str(delivery.status)
