"""hearings.services: every rule, checked on stored state and on the events published.

Each event check compares (control type, public type or None) pairs: None means the public
and deputy sockets were not told. A refused change must leave every row (sequences and the
stored event history included) as it was and publish nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction

from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings import selectors, services
from hearings.models import AgendaItem, Hearing, Like, Question
from live import publish as live_publish
from live.models import LiveEvent
from tests.conftest import Published
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db

S = Question.Status


# --------------------------------------------------------------------------- helpers


def db_state() -> dict[str, Any]:
    """Every row a hearing service could touch, across all hearings."""
    return {
        "hearings": list(Hearing.objects.order_by("pk").values()),
        "agenda": list(AgendaItem.objects.order_by("pk").values()),
        "questions": list(Question.objects.order_by("pk").values()),
        "likes": list(Like.objects.order_by("pk").values("pk", "hearing_id", "question_id", "viewer")),
        "events": list(LiveEvent.objects.order_by("pk").values_list("hearing_id", "stream", "seq", "type", "frame")),
    }


def assert_refused(published: Published, error: type[DomainError], call: Callable[[], object]) -> DomainError:
    """`call` raises `error` (exactly that class), changes nothing and publishes nothing."""
    before = db_state()
    seen = len(published)
    with pytest.raises(DomainError) as info:
        call()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert info.value.code == error.code
    assert db_state() == before
    assert published[seen:] == []
    return info.value


def kinds(published: Published, start: int = 0) -> list[tuple[str, str | None]]:
    """(control type, public type or None) of each publish() since `start`."""
    return [(control, public) for (_, control, public, _) in published[start:]]


def data(entry: tuple[int, str, str | None, str]) -> dict[str, Any]:
    """The `data` of a captured control frame."""
    frame: dict[str, Any] = json.loads(entry[3])
    return frame["data"]


def seqs(hearing_id: int) -> tuple[int, int]:
    public, control = Hearing.objects.values_list("public_seq", "control_seq").get(pk=hearing_id)
    return public, control


def fresh(question: Question) -> Question:
    question.refresh_from_db()
    return question


def statuses(hearing_id: int) -> dict[int, str]:
    return dict(AgendaItem.objects.filter(hearing_id=hearing_id).values_list("pk", "status"))


def ask_public(world: World, text: str = "请问惠企政策什么时候兑现？", **extra: Any) -> Question:
    return services.question_submit(
        hearing_id=world.hearing.pk, text=text, source="public", asker_name="网友甲", viewer="v-asker", **extra
    )


def ask_approved(world: World, text: str = "审批时限能否再压缩？", **extra: Any) -> Question:
    """A question the public sees at once (a moderator's)."""
    question = services.question_submit(
        hearing_id=world.hearing.pk, text=text, source="moderator", asker=world.moderator, **extra
    )
    assert question.status == S.APPROVED
    return question


def stage(world: World, question: Question) -> None:
    services.question_stage(hearing_id=world.hearing.pk, question_id=question.pk, by=world.moderator)


# --------------------------------------------------------------------------- hearing


def test_hearing_start_makes_a_draft_live(world: World, published: Published) -> None:
    hid = world.hearing.pk
    hearing = services.hearing_start(hearing_id=hid, by=world.moderator)
    stored = Hearing.objects.get(pk=hid)
    assert hearing.status == stored.status == Hearing.Status.LIVE
    assert stored.started_at is not None
    assert stored.ended_at is None
    assert kinds(published) == [("hearing.status", "hearing.status")]
    assert published[0][0] == hid
    assert data(published[0]) == {"status": "live"}
    assert seqs(hid) == (1, 1)


def test_hearing_starts_only_once(world: World, published: Published) -> None:
    hid = world.hearing.pk
    services.hearing_start(hearing_id=hid, by=world.moderator)
    assert_refused(published, InvalidState, lambda: services.hearing_start(hearing_id=hid, by=world.moderator))


def test_hearing_end_makes_a_live_hearing_ended(live_world: World, published: Published) -> None:
    hid = live_world.hearing.pk
    hearing = services.hearing_end(hearing_id=hid, by=live_world.moderator)
    stored = Hearing.objects.get(pk=hid)
    assert hearing.status == stored.status == Hearing.Status.ENDED
    assert stored.ended_at is not None
    assert kinds(published) == [("hearing.status", "hearing.status")]
    assert data(published[0]) == {"status": "ended"}


def test_hearing_end_closes_the_current_item_and_answers_the_stage(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    item = w.items[1]
    services.agenda_start(hearing_id=hid, item_id=item.pk, by=w.moderator)
    staged = ask_approved(w)
    waiting = ask_approved(w, "另一个问题")
    stage(w, staged)
    start = len(published)

    services.hearing_end(hearing_id=hid, by=w.moderator)

    item.refresh_from_db()
    assert item.status == AgendaItem.Status.DONE
    assert item.ended_at is not None
    assert not AgendaItem.objects.filter(hearing_id=hid, status="current").exists()
    assert fresh(staged).status == S.ANSWERED
    assert staged.answered_at is not None
    assert fresh(waiting).status == S.APPROVED
    assert kinds(published, start) == [
        ("agenda.current", "agenda.current"),
        ("question.updated", "question.updated"),
        ("question.stage", "question.stage"),
        ("hearing.status", "hearing.status"),
    ]
    current, answered, cleared, ended = published[start:]
    assert data(current)["item"] is None
    assert data(current)["previous"] == item.pk
    assert {row["id"]: row["status"] for row in data(current)["agenda"]} == statuses(hid)
    assert data(answered)["question"]["id"] == staged.pk
    assert data(answered)["question"]["status"] == "answered"
    assert data(cleared) == {"question": None, "previous": staged.pk}
    assert data(ended) == {"status": "ended"}


def test_a_draft_hearing_cannot_end(world: World, published: Published) -> None:
    assert_refused(
        published, InvalidState, lambda: services.hearing_end(hearing_id=world.hearing.pk, by=world.moderator)
    )


def test_the_system_may_act_without_a_user(world: World, published: Published) -> None:
    services.hearing_start(hearing_id=world.hearing.pk, by=None)
    assert Hearing.objects.get(pk=world.hearing.pk).status == Hearing.Status.LIVE
    assert kinds(published) == [("hearing.status", "hearing.status")]


@pytest.mark.parametrize(
    "call",
    [
        lambda by: services.hearing_start(hearing_id=10**9, by=by),
        lambda by: services.hearing_end(hearing_id=10**9, by=by),
        lambda by: services.agenda_start(hearing_id=10**9, item_id=1, by=by),
        lambda by: services.question_approve(hearing_id=10**9, question_id=1, by=by),
        lambda by: services.question_submit(hearing_id=10**9, text="问", source="public"),
    ],
    ids=["start", "end", "agenda_start", "approve", "submit"],
)
def test_unknown_hearing_is_not_found(call: Callable[[Any], object], world: World, published: Published) -> None:
    assert_refused(published, NotFound, lambda: call(None))


# --------------------------------------------------------------------------- agenda


def test_agenda_start_makes_one_item_current(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    first, second = w.items[0], w.items[1]

    item = services.agenda_start(hearing_id=hid, item_id=first.pk, by=w.moderator)

    assert item.pk == first.pk
    first.refresh_from_db()
    assert first.status == AgendaItem.Status.CURRENT
    assert first.started_at is not None
    assert list(AgendaItem.objects.filter(hearing_id=hid, status="current").values_list("pk", flat=True)) == [first.pk]
    assert kinds(published) == [("agenda.current", "agenda.current")]
    assert data(published[0])["item"] == first.pk
    assert data(published[0])["previous"] is None
    assert {row["id"]: row["status"] for row in data(published[0])["agenda"]} == statuses(hid)

    services.agenda_start(hearing_id=hid, item_id=second.pk, by=w.moderator)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == AgendaItem.Status.DONE
    assert first.ended_at is not None
    assert second.status == AgendaItem.Status.CURRENT
    assert list(AgendaItem.objects.filter(hearing_id=hid, status="current").values_list("pk", flat=True)) == [second.pk]
    assert kinds(published) == [("agenda.current", "agenda.current")] * 2
    assert data(published[1])["item"] == second.pk
    assert data(published[1])["previous"] == first.pk
    assert {row["id"]: row["status"] for row in data(published[1])["agenda"]} == statuses(hid)


def test_agenda_start_goes_back_to_a_done_item(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    first, second = w.items[0], w.items[1]
    services.agenda_start(hearing_id=hid, item_id=first.pk, by=w.moderator)
    services.agenda_start(hearing_id=hid, item_id=second.pk, by=w.moderator)
    first.refresh_from_db()
    assert first.status == AgendaItem.Status.DONE
    start = len(published)

    services.agenda_start(hearing_id=hid, item_id=first.pk, by=w.moderator)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == AgendaItem.Status.CURRENT
    assert first.ended_at is None
    assert second.status == AgendaItem.Status.DONE
    assert AgendaItem.objects.filter(hearing_id=hid, status="current").count() == 1
    assert kinds(published, start) == [("agenda.current", "agenda.current")]
    assert data(published[start])["item"] == first.pk
    assert data(published[start])["previous"] == second.pk


def test_agenda_start_refuses_the_current_item(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    services.agenda_start(hearing_id=hid, item_id=w.items[0].pk, by=w.moderator)
    assert_refused(
        published, InvalidState, lambda: services.agenda_start(hearing_id=hid, item_id=w.items[0].pk, by=w.moderator)
    )


def test_agenda_start_refuses_an_item_of_another_hearing(live_world: World, published: Published) -> None:
    other = make_world(status="live")
    w = live_world
    assert_refused(
        published,
        NotFound,
        lambda: services.agenda_start(hearing_id=w.hearing.pk, item_id=other.items[0].pk, by=w.moderator),
    )
    assert_refused(
        published, NotFound, lambda: services.agenda_start(hearing_id=w.hearing.pk, item_id=10**9, by=w.moderator)
    )


def test_agenda_start_needs_a_live_hearing(world: World, published: Published) -> None:
    assert_refused(
        published,
        InvalidState,
        lambda: services.agenda_start(hearing_id=world.hearing.pk, item_id=world.items[0].pk, by=world.moderator),
    )


def test_database_holds_one_current_item_per_hearing(live_world: World) -> None:
    first, second = live_world.items[0], live_world.items[1]
    AgendaItem.objects.filter(pk=first.pk).update(status="current")
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.filter(pk=second.pk).update(status="current")
    # Another hearing has its own current item.
    other = make_world(status="live")
    AgendaItem.objects.filter(pk=other.items[0].pk).update(status="current")
    assert AgendaItem.objects.filter(status="current").count() == 2


def test_database_holds_one_question_on_stage_per_hearing(live_world: World) -> None:
    first, second = ask_approved(live_world), ask_approved(live_world, "另一问")
    Question.objects.filter(pk=first.pk).update(status="on_stage")
    with pytest.raises(IntegrityError), transaction.atomic():
        Question.objects.filter(pk=second.pk).update(status="on_stage")


# --------------------------------------------------------------------------- question_submit


def test_public_question_waits_and_only_the_control_panel_hears(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=w.moderator)
    before = seqs(hid)
    start = len(published)

    question = services.question_submit(
        hearing_id=hid, text="  企业开办还要跑几次？\n", source="public", asker_name="  网友甲 ", viewer="v-1"
    )

    stored = fresh(question)
    assert stored.status == S.PENDING
    assert stored.approved_at is None
    assert stored.text == "企业开办还要跑几次？"
    assert stored.source == "public"
    assert stored.asker is None
    assert stored.asker_name == "网友甲"
    assert stored.viewer == "v-1"
    assert stored.item_id == w.items[1].pk
    assert kinds(published, start) == [("question.new", None)]
    sent = data(published[start])["question"]
    assert sent["id"] == question.pk
    assert sent["status"] == "pending"
    assert sent["text"] == "企业开办还要跑几次？"
    assert sent["asker"] == "网友甲"
    assert seqs(hid) == (before[0], before[1] + 1)
    assert question not in list(selectors.questions_for(hid, public=True))


def test_public_question_asker_defaults_and_is_capped(live_world: World) -> None:
    anonymous = services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="public")
    assert selectors.question_asker(anonymous) == "网友"
    longest = "名" * services.MAX_NAME_LENGTH
    named = services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="public", asker_name=longest)
    assert fresh(named).asker_name == longest
    # Longer is refused, as on the socket, rather than cut without a word.
    with pytest.raises(BadRequest, match=r"^提问人姓名最多 50 字。$"):
        services.question_submit(
            hearing_id=live_world.hearing.pk, text="问", source="public", asker_name=longest + "名"
        )
    assert Question.objects.count() == 2


def test_public_question_never_records_a_user(live_world: World) -> None:
    user = make_user()
    question = services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="public", asker=user)
    assert fresh(question).asker is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "\n\t ", "x" * 501, "  " + "字" * 501 + "  "],
    ids=["empty", "spaces", "whitespace", "501", "501-padded"],
)
def test_question_text_must_be_1_to_500_characters(live_world: World, published: Published, text: str) -> None:
    askers: list[tuple[str, Any]] = [
        ("public", None),
        ("deputy", live_world.deputies[0]),
        ("moderator", live_world.moderator),
    ]
    for source, asker in askers:
        assert_refused(
            published,
            BadRequest,
            functools.partial(
                services.question_submit, hearing_id=live_world.hearing.pk, text=text, source=source, asker=asker
            ),
        )


