"""Done when (issue 18): with the worker running, an assignment transition reaches a local webhook
receiver with a valid signature; with the receiver down the delivery is retried and lands once it
is back; each attempt is in the delivery log.

A real `manage.py db_worker` process on the test's database (a SQLite file or PostgreSQL, so it
runs in both passes), with OUTBOUND_RETRY_SECONDS=1 and the receiver's host:port as the only
allowed host; the receiver is http.server on loopback in this process. Every wait is on a
condition, bounded."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest
from django.test import Client

from assignments import services
from assignments.models import Assignment
from outbound import webhooks
from outbound.models import DeliveryAttempt, WebhookDelivery
from tests.assignments.helpers import create, make_case
from tests.hearings.people_helpers import make_staff
from tests.integration.servers import ROOT, server_env
from tests.outbound.conftest import SECRET
from tests.outbound.receiver import Hit, Receiver

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 60  # seconds any one condition may take (the worker's start included) before the test fails


def wait_for(check: Callable[[], bool], what: str, worker: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT} s: {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


@contextmanager
def db_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def delivery_of(event: str) -> WebhookDelivery | None:
    return WebhookDelivery.objects.filter(event=event).first()


def status_of(event: str) -> str:
    delivery = delivery_of(event)
    return delivery.status if delivery else ""


def hits_of(receiver: Receiver, event: str) -> list[Hit]:
    return [hit for hit in receiver.received() if json.loads(hit.body)["event"] == event]


def test_the_worker_delivers_signed_retries_while_the_receiver_is_down_and_logs_every_attempt(
    tmp_path: Path, receiver: Receiver
) -> None:
    env = {
        **server_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "OUTBOUND_RETRY_SECONDS": "1",
        "WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{receiver.port}",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = tmp_path / "worker.log"
    case = make_case()
    webhooks.register(receiver.url(), SECRET)

    with db_worker(env, log) as worker:
        # 1. Up: the transition reaches the receiver, signed.
        assignment = create(case)
        wait_for(lambda: status_of("assignment.create") == "delivered", "assignment.create delivered", worker, log)
        (hit,) = hits_of(receiver, "assignment.create")
        assert hit.verified(SECRET)
        assert hit.headers["content-type"] == "application/json"
        body = json.loads(hit.body)
        created = delivery_of("assignment.create")
        assert created is not None and body["id"] == str(created.pk)
        assert body["data"]["id"] == assignment.pk and body["data"]["status"] == "assigned"

        # 2. Down: the next transition's delivery is retried with backoff (1 s, 2 s, …) …
        receiver.stop()
        services.assignment_accept(assignment_id=assignment.pk, by=case.liaison)
        wait_for(
            lambda: DeliveryAttempt.objects.filter(delivery__event="assignment.accept").count() >= 2,
            "two failed attempts of assignment.accept",
            worker,
            log,
        )
        assert status_of("assignment.accept") == "pending"
        # … and lands once the receiver is back.
        receiver.start()
        wait_for(lambda: status_of("assignment.accept") == "delivered", "assignment.accept delivered", worker, log)

    accepted = delivery_of("assignment.accept")
    assert accepted is not None
    (hit,) = hits_of(receiver, "assignment.accept")
    assert hit.verified(SECRET)
    assert json.loads(hit.body)["id"] == str(accepted.pk)
    assert json.loads(hit.body)["data"]["status"] == Assignment.objects.get(pk=assignment.pk).status == "accepted"
    attempts = list(DeliveryAttempt.objects.filter(delivery=accepted).order_by("at", "id"))
    assert len(attempts) == accepted.attempts >= 3
    assert all(a.status_code is None and "ConnectionRefused" in a.error for a in attempts[:-1])
    assert (attempts[-1].status_code, attempts[-1].error) == (200, "")
    gaps = [(later.at - earlier.at).total_seconds() for earlier, later in pairwise(attempts)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # waited out the backoff, never retried at once

    # Every attempt is in the staff's delivery log.
    client = Client()
    client.force_login(make_staff())
    html = client.get(f"/manage/webhooks/deliveries/?endpoint={accepted.endpoint_id}").content.decode()
    row = html[html.index(f'id="delivery-{accepted.pk}"') :]
    row = row[: row.index("</tr>")]
    assert row.count('class="attempt"') == len(attempts)
    assert row.count("ConnectionRefused") == len(attempts) - 1 and "200" in row
