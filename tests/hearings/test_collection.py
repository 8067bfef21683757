"""Question collection before the session (hearings/services/collection.py): the window, the
category, the contact, the same rules as any question (screening, blocked viewers, moderation),
the deputy's path and the limits. Every refusal stores nothing and publishes nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from core.errors import BadRequest, DomainError, Forbidden, InvalidState, RateLimited
from hearings import selectors, services
from hearings.contact import clean_contact
from hearings.models import BlockedViewer, Hearing, Question
from live.schema import Stream
from realtime import snapshot
from tests.conftest import Published
from tests.factories import World, make_user
from tests.hearings.collect_helpers import CATEGORIES, fresh_limit_window, open_window, viewer

pytestmark = pytest.mark.django_db
__all__ = ["fresh_limit_window"]


def collect(world: World, **fields: Any) -> Question:
    base: dict[str, Any] = {
        "hearing_id": world.hearing.pk,
        "text": "企业开办还要跑几个窗口？",
        "category": "营商环境",
        "viewer": fields.pop("viewer", None) or viewer(),
        "address": "203.0.113.7",
    }
    return services.question_collect(**{**base, **fields})


def refused(published: Published, error: type[DomainError], call: Callable[[], object]) -> DomainError:
    before = list(Question.objects.values_list("pk", flat=True))
    seen = len(published)
    with pytest.raises(DomainError) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"
    assert list(Question.objects.values_list("pk", flat=True)) == before
    assert published[seen:] == []
    return info.value


@pytest.fixture
def w(world: World) -> World:
    open_window(world.hearing)
    return world


# ------------------------------------------------------------------ taken


def test_a_collected_question_waits_for_a_moderator_with_its_category_and_contact(
    w: World, published: Published
) -> None:
    who = viewer()
    q = collect(w, viewer=who, name=" 张先生 ", contact=" 138-0013-8000 ")
    q.refresh_from_db()
    assert (q.source, q.status, q.category, q.asker_name, q.viewer) == (
        "collected",
        "pending",
        "营商环境",
        "张先生",
        who,
    )
    assert q.contact == "13800138000"
    assert q.asker_id is None and q.item_id is None  # not attached to whatever item is current
    assert published.types() == ["question.new"] and published.types("public") == []
    out = selectors.question_out(q, control=True).model_dump()
    assert "contact" not in out and "13800138000" not in str(out)


def test_an_email_contact_is_kept_trimmed(w: World) -> None:
    assert collect(w, contact="  li.si@example.cn ").contact == "li.si@example.cn"


def test_no_contact_is_fine(w: World) -> None:
    assert collect(w, contact="").contact == ""


def test_a_hearing_without_categories_takes_a_question_without_one(world: World) -> None:
    open_window(world.hearing, categories=[])
    assert collect(world, category=None).category == ""


def test_a_collected_question_is_counted_by_its_source(w: World) -> None:
    collect(w)
    collect(w)
    services.question_submit(hearing_id=w.hearing.pk, text="现场提问", source="public")
    counts = selectors.question_source_counts(w.hearing.pk)
    assert (counts["collected"], counts["public"], counts["deputy"]) == (2, 1, 0)


# ------------------------------------------------------------------ the window


def _window(world: World, opens: timedelta | None, closes: timedelta | None) -> None:
    now = timezone.now()
    world.hearing.collect_opens_at = now + opens if opens is not None else None
    world.hearing.collect_closes_at = now + closes if closes is not None else None
    world.hearing.save()


def test_before_the_window_opens_it_is_refused_with_the_opening_time(w: World, published: Published) -> None:
    _window(w, timedelta(hours=2), timedelta(days=2))
    error = refused(published, InvalidState, lambda: collect(w))
    opens = timezone.localtime(w.hearing.collect_opens_at)
    assert "尚未开始" in error.message and f"{opens:%H:%M}" in error.message


def test_after_the_window_closes_it_is_refused_with_the_closing_time(w: World, published: Published) -> None:
    _window(w, -timedelta(days=2), -timedelta(minutes=1))
    error = refused(published, InvalidState, lambda: collect(w))
    assert "已于" in error.message and "截止" in error.message


def test_at_the_closing_instant_it_is_closed(w: World, published: Published) -> None:
    closes = timezone.now() + timedelta(hours=1)
    w.hearing.collect_closes_at = closes
    w.hearing.save()
    with mock.patch("django.utils.timezone.now", return_value=closes):
        refused(published, InvalidState, lambda: collect(w))
    with mock.patch("django.utils.timezone.now", return_value=closes - timedelta(seconds=1)):
        assert collect(w).pk


def test_a_hearing_without_a_window_takes_nothing(w: World, published: Published) -> None:
    _window(w, None, None)
    error = refused(published, InvalidState, lambda: collect(w))
    assert error.message == "本场问政会不征集问题。"


def test_an_ended_hearing_takes_nothing_even_inside_its_window(w: World, published: Published) -> None:
    Hearing.objects.filter(pk=w.hearing.pk).update(status=Hearing.Status.ENDED, ended_at=timezone.now())
    error = refused(published, InvalidState, lambda: collect(w))
    assert "已结束" in error.message


def test_a_live_hearing_inside_its_window_still_collects(w: World) -> None:
    Hearing.objects.filter(pk=w.hearing.pk).update(status=Hearing.Status.LIVE)
    assert collect(w).status == "pending"


# ------------------------------------------------------------------ category and contact


def test_the_category_is_required_when_the_hearing_has_categories(w: World, published: Published) -> None:
    for missing in (None, ""):
        error = refused(published, BadRequest, functools.partial(collect, w, category=missing))
        assert error.message == "请选择问题类别。"


def test_a_category_not_the_hearings_is_refused(w: World, published: Published) -> None:
    refused(published, BadRequest, lambda: collect(w, category="不存在的类别"))
    open_window(w.hearing, categories=[])
    refused(published, BadRequest, lambda: collect(w, category="教育"))


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("008619912345678", "19912345678"),
        ("wang@example.com", "wang@example.com"),
        ("  a.b+c@sub.example.org  ", "a.b+c@sub.example.org"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_contacts_that_are_taken(typed: str, stored: str) -> None:
    assert clean_contact(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "12345",
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "12800138000",  # not a mobile prefix
        "010-12345678",  # a landline
        "微信 abc",
        "not-an-email",
        "a@b",
        "张三@例子.中国",
        "138\x0000138000",
        "a" * 96 + "@x.cn",  # over ASKER_CONTACT (100)
        "<script>@x.cn",
    ],
)
def test_contacts_that_are_refused(w: World, published: Published, typed: str) -> None:
    refused(published, BadRequest, lambda: collect(w, contact=typed))


# ------------------------------------------------------------------ the same rules as every question


def test_a_sensitive_word_is_flagged_and_never_public(w: World, published: Published) -> None:
    services.sensitive_words_add(words=["敏感词"], by=None)
    q = collect(w, text="这里有个敏感词")
    assert q.status == "pending" and q.sensitive_words == ["敏感词"]
    assert published.types("public") == []
    _seq, public = snapshot.build(w.hearing.pk, Stream.PUBLIC)
    assert q.pk not in [question.id for question in public.questions]


def test_a_sensitive_word_in_the_name_is_flagged_too(w: World) -> None:
    services.sensitive_words_add(words=["敏感词"], by=None)
    assert collect(w, name="敏感词先生").sensitive_words == ["敏感词"]


def test_a_deputys_sensitive_question_waits_too(w: World) -> None:
    services.sensitive_words_add(words=["敏感词"], by=None)
    q = collect(w, deputy=w.deputies[0], text="代表的敏感词问题")
    assert (q.source, q.status) == ("deputy", "pending")


def test_a_blocked_viewers_question_never_reaches_the_queue(w: World, published: Published) -> None:
    who = viewer()
    BlockedViewer.objects.create(viewer=who)
    q = collect(w, viewer=who)
    assert q.dropped and q.status == "pending"
    assert published == []  # nobody is told
    assert q.pk not in [x.pk for x in selectors.pending_page(w.hearing.pk, offset=0, limit=100)]
    assert selectors.question_source_counts(w.hearing.pk)["collected"] == 0


def test_text_and_name_are_cleaned_and_checked(w: World, published: Published) -> None:
    refused(published, BadRequest, lambda: collect(w, text="   "))
    refused(published, BadRequest, lambda: collect(w, text="问" * 501))
    refused(published, BadRequest, lambda: collect(w, name="名" * 51))
    refused(published, BadRequest, lambda: collect(w, name="两\n行"))
    assert collect(w, text="  问" * 1 + "  ").text == "问"


def test_without_a_viewer_identity_it_is_refused(w: World, published: Published) -> None:
    refused(
        published, Forbidden, lambda: services.question_collect(hearing_id=w.hearing.pk, text="问", category="教育")
    )


# ------------------------------------------------------------------ deputies


def test_a_deputy_of_the_hearing_asks_as_a_deputy(w: World, published: Published) -> None:
    deputy = w.deputies[0]
    q = collect(w, deputy=deputy, viewer="", name="冒名", contact="13800138000")
    q.refresh_from_db()
    assert (q.source, q.asker_id, q.asker_name, q.contact) == ("deputy", deputy.pk, "", "")
    assert q.status == "approved"  # as a deputy's question on the tablet: public unless the hearing says so
    assert published.types("public") == ["question.new"]


def test_a_deputys_question_waits_when_the_hearing_says_so(w: World) -> None:
    Hearing.objects.filter(pk=w.hearing.pk).update(deputy_questions_need_approval=True)
    assert collect(w, deputy=w.deputies[0]).status == "pending"


def test_a_user_who_is_not_a_deputy_of_the_hearing_cannot_ask_as_one(w: World, published: Published) -> None:
    refused(published, Forbidden, lambda: collect(w, deputy=make_user()))
    refused(published, Forbidden, lambda: collect(w, deputy=w.moderator))


def test_the_window_holds_for_deputies_too(w: World, published: Published) -> None:
    _window(w, -timedelta(days=2), -timedelta(days=1))
    refused(published, InvalidState, lambda: collect(w, deputy=w.deputies[0]))


# ------------------------------------------------------------------ limits


def test_a_viewer_over_its_limit_is_refused_and_others_are_not(w: World, published: Published, settings: Any) -> None:
    settings.COLLECT = {**settings.COLLECT, "PER_MINUTE": 3}
    who = viewer()
    for _ in range(3):
        collect(w, viewer=who)
    error = refused(published, RateLimited, lambda: collect(w, viewer=who))
    assert error.status == 429 and error.message
    assert collect(w, viewer=viewer()).pk  # another phone on the same address


def test_a_deputy_is_limited_as_a_person(w: World, published: Published, settings: Any) -> None:
    settings.COLLECT = {**settings.COLLECT, "PER_MINUTE": 2}
    for _ in range(2):
        collect(w, deputy=w.deputies[0])
    refused(published, RateLimited, lambda: collect(w, deputy=w.deputies[0]))
    assert collect(w, deputy=w.deputies[1]).pk


def test_an_address_flood_is_stopped_but_a_crowd_behind_one_address_is_not(
    w: World, published: Published, settings: Any
) -> None:
    assert settings.COLLECT["ADDRESS_PER_MINUTE"] >= 300  # a county's phones behind one carrier address
    settings.COLLECT = {**settings.COLLECT, "ADDRESS_PER_MINUTE": 5}
    for _ in range(5):
        collect(w, address="198.51.100.9")
    refused(published, RateLimited, lambda: collect(w, address="198.51.100.9"))
    assert collect(w, address="198.51.100.10").pk


def test_a_bad_request_spends_no_token_and_comes_first(w: World, published: Published, settings: Any) -> None:
    settings.COLLECT = {**settings.COLLECT, "PER_MINUTE": 1}
    who = viewer()
    refused(published, BadRequest, lambda: collect(w, viewer=who, contact="nope"))
    refused(published, BadRequest, lambda: collect(w, viewer=who, category="无此类别"))
    assert collect(w, viewer=who).pk
    refused(published, BadRequest, lambda: collect(w, viewer=who, text=""))  # over the limit: still 400
    refused(published, RateLimited, lambda: collect(w, viewer=who))


def test_with_the_cache_away_a_question_is_still_taken(w: World) -> None:
    with mock.patch("hearings.services.collection.cache.add", side_effect=ConnectionError("down")):
        assert collect(w).pk


# ------------------------------------------------------------------ the office's set-up


def test_categories_come_from_the_hearing(w: World) -> None:
    assert w.hearing.categories == CATEGORIES
    assert collect(w, category="医疗卫生").category == "医疗卫生"
