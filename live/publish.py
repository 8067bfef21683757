"""publish(): how a service's state change becomes numbered events on the hearing's streams.

Called inside the service's transaction. It takes the next seq of each stream by updating the
hearing row (that row lock orders concurrent publishers, so seq order is commit order),
stores the serialized frame for `resume`, and hands the frames to the live hub only once the
transaction has committed: an event is never seen for a change that rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model

from core import metrics
from live.models import LiveEvent
from live.schema import Event, Stream, state_frame

log = logging.getLogger(__name__)

# Tests swap this to capture what would be sent (see tests/conftest.py).
Frames = list[tuple[str, int, str]]  # (stream, seq, frame text)
_listeners: list[Callable[[int, list[Event | None], Frames], None]] = []


def group_name(hearing_id: int) -> str:
    return f"hearing.{hearing_id}"


def publish(hearing: Model, *, public: Event | None, control: Event | None = None) -> Frames:
    """Number and store one state change; send it after commit.

    `hearing` is the hearing row the service has locked (select_for_update): its seq columns
    are advanced here. `public` goes to public and deputy sockets (None: they are not told,
    e.g. a pending question); `control` to moderators (defaults to the public event).
    """
    hearing_id: int = hearing.pk
    hearings = type(hearing)._default_manager
    if not connection.in_atomic_block:
        raise RuntimeError("publish() must run inside the service's transaction")
    control = control or public
    if control is None:
        raise ValueError("nothing to publish")
    hearings.filter(pk=hearing_id).update(
        public_seq=F("public_seq") + (1 if public is not None else 0), control_seq=F("control_seq") + 1
    )
    public_seq, control_seq = hearings.filter(pk=hearing_id).values_list("public_seq", "control_seq").get()
    frames: Frames = []
    if public is not None:
        frames.append((Stream.PUBLIC, public_seq, state_frame(public.type, public_seq, public.data)))
    frames.append((Stream.CONTROL, control_seq, state_frame(control.type, control_seq, control.data)))
    LiveEvent.objects.bulk_create(
        LiveEvent(hearing_id=hearing_id, stream=stream, seq=seq, type=event.type, frame=frame)
        for (stream, seq, frame), event in zip(
            frames, ([public, control] if public is not None else [control]), strict=True
        )
    )
    _prune(hearing_id, public_seq, control_seq)
    for listener in _listeners:
        listener(hearing_id, [public, control], frames)
    event_type = control.type  # counted once committed (core/metrics.py)
    transaction.on_commit(lambda: _committed(hearing_id, event_type, frames))
    return frames


def _committed(hearing_id: int, event_type: str, frames: Frames) -> None:
    metrics.EVENTS_PUBLISHED.labels(type=event_type).inc()
    broadcast(hearing_id, frames)


def _prune(hearing_id: int, public_seq: int, control_seq: int) -> None:
    """Keep the history bounded: every 100 events, drop what is older than LIVE["HISTORY"]."""
    keep = settings.LIVE["HISTORY"]
    if control_seq % 100 == 0:
        LiveEvent.objects.filter(hearing_id=hearing_id, stream=Stream.CONTROL, seq__lte=control_seq - keep).delete()
        LiveEvent.objects.filter(hearing_id=hearing_id, stream=Stream.PUBLIC, seq__lte=public_seq - keep).delete()


def broadcast(hearing_id: int, frames: Frames) -> None:
    """Send committed frames to every process's hub (the channel layer fans out)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "live.frames", "hearing": hearing_id, "frames": [list(f) for f in frames]}
    try:
        async_to_sync(layer.group_send)(group_name(hearing_id), message)
    except Exception:
        # The events are stored: hubs fill the gap from history on the next event or resume.
        log.exception("broadcast of hearing %s frames failed", hearing_id)
