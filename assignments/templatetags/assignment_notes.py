"""`{{ entry|note }}` and `{{ notice|notice_text }}`: the system's sentences about an assignment in
the reader's language (assignments/notes.py)."""

from __future__ import annotations

from django import template

from assignments import notes
from assignments.models import Notice, Rating, TimelineEntry

register = template.Library()


@register.filter
def note(entry: TimelineEntry) -> str:
    return notes.entry_note(entry)


@register.filter
def notice_text(notice: Notice) -> str:
    return notes.notice_text(notice)


@register.filter
def rating_label(value: int | None) -> str:
    """双向评议: a score's words (5 很高 … 1 很低)."""
    return str(Rating(value).label) if value in Rating.values else ""
