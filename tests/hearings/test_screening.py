"""Screening (issue: question collection): the sensitive-word list, matched by an Aho-Corasick
screen over normal forms; a match holds the question for a moderator, flagged, whoever asked;
the public never sees it nor its flags. question.hide withdraws a public question; a blocked
viewer's asks never reach the queue; a question's category is one of its hearing's."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, InvalidState
from hearings import selectors, services
from hearings.models import BlockedViewer, Hearing, Person, Question, SensitiveWord
from hearings.screening import Screen, matched_words, normalize
from live.models import LiveEvent
from live.schema import Stream
from realtime import snapshot
from tests.conftest import Published
from tests.factories import World, make_user

pytestmark = pytest.mark.django_db


def staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


def words(*listed: str) -> None:
    services.sensitive_words_add(words=list(listed), by=None)


def public_frames(world: World) -> list[dict[str, Any]]:
    rows = LiveEvent.objects.filter(hearing_id=world.hearing.pk, stream=Stream.PUBLIC).order_by("seq")
    return [json.loads(row.frame) for row in rows]


# ------------------------------------------------------------------ the matcher


def test_the_screen_sees_through_spaces_punctuation_width_and_case():
    screen = Screen(["敏感词", "ABC", "法轮"])
    for text in ["这是敏感词", "这是敏 感 词", "这是敏*感-词", "这是敏\u200b感词", "ａｂｃ", "xAbCx", "法。轮"]:
        assert screen.find(text), text
    for text in ["敏感", "感词", "AB C D"[:3], "这是正常的问题"]:
        assert not screen.find(text), text
    text = "请问 敏 感 词 怎么办"
    [match] = screen.find(text)
    assert (match.word, text[match.start : match.end]) == ("敏感词", "敏 感 词")


def test_normal_form_maps_back_to_the_original_text():
    form, origin = normalize("Ａ b、Ｃ")
    assert form == "abc" and origin == [0, 2, 4]


def test_words_are_found_over_several_texts_each_once():
    words("回扣", "黑幕")
    assert matched_words("工程有回扣吗", "提问人：黑幕 回扣") == ["回扣", "黑幕"]
    assert matched_words("正常问题") == []


# ------------------------------------------------------------------ the list


def test_the_command_adds_lists_and_removes_words():
    out = StringIO()
    call_command("sensitive_words", "--add", "回扣", "ＡＢＣ", stdout=out)
    assert out.getvalue().strip() == "added 2, already listed 0"
    call_command("sensitive_words", "--add", "abc", " 回 扣 ", stdout=out)  # the same words by normal form
    assert out.getvalue().strip().endswith("added 0, already listed 2")
    listing = StringIO()
    call_command("sensitive_words", "--list", stdout=listing)
    assert listing.getvalue().splitlines() == sorted(["回扣", "ＡＢＣ"])
    call_command("sensitive_words", "--remove", "abc", "没有的词", stdout=out)
    assert out.getvalue().strip().endswith("removed 1, not listed 1")
    assert list(SensitiveWord.objects.values_list("word", flat=True)) == ["回扣"]
    assert AuditEntry.objects.filter(action__startswith="sensitive_words.").count() == 2


@pytest.mark.parametrize("bad", [["、、"], ["  "], ["长" * 31], ["a\nb"]])
def test_a_bad_word_refuses_the_whole_add(bad: list[str]):
    with pytest.raises(CommandError):
        call_command("sensitive_words", "--add", "好词", *bad, stdout=StringIO())
    assert SensitiveWord.objects.count() == 0


def test_only_staff_change_the_list(live_world: World):
    for outsider in (live_world.moderator, live_world.deputies[0]):
        with pytest.raises(Forbidden):
            services.sensitive_words_add(words=["回扣"], by=outsider)
    assert SensitiveWord.objects.count() == 0
    services.sensitive_words_add(words=["回扣"], by=staff())
    assert SensitiveWord.objects.count() == 1


# ------------------------------------------------------------------ asking


@pytest.mark.parametrize("source", ["public", "deputy", "moderator"])
def test_a_sensitive_question_waits_flagged_whoever_asked(live_world: World, published: Published, source: str):
    w = live_world
    words("回扣")
    asker = {"public": None, "deputy": w.deputies[0], "moderator": w.moderator}[source]
    q = services.question_submit(hearing_id=w.hearing.pk, text="工程里有没有 回 扣？", source=source, asker=asker)
    assert q.status == Question.Status.PENDING and q.sensitive_words == ["回扣"]
    assert published.types("public") == []  # the public is told nothing
    control = json.loads(published.last()[3])["data"]["question"]
    assert control["flags"] == ["sensitive"] and control["matched"] == ["回扣"]
    public_snapshot = snapshot.build(w.hearing.pk, Stream.PUBLIC, online=0)[1].model_dump()
    assert all(item["id"] != q.pk for item in public_snapshot["questions"])
    control_snapshot = snapshot.build(w.hearing.pk, Stream.CONTROL, online=0)[1].model_dump()
    [flagged] = [item for item in control_snapshot["questions"] if item["id"] == q.pk]
    assert flagged["flags"] == ["sensitive"]


def test_a_sensitive_name_flags_the_question_too(live_world: World):
    words("黑幕")
    q = services.question_submit(
        hearing_id=live_world.hearing.pk, text="正常的问题", source="public", asker_name="黑 幕"
    )
    assert q.sensitive_words == ["黑幕"]


def test_the_public_payload_never_carries_flags(live_world: World):
    w = live_world
    words("回扣")
    q = services.question_submit(hearing_id=w.hearing.pk, text="有回扣吗", source="public")
    services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)  # a moderator's call
    [new] = [f for f in public_frames(w) if f["type"] == "question.new"]
    assert "flags" not in new["data"]["question"] and "matched" not in new["data"]["question"]
    public_snapshot = snapshot.build(w.hearing.pk, Stream.PUBLIC, online=0)[1].model_dump()
    assert all("flags" not in item for item in public_snapshot["questions"])


def test_editing_out_the_word_clears_the_flag(live_world: World):
    w = live_world
    words("回扣")
    q = services.question_submit(hearing_id=w.hearing.pk, text="有回扣吗", source="public")
    q = services.question_edit(hearing_id=w.hearing.pk, question_id=q.pk, text="有好处费吗", by=w.moderator)
    assert q.sensitive_words == []
    assert selectors.question_out(q, control=True).flags == []


def test_a_question_takes_one_of_its_hearings_categories(live_world: World):
    w = live_world
    Hearing.objects.filter(pk=w.hearing.pk).update(categories=["教育", "医疗卫生"])
    q = services.question_submit(hearing_id=w.hearing.pk, text="学校的问题", source="public", category="教育")
    assert selectors.question_out(q).category == "教育"
    with pytest.raises(BadRequest):
        services.question_submit(hearing_id=w.hearing.pk, text="别的问题", source="public", category="交通")
    assert Question.objects.count() == 1
    plain = services.question_submit(hearing_id=w.hearing.pk, text="没有类别", source="public")
    assert selectors.question_out(plain).category is None


# ------------------------------------------------------------------ hiding and blocking


def test_hiding_withdraws_a_public_question_from_every_public_view(live_world: World, published: Published):
    w = live_world
    q = services.question_submit(hearing_id=w.hearing.pk, text="公开的问题", source="public")
    services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    services.question_hide(hearing_id=w.hearing.pk, question_id=q.pk, reason="涉及个人隐私", by=w.moderator)
    q.refresh_from_db()
    assert q.status == Question.Status.HIDDEN and q.hidden_reason == "涉及个人隐私"
    last = public_frames(w)[-1]
    assert last["type"] == "question.updated" and last["data"]["question"]["status"] == "hidden"
    assert "涉及个人隐私" not in json.dumps(last, ensure_ascii=False)
    public_snapshot = snapshot.build(w.hearing.pk, Stream.PUBLIC, online=0)[1].model_dump()
    assert all(item["id"] != q.pk for item in public_snapshot["questions"])
    entry = AuditEntry.objects.get(action="question.hide")
    assert entry.payload["reason"] == "涉及个人隐私"


def test_hiding_is_refused_for_others_and_for_questions_not_public(live_world: World):
    w = live_world
    q = services.question_submit(hearing_id=w.hearing.pk, text="待审核", source="public")
    with pytest.raises(InvalidState):
        services.question_hide(hearing_id=w.hearing.pk, question_id=q.pk, reason="x", by=w.moderator)
    services.question_approve(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    with pytest.raises(Forbidden):
        services.question_hide(hearing_id=w.hearing.pk, question_id=q.pk, reason="x", by=w.deputies[0])
    with pytest.raises(BadRequest):
        services.question_hide(hearing_id=w.hearing.pk, question_id=q.pk, reason=" ", by=w.moderator)
    services.question_stage(hearing_id=w.hearing.pk, question_id=q.pk, by=w.moderator)
    with pytest.raises(InvalidState):
        services.question_hide(hearing_id=w.hearing.pk, question_id=q.pk, reason="x", by=w.moderator)
    q.refresh_from_db()
    assert q.status == Question.Status.ON_STAGE


def test_a_blocked_viewers_asks_never_reach_the_queue(live_world: World, published: Published):
    w = live_world
    first = services.question_submit(hearing_id=w.hearing.pk, text="广告广告", source="public", viewer="v-spam")
    services.viewer_block(hearing_id=w.hearing.pk, question_id=first.pk, reason="刷屏", by=w.moderator)
    assert BlockedViewer.objects.filter(viewer="v-spam").exists()
    before = len(published)
    later = services.question_submit(hearing_id=w.hearing.pk, text="又一条广告", source="public", viewer="v-spam")
    assert later.dropped and later.status == Question.Status.PENDING
    assert len(published) == before  # nobody is told
    assert later.pk not in [q.pk for q in selectors.pending_page(w.hearing.pk, offset=0, limit=100)]
    assert selectors.question_counts(w.hearing.pk)["pending"] == 1  # the first one only
    control_snapshot = snapshot.build(w.hearing.pk, Stream.CONTROL, online=0)[1].model_dump()
    assert later.pk not in [item["id"] for item in control_snapshot["questions"]]
    other = services.question_submit(hearing_id=w.hearing.pk, text="正常提问", source="public", viewer="v-other")
    assert not other.dropped


def test_only_moderators_and_staff_block(live_world: World):
    w = live_world
    q = services.question_submit(hearing_id=w.hearing.pk, text="问题", source="public", viewer="v-1")
    with pytest.raises(Forbidden):
        services.viewer_block(hearing_id=w.hearing.pk, question_id=q.pk, by=w.deputies[0])
    deputy_q = services.question_submit(
        hearing_id=w.hearing.pk, text="代表的问题", source="deputy", asker=w.deputies[0]
    )
    with pytest.raises(BadRequest):
        services.viewer_block(hearing_id=w.hearing.pk, question_id=deputy_q.pk, by=w.moderator)
    assert BlockedViewer.objects.count() == 0
    services.viewer_block(hearing_id=w.hearing.pk, question_id=q.pk, by=staff())
    assert BlockedViewer.objects.count() == 1


def test_the_live_page_and_the_tablet_offer_the_hearings_categories(client: Any, live_world: World):
    w = live_world
    page = client.get(f"/hearings/{w.hearing.pk}/", secure=True).content.decode()
    assert 'id="ask-category"' not in page  # no categories: no choice
    Hearing.objects.filter(pk=w.hearing.pk).update(categories=["教育", "医疗卫生"])
    page = client.get(f"/hearings/{w.hearing.pk}/", secure=True).content.decode()
    assert 'id="ask-category"' in page and '<option value="医疗卫生">医疗卫生</option>' in page
    client.force_login(w.deputies[0])
    tablet = client.get(f"/hearings/{w.hearing.pk}/tablet/", secure=True).content.decode()
    assert '<option value="教育">教育</option>' in tablet
