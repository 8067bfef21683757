"""Near-duplicate suggestions (hearings/duplicates.py): precision and recall at THRESHOLD on
tests/hearings/duplicate_pairs.py; a seeded hearing's duplicates are suggested, and only among
the questions a duplicate can merge into; a hearing of thousands is read in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hearings.duplicates import THRESHOLD, DuplicateIndex, similarity
from hearings.models import Question
from tests.factories import World
from tests.hearings.duplicate_pairs import DISTINCT, DUPLICATES


def measured(threshold: float = THRESHOLD) -> tuple[float, float]:
    true_positive = sum(similarity(a, b) >= threshold for a, b in DUPLICATES)
    false_positive = sum(similarity(a, b) >= threshold for a, b in DISTINCT)
    precision = true_positive / (true_positive + false_positive)
    recall = true_positive / len(DUPLICATES)
    return precision, recall


def test_the_pair_set_is_large_enough_and_made_of_distinct_pairs():
    assert len(DUPLICATES) >= 50 and len(DISTINCT) >= 50
    assert len(set(DUPLICATES)) == len(DUPLICATES) and len(set(DISTINCT)) == len(DISTINCT)
    assert not set(DUPLICATES) & set(DISTINCT)


def test_precision_and_recall_at_the_threshold():
    precision, recall = measured()
    print(f"precision {precision:.3f} recall {recall:.3f} at {THRESHOLD}")
    assert precision >= 0.9
    assert recall >= 0.9
    # The figures docs/office.md and hearings/duplicates.py quote.
    assert (round(precision, 2), round(recall, 2)) == (0.92, 0.97)


def test_similarity_is_symmetric_enough_and_sees_through_punctuation_width_and_case():
    assert similarity("建设路路灯不亮", "建设路 路灯，不亮！") == 100
    assert similarity("ＡＢＣ路灯不亮", "abc路灯不亮") == 100
    assert similarity("", "建设路路灯不亮") == 0
    assert similarity("。。。", "建设路路灯不亮") == 0
    a, b = DUPLICATES[0]
    assert abs(similarity(a, b) - similarity(b, a)) < 1


def seed(world: World, texts: list[str], **fields: object) -> list[Question]:
    return [
        Question.objects.create(hearing=world.hearing, text=text, source=Question.Source.PUBLIC, **fields)
        for text in texts
    ]


@pytest.mark.django_db
def test_a_seeded_hearing_suggests_each_duplicate_s_partner(world: World):
    firsts = seed(world, [a for a, _ in DUPLICATES], status=Question.Status.APPROVED)
    seconds = seed(world, [b for _, b in DUPLICATES])
    index = DuplicateIndex(world.hearing.pk)
    found = 0
    for first, second in zip(firsts, seconds, strict=True):
        suggested = [s.question.pk for s in index.similar(second.pk)]
        assert second.pk not in suggested
        assert all(s.score >= THRESHOLD for s in index.similar(second.pk))
        found += first.pk in suggested
    # The partner is among the three suggestions for (nearly) every duplicate.
    assert found / len(DUPLICATES) >= 0.9


@pytest.mark.django_db
def test_only_questions_a_duplicate_can_merge_into_are_suggested(world: World):
    text = "建设路的路灯坏了很久没人修"
    [asked] = seed(world, [text])
    [kept] = seed(world, [text + "，请尽快修"], status=Question.Status.APPROVED)
    [rejected] = seed(world, [text + "！"], status=Question.Status.REJECTED)
    [dropped] = seed(world, [text + "？"], dropped=True)
    [merged] = seed(world, [text + "。"], merged_into=kept)
    other = World(world.other_moderator.moderated_hearings.first(), [], [], world.other_moderator)
    [elsewhere] = seed(other, [text])
    suggested = [s.question.pk for s in DuplicateIndex(world.hearing.pk).similar(asked.pk)]
    assert suggested == [kept.pk]
    assert not {rejected.pk, dropped.pk, merged.pk, elsewhere.pk} & set(suggested)
    assert DuplicateIndex(world.hearing.pk).similar(rejected.pk) == []  # not a candidate itself


@pytest.mark.django_db
def test_thousands_of_questions_are_one_query_and_one_pass_per_question(world: World):
    texts = [a for a, _ in DUPLICATES] + [b for pair in DISTINCT for b in pair]
    Question.objects.bulk_create(
        Question(hearing=world.hearing, text=f"{texts[n % len(texts)]}（第{n}号）", source="public")
        for n in range(5000)
    )
    ids = list(Question.objects.filter(hearing=world.hearing).values_list("pk", flat=True)[:20])
    with CaptureQueriesContext(connection) as queries:
        index = DuplicateIndex(world.hearing.pk)
        suggestions = index.for_each(ids)
    assert len(queries) == 1
    assert len(index.questions) == 5000
    assert all(len(found) == 3 for found in suggestions.values())  # each text recurs with another number
