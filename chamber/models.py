"""What the chamber app stores: the periodic schedule's runs (chamber/schedule.py)."""

from __future__ import annotations

from django.db import models


class ScheduledRun(models.Model):
    """One periodic job's slot, claimed by the worker that enqueued it: the unique row is what
    keeps two workers from enqueuing the same slot twice."""

    job = models.CharField(max_length=40)
    slot = models.CharField(max_length=40)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_once_per_slot")]

    def __str__(self) -> str:
        return f"{self.job} {self.slot}"
