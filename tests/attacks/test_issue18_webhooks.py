"""Issue 18 attacks on outbound webhooks (PROTOCOL.md "Webhooks", docs/webhooks.md): allowlist
bypasses, receivers that answer slowly or endlessly, the signature and body exactly as the
contract says, the same id on retries, the command's output, and the staff page (CSRF, who may,
the secret never shown back nor audited)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from audit.models import AuditEntry
from core.errors import BadRequest
from outbound import webhooks
from outbound.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import make_user
from tests.hearings.people_helpers import make_staff
from tests.outbound.conftest import SECRET, due
from tests.outbound.receiver import Receiver

pytestmark = pytest.mark.django_db

Work = Callable[[], int]


@pytest.fixture(autouse=True)
def _plain(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.OUTBOUND_RETRY_SECONDS = 30


def stored() -> tuple[list[Any], int]:
    return list(WebhookEndpoint.objects.values_list("url", "secret")), AuditEntry.objects.count()


# ------------------------------------------------------------------ the allowlist, bent every way


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.cn.evil.cn/",  # the allowed name as a prefix
        "http://evilhooks.example.cn/",  # as a suffix
        "http://hooks.example.cn@127.0.0.1/",  # userinfo that looks like the host
        "http://127.0.0.1#@hooks.example.cn/",  # fragment that looks like the host
        "http://127.0.0.1?@hooks.example.cn/",
        "http://127.0.0.1\\@hooks.example.cn/",
        "http://hooks.example.cn:443@127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "http://hooks%2eexample%2ecn/",
        "http://xn--hooks-example-cn/",
        "http://hooks.example.cn:0/",  # port 0: no port; may not borrow the default port's permission
        "http://hooks.example.cn:65536/",
        "http://hooks.example.cn:-1/",
        "http://hooks.example.cn:+443/",
        "http://hooks.example.cn:८०/",  # Devanagari digits: not ASCII
        " http://127.0.0.1/",
        "http://127.0.0.1/\n",
        "http://hooks.example.cn/\r\nHost: 127.0.0.1",
        "http://hooks.example.cn\t/",
    ],
)
def test_the_allowlist_is_not_bypassed(settings: Any, url: str) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.cn:80", "hooks.example.cn:443"]
    before = stored()
    try:
        endpoint = webhooks.register(url, SECRET)
    except BadRequest:
        assert stored() == before
        return
    # Whatever is accepted must be delivered to an allowed host and port, nowhere else.
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint.url)
    port = parts.port if parts.port is not None else webhooks.DEFAULT_PORTS[parts.scheme]
    assert (parts.hostname, port) in {("hooks.example.cn", 80), ("hooks.example.cn", 443)}, endpoint.url


@pytest.mark.parametrize(
    "url",
    [
        "http://HOOKS.Example.CN/",
        "http://hooks.example.cn./",
        "http://hooks.example.cn:80/",
        "https://hooks.example.cn/x#fragment",
    ],
)
def test_the_same_host_written_differently_is_accepted(settings: Any, url: str) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.cn:80", "hooks.example.cn:443"]
    assert webhooks.register(url, SECRET).pk


def test_an_ipv6_entry_allows_only_that_address_and_port(settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = ["[::1]:9000"]
    assert webhooks.register("http://[::1]:9000/", SECRET).pk
    for url in ("http://[::1]/", "http://[::1]:9001/", "http://[0:0:0:0:0:0:0:2]:9000/", "http://127.0.0.1:9000/"):
        with pytest.raises(BadRequest):
            webhooks.register(url, SECRET)


def test_a_fragment_is_never_sent_and_the_path_is(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url("/in/hook?k=1#secret-fragment"), SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit("assignment.accept", {"id": 1})
    work()
    (hit,) = receiver.received()
    assert hit.path == "/in/hook?k=1"


# ------------------------------------------------------------------ the body and the signature


def test_the_body_and_signature_are_exactly_the_contracts_and_the_id_survives_retries(
    receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    receiver.status = 503
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = webhooks.emit("assignment.reply", {"id": 5, "title": '路灯 \u2028 "引号"'})
    work()
    receiver.status = 200
    due()
    work()
    first, second = receiver.received()
    for hit in (first, second):
        expected = "sha256=" + hmac.new(SECRET.encode(), hit.body, hashlib.sha256).hexdigest()
        assert hit.headers["x-wenzheng-signature"] == expected
        assert hit.headers["content-type"] == "application/json"
        body = json.loads(hit.body)
        assert set(body) == {"id", "event", "at", "data"}
        assert (body["id"], body["event"]) == (str(delivery.pk), "assignment.reply")
    assert first.body == second.body
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"


# ------------------------------------------------------------------ hostile receivers


class Hostile:
    """A loopback TCP server that answers every connection with `behave(conn)`, in a thread."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self.stopping = threading.Event()
        self.sent = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            conn.recv(65536)
            self.behave(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


def _attempt(port: int, django_capture_on_commit_callbacks: Any, work: Work) -> tuple[float, DeliveryAttempt]:
    webhooks.register(f"http://127.0.0.1:{port}/hook", SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = webhooks.emit("assignment.accept", {"id": 1})
    started = time.monotonic()
    work()
    return time.monotonic() - started, DeliveryAttempt.objects.get(delivery=delivery)


def test_a_receiver_that_drips_its_answer_cannot_hold_the_worker(
    monkeypatch: Any, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    """Each byte arrives within the socket timeout, so only an overall deadline stops it."""
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)

    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            conn.sendall(b"X-Slow: a\r\n")
            time.sleep(0.3)

    server = Hostile(drip)
    try:
        took, attempt = _attempt(server.port, django_capture_on_commit_callbacks, work)
    finally:
        server.stop()
    assert took < 4, f"the attempt took {took:.1f} s for a 1 s timeout"
    assert attempt.status_code is None and attempt.error


def test_a_receiver_that_never_answers_times_out(
    monkeypatch: Any, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)
    server = Hostile(lambda conn: time.sleep(4))
    try:
        took, attempt = _attempt(server.port, django_capture_on_commit_callbacks, work)
    finally:
        server.stop()
    assert took < 3.5
    assert attempt.status_code is None and "timed out" in attempt.error.lower()


def test_an_endless_body_is_not_read_to_its_end(work: Work, django_capture_on_commit_callbacks: Any) -> None:
    chunk = b"x" * 65536

    def flood(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            conn.sendall(chunk)

    server = Hostile(flood)
    try:
        took, attempt = _attempt(server.port, django_capture_on_commit_callbacks, work)
    finally:
        server.stop()
    assert took < 4
    assert attempt.status_code == 200


def test_an_endless_chunked_body_is_not_read_to_its_end(work: Work, django_capture_on_commit_callbacks: Any) -> None:
    chunk = b"10000\r\n" + b"y" * 0x10000 + b"\r\n"

    def flood(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            conn.sendall(chunk)

    server = Hostile(flood)
    try:
        took, attempt = _attempt(server.port, django_capture_on_commit_callbacks, work)
    finally:
        server.stop()
    assert took < 4
    assert attempt.status_code == 500 and len(attempt.error) <= webhooks.MAX_ERROR


# ------------------------------------------------------------------ the command


def test_add_webhook_prints_the_id_and_nothing_else() -> None:
    out, err = StringIO(), StringIO()
    call_command("add_webhook", "https://hooks.example.cn/h", "--secret", SECRET, stdout=out, stderr=err)
    endpoint = WebhookEndpoint.objects.get()
    assert out.getvalue() == f"{endpoint.pk}\n"
    assert SECRET not in err.getvalue()


# ------------------------------------------------------------------ the staff pages


def test_the_secret_is_never_shown_back_nor_audited() -> None:
    client = Client()
    client.force_login(make_staff())
    client.post("/manage/webhooks/", {"url": "https://hooks.example.cn/h", "secret": SECRET, "department": ""})
    # A refused form does not echo the secret either.
    refused = client.post("/manage/webhooks/", {"url": "ftp://x/", "secret": SECRET + "-2", "department": ""})
    assert refused.status_code == 400
    assert SECRET not in refused.content.decode()
    for page in ("/manage/webhooks/", "/manage/webhooks/deliveries/"):
        assert SECRET not in client.get(page).content.decode()
    for entry in AuditEntry.objects.all():
        assert SECRET not in json.dumps(entry.payload, ensure_ascii=False)
    admin = Client()
    admin.force_login(make_user(is_staff=True, is_superuser=True))
    assert SECRET not in admin.get("/admin/").content.decode()


def test_the_staff_page_wants_the_csrf_token_and_staff() -> None:
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(make_staff())
    form = {"url": "https://hooks.example.cn/h", "secret": SECRET, "department": ""}
    assert staff.post("/manage/webhooks/", form).status_code == 403
    endpoint = webhooks.register("https://hooks.example.cn/kept", SECRET)
    assert staff.post(f"/manage/webhooks/{endpoint.pk}/deactivate/").status_code == 403
    other = Client()
    other.force_login(make_user())
    assert other.post("/manage/webhooks/", form).status_code in (302, 403)
    assert other.post(f"/manage/webhooks/{endpoint.pk}/deactivate/").status_code in (302, 403)
    assert other.get("/manage/webhooks/deliveries/").status_code in (302, 403)
    assert Client().get("/manage/webhooks/").status_code in (302, 403)
    assert list(WebhookEndpoint.objects.values_list("url", "active")) == [("https://hooks.example.cn/kept", True)]


# ------------------------------------------------------------------ poll.published and the secret ballot


@pytest.mark.parametrize("secret", [True, False])
def test_a_secret_polls_webhook_names_no_voter_and_a_named_one_carries_its_roll(
    secret: bool, django_capture_on_commit_callbacks: Any
) -> None:
    from chamber import services as chamber_services
    from hearings.models import Hearing
    from tests.factories import make_world
    from tests.voting.helpers import cast
    from voting import services as voting_services

    world = make_world(deputies=3, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = voting_services.poll_open(
        hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator, secret=secret
    )
    for deputy, choice in zip(world.deputies, ["满意", "满意", "不满意"], strict=True):
        cast(world, poll, deputy, choice)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    webhooks.register("https://hooks.example.cn/h", SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    (delivery,) = WebhookDelivery.objects.all()
    data = json.loads(delivery.body)["data"]
    assert data["secret"] is secret
    if secret:
        assert "roll" not in data
        for deputy in world.deputies:
            assert deputy.get_username() not in delivery.body
    else:
        assert len(data["roll"]) == 3


# ------------------------------------------------------------------ IPv6 literals without a port


@pytest.mark.parametrize(
    ("url", "address"), [("http://[::1]/h", ("::1", 80)), ("https://[fe80::abcd]/h", ("fe80::abcd", 443))]
)
def test_an_ipv6_literal_without_a_port_is_dialled_on_the_default_port(
    monkeypatch: Any, url: str, address: tuple[str, int]
) -> None:
    """http.client reads a bare "::1" as host ":" and port 1, and "fe80::abcd" as a bad port."""
    dialled: list[tuple[str, int]] = []

    def create_connection(where: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        dialled.append(where)
        raise ConnectionRefusedError("refused in the test")

    monkeypatch.setattr(socket, "create_connection", create_connection)
    answer = webhooks._post(url, b"{}", {})
    assert dialled == [address]
    assert answer.status_code is None and "refused" in answer.error


def test_a_url_http_client_refuses_is_a_logged_attempt_not_a_stuck_delivery(
    monkeypatch: Any, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register("http://[fe80::abcd]/h", SECRET)
    monkeypatch.setattr(
        http.client.HTTPConnection, "_get_hostport", lambda self, h, p: (_ for _ in ()).throw(ValueError("x"))
    )
    with django_capture_on_commit_callbacks(execute=True):
        (delivery,) = webhooks.emit("assignment.accept", {"id": 1})
    work()
    delivery = WebhookDelivery.objects.get(pk=delivery.pk)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_at is not None  # retried later, like any failed attempt
    assert DeliveryAttempt.objects.filter(delivery=delivery, status_code=None).count() == 1


def test_a_deadline_that_passes_while_connecting_still_ends_the_attempt(
    monkeypatch: Any, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    """The watchdog finds no socket to shut while the connection is being made: the attempt
    must still end at the deadline, not drip on."""
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 1)
    real = socket.create_connection

    def slow_connect(*args: Any, **kwargs: Any) -> socket.socket:
        time.sleep(1.3)
        return real(*args, **kwargs)

    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            conn.sendall(b"X-Slow: a\r\n")
            time.sleep(0.3)

    server = Hostile(drip)
    monkeypatch.setattr(socket, "create_connection", slow_connect)
    try:
        took, attempt = _attempt(server.port, django_capture_on_commit_callbacks, work)
    finally:
        server.stop()
    assert took < 4, f"the attempt took {took:.1f} s for a 1 s timeout"
    assert attempt.status_code is None and "timed out" in attempt.error
