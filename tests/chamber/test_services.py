"""Rules across a hearing and its polls (chamber/services.py)."""

from __future__ import annotations

import pytest

from chamber import services
from tests.factories import World
from voting import services as voting_services
from voting.models import Poll

pytestmark = pytest.mark.django_db


def test_ending_the_hearing_closes_an_open_poll(live_world: World) -> None:
    hid = live_world.hearing.pk
    poll = voting_services.poll_open(hearing_id=hid, item_id=live_world.items[1].pk, by=None)
    services.hearing_end(hearing_id=hid, by=live_world.moderator)
    poll.refresh_from_db()
    assert poll.status == Poll.Status.CLOSED and poll.cast == 0
