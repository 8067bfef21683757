"""`GET /metrics`: the live figures (core/metrics.py) and the task queue's, for Prometheus.

Open to a client on loopback, as core/clientaddr.py resolves it (behind nginx every request's
peer is loopback: only X-Forwarded-For from TRUSTED_PROXIES says who the client is). From
anywhere else only with `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time:
404 when no token is configured (the endpoint does not exist for the outside), 401 when one is
and the request does not carry it. See docs/metrics.md.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Greatest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core import metrics
from core.clientaddr import request_address

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# --------------------------------------------------------------------------- the task queue


class TaskQueueCollector(Collector):
    """The task queue read at scrape time (two queries): rows by status (READY waiting, RUNNING,
    FAILED, SUCCESSFUL), the ready tasks that are due, and how long the oldest of those waits."""

    def collect(self) -> Iterator[Metric]:
        try:
            by_status = dict(DBTaskResult.objects.values_list("status").annotate(n=Count("id")).order_by())
            never = get_date_max()
            waiting_since = Case(
                When(run_after=never, then=F("enqueued_at")), default=Greatest("enqueued_at", "run_after")
            )
            due = DBTaskResult.objects.ready().aggregate(n=Count("id"), oldest=Min(waiting_since))
        except DatabaseError as exc:  # the database away: the process's own figures still go out
            log.warning("metrics: task queue not read (%s)", exc)
            return
        tasks = GaugeMetricFamily(metrics.TASKS, "Task results stored, by status.", labels=["status"])
        for status in TaskResultStatus.values:
            tasks.add_metric([status], by_status.get(status, 0))
        yield tasks
        yield GaugeMetricFamily(
            metrics.TASK_QUEUE_DEPTH, "Tasks ready and due, waiting for the worker.", value=due["n"]
        )
        oldest = due["oldest"]
        age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest is not None else 0.0
        yield GaugeMetricFamily(
            metrics.TASK_OLDEST_DUE_SECONDS, "How long the oldest due task has waited (0: none).", value=age
        )


_tasks = CollectorRegistry(auto_describe=False)
_tasks.register(TaskQueueCollector())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # a zombie (ended, not yet reaped by its parent) answers signals too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc: taken as alive


def forget_dead_processes(directory: str) -> list[int]:
    """Drop the live gauges (sockets open) of processes that are gone, however they ended (a
    crash, a restart by systemd): their counters stay counted. Returns their pids."""
    dead: set[int] = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        number = path.stem.rsplit("_", 1)[1]
        if number.isdigit() and not _alive(int(number)):
            dead.add(int(number))
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):  # another scrape removed them meanwhile
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return sorted(dead)


def process_registry() -> Collector:
    """This process's figures, or with PROMETHEUS_MULTIPROC_DIR every process's, added up."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY
    forget_dead_processes(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def exposition(registries: Iterable[Collector] | None = None) -> bytes:
    """The text format of the live figures and the task queue's (distinct metric families, so
    the two documents simply follow each other)."""
    return b"".join(generate_latest(r) for r in (registries or (process_registry(), _tasks)))


# --------------------------------------------------------------------------- the endpoint


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # "unknown" (no peer address): not known to be local


def _bearer(request: HttpRequest) -> bytes:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip().encode() if scheme.lower() == "bearer" else b""


def refusal(request: HttpRequest) -> HttpResponseBase | None:
    """Why this request may not read the metrics, as its response; None when it may."""
    if _loopback(request_address(request)):
        return None
    expected = settings.METRICS_TOKEN.encode()
    if not expected:
        raise Http404
    if hmac.compare_digest(_bearer(request), expected):
        return None
    response = HttpResponse(status=401)  # for a scraper: no page, the header says what is wanted
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponseBase:
    refused = refusal(request)
    if refused is not None:
        return refused
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


# --------------------------------------------------------------------------- HTTP durations

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # no route: a 404, or a redirect made before routing (https, a slash)


class RequestMetricsMiddleware(MiddlewareMixin):
    """Times every request (first in MIDDLEWARE, so all of it). Labelled by the route's pattern,
    never the path, by method (others as OTHER) and by status class: the series stay bounded.
    (MiddlewareMixin: no thread hop under ASGI.)"""

    def process_request(self, request: HttpRequest) -> None:
        request.metrics_started = time.perf_counter()  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        started = getattr(request, "metrics_started", None)
        if started is not None:
            match = request.resolver_match
            metrics.HTTP_SECONDS.labels(
                route=match.route if match is not None else UNMATCHED,
                method=request.method if request.method in METHODS else "OTHER",
                status=f"{response.status_code // 100}xx",
            ).observe(time.perf_counter() - started)
        return response
