"""Near-duplicate suggestions on a hearing of 5,000 questions (hearings/duplicates.py).

    DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python -m bench.duplicates

Builds the index of hearings.duplicates.DuplicateIndex from 5,000 texts (the pair set of
tests/hearings/duplicate_pairs.py, numbered so none repeats exactly) without a database, then
times what the triage page asks per request: the suggestions of a page of 50 questions."""

from __future__ import annotations

import time

import django


def main() -> None:
    django.setup()  # the models need the settings first
    from hearings.duplicates import DuplicateIndex, _bigrams, normal_form  # noqa: PLC0415
    from tests.hearings.duplicate_pairs import DISTINCT, DUPLICATES  # noqa: PLC0415

    texts = [t for pair in (*DUPLICATES, *DISTINCT) for t in pair]
    index = DuplicateIndex.__new__(DuplicateIndex)
    started = time.perf_counter()
    index.questions, index.forms, index.bigrams = {}, {}, {}
    for n in range(5000):
        form = normal_form(f"{texts[n % len(texts)]}（第{n}号）")
        index.questions[n + 1] = None  # type: ignore[assignment]  # not read by the scoring
        index.forms[n + 1] = form
        index.bigrams[n + 1] = _bigrams(form)
    built = time.perf_counter() - started
    started = time.perf_counter()
    found = 0
    for pk in range(1, 51):
        found += len(index.similar(pk))
    asked = time.perf_counter() - started
    print(f"5,000 questions: index built in {built * 1000:.0f} ms (normal forms, bigrams)")
    print(f"a page of 50 questions: {asked * 1000:.0f} ms ({asked * 20:.1f} ms a question), {found} suggestions")


if __name__ == "__main__":
    main()
