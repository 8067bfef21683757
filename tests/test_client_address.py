"""The client's address (core/clientaddr.py) and the login limits that count by it: behind a
trusted proxy the address is the one the proxy saw; wrong passwords lock a username from one
address, and an address that tries many usernames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.http import HttpRequest
from django.test import Client

from core.clientaddr import UNKNOWN, axes_client_ip, client_address, scope_address
from deploy.stack import TEMPLATE, Config
from tests.factories import PASSWORD, make_user

PROXY = "127.0.0.1"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXIES = [PROXY, "10.0.0.0/8"]


def login(username: str, password: str, *, client_ip: str, peer: str = PROXY, client: Client | None = None) -> Any:
    """A login through the proxy: the peer is the proxy, which appends the client's address."""
    return (client or Client()).post(
        "/accounts/login/",
        {"username": username, "password": password},
        secure=True,
        REMOTE_ADDR=peer,
        headers={"X-Forwarded-For": client_ip},
    )


# ------------------------------------------------------------------------------- the address


def test_without_trusted_proxies_the_forwarded_header_is_ignored() -> None:
    assert client_address(peer="127.0.0.1", forwarded_for=["198.51.100.1"]) == "127.0.0.1"
    assert client_address(peer="203.0.113.5", forwarded_for=[]) == "203.0.113.5"
    assert client_address(peer=None) == UNKNOWN


@pytest.mark.usefixtures("behind_proxy")
def test_from_a_trusted_proxy_the_header_is_walked_from_the_right() -> None:
    assert client_address(peer=PROXY, forwarded_for=["198.51.100.1"]) == "198.51.100.1"
    # The client's own entries (left of the nearest untrusted one) are not believed.
    assert client_address(peer=PROXY, forwarded_for=["6.6.6.6, 198.51.100.1"]) == "198.51.100.1"
    # Trusted proxies on the way are skipped; two headers read as one list.
    assert client_address(peer=PROXY, forwarded_for=["198.51.100.1, 10.0.0.7", "10.2.0.1"]) == "198.51.100.1"
    # An untrusted peer's header is never read, whatever it says.
    assert client_address(peer="203.0.113.5", forwarded_for=["198.51.100.1"]) == "203.0.113.5"
    # No header, or only proxies: the nearest address there is.
    assert client_address(peer=PROXY, forwarded_for=[]) == PROXY
    assert client_address(peer=PROXY, forwarded_for=["10.0.0.8"]) == "10.0.0.8"
    # Garbage where a proxy's entry should be: stop at the last address a trusted hop gave.
    assert client_address(peer=PROXY, forwarded_for=["198.51.100.1, nonsense"]) == PROXY
    assert client_address(peer=PROXY, forwarded_for=["[2001:db8::1]:443"]) == "2001:db8::1"
    assert client_address(peer="::ffff:127.0.0.1", forwarded_for=["198.51.100.1"]) == "198.51.100.1"


@pytest.mark.usefixtures("behind_proxy")
def test_a_socket_scope_reads_the_same_way() -> None:
    headers = [(b"origin", b"http://x"), (b"x-forwarded-for", b"6.6.6.6, 198.51.100.3")]
    assert scope_address({"client": [PROXY, 1234], "headers": headers}) == "198.51.100.3"
    assert scope_address({"client": ["203.0.113.5", 1234], "headers": headers}) == "203.0.113.5"
    assert scope_address({"headers": headers}) == UNKNOWN


# ------------------------------------------------------------------------------- logins


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_wrong_passwords_from_one_address_do_not_lock_the_moderator_out_elsewhere() -> None:
    make_user("moderator")
    for _ in range(5):
        login("moderator", "wrong", client_ip="198.51.100.66")
    assert login("moderator", PASSWORD, client_ip="198.51.100.66").status_code == 429  # that address is locked
    client = Client()
    response = login("moderator", PASSWORD, client_ip="203.0.113.10", client=client)
    assert response.status_code == 302 and "_auth_user_id" in client.session  # the moderator is not
    assert AccessAttempt.objects.get(username="moderator").ip_address == "198.51.100.66"


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_one_address_spraying_many_usernames_is_locked(settings: Any) -> None:
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT > settings.AXES_FAILURE_LIMIT  # an office shares an address
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    make_user("deputy-sprayed")
    for n in range(8):  # two wrong passwords each: no username reaches its own limit
        login(f"user{n // 2}", "wrong", client_ip="198.51.100.77")
    assert not any(a.failures_since_start >= 5 for a in AccessAttempt.objects.all())
    assert login("deputy-sprayed", PASSWORD, client_ip="198.51.100.77").status_code == 429
    assert login("deputy-sprayed", PASSWORD, client_ip="198.51.100.78").status_code == 302  # its neighbour is not


@pytest.mark.django_db
@pytest.mark.usefixtures("behind_proxy")
def test_a_successful_login_clears_only_its_own_failures_from_the_address(settings: Any) -> None:
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 6
    make_user("deputy-a")
    for _ in range(3):
        login("sprayed", "wrong", client_ip="198.51.100.88")
    for _ in range(2):
        login("deputy-a", "wrong", client_ip="198.51.100.88")
    assert login("deputy-a", PASSWORD, client_ip="198.51.100.88").status_code == 302
    assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [("sprayed", 3)]
    # The address counts 3 again, not 5: two more failures are allowed, the third locks it.
    assert [login("other", "wrong", client_ip="198.51.100.88").status_code for _ in range(3)] == [200, 200, 429]
    assert login("deputy-a", PASSWORD, client_ip="198.51.100.88").status_code == 429


# ------------------------------------------------------------------------------- the production stack


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_the_stack_trusts_its_nginx_and_nginx_sends_the_client_address(tmp_path: Path, server: str) -> None:
    config = Config(
        dir=str(tmp_path),
        port=8080,
        app_ports=[8101],
        server=server,
        database_url="postgres://postgres@127.0.0.1:5432/wenzheng_stack",
        redis_url="redis://127.0.0.1:6379/0",
        redis_prefix="wenzheng-stack",
        tls=False,
        seed=False,
        migrate=False,
    )
    assert config.app_env()["TRUSTED_PROXIES"] == "127.0.0.1"
    command = config.app_command(8101)
    # daphne's --proxy-headers would believe the leftmost X-Forwarded-For entry (the client's own).
    assert ("--proxy-headers" in command) is (server == "uvicorn")
    nginx = TEMPLATE.read_text()
    assert nginx.count("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") == 2  # /ws/ and /


def test_axes_gets_no_address_rather_than_a_word() -> None:
    assert axes_client_ip(HttpRequest()) is None  # stored in an IP address column (PostgreSQL checks)