def test_question_text_of_500_characters_after_trimming_is_accepted(live_world: World) -> None:
    exact = ask_public(live_world, "字" * 500)
    padded = ask_public(live_world, " \n" + "字" * 500 + "\t ")
    one = ask_public(live_world, " 问 ")
    assert fresh(exact).text == "字" * 500
    assert fresh(padded).text == "字" * 500
    assert fresh(one).text == "问"


def test_unknown_source_is_a_bad_request(live_world: World, published: Published) -> None:
    assert_refused(
        published,
        BadRequest,
        lambda: services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="press"),
    )


def test_deputy_question_is_public_at_once(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    deputy = w.deputies[0]
    before = seqs(hid)

    question = services.question_submit(hearing_id=hid, text="用工缺口怎么解决？", source="deputy", asker=deputy)

    stored = fresh(question)
    assert stored.status == S.APPROVED
    assert stored.approved_at is not None
    assert stored.asker_id == deputy.pk
    assert kinds(published) == [("question.new", "question.new")]
    sent = data(published[0])["question"]
    assert sent["status"] == "approved"
    assert sent["source"] == "deputy"
    assert sent["asker"] == deputy.get_username()
    assert seqs(hid) == (before[0] + 1, before[1] + 1)
    assert [q.pk for q in selectors.questions_for(hid, public=True)] == [question.pk]


def test_deputy_question_waits_when_the_hearing_says_so(published: Published, db: Any) -> None:
    w = make_world(status="live", deputy_questions_need_approval=True)
    hid = w.hearing.pk
    question = services.question_submit(hearing_id=hid, text="问", source="deputy", asker=w.deputies[0])
    assert fresh(question).status == S.PENDING
    assert question.approved_at is None
    assert kinds(published) == [("question.new", None)]
    assert seqs(hid) == (0, 1)
    # A moderator's own question never waits.
    assert ask_approved(w).status == S.APPROVED


@pytest.mark.parametrize("who", ["nobody", "anonymous", "moderator", "plain_user", "deputy_of_another_hearing"])
def test_only_a_deputy_of_this_hearing_asks_as_a_deputy(live_world: World, published: Published, who: str) -> None:
    other = make_world()
    asker = {
        "nobody": None,
        "anonymous": AnonymousUser(),
        "moderator": live_world.moderator,
        "plain_user": make_user(),
        "deputy_of_another_hearing": other.deputies[0],
    }[who]
    assert_refused(
        published,
        Forbidden,
        lambda: services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="deputy", asker=asker),
    )


