"""Likes of a hearing and of its public questions: one per viewer per target, counts exact."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import BadRequest, DomainError, InvalidState, NotFound
from hearings import selectors
from hearings.models import Hearing, Question
from hearings.services import likes_sql


@dataclass(frozen=True)
class LikeResult:
    duplicate: bool
    likes: int


@dataclass(frozen=True)
class LikeRequest:
    hearing_id: int
    viewer: str
    question_id: int | None  # None: the hearing itself


def like_add(*, hearing_id: int, viewer: str, question_id: int | None) -> LikeResult:
    """One like; see like_add_many."""
    result = like_add_many(requests=[LikeRequest(hearing_id, viewer, question_id)])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def like_add_many(*, requests: Sequence[LikeRequest]) -> list[LikeResult | DomainError]:
    """Record many likes in one transaction; a result (or the refusal) per request, in order.

    One like per viewer per target: the hearing, or a question the public can see, of a
    hearing that has not ended. Counts are exact: rows go in under the unique constraints
    (a repeat is a `duplicate` and counts nothing) and the counters rise by what went in, in
    the same transaction. A crowd's likes are batched through here: one commit for hundreds."""
    results: list[LikeResult | DomainError | None] = [None] * len(requests)
    statuses = dict(Hearing.objects.filter(pk__in={r.hearing_id for r in requests}).values_list("pk", "status"))
    visible = dict(
        Question.objects.filter(
            pk__in={r.question_id for r in requests if r.question_id is not None},
            merged_into__isnull=True,
            status__in=selectors.PUBLIC_QUESTION_STATUSES,
        ).values_list("pk", "hearing_id")
    )
    keys: dict[int, tuple[int, int | None, str]] = {}
    for index, request in enumerate(requests):
        if not request.viewer:
            results[index] = BadRequest(_("无法识别这台设备，请刷新页面后再点赞。"))
        elif request.hearing_id not in statuses:
            results[index] = NotFound(_("找不到这场问政会。"))
        elif statuses[request.hearing_id] == Hearing.Status.ENDED:
            results[index] = InvalidState(_("问政会已结束。"))
        elif request.question_id is not None and visible.get(request.question_id) != request.hearing_id:
            results[index] = NotFound(_("找不到这个问题。"))
        else:
            keys[index] = (request.hearing_id, request.question_id, request.viewer[:64])
    with transaction.atomic():
        # Rows and counters in one order everywhere (like rows sorted; the hearing before its
        # questions, as the moderator's actions lock them): batches of two processes then
        # queue on each other instead of deadlocking.
        likes_sql.lock_hearings({hearing for hearing, _, _ in keys.values()})
        inserted = likes_sql.insert_likes(sorted(set(keys.values()), key=lambda k: (k[0], k[1] or 0, k[2])))
        likes_sql.add_to_counters(Hearing, Counter(h for h, q, _ in inserted if q is None))
        likes_sql.add_to_counters(Question, Counter(q for _, q, _ in inserted if q is not None))
    question_likes = dict(
        Question.objects.filter(pk__in={q for _, q, _ in keys.values() if q is not None}).values_list("pk", "likes")
    )
    hearing_likes = dict(
        Hearing.objects.filter(pk__in={h for h, q, _ in keys.values() if q is None}).values_list("pk", "likes")
    )
    fresh = set(inserted)
    for index, key in keys.items():
        target_hearing, target_question, _viewer = key
        count = hearing_likes[target_hearing] if target_question is None else question_likes[target_question]
        results[index] = LikeResult(duplicate=key not in fresh, likes=count)
        fresh.discard(key)  # a second request for the same key in this batch is a duplicate
    return [result for result in results if result is not None]
