from __future__ import annotations

from typing import Any

import pytest

from hearings.models import Hearing
from tests.factories import World, make_world
from voting import services
from voting.models import Poll


@pytest.fixture
def voting_world(db: Any) -> World:
    """A live hearing whose six deputies have all checked in."""
    world = make_world(deputies=6, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    return world


@pytest.fixture
def poll(voting_world: World) -> Poll:
    """An open secret poll on the first department's agenda item."""
    return services.poll_open(hearing_id=voting_world.hearing.pk, item_id=voting_world.items[1].pk, by=None)
