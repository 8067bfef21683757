"""Probes (/healthz, /readyz) and who may open the deputy tablet and the control panel."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.db import OperationalError, connections
from django.test import Client

from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def break_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new cursor fails, as when the database is down."""

    def cursor(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is down")

    monkeypatch.setattr(type(connections["default"]), "cursor", cursor)


def test_healthz_answers_200(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_database(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    break_database(monkeypatch)
    assert client.get("/healthz").status_code == 200


def test_readyz_answers_200_when_the_database_answers(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_answers_503_when_the_database_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    break_database(monkeypatch)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unavailable"


def test_readyz_answers_503_when_redis_is_unreachable(client: Client, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}


def test_readyz_answers_200_when_redis_answers(client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    pinged: list[str] = []

    class FakeRedis:
        def ping(self) -> bool:
            pinged.append("ping")
            return True

    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(lambda url, **kwargs: FakeRedis()))
    settings.REDIS_URL = "redis://redis.invalid:6379/0"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert pinged == ["ping"]


# --------------------------------------------------------------------------- access to pages


@pytest.mark.parametrize("page", ["tablet", "control"])
def test_tablet_and_control_need_a_login(client: Client, world: World, page: str) -> None:
    response = client.get(f"/hearings/{world.hearing.pk}/{page}/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("page", "who"),
    [
        ("tablet", "moderator"),
        ("tablet", "plain_user"),
        ("tablet", "deputy_of_another_hearing"),
        ("control", "deputy"),
        ("control", "other_moderator"),
        ("control", "plain_user"),
    ],
)
def test_tablet_and_control_refuse_the_wrong_people(client: Client, world: World, page: str, who: str) -> None:
    user = {
        "moderator": world.moderator,
        "deputy": world.deputies[0],
        "other_moderator": world.other_moderator,
        "plain_user": make_user(),
        "deputy_of_another_hearing": make_world().deputies[0],
    }[who]
    client.force_login(user)
    assert client.get(f"/hearings/{world.hearing.pk}/{page}/", secure=True).status_code == 403


@pytest.mark.parametrize("page", ["", "screen/", "tablet/", "control/"])
def test_pages_of_an_unknown_hearing_are_404(client: Client, world: World, page: str) -> None:
    client.force_login(world.moderator)
    assert client.get(f"/hearings/{10**9}/{page}", secure=True).status_code == 404
