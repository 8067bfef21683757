from __future__ import annotations

from typing import Any

import pytest

from tests.factories import World, make_world
from tests.projects.helpers import People, people


@pytest.fixture(autouse=True)
def _plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def world(db: Any) -> World:
    return make_world(status="live")


@pytest.fixture
def who(world: World) -> People:
    return people(world)
