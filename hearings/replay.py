"""The replay of an ended hearing (a read): its recording (Hearing.vod_url) and its chapters, one
for each public question that came on stage, at the second of the recording where it did.

A chapter's offset is the question's staged_at minus the recording's position 0
(Hearing.vod_started_at, by default the moment the hearing started). A question staged before
the recording began starts the replay (offset 0) if it was still on stage then, and is left out
if it had been answered already. Offsets past the recording's end are not known here: the page
drops those once the video tells its duration. Questions that were never public (pending,
rejected, withdrawn, dropped, merged into another) never become chapters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hearings.models import Hearing, Question
from hearings.selectors import PUBLIC_QUESTION_STATUSES, question_asker


@dataclass(frozen=True)
class Chapter:
    question_id: int
    offset: int  # whole seconds into the recording
    text: str
    asker: str
    department: str

    @property
    def clock(self) -> str:
        """The offset as the player shows it: `m:ss`, or `h:mm:ss` from an hour on."""
        hours, rest = divmod(self.offset, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"


def recording_start(hearing: Hearing) -> datetime | None:
    """The moment position 0 of the recording shows."""
    return hearing.vod_started_at or hearing.started_at


def is_hls(url: str) -> bool:
    """An HLS playlist (`….m3u8`, query and fragment aside) rather than a file a video element
    plays by itself (MP4)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    return path.lower().endswith(".m3u8")


def chapters(hearing: Hearing) -> list[Chapter]:
    """The replay's chapters in the order of the recording; none unless the hearing has ended
    and has a recording."""
    start = recording_start(hearing)
    if hearing.status != Hearing.Status.ENDED or not hearing.vod_url or start is None:
        return []
    questions = (
        Question.objects.filter(
            hearing=hearing,
            status__in=PUBLIC_QUESTION_STATUSES,
            staged_at__isnull=False,
            merged_into__isnull=True,
            dropped=False,
        )
        .select_related("asker__person", "department", "item__department")
        .order_by("staged_at", "id")
    )
    found = []
    for question in questions:
        assert question.staged_at is not None
        offset = (question.staged_at - start).total_seconds()
        if offset < 0:
            if question.answered_at is not None and question.answered_at <= start:
                continue  # over before the recording began
            offset = 0
        department = question.department or (question.item.department if question.item else None)
        found.append(
            Chapter(
                question_id=question.pk,
                offset=int(offset),
                text=question.text,
                asker=question_asker(question),
                department=department.name if department else "",
            )
        )
    return found