def test_moderator_question_is_approved_and_public(live_world: World, published: Published) -> None:
    question = services.question_submit(
        hearing_id=live_world.hearing.pk, text="主持人代网友提问", source="moderator", asker=live_world.moderator
    )
    stored = fresh(question)
    assert stored.status == S.APPROVED
    assert stored.source == "moderator"
    assert stored.asker_id == live_world.moderator.pk
    assert kinds(published) == [("question.new", "question.new")]
    assert data(published[0])["question"]["source"] == "moderator"


@pytest.mark.parametrize("who", ["other_moderator", "deputy"])
def test_only_a_moderator_of_this_hearing_asks_as_moderator(live_world: World, published: Published, who: str) -> None:
    asker = live_world.other_moderator if who == "other_moderator" else live_world.deputies[0]
    assert_refused(
        published,
        Forbidden,
        lambda: services.question_submit(hearing_id=live_world.hearing.pk, text="问", source="moderator", asker=asker),
    )


def test_question_item_defaults_to_the_current_item(live_world: World) -> None:
    w, hid = live_world, live_world.hearing.pk
    assert ask_public(w).item_id is None  # nothing current yet
    services.agenda_start(hearing_id=hid, item_id=w.items[2].pk, by=w.moderator)
    assert fresh(ask_public(w)).item_id == w.items[2].pk
    assert fresh(ask_public(w, item_id=w.items[3].pk)).item_id == w.items[3].pk


