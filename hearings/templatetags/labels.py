"""`{{ value|label }}` and `{% data_labels %}`: stored default values in the reader's language (hearings/labels.py)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from hearings import labels

register = template.Library()


@register.filter
def label(value: object) -> str:
    return labels.label(str(value))


@register.simple_tag
def data_labels() -> SafeString:
    """A JSON script (#data-labels) the live pages' scripts read; non-ASCII comes escaped."""
    return json_script(labels.labels(), "data-labels")


@register.filter
def listing(items: Iterable[object]) -> str:
    """The items as running text: "甲、乙" in Chinese, "A, B" in English."""
    return labels.list_separator().join(str(item) for item in items)
