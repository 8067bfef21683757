"""Near-duplicate questions (重复问题): for a question, the hearing's most similar others.

Chinese has no spaces between words, so similarity is measured on characters, in a normal
form (`normal_form`: NFKC, case folded, punctuation, symbols and spaces dropped, as the
sensitive-word screen compares). The score (0–100) is the mean of two rapidfuzz
measures:

- `fuzz.partial_ratio` over the characters: the best alignment of the shorter text inside the
  longer one, so "建设路路灯不亮" finds itself inside a long complaint about the same lamps;
- `fuzz.token_set_ratio` over the character bigrams ("建设 设路 路路 …"): how much of the two
  texts' two-character vocabulary is shared, whatever its order, so a reworded question
  ("红绿灯经常不亮" / "红绿灯经常坏") still scores while one that only opens the same way
  ("李家村经常停水" / "李家村经常停电") is held back by its other half.

THRESHOLD is where a pair is suggested. Measured on tests/hearings/duplicate_pairs.py (62 pairs
of the same problem worded differently, 65 pairs sharing words — the same road, village or
department — about different problems), at 60: precision 0.92, recall 0.97
(tests/hearings/test_duplicates.py asserts precision ≥ 0.9 and recall ≥ 0.9; docs/office.md).
A suggestion is only a suggestion: a moderator merges.

A hearing with thousands of questions is one pass per asked question: `DuplicateIndex` loads the
hearing's candidates' texts once (one query); rapidfuzz's `process.extract` scores all of them
with the cheap fuzz.ratio in native code (PREFILTER), and only those left get the two measures.
A page builds one index per request and asks it about every row it shows. `python -m
bench.duplicates` measures a hearing of 5,000 questions (docs/office.md quotes it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from hearings.models import Question

THRESHOLD = 60.0  # a pair scoring this or more is suggested (see above for how it was chosen)
# A pair whose plain similarity (fuzz.ratio, bit-parallel: 5,000 texts in about a millisecond)
# is under this is never suggested: the cheap pass that leaves the costly two a few candidates.
# No duplicate of the pair set that reaches THRESHOLD scores under 34 by it.
PREFILTER = 30.0
SUGGESTIONS = 3  # the most similar shown per question

_SEPARATORS = re.compile(r"[\W_]+")


def normal_form(text: str) -> str:
    """NFKC, case folded, without spaces, punctuation or symbols: the sensitive-word screen's
    normal form (hearings.screening), by one regular expression over the whole text."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def _bigrams(form: str) -> str:
    if len(form) < 2:
        return form
    return " ".join(form[i : i + 2] for i in range(len(form) - 1))


def similarity(a: str, b: str) -> float:
    """Two texts' score, 0–100 (see the module's docstring)."""
    fa, fb = normal_form(a), normal_form(b)
    if not fa or not fb or fuzz.ratio(fa, fb) < PREFILTER:
        return 0.0
    return _score(fa, _bigrams(fa), fb, _bigrams(fb))


def _score(fa: str, ba: str, fb: str, bb: str, floor: float = 0) -> float:
    return (fuzz.partial_ratio(fa, fb, score_cutoff=floor) + fuzz.token_set_ratio(ba, bb, score_cutoff=floor)) / 2


@dataclass(frozen=True)
class Suggestion:
    question: Question
    score: float


class DuplicateIndex:
    """A hearing's questions a duplicate could merge into: not merged away, not rejected, not on
    the hidden list of blocked viewers. Built once (one query), asked many times."""

    def __init__(self, hearing_id: int) -> None:
        rows = (
            Question.objects.filter(hearing_id=hearing_id, merged_into__isnull=True, dropped=False)
            .exclude(status=Question.Status.REJECTED)
            .select_related("asker__person")
            .order_by("id")
        )
        self.questions: dict[int, Question] = {}
        self.forms: dict[int, str] = {}
        self.bigrams: dict[int, str] = {}
        for question in rows:
            form = normal_form(question.text)
            if not form:
                continue
            self.questions[question.pk] = question
            self.forms[question.pk] = form
            self.bigrams[question.pk] = _bigrams(form)

    def similar(self, question_id: int, *, limit: int = SUGGESTIONS, threshold: float = THRESHOLD) -> list[Suggestion]:
        """The most similar other questions (best first), each scoring at least `threshold`."""
        form = self.forms.get(question_id)
        if form is None:
            return []
        # The mean reaches the threshold only if each half is at least 2·threshold − 100.
        floor = max(0.0, 2 * threshold - 100)
        bigrams = self.bigrams[question_id]
        scored = []
        for _, _, key in process.extract(form, self.forms, scorer=fuzz.ratio, score_cutoff=PREFILTER, limit=None):
            if key == question_id:
                continue
            mean = _score(form, bigrams, self.forms[key], self.bigrams[key], floor)
            if mean >= threshold:
                scored.append((mean, key))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [Suggestion(self.questions[key], round(mean, 1)) for mean, key in scored[:limit]]

    def for_each(self, question_ids: Iterable[int], *, limit: int = SUGGESTIONS) -> dict[int, list[Suggestion]]:
        return {pk: self.similar(pk, limit=limit) for pk in question_ids}