def test_question_item_must_belong_to_the_hearing(live_world: World, published: Published) -> None:
    other = make_world(status="live")
    assert_refused(published, NotFound, lambda: ask_public(live_world, item_id=other.items[0].pk))
    assert_refused(published, NotFound, lambda: ask_public(live_world, item_id=10**9))


def test_follow_up_takes_its_parents_item(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=w.moderator)
    parent = ask_approved(w)
    services.agenda_start(hearing_id=hid, item_id=w.items[2].pk, by=w.moderator)
    start = len(published)

    follow_up = services.question_submit(
        hearing_id=hid, text="追问：具体时间表？", source="deputy", asker=w.deputies[1], parent_id=parent.pk
    )

    stored = fresh(follow_up)
    assert stored.parent_id == parent.pk
    assert stored.item_id == w.items[1].pk
    assert stored.status == S.APPROVED
    assert kinds(published, start) == [("question.new", "question.new")]
    assert data(published[start])["question"]["parent"] == parent.pk
    # An explicit item wins over the parent's.
    explicit = ask_public(w, parent_id=parent.pk, item_id=w.items[3].pk)
    assert fresh(explicit).item_id == w.items[3].pk


@pytest.mark.parametrize("parent_kind", ["pending", "rejected", "merged", "other_hearing", "unknown"])
def test_follow_up_needs_a_visible_parent(live_world: World, published: Published, parent_kind: str) -> None:
    w, hid = live_world, live_world.hearing.pk
    if parent_kind == "pending":
        parent_id = ask_public(w).pk
    elif parent_kind == "rejected":
        parent_id = ask_public(w).pk
        services.question_reject(hearing_id=hid, question_id=parent_id, by=w.moderator)
    elif parent_kind == "merged":
        parent_id = ask_approved(w, "重复").pk
        services.question_merge(hearing_id=hid, question_id=parent_id, into_id=ask_approved(w).pk, by=w.moderator)
    elif parent_kind == "other_hearing":
        parent_id = ask_approved(make_world(status="live")).pk
    else:
        parent_id = 10**9
    assert_refused(
        published,
        NotFound,
        lambda: services.question_submit(
            hearing_id=hid, text="追问", source="deputy", asker=w.deputies[0], parent_id=parent_id
        ),
    )


@pytest.mark.parametrize("status", [S.ON_STAGE, S.ANSWERED])
def test_follow_up_to_a_staged_or_answered_question(live_world: World, status: str) -> None:
    w, hid = live_world, live_world.hearing.pk
    parent = ask_approved(w)
    stage(w, parent)
    if status == S.ANSWERED:
        services.question_answered(hearing_id=hid, question_id=parent.pk, by=w.moderator)
    follow_up = services.question_submit(
        hearing_id=hid, text="追问", source="deputy", asker=w.deputies[0], parent_id=parent.pk
    )
    assert fresh(follow_up).parent_id == parent.pk


def test_questions_may_be_collected_before_the_hearing_starts(world: World, published: Published) -> None:
    question = ask_public(world)
    assert fresh(question).status == S.PENDING
    assert kinds(published) == [("question.new", None)]


# --------------------------------------------------------------------------- approve / reject / edit


