"""The sensitive-word screen (敏感词筛查): every word of the office's list at once, over a text.

Matching is Aho-Corasick (pyahocorasick): one pass over the text whatever the size of the list.
Text and words are compared in a normal form — NFKC (full-width letters and digits become
ASCII), case folded, with separators dropped (spaces, punctuation, symbols, control and
invisible characters) — so "敏 感 词", "敏*感*词" and "ＡＢＣ" match "敏感词" and "abc". Each
match is mapped back to the span of the original text it covers, for the panel to highlight.

The list lives in the database (hearings.SensitiveWord); each process keeps one automaton and
rebuilds it when the list's version has changed: its size, newest id and newest time, read by
one aggregate query (ids are never reused: SQLite's AUTOINCREMENT, PostgreSQL's sequences; the
time tells apart lists a test rolled back and wrote again). A change in this process also
drops the automaton at once (`forget`).
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass

import ahocorasick
from django.db.models import Count, Max

from hearings.models import SensitiveWord

# Unicode categories dropped before matching: separators (Z), punctuation (P), symbols (S),
# control and format characters (C, which includes zero-width joiners and bidi marks).
_DROPPED = frozenset("ZPSC")


def normalize(text: str) -> tuple[str, list[int]]:
    """The text's normal form, and for each of its characters the index in `text` it came from."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).casefold():
            if unicodedata.category(folded)[0] in _DROPPED:
                continue
            out.append(folded)
            origin.append(index)
    return "".join(out), origin


def normal_form(word: str) -> str:
    return normalize(word)[0]


@dataclass(frozen=True)
class Match:
    word: str  # as the list spells it
    start: int  # the span of the original text it covers: text[start:end]
    end: int


class Screen:
    def __init__(self, words: list[str]) -> None:
        self.automaton: ahocorasick.Automaton | None = None
        forms: dict[str, str] = {}
        for word in words:
            form = normal_form(word)
            if form:
                forms.setdefault(form, word)
        if forms:
            automaton = ahocorasick.Automaton()
            for form, word in forms.items():
                automaton.add_word(form, (len(form), word))
            automaton.make_automaton()
            self.automaton = automaton

    def find(self, text: str) -> list[Match]:
        """Every occurrence of a listed word in `text`, in the order they end."""
        if self.automaton is None or not text:
            return []
        form, origin = normalize(text)
        matches = []
        for end, (length, word) in self.automaton.iter(form):
            matches.append(Match(word=word, start=origin[end - length + 1], end=origin[end] + 1))
        return matches


_lock = threading.Lock()
_cached: tuple[tuple[object, ...], Screen] | None = None


def forget() -> None:
    global _cached
    _cached = None


def screen() -> Screen:
    """This process's screen over the current list."""
    global _cached
    version = SensitiveWord.objects.aggregate(n=Count("id"), newest=Max("id"), latest=Max("created_at"))
    key = (version["n"], version["newest"], version["latest"])
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        built = Screen(list(SensitiveWord.objects.values_list("word", flat=True)))
        _cached = (key, built)
        return built


def matched_words(*texts: str) -> list[str]:
    """The listed words found in any of `texts`, each once, in the order first found."""
    found: dict[str, None] = {}
    current = screen()
    for text in texts:
        for match in current.find(text):
            found.setdefault(match.word, None)
    return list(found)
