"""Who may read /metrics (PROTOCOL.md, "Operations"): a client on loopback as core/clientaddr.py
resolves it, never the TCP peer alone (behind nginx every peer is loopback); anyone else only
with the bearer token, compared in constant time: 404 without a configured token, 401 with one."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve

from tests.metrics.helpers import Scrape, scrape

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.5"
TOKEN = "t0ken-for-the-scraper-9f2c"


def get(remote: str = "127.0.0.1", **headers: str) -> Any:
    return Client(REMOTE_ADDR=remote).get("/metrics", headers=headers)


def refused_without_figures(response: Any, status: int) -> None:
    assert response.status_code == status, response.status_code
    assert b"wenzheng_" not in response.content


def test_loopback_reads_the_figures_in_the_text_format() -> None:
    response = get()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "no-cache" in response["Cache-Control"]  # never kept by a proxy
    figures = Scrape(response.content.decode())
    assert "wenzheng_sockets_open" in figures.families
    assert resolve("/metrics").url_name == "metrics"


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1"])
def test_every_loopback_address_is_local(address: str) -> None:
    assert get(address).status_code == 200


def test_from_outside_without_a_token_configured_it_does_not_exist(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    refused_without_figures(get(OUTSIDE), 404)
    refused_without_figures(get(OUTSIDE, Authorization="Bearer "), 404)  # an empty token is no token


def test_from_outside_the_right_token_and_nothing_else(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert get(OUTSIDE, Authorization=f"Bearer {TOKEN}").status_code == 200
    assert get(OUTSIDE, Authorization=f"bearer {TOKEN}").status_code == 200  # the scheme is case-insensitive
    missing = get(OUTSIDE)
    refused_without_figures(missing, 401)
    assert missing["WWW-Authenticate"] == 'Bearer realm="metrics"'
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer", "Bearer 令牌"):
        refused_without_figures(get(OUTSIDE, Authorization=wrong), 401)
    # Only the header counts: not a query string, not a cookie.
    refused_without_figures(Client(REMOTE_ADDR=OUTSIDE).get(f"/metrics?token={TOKEN}"), 401)


def test_the_token_is_compared_in_constant_time(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.METRICS_TOKEN = TOKEN
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # as config/metrics.py calls it
    assert get(OUTSIDE, Authorization="Bearer guess").status_code == 401
    assert (b"guess", TOKEN.encode()) in compared


@pytest.mark.parametrize("trusted", [[], ["127.0.0.1"]])
def test_a_forged_forwarded_for_from_outside_opens_nothing(settings: Any, trusted: list[str]) -> None:
    settings.TRUSTED_PROXIES = trusted
    settings.METRICS_TOKEN = ""
    refused_without_figures(get(OUTSIDE, X_Forwarded_For="127.0.0.1"), 404)
    settings.METRICS_TOKEN = TOKEN
    refused_without_figures(get(OUTSIDE, X_Forwarded_For="127.0.0.1"), 401)


def test_behind_the_proxy_the_client_decides_not_the_peer(settings: Any) -> None:
    """nginx on loopback: every peer is 127.0.0.1; the client is the address nginx appended."""
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.METRICS_TOKEN = ""
    refused_without_figures(get("127.0.0.1", X_Forwarded_For=OUTSIDE), 404)
    # The client wrote "127.0.0.1" itself; nginx appended its real address.
    refused_without_figures(get("127.0.0.1", X_Forwarded_For=f"127.0.0.1, {OUTSIDE}"), 404)
    settings.METRICS_TOKEN = TOKEN
    refused_without_figures(get("127.0.0.1", X_Forwarded_For=OUTSIDE), 401)
    assert get("127.0.0.1", X_Forwarded_For=OUTSIDE, Authorization=f"Bearer {TOKEN}").status_code == 200
    # A scraper on the machine itself, through nginx.
    assert get("127.0.0.1", X_Forwarded_For="127.0.0.1").status_code == 200


def test_plain_http_from_loopback_is_not_redirected(settings: Any) -> None:
    """A local scraper talks plain http to an app process: not sent to https (as /healthz)."""
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get("/metrics", secure=False).status_code == 200
    assert Client().get("/accounts/login/", secure=False).status_code == 301  # the others are


def test_reading_only() -> None:
    assert Client().head("/metrics").status_code == 200
    assert Client().post("/metrics").status_code == 405


def test_the_setting_is_passed_to_the_stack() -> None:
    from deploy.stack import PASS_THROUGH

    assert "METRICS_TOKEN" in PASS_THROUGH


def test_scrape_helper_reads_what_the_view_writes() -> None:
    assert scrape().value("wenzheng_task_queue_depth") == 0
