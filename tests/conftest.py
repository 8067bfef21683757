from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from live import publish as live_publish
from tests.factories import World, make_world

pytest_plugins = ["tests.outbound.fixtures"]  # receiver, work: the outbound tests and their attacks


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in LANGUAGE_CODE: a request the test client made in English leaves English
    active in its thread, and a refusal's message renders in the active language when read."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    """Each test starts with full rate-limit buckets: one test's likes, asks and page visits
    (all from the same loopback address) must not spend the next one's."""
    from tests.live.helpers import reset_limits

    reset_limits()


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


@pytest.fixture
def live_world(db: Any) -> World:
    return make_world(status="live")


class Published(list[tuple[int, str, str | None, str]]):
    """Events a test's services published: (hearing, control type, public type or None, ...)."""

    def types(self, stream: str = "control") -> list[str]:
        if stream == "control":
            return [ctrl for (_, ctrl, _, _) in self]
        return [pub for (_, _, pub, _) in self if pub is not None]

    def last(self) -> tuple[int, str, str | None, str]:
        return self[-1]


@pytest.fixture
def published() -> Iterator[Published]:
    """Capture every publish() call: [(hearing_id, control_type, public_type|None, control_frame)]."""
    captured = Published()

    def listener(hearing_id: int, events: list[Any], frames: list[tuple[str, int, str]]) -> None:
        public, control = events
        captured.append((hearing_id, (control or public).type, public.type if public else None, frames[-1][2]))

    live_publish._listeners.append(listener)
    yield captured
    live_publish._listeners.remove(listener)


def service_available(kind: str) -> tuple[bool, str]:
    """Is the real PostgreSQL / Redis reachable? (url, reason)"""
    if kind == "redis":
        import redis

        url = os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return True, url
        except Exception as exc:
            return False, f"Redis at {url} unreachable: {exc}"
    import psycopg

    url = (
        os.environ.get("TEST_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres"
    )
    try:
        psycopg.connect(url.replace("postgres://", "postgresql://"), connect_timeout=2).close()
        return True, url
    except Exception as exc:
        return False, f"PostgreSQL at {url} unreachable: {exc}"


def require_service(kind: str) -> str:
    """Skip (or, under CI=true, fail) when the service is unreachable."""
    ok, detail = service_available(kind)
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires it: {detail}")
        pytest.skip(detail)
    return detail
