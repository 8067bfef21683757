"""`{{ text|highlight:words }}`: a question's text with the sensitive words it matched marked."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from hearings.screening import Screen

register = template.Library()


@register.filter
def highlight(text: str, words: list[str] | None) -> SafeString:
    """Escape `text`, wrapping each span a listed word matched (spaces or punctuation inside
    it included) in <mark class="sensitive">."""
    text = str(text)
    spans: list[tuple[int, int]] = []
    for match in sorted(Screen(list(words or [])).find(text), key=lambda m: (m.start, -m.end)):
        if spans and match.start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], match.end))  # overlapping matches: one mark
        else:
            spans.append((match.start, match.end))
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(escape(text[at:start]))
        parts.append(f'<mark class="sensitive">{escape(text[start:end])}</mark>')
        at = end
    parts.append(escape(text[at:]))
    return mark_safe("".join(parts))
