"""A hearing's audience figures (issue 19, docs/reports.md "Audience figures").

- `Audience`: the hearing's page-view counter (every load of its live page), raised with one
  F() update per load, so exact whichever process serves it.
- `Viewer`: one row per viewer identity (the signed `viewer` cookie, live/viewer.py) that loaded
  the live page or connected to the public socket; unique (hearing, viewer), inserted with
  ignore_conflicts, so the unique viewers are the rows' count, exact across processes.
- `Sample`: the figures once a period (a minute by default) while the hearing's live room is
  open; unique (hearing, at): the first process to write a period's sample wins, and since
  `online` is already the cross-process sum (realtime/presence.py) any process's value is right.
  The peak online is the largest sample (earliest on a tie).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from hearings.models import Hearing


class Audience(models.Model):
    hearing = models.OneToOneField(Hearing, on_delete=models.CASCADE, primary_key=True, related_name="audience")
    page_views = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.hearing_id}: {self.page_views}"


class Viewer(models.Model):
    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="+")
    viewer = models.CharField(max_length=64)
    first_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hearing", "viewer"], name="audience_viewer_once")]

    def __str__(self) -> str:
        return self.viewer


class Sample(models.Model):
    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="audience_samples")
    at = models.DateTimeField()  # the start of the sampled period (a whole minute by default)
    online = models.PositiveIntegerField()
    page_views = models.PositiveBigIntegerField()
    unique_viewers = models.PositiveIntegerField()
    likes = models.PositiveIntegerField()

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["hearing", "at"], name="audience_sample_once")]

    def __str__(self) -> str:
        return f"{self.hearing_id} {self.at:%H:%M}: {self.online}"
