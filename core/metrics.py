"""The live figures an operator watches, as Prometheus metrics (docs/metrics.md).

Defined here, low, so that every layer can count what it does; served by `GET /metrics`
(config/metrics.py), which also adds the task queue's figures, read at scrape time.

With PROMETHEUS_MULTIPROC_DIR set (the production stack: several app processes behind nginx),
prometheus-client keeps each process's values in files there and a scrape adds them up; the
variable must be set before the process starts (prometheus-client reads it on import). Gauges
then count only live processes ("livesum"). Without it (demo, tests) the values live in this
process's default registry.

Labels take only values the code itself names (an endpoint, a stream, an event type, a batch
kind), never anything a client sends: the number of series stays bounded.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

PREFIX = "wenzheng"

# No `_created` series beside each counter: half the lines, nothing an operator reads.
disable_created_metrics()  # type: ignore[no-untyped-call]

SOCKETS_OPEN = Gauge(
    f"{PREFIX}_sockets_open",
    "WebSockets being served (from handshake to close), by endpoint.",
    ["endpoint"],
    multiprocess_mode="livesum",
)

EVENTS_PUBLISHED = Counter(
    f"{PREFIX}_events_published",
    "State changes published to the live streams (after commit), by event type.",
    ["type"],
)

FANOUT_SECONDS = Histogram(
    f"{PREFIX}_fanout_seconds",
    "Time one event takes to be written to every socket of its stream in one process.",
    ["stream"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

BATCHED = Counter(
    f"{PREFIX}_batched_actions",
    "Socket actions stored in batches (likes, ballots, check-ins, socket checks), by kind.",
    ["kind"],
)

BATCH_SIZE = Histogram(
    f"{PREFIX}_batch_size",
    "Actions per batch (one transaction each), by kind.",
    ["kind"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000),
)

BATCH_FAILURES = Counter(
    f"{PREFIX}_batch_failures",
    "Batches whose transaction failed (every action in it refused), by kind.",
    ["kind"],
)

SNAPSHOT_BUILDS = Counter(
    f"{PREFIX}_snapshot_builds",
    "Snapshots built from the database (shared by sockets arriving together), by stream.",
    ["stream"],
)

REDIS_RESUBSCRIBES = Counter(
    f"{PREFIX}_redis_resubscribes",
    "Hearing subscriptions taken again after the channel layer (Redis) refused them.",
)

REDIS_SUBSCRIBE_FAILURES = Counter(
    f"{PREFIX}_redis_subscribe_failures",
    "Attempts to subscribe to a hearing that the channel layer (Redis) refused.",
)

HTTP_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "HTTP requests: time to a response, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# What the task queue collector reports (config/metrics.py), named here with the rest.
TASKS = f"{PREFIX}_tasks"
TASK_QUEUE_DEPTH = f"{PREFIX}_task_queue_depth"
TASK_OLDEST_DUE_SECONDS = f"{PREFIX}_task_oldest_due_seconds"
