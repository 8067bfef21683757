import pytest

from tests.factories import make_world
from tests.live.helpers import control_path, open_socket, public_path

pytestmark = pytest.mark.django_db(transaction=True)


async def test_control_action_reaches_public_socket():
    from channels.db import database_sync_to_async

    world = await database_sync_to_async(make_world)(status="live")
    hid = world.hearing.pk
    viewer = await open_socket(public_path(hid))
    control = await open_socket(control_path(hid), user=world.moderator)
    assert viewer.snapshot["data"]["hearing"]["status"] == "live"
    ack = await control.action("agenda.start", item=world.items[1].pk)
    assert ack["type"] == "ack", ack
    event = await viewer.recv_type("agenda.current")
    assert event["data"]["item"] == world.items[1].pk
    assert event["seq"] == viewer.snapshot["seq"] + 1
    await viewer.close()
    await control.close()
