"""hearings.services.like_add: one like per viewer per target, counted exactly.

Likes are counters (sent as coalesced `likes` frames by live/), not state events: a like
publishes nothing and leaves both sequences alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadRequest, DomainError, InvalidState, NotFound
from hearings import services
from hearings.models import Hearing, Like, Question
from tests.conftest import Published
from tests.factories import World, make_world

pytestmark = pytest.mark.django_db


def like(world: World, viewer: str, question: Question | None = None) -> services.LikeResult:
    return services.like_add(hearing_id=world.hearing.pk, viewer=viewer, question_id=question.pk if question else None)


def hearing_likes(world: World) -> int:
    return Hearing.objects.values_list("likes", flat=True).get(pk=world.hearing.pk)


def question_likes(question: Question) -> int:
    return Question.objects.values_list("likes", flat=True).get(pk=question.pk)


def counters(world: World) -> dict[str, Any]:
    return {
        "hearing": Hearing.objects.filter(pk=world.hearing.pk).values("likes", "public_seq", "control_seq").get(),
        "questions": list(Question.objects.order_by("pk").values_list("pk", "likes")),
        "likes": list(Like.objects.order_by("pk").values_list("hearing_id", "question_id", "viewer")),
    }


def approved(world: World, text: str = "问题") -> Question:
    return services.question_submit(hearing_id=world.hearing.pk, text=text, source="deputy", asker=world.deputies[0])


def assert_refused(world: World, published: Published, error: type[DomainError], **kwargs: Any) -> None:
    before, seen = counters(world), len(published)
    with pytest.raises(DomainError) as info:
        services.like_add(**kwargs)
    assert type(info.value) is error
    assert counters(world) == before
    assert published[seen:] == []


def test_hearing_like_counts_once_per_viewer(live_world: World, published: Published) -> None:
    first = like(live_world, "v1")
    assert (first.duplicate, first.likes) == (False, 1)
    assert hearing_likes(live_world) == 1
    row = Like.objects.get()
    assert (row.hearing_id, row.question_id, row.viewer) == (live_world.hearing.pk, None, "v1")

    again = like(live_world, "v1")
    assert (again.duplicate, again.likes) == (True, 1)
    assert hearing_likes(live_world) == 1
    assert Like.objects.count() == 1

    other = like(live_world, "v2")
    assert (other.duplicate, other.likes) == (False, 2)
    assert hearing_likes(live_world) == 2
    # Likes are counters, not state events.
    assert list(published) == []
    assert Hearing.objects.values_list("public_seq", "control_seq").get(pk=live_world.hearing.pk) == (0, 0)


def test_question_like_counts_once_per_viewer(live_world: World, published: Published) -> None:
    question = approved(live_world)
    start = len(published)

    assert like(live_world, "v1", question) == services.LikeResult(duplicate=False, likes=1)
    assert like(live_world, "v1", question) == services.LikeResult(duplicate=True, likes=1)
    assert like(live_world, "v2", question) == services.LikeResult(duplicate=False, likes=2)

    assert question_likes(question) == 2
    assert Like.objects.filter(question=question).count() == 2
    assert hearing_likes(live_world) == 0  # a question's like is not the hearing's
    assert published[start:] == []


def test_hearing_and_question_likes_are_separate_targets(live_world: World) -> None:
    first, second = approved(live_world, "其一"), approved(live_world, "其二")
    assert not like(live_world, "v1").duplicate
    assert not like(live_world, "v1", first).duplicate
    assert not like(live_world, "v1", second).duplicate
    assert (hearing_likes(live_world), question_likes(first), question_likes(second)) == (1, 1, 1)
    assert like(live_world, "v1", first).duplicate
    assert like(live_world, "v1").duplicate
    assert (hearing_likes(live_world), question_likes(first), question_likes(second)) == (1, 1, 1)
    assert Like.objects.count() == 3


def test_a_viewer_likes_each_hearing_once(live_world: World) -> None:
    other = make_world(status="live")
    assert not like(live_world, "v1").duplicate
    assert not like(other, "v1").duplicate
    assert (hearing_likes(live_world), hearing_likes(other)) == (1, 1)


@pytest.mark.parametrize("status", ["on_stage", "answered"])
def test_staged_and_answered_questions_take_likes(live_world: World, status: str) -> None:
    question = approved(live_world)
    services.question_stage(hearing_id=live_world.hearing.pk, question_id=question.pk, by=None)
    if status == "answered":
        services.question_answered(hearing_id=live_world.hearing.pk, question_id=question.pk, by=None)
    assert like(live_world, "v1", question) == services.LikeResult(duplicate=False, likes=1)


@pytest.mark.parametrize("kind", ["pending", "rejected", "merged", "other_hearing", "unknown"])
def test_only_a_question_the_public_sees_takes_likes(live_world: World, published: Published, kind: str) -> None:
    hid = live_world.hearing.pk
    if kind in ("pending", "rejected"):
        question_id = services.question_submit(hearing_id=hid, text="待审", source="public").pk
        if kind == "rejected":
            services.question_reject(hearing_id=hid, question_id=question_id, by=None)
    elif kind == "merged":
        question_id = approved(live_world, "重复").pk
        services.question_merge(hearing_id=hid, question_id=question_id, into_id=approved(live_world).pk, by=None)
    elif kind == "other_hearing":
        question_id = approved(make_world(status="live")).pk
    else:
        question_id = 10**9
    assert_refused(live_world, published, NotFound, hearing_id=hid, viewer="v1", question_id=question_id)


def test_likes_close_when_the_hearing_ends(live_world: World, published: Published) -> None:
    question = approved(live_world)
    like(live_world, "v1")
    like(live_world, "v1", question)
    services.hearing_end(hearing_id=live_world.hearing.pk, by=None)
    hid = live_world.hearing.pk
    assert_refused(live_world, published, InvalidState, hearing_id=hid, viewer="v2", question_id=None)
    assert_refused(live_world, published, InvalidState, hearing_id=hid, viewer="v2", question_id=question.pk)
    # A repeat is refused too, not acknowledged as a duplicate.
    assert_refused(live_world, published, InvalidState, hearing_id=hid, viewer="v1", question_id=None)


def test_like_needs_a_known_hearing_and_a_viewer(live_world: World, published: Published) -> None:
    assert_refused(live_world, published, NotFound, hearing_id=10**9, viewer="v1", question_id=None)
    assert_refused(live_world, published, BadRequest, hearing_id=live_world.hearing.pk, viewer="", question_id=None)


def test_like_add_many_answers_each_request_in_order(world: World) -> None:
    """A batch: repeats within the batch and across batches count once; refusals don't stop the rest."""
    hid = world.hearing.pk
    Hearing.objects.filter(pk=hid).update(status=Hearing.Status.LIVE)
    q = services.question_submit(hearing_id=hid, text="批量点赞的问题", source="moderator", asker=world.moderator)
    pending = services.question_submit(hearing_id=hid, text="待审核", source="public")
    services.like_add(hearing_id=hid, viewer="v0", question_id=q.pk)
    R = services.LikeRequest
    results = services.like_add_many(
        requests=[
            R(hid, "v1", q.pk),
            R(hid, "v1", q.pk),  # the same viewer twice in one batch
            R(hid, "v0", q.pk),  # liked in an earlier batch
            R(hid, "v1", None),
            R(hid, "v2", pending.pk),  # not visible
            R(hid, "", q.pk),
            R(999_999, "v1", None),
            R(hid, "v2", q.pk),
        ]
    )
    assert [type(r).__name__ for r in results] == [
        "LikeResult", "LikeResult", "LikeResult", "LikeResult", "NotFound", "BadRequest", "NotFound", "LikeResult",
    ]  # fmt: skip
    ok = [r for r in results if isinstance(r, services.LikeResult)]
    assert [r.duplicate for r in ok] == [False, True, True, False, False]
    assert question_likes(q) == 3 == Like.objects.filter(question=q).count()
    assert hearing_likes(world) == 1
    assert ok[-1].likes == 3 and ok[3].likes == 1
    assert isinstance(results[4], DomainError) and question_likes(pending) == 0
