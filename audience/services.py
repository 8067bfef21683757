"""Counting the audience: page views, viewer identities, and the periodic samples.

Each write is exact whichever process makes it: page views are one F() update per load;
viewers are rows unique per (hearing, viewer) inserted with ignore_conflicts (a viewer seen by
two processes, or twice, is one row); a period's sample is unique per (hearing, at), the first
process to write it wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db.models import F

from audience import selectors
from audience.models import Audience, Sample, Viewer

BATCH = 1000  # viewer rows per INSERT


def page_view(hearing_id: int, viewer: str | None) -> None:
    """One load of the hearing's live page, by `viewer` (None: served without a viewer cookie)."""
    if not Audience.objects.filter(hearing_id=hearing_id).update(page_views=F("page_views") + 1):
        Audience.objects.bulk_create([Audience(hearing_id=hearing_id)], ignore_conflicts=True)
        Audience.objects.filter(hearing_id=hearing_id).update(page_views=F("page_views") + 1)
    if viewer:
        record_viewers(hearing_id, [viewer])


def record_viewers(hearing_id: int, viewers: Iterable[str]) -> None:
    """Viewer identities seen (a page load, a public socket): each counts once per hearing."""
    rows = [Viewer(hearing_id=hearing_id, viewer=v) for v in sorted(set(viewers)) if v]
    if rows:
        Viewer.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH)


def period_start(now: float, period: int) -> datetime:
    """The start of the sampling period holding the POSIX time `now`."""
    return datetime.fromtimestamp(now - now % period, tz=UTC)


def sample(hearing_id: int, *, at: datetime, online: int, viewers: Iterable[str] = ()) -> bool:
    """Record the viewers seen, then the period's sample with `online` (the cross-process
    count) and the figures now. False when this period's sample was already there."""
    record_viewers(hearing_id, viewers)
    if Sample.objects.filter(hearing_id=hearing_id, at=at).exists():
        return False
    row = Sample(
        hearing_id=hearing_id,
        at=at,
        online=max(0, online),
        page_views=selectors.page_views(hearing_id),
        unique_viewers=selectors.unique_viewers(hearing_id),
        likes=selectors.likes(hearing_id),
    )
    Sample.objects.bulk_create([row], ignore_conflicts=True)  # a concurrent writer's row stays
    return True