def test_approve_shows_a_pending_question_to_the_public(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_public(w)
    before, start = seqs(hid), len(published)

    services.question_approve(hearing_id=hid, question_id=question.pk, by=w.moderator)

    stored = fresh(question)
    assert stored.status == S.APPROVED
    assert stored.approved_at is not None
    # The public never saw it: for them it is new; the control panel had it already.
    assert kinds(published, start) == [("question.updated", "question.new")]
    assert data(published[start])["question"]["status"] == "approved"
    assert seqs(hid) == (before[0] + 1, before[1] + 1)
    assert [q.pk for q in selectors.questions_for(hid, public=True)] == [question.pk]


def test_reject_keeps_a_pending_question_from_the_public(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_public(w)
    before, start = seqs(hid), len(published)

    services.question_reject(hearing_id=hid, question_id=question.pk, by=w.moderator)

    assert fresh(question).status == S.REJECTED
    assert kinds(published, start) == [("question.updated", None)]
    assert data(published[start])["question"]["status"] == "rejected"
    assert seqs(hid) == (before[0], before[1] + 1)
    assert list(selectors.questions_for(hid, public=True)) == []


def _question_in(world: World, status: str) -> Question:
    """A question of `world` (live) brought to `status` through the services."""
    hid = world.hearing.pk
    if status == S.PENDING:
        return ask_public(world)
    if status == S.REJECTED:
        question = ask_public(world)
        services.question_reject(hearing_id=hid, question_id=question.pk, by=None)
        return fresh(question)
    question = ask_approved(world)
    if status in (S.ON_STAGE, S.ANSWERED):
        stage(world, question)
    if status == S.ANSWERED:
        services.question_answered(hearing_id=hid, question_id=question.pk, by=None)
    return fresh(question)


@pytest.mark.parametrize("status", [S.APPROVED, S.ON_STAGE, S.ANSWERED, S.REJECTED])
@pytest.mark.parametrize("service", ["question_approve", "question_reject"])
def test_approve_and_reject_take_pending_questions_only(
    live_world: World, published: Published, status: str, service: str
) -> None:
    question = _question_in(live_world, status)
    call = getattr(services, service)
    assert_refused(
        published,
        InvalidState,
        lambda: call(hearing_id=live_world.hearing.pk, question_id=question.pk, by=live_world.moderator),
    )


@pytest.mark.parametrize(
    "service", ["question_approve", "question_reject", "question_stage", "question_answered", "question_edit"]
)
def test_question_services_refuse_a_question_of_another_hearing(
    live_world: World, published: Published, service: str
) -> None:
    other = make_world(status="live")
    foreign = ask_public(other) if service in ("question_approve", "question_reject") else ask_approved(other)
    extra = {"text": "改"} if service == "question_edit" else {}
    call = getattr(services, service)
    assert_refused(
        published,
        NotFound,
        lambda: call(hearing_id=live_world.hearing.pk, question_id=foreign.pk, by=live_world.moderator, **extra),
    )
    assert_refused(
        published,
        NotFound,
        lambda: call(hearing_id=live_world.hearing.pk, question_id=10**9, by=live_world.moderator, **extra),
    )


def test_edit_a_pending_question_tells_only_the_control_panel(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_public(w, "错别字的问题")
    start = len(published)
    services.question_edit(hearing_id=hid, question_id=question.pk, text="  改正后的问题 ", by=w.moderator)
    stored = fresh(question)
    assert stored.text == "改正后的问题"
    assert stored.status == S.PENDING
    assert kinds(published, start) == [("question.updated", None)]
    assert data(published[start])["question"]["text"] == "改正后的问题"


def test_edit_an_approved_question_tells_everyone(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_approved(w)
    start = len(published)
    services.question_edit(hearing_id=hid, question_id=question.pk, text="改正后的问题", by=w.moderator)
    assert fresh(question).text == "改正后的问题"
    assert fresh(question).status == S.APPROVED
    assert kinds(published, start) == [("question.updated", "question.updated")]


@pytest.mark.parametrize("status", [S.ON_STAGE, S.ANSWERED, S.REJECTED])
def test_edit_takes_pending_or_approved_questions_only(live_world: World, published: Published, status: str) -> None:
    question = _question_in(live_world, status)
    assert_refused(
        published,
        InvalidState,
        lambda: services.question_edit(
            hearing_id=live_world.hearing.pk, question_id=question.pk, text="改", by=live_world.moderator
        ),
    )


@pytest.mark.parametrize("text", ["", "   ", "字" * 501])
def test_edit_checks_the_text(live_world: World, published: Published, text: str) -> None:
    question = ask_public(live_world)
    assert_refused(
        published,
        BadRequest,
        lambda: services.question_edit(
            hearing_id=live_world.hearing.pk, question_id=question.pk, text=text, by=live_world.moderator
        ),
    )


# --------------------------------------------------------------------------- stage / answered


def test_stage_puts_an_approved_question_on_stage(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_approved(w)
    before, start = seqs(hid), len(published)

    result = services.question_stage(hearing_id=hid, question_id=question.pk, by=w.moderator)

    assert result is not None
    assert result.pk == question.pk
    stored = fresh(question)
    assert stored.status == S.ON_STAGE
    assert stored.staged_at is not None
    assert kinds(published, start) == [("question.stage", "question.stage")]
    assert data(published[start]) == {"question": question.pk, "previous": None}
    assert seqs(hid) == (before[0] + 1, before[1] + 1)


def test_stage_holds_one_question_the_previous_returns_to_approved(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    first, second = ask_approved(w), ask_approved(w, "第二个问题")
    stage(w, first)
    start = len(published)

    stage(w, second)

    assert fresh(first).status == S.APPROVED
    assert fresh(second).status == S.ON_STAGE
    assert Question.objects.filter(hearing_id=hid, status=S.ON_STAGE).count() == 1
    # One event moves the stage: `question` goes on, `previous` back to approved.
    assert kinds(published, start) == [("question.stage", "question.stage")]
    assert data(published[start]) == {"question": second.pk, "previous": first.pk}


def test_stage_none_clears_the_stage(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_approved(w)
    stage(w, question)
    start = len(published)

    assert services.question_stage(hearing_id=hid, question_id=None, by=w.moderator) is None

    assert fresh(question).status == S.APPROVED
    assert not Question.objects.filter(hearing_id=hid, status=S.ON_STAGE).exists()
    assert kinds(published, start) == [("question.stage", "question.stage")]
    assert data(published[start]) == {"question": None, "previous": question.pk}


def test_stage_none_with_an_empty_stage_is_refused(live_world: World, published: Published) -> None:
    assert_refused(
        published,
        InvalidState,
        lambda: services.question_stage(hearing_id=live_world.hearing.pk, question_id=None, by=live_world.moderator),
    )


@pytest.mark.parametrize("status", [S.PENDING, S.REJECTED, S.ANSWERED, S.ON_STAGE])
def test_stage_takes_approved_questions_only(live_world: World, published: Published, status: str) -> None:
    w = live_world
    held = ask_approved(w, "台上的问题")
    question = _question_in(w, status)
    if status != S.ON_STAGE:
        stage(w, held)  # the stage stays as it is when the change is refused
    assert_refused(
        published,
        InvalidState,
        lambda: services.question_stage(hearing_id=w.hearing.pk, question_id=question.pk, by=w.moderator),
    )


def test_stage_needs_a_live_hearing(world: World, published: Published) -> None:
    question = ask_approved(world)
    assert_refused(
        published,
        InvalidState,
        lambda: services.question_stage(hearing_id=world.hearing.pk, question_id=question.pk, by=world.moderator),
    )


def test_answered_clears_the_stage_and_keeps_note_and_commitment(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    question = ask_approved(w)
    stage(w, question)
    start = len(published)

    services.question_answered(
        hearing_id=hid, question_id=question.pk, by=w.moderator, note=" 已说明时间表 ", commitment=" 三个月内办结\n"
    )

    stored = fresh(question)
    assert stored.status == S.ANSWERED
    assert stored.answered_at is not None
    assert stored.answer_note == "已说明时间表"
    assert stored.commitment == "三个月内办结"
    assert not Question.objects.filter(hearing_id=hid, status=S.ON_STAGE).exists()
    assert kinds(published, start) == [
        ("question.updated", "question.updated"),
        ("question.stage", "question.stage"),
    ]
    sent = data(published[start])["question"]
    assert (sent["status"], sent["answer_note"], sent["commitment"]) == ("answered", "已说明时间表", "三个月内办结")
    assert data(published[start + 1]) == {"question": None, "previous": question.pk}


def test_answered_off_stage_leaves_the_stage_alone(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    held, question = ask_approved(w, "台上"), ask_approved(w, "书面答复")
    stage(w, held)
    start = len(published)

    services.question_answered(hearing_id=hid, question_id=question.pk, by=w.moderator)

    assert fresh(question).status == S.ANSWERED
    assert fresh(held).status == S.ON_STAGE
    assert kinds(published, start) == [("question.updated", "question.updated")]


@pytest.mark.parametrize("status", [S.PENDING, S.REJECTED, S.ANSWERED])
def test_answered_takes_approved_or_staged_questions_only(live_world: World, published: Published, status: str) -> None:
    question = _question_in(live_world, status)
    assert_refused(
        published,
        InvalidState,
        lambda: services.question_answered(
            hearing_id=live_world.hearing.pk, question_id=question.pk, by=live_world.moderator, note="x"
        ),
    )


# --------------------------------------------------------------------------- merge


def _like(world: World, question: Question, *viewers: str) -> None:
    for viewer in viewers:
        assert not services.like_add(hearing_id=world.hearing.pk, viewer=viewer, question_id=question.pk).duplicate


def test_merge_combines_likes_counting_a_viewer_once(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    kept, duplicate = ask_approved(w, "融资难怎么办？"), ask_approved(w, "融资难的问题怎么解决？")
    _like(w, kept, "v1", "v2")
    _like(w, duplicate, "v2", "v3")
    services.like_add(hearing_id=hid, viewer="v9", question_id=None)
    before, start = seqs(hid), len(published)

    result = services.question_merge(hearing_id=hid, question_id=duplicate.pk, into_id=kept.pk, by=w.moderator)

    assert result.pk == kept.pk
    assert fresh(kept).likes == 3
    assert sorted(Like.objects.filter(question=kept).values_list("viewer", flat=True)) == ["v1", "v2", "v3"]
    assert not Like.objects.filter(question=duplicate).exists()
    stored = fresh(duplicate)
    assert stored.merged_into_id == kept.pk
    assert stored.likes == 0
    assert Hearing.objects.get(pk=hid).likes == 1  # the hearing's own likes are not touched
    # The duplicate leaves every list.
    assert [q.pk for q in selectors.questions_for(hid, public=True)] == [kept.pk]
    assert [q.pk for q in selectors.questions_for(hid, public=False)] == [kept.pk]
    assert duplicate.pk not in selectors.question_likes(hid, public=False)
    assert kinds(published, start) == [
        ("question.removed", "question.removed"),
        ("question.updated", "question.updated"),
    ]
    assert data(published[start]) == {"question": duplicate.pk, "merged_into": kept.pk}
    assert data(published[start + 1])["question"]["likes"] == 3
    assert seqs(hid) == (before[0] + 2, before[1] + 2)
    # A viewer who liked the duplicate has now liked the kept question.
    assert services.like_add(hearing_id=hid, viewer="v3", question_id=kept.pk).duplicate
    assert fresh(kept).likes == 3


def test_merge_of_a_pending_duplicate_is_not_told_to_the_public(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    kept, duplicate = ask_approved(w), ask_public(w, "同样的问题")
    start = len(published)

    services.question_merge(hearing_id=hid, question_id=duplicate.pk, into_id=kept.pk, by=w.moderator)

    assert fresh(duplicate).merged_into_id == kept.pk
    assert kinds(published, start) == [
        ("question.removed", None),
        ("question.updated", "question.updated"),
    ]
    assert [q.pk for q in selectors.questions_for(hid, public=False)] == [kept.pk]


def test_merge_into_a_pending_question_keeps_it_from_the_public(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    kept, duplicate = ask_public(w), ask_public(w, "同样的问题")
    start = len(published)
    services.question_merge(hearing_id=hid, question_id=duplicate.pk, into_id=kept.pk, by=w.moderator)
    assert kinds(published, start) == [("question.removed", None), ("question.updated", None)]
    assert seqs(hid)[0] == 0


def test_merge_refusals(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    kept, other, staged = ask_approved(w), ask_approved(w, "其二"), ask_approved(w, "台上")
    stage(w, staged)
    rejected = _question_in(w, S.REJECTED)
    gone = ask_approved(w, "已合并")
    services.question_merge(hearing_id=hid, question_id=gone.pk, into_id=kept.pk, by=w.moderator)
    foreign = ask_approved(make_world(status="live"))

    def merge(question: Question, into: Question) -> Callable[[], object]:
        return lambda: services.question_merge(hearing_id=hid, question_id=question.pk, into_id=into.pk, by=w.moderator)

    assert_refused(published, BadRequest, merge(kept, kept))
    assert_refused(published, InvalidState, merge(staged, kept))
    assert_refused(published, InvalidState, merge(other, rejected))
    assert_refused(published, NotFound, merge(gone, other))
    assert_refused(published, NotFound, merge(other, gone))
    assert_refused(published, NotFound, merge(foreign, kept))
    assert_refused(published, NotFound, merge(kept, foreign))


# --------------------------------------------------------------------------- permissions and ended hearings


@dataclass
class Scene:
    world: World
    pending: Question
    approved: Question
    other: Question

    @property
    def hid(self) -> int:
        return self.world.hearing.pk


def make_scene(status: str) -> Scene:
    """A hearing in `status` with a pending and two approved questions (an item was current when live)."""
    world = make_world(status=Hearing.Status.DRAFT if status == "draft" else Hearing.Status.LIVE)
    hid = world.hearing.pk
    if status != "draft":
        services.agenda_start(hearing_id=hid, item_id=world.items[0].pk, by=None)
    scene = Scene(world, ask_public(world), ask_approved(world, "其一"), ask_approved(world, "其二"))
    if status == "ended":
        services.hearing_end(hearing_id=hid, by=None)
    return scene


Call = Callable[[Scene, Any], object]

MODERATOR_CALLS: dict[str, tuple[str, Call]] = {
    "hearing_start": ("draft", lambda s, by: services.hearing_start(hearing_id=s.hid, by=by)),
    "hearing_end": ("live", lambda s, by: services.hearing_end(hearing_id=s.hid, by=by)),
    "agenda_start": (
        "live",
        lambda s, by: services.agenda_start(hearing_id=s.hid, item_id=s.world.items[2].pk, by=by),
    ),
    "question_approve": (
        "live",
        lambda s, by: services.question_approve(hearing_id=s.hid, question_id=s.pending.pk, by=by),
    ),
    "question_reject": (
        "live",
        lambda s, by: services.question_reject(hearing_id=s.hid, question_id=s.pending.pk, by=by),
    ),
    "question_edit": (
        "live",
        lambda s, by: services.question_edit(hearing_id=s.hid, question_id=s.approved.pk, text="改", by=by),
    ),
    "question_stage": (
        "live",
        lambda s, by: services.question_stage(hearing_id=s.hid, question_id=s.approved.pk, by=by),
    ),
    "question_answered": (
        "live",
        lambda s, by: services.question_answered(hearing_id=s.hid, question_id=s.approved.pk, by=by, note="n"),
    ),
    "question_merge": (
        "live",
        lambda s, by: services.question_merge(hearing_id=s.hid, question_id=s.other.pk, into_id=s.approved.pk, by=by),
    ),
    "question_submit_as_moderator": (
        "live",
        lambda s, by: services.question_submit(hearing_id=s.hid, text="问", source="moderator", asker=by),
    ),
}


@pytest.mark.parametrize("who", ["other_moderator", "deputy", "anonymous"])
@pytest.mark.parametrize("name", list(MODERATOR_CALLS))
def test_moderator_services_refuse_anyone_but_a_moderator_of_this_hearing(
    db: Any, published: Published, name: str, who: str
) -> None:
    status, call = MODERATOR_CALLS[name]
    scene = make_scene(status)
    by = {
        "other_moderator": scene.world.other_moderator,
        "deputy": scene.world.deputies[0],
        "anonymous": AnonymousUser(),
    }[who]
    assert_refused(published, Forbidden, lambda: call(scene, by))
    # The same change is allowed to the hearing's moderator (so Forbidden was about who asked).
    start = len(published)
    call(scene, scene.world.moderator)
    assert len(published) > start


ENDED_CALLS: dict[str, Call] = {
    "hearing_start": MODERATOR_CALLS["hearing_start"][1],
    "hearing_end": MODERATOR_CALLS["hearing_end"][1],
    "agenda_start_pending": MODERATOR_CALLS["agenda_start"][1],
    "agenda_start_done": lambda s, by: services.agenda_start(hearing_id=s.hid, item_id=s.world.items[0].pk, by=by),
    "question_submit_public": lambda s, by: ask_public(s.world),
    "question_submit_deputy": lambda s, by: services.question_submit(
        hearing_id=s.hid, text="问", source="deputy", asker=s.world.deputies[0]
    ),
    "question_submit_moderator": MODERATOR_CALLS["question_submit_as_moderator"][1],
    "question_submit_follow_up": lambda s, by: services.question_submit(
        hearing_id=s.hid, text="追问", source="deputy", asker=s.world.deputies[0], parent_id=s.approved.pk
    ),
    "question_approve": MODERATOR_CALLS["question_approve"][1],
    "question_reject": MODERATOR_CALLS["question_reject"][1],
    "question_edit_pending": lambda s, by: services.question_edit(
        hearing_id=s.hid, question_id=s.pending.pk, text="改", by=by
    ),
    "question_edit_approved": MODERATOR_CALLS["question_edit"][1],
    "question_stage": MODERATOR_CALLS["question_stage"][1],
    "question_stage_clear": lambda s, by: services.question_stage(hearing_id=s.hid, question_id=None, by=by),
    "question_answered": MODERATOR_CALLS["question_answered"][1],
    "question_merge": MODERATOR_CALLS["question_merge"][1],
    "question_merge_pending": lambda s, by: services.question_merge(
        hearing_id=s.hid, question_id=s.pending.pk, into_id=s.approved.pk, by=by
    ),
    "like_hearing": lambda s, by: services.like_add(hearing_id=s.hid, viewer="v-late", question_id=None),
    "like_question": lambda s, by: services.like_add(hearing_id=s.hid, viewer="v-late", question_id=s.approved.pk),
}


@pytest.mark.parametrize("who", ["moderator", "system"])
@pytest.mark.parametrize("name", list(ENDED_CALLS))
def test_an_ended_hearing_changes_no_more(db: Any, published: Published, name: str, who: str) -> None:
    scene = make_scene("ended")
    by = scene.world.moderator if who == "moderator" else None
    assert_refused(published, InvalidState, lambda: ENDED_CALLS[name](scene, by))


# --------------------------------------------------------------------------- sequences


def test_each_publish_numbers_the_streams_and_is_stored(live_world: World, published: Published) -> None:
    w, hid = live_world, live_world.hearing.pk
    deputy = w.deputies[0]
    steps: list[Callable[[], object]] = [
        lambda: services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=w.moderator),
        lambda: ask_public(w, "公开一"),  # control only
        lambda: ask_public(w, "公开二"),  # control only
        lambda: services.question_submit(hearing_id=hid, text="代表问", source="deputy", asker=deputy),
        lambda: services.question_approve(hearing_id=hid, question_id=_q("公开一"), by=w.moderator),
        lambda: services.question_reject(hearing_id=hid, question_id=_q("公开二"), by=w.moderator),  # control only
        lambda: services.question_stage(hearing_id=hid, question_id=_q("代表问"), by=w.moderator),
        lambda: services.question_stage(hearing_id=hid, question_id=_q("公开一"), by=w.moderator),
        lambda: services.like_add(hearing_id=hid, viewer="v1", question_id=_q("公开一")),  # a counter, no state event
        lambda: services.question_answered(hearing_id=hid, question_id=_q("公开一"), by=w.moderator),
        lambda: services.hearing_end(hearing_id=hid, by=w.moderator),
    ]
    assert seqs(hid) == (0, 0)
    for step in steps:
        before, start = seqs(hid), len(published)
        step()
        new = published[start:]
        public_count = sum(1 for entry in new if entry[2] is not None)
        assert seqs(hid) == (before[0] + public_count, before[1] + len(new))

    public_seq, control_seq = seqs(hid)
    assert control_seq == len(published) == 12
    assert public_seq == sum(1 for entry in published if entry[2] is not None) == 9
    control_rows = list(LiveEvent.objects.filter(hearing_id=hid, stream="control").order_by("seq"))
    public_rows = list(LiveEvent.objects.filter(hearing_id=hid, stream="public").order_by("seq"))
    assert [row.seq for row in control_rows] == list(range(1, control_seq + 1))
    assert [row.seq for row in public_rows] == list(range(1, public_seq + 1))
    assert [row.type for row in control_rows] == [entry[1] for entry in published]
    assert [row.type for row in public_rows] == [entry[2] for entry in published if entry[2] is not None]
    assert [row.frame for row in control_rows] == [entry[3] for entry in published]
    for row in [*control_rows, *public_rows]:
        frame = json.loads(row.frame)
        assert (frame["type"], frame["seq"]) == (row.type, row.seq)
    # The public frames never carry a pending or rejected question.
    for row in public_rows:
        question = json.loads(row.frame)["data"].get("question")
        if isinstance(question, dict):
            assert question["status"] in ("approved", "on_stage", "answered")
    # Another hearing's sequences are its own.
    assert not LiveEvent.objects.exclude(hearing_id=hid).exists()


def _q(text: str) -> int:
    return Question.objects.values_list("pk", flat=True).get(text=text)


def test_events_go_out_only_after_commit(
    world: World, published: Published, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[tuple[int, Any]] = []
    monkeypatch.setattr(live_publish, "broadcast", lambda hearing_id, frames: sent.append((hearing_id, frames)))
    hid = world.hearing.pk

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.hearing_start(hearing_id=hid, by=world.moderator)
        with pytest.raises(InvalidState):
            services.hearing_start(hearing_id=hid, by=world.moderator)
    assert sent == []  # nothing is sent before the transaction commits
    assert len(callbacks) == 1  # and a refused change schedules nothing
    callbacks[0]()
    assert len(sent) == 1
    hearing_id, frames = sent[0]
    assert hearing_id == hid
    assert [(stream, seq) for stream, seq, _ in frames] == [("public", 1), ("control", 1)]
    assert json.loads(frames[0][2]) == {"type": "hearing.status", "seq": 1, "data": {"status": "live"}}


# --------------------------------------------------------------------------- fixes after review


def test_merge_of_a_public_question_into_a_pending_one_is_refused(live_world: World) -> None:
    hid = live_world.hearing.pk
    public = services.question_submit(hearing_id=hid, text="公开的问题", source="moderator", asker=live_world.moderator)
    pending = services.question_submit(hearing_id=hid, text="待审核的问题", source="public")
    with pytest.raises(InvalidState):
        services.question_merge(hearing_id=hid, question_id=public.pk, into_id=pending.pk, by=live_world.moderator)
    public.refresh_from_db()
    assert public.merged_into_id is None and public.status == Question.Status.APPROVED


def test_merge_moves_follow_ups_to_the_kept_question(live_world: World, published: Published) -> None:
    hid = live_world.hearing.pk
    mod = live_world.moderator
    kept = services.question_submit(hearing_id=hid, text="保留的问题", source="moderator", asker=mod)
    dup = services.question_submit(hearing_id=hid, text="重复的问题", source="moderator", asker=mod)
    child = services.question_submit(
        hearing_id=hid, text="追问", source="deputy", asker=live_world.deputies[0], parent_id=dup.pk
    )
    published.clear()
    services.question_merge(hearing_id=hid, question_id=dup.pk, into_id=kept.pk, by=mod)
    child.refresh_from_db()
    assert child.parent_id == kept.pk
    assert any(f'"id":{child.pk},' in frame and f'"parent":{kept.pk}' in frame for *_, frame in published)
