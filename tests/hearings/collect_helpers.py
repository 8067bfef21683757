"""Shared set-up of the collection tests (hearings/services/collection.py, console/collect.py)."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from hearings.models import Hearing
from hearings.services import collection

CATEGORIES = ["营商环境", "教育", "医疗卫生", "交通出行", "生态环境"]


@pytest.fixture(autouse=True)
def fresh_limit_window(monkeypatch: Any) -> None:
    """The collection limits count per minute in the cache (Redis under PostgreSQL runs, shared by
    every test and run): each test counts in its own minute, far from any other's."""
    offset = secrets.randbelow(10**9) * 3600.0
    monkeypatch.setattr(collection, "time", SimpleNamespace(time=lambda: time.time() + offset))


def open_window(hearing: Hearing, *, categories: list[str] | None = None) -> Hearing:
    """The hearing collects now (opened an hour ago, closes in a day), in `categories`."""
    now = timezone.now()
    hearing.collect_opens_at = now - timedelta(hours=1)
    hearing.collect_closes_at = now + timedelta(days=1)
    hearing.categories = CATEGORIES if categories is None else categories
    hearing.save(update_fields=["collect_opens_at", "collect_closes_at", "categories"])
    return hearing


def viewer() -> str:
    return "v" + secrets.token_hex(8)
