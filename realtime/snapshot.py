"""Snapshots: the whole state an audience may see, at a known seq.

Built from selectors only. Every state change commits together with its seq bump, so a
snapshot whose seq reads the same before and after its queries is consistent with that seq.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from core import metrics
from hearings import selectors
from hearings.models import Hearing
from live.schema import Counters, DeputyMe, Snapshot, Stream
from voting import selectors as voting_selectors


class SnapshotRace(Exception):
    pass


def _seq(hearing_id: int, stream: Stream) -> int:
    field = "public_seq" if stream == Stream.PUBLIC else "control_seq"
    return int(Hearing.objects.values_list(field, flat=True).get(pk=hearing_id))


def build(hearing_id: int, stream: Stream, *, online: int = 0) -> tuple[int, Snapshot]:
    """The snapshot of `stream` and its seq; retried while events commit under it."""
    for _attempt in range(5):
        before = _seq(hearing_id, stream)
        snapshot = _build(hearing_id, stream, online=online)
        if _seq(hearing_id, stream) == before:
            metrics.SNAPSHOT_BUILDS.labels(stream=stream.value).inc()
            return before, snapshot
    raise SnapshotRace(f"hearing {hearing_id} kept changing while its snapshot was built")


def _build(hearing_id: int, stream: Stream, *, online: int) -> Snapshot:
    hearing = Hearing.objects.get(pk=hearing_id)
    public = stream == Stream.PUBLIC
    agenda = selectors.agenda_out(hearing_id)
    questions = [
        selectors.question_out(q, control=not public) for q in selectors.questions_for(hearing_id, public=public)
    ]
    return Snapshot(
        hearing=selectors.hearing_out(hearing),
        agenda=agenda,
        current_item=next((item.id for item in agenda if item.status == "current"), None),
        on_stage=next((q.id for q in questions if q.status == "on_stage"), None),
        questions=questions,
        polls=voting_selectors.polls_out(hearing_id),
        counters=Counters(online=online, likes=hearing.likes),
        attendance=voting_selectors.attendance_summary(hearing_id, percent=hearing.quorum_percent).out(
            control=not public
        ),
    )


def deputy_me(hearing_id: int, user: AbstractBaseUser) -> DeputyMe:
    return DeputyMe(
        name=selectors.display_name(user),
        checked_in=voting_selectors.is_checked_in(hearing_id, user.pk),
        voted=voting_selectors.polls_voted(hearing_id, user.pk),
        eligible=voting_selectors.checked_in_count(hearing_id),
    )
