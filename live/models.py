from __future__ import annotations

from django.db import models


class LiveEvent(models.Model):
    """A state event as sent, kept (bounded) so a client can `resume` from its last seq.

    `frame` is the exact text every socket of the stream received, serialized once.
    """

    hearing = models.ForeignKey("hearings.Hearing", on_delete=models.CASCADE, related_name="live_events")
    stream = models.CharField(max_length=8)  # "public" | "control"
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    frame = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hearing", "stream", "seq"], name="live_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.hearing_id}/{self.stream}#{self.seq} {self.type}"
