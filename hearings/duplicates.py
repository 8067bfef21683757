"""Near-duplicate questions (重复问题): for a question, the hearing's most similar others.

Chinese has no spaces between words, so similarity is measured on characters, in the
sensitive-word screen's normal form (hearings.screening.normalize: NFKC, case folded,
punctuation, symbols and spaces dropped). The score (0–100) is the mean of two rapidfuzz
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
hearing's candidates' texts once (one query) and rapidfuzz's `process.extract` scores all of them
in native code; a page builds one index per request and asks it about every row it shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from hearings.models import Question
from hearings.screening import normal_form

THRESHOLD = 60.0  # a pair scoring this or more is suggested (see above for how it was chosen)
SUGGESTIONS = 3  # the most similar shown per question


def _bigrams(form: str) -> str:
    if len(form) < 2:
        return form
    return " ".join(form[i : i + 2] for i in range(len(form) - 1))


def similarity(a: str, b: str) -> float:
    """Two texts' score, 0–100 (see the module's docstring)."""
    fa, fb = normal_form(a), normal_form(b)
    if not fa or not fb:
        return 0.0
    return (fuzz.partial_ratio(fa, fb) + fuzz.token_set_ratio(_bigrams(fa), _bigrams(fb))) / 2


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
        partial = process.extract(form, self.forms, scorer=fuzz.partial_ratio, score_cutoff=floor, limit=None)
        shared = dict(
            (key, score)
            for _, score, key in process.extract(
                self.bigrams[question_id], self.bigrams, scorer=fuzz.token_set_ratio, score_cutoff=floor, limit=None
            )
        )
        scored = []
        for _, score, key in partial:
            if key == question_id or key not in shared:
                continue
            mean = (score + shared[key]) / 2
            if mean >= threshold:
                scored.append((mean, key))
        scored.sort(key=lambda pair: (-pair[0], pair[1]))
        return [Suggestion(self.questions[key], round(mean, 1)) for mean, key in scored[:limit]]

    def for_each(self, question_ids: Iterable[int], *, limit: int = SUGGESTIONS) -> dict[int, list[Suggestion]]:
        return {pk: self.similar(pk, limit=limit) for pk in question_ids}
