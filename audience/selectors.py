"""The audience figures of a hearing, as stats.json, the control panel and the report read them.

Definitions (docs/reports.md "Audience figures"):
- page_views: every load of the hearing's live page /hearings/<id>/ (人次);
- unique_viewers: distinct viewer identities (the signed `viewer` cookie) that loaded that page
  or connected to the hearing's public socket;
- peak_online / peak_at: the largest sampled online count and the start of its sample (the
  earliest on a tie); 0 and None before the first sample;
- likes: every like given in the hearing, to the hearing itself or to a question (the
  hearing's and its questions' counters);
- questions: every question the hearing received, by source (public: asked on the live page;
  deputy: by deputies; collected: sent through the collection page before the session),
  whatever became of it, except those of blocked viewers that never reached the queue
  (`dropped`). Questions a moderator typed in (source "moderator") are in none of the three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum

from audience.models import Audience, Sample, Viewer
from hearings.models import Hearing, Question


@dataclass(frozen=True)
class Questions:
    public: int
    deputy: int
    collected: int

    @property
    def total(self) -> int:
        return self.public + self.deputy + self.collected


@dataclass(frozen=True)
class Figures:
    page_views: int
    unique_viewers: int
    peak_online: int
    peak_at: datetime | None
    likes: int
    questions: Questions

    def as_json(self) -> dict[str, Any]:
        """The body of GET /hearings/<id>/stats.json (PROTOCOL.md), exactly."""
        return {
            "page_views": self.page_views,
            "unique_viewers": self.unique_viewers,
            "peak_online": self.peak_online,
            "peak_at": self.peak_at.isoformat() if self.peak_at is not None else None,
            "likes": self.likes,
            "questions": {
                "public": self.questions.public,
                "deputy": self.questions.deputy,
                "collected": self.questions.collected,
            },
        }


def page_views(hearing_id: int) -> int:
    return Audience.objects.filter(hearing_id=hearing_id).values_list("page_views", flat=True).first() or 0


def unique_viewers(hearing_id: int) -> int:
    return Viewer.objects.filter(hearing_id=hearing_id).count()


def likes(hearing_id: int) -> int:
    own = Hearing.objects.filter(pk=hearing_id).values_list("likes", flat=True).first() or 0
    questions = Question.objects.filter(hearing_id=hearing_id).aggregate(n=Sum("likes"))["n"] or 0
    return int(own) + int(questions)


def peak(hearing_id: int) -> tuple[int, datetime | None]:
    """The largest sample's online count and its time (the earliest on a tie)."""
    top = Sample.objects.filter(hearing_id=hearing_id).order_by("-online", "at").values_list("online", "at").first()
    return (top[0], top[1]) if top is not None else (0, None)


def peak_of(rows: Sequence[Sample]) -> tuple[int, datetime | None]:
    """peak() of samples already read."""
    top = min(rows, key=lambda s: (-s.online, s.at), default=None)
    return (top.online, top.at) if top is not None else (0, None)


def questions(hearing_id: int) -> Questions:
    return _questions(hearing_id)[0]


def _questions(hearing_id: int) -> tuple[Questions, int]:
    """The questions received by source, and every question's likes added up: one query."""
    counted = Question.objects.filter(hearing_id=hearing_id).aggregate(
        public=Count("pk", filter=Q(source=Question.Source.PUBLIC, dropped=False)),
        deputy=Count("pk", filter=Q(source=Question.Source.DEPUTY, dropped=False)),
        collected=Count("pk", filter=Q(source=Question.Source.COLLECTED, dropped=False)),
        likes=Sum("likes"),
    )
    by_source = Questions(public=counted["public"], deputy=counted["deputy"], collected=counted["collected"])
    return by_source, int(counted["likes"] or 0)


def figures(hearing_id: int, *, samples: Sequence[Sample] | None = None) -> Figures:
    """All the figures in four queries (three when the hearing's samples are given)."""
    own_likes, views = Hearing.objects.values_list("likes", "audience__page_views").get(pk=hearing_id)
    by_source, question_likes = _questions(hearing_id)
    peak_online, peak_at = peak(hearing_id) if samples is None else peak_of(samples)
    return Figures(
        page_views=int(views or 0),
        unique_viewers=unique_viewers(hearing_id),
        peak_online=peak_online,
        peak_at=peak_at,
        likes=int(own_likes) + question_likes,
        questions=by_source,
    )


def samples(hearing_id: int) -> list[Sample]:
    """The hearing's samples, oldest first."""
    return list(Sample.objects.filter(hearing_id=hearing_id).order_by("at"))
