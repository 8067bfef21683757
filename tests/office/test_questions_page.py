"""/manage/hearings/<id>/questions/ (office/views/questions.py), the triage page, and
/manage/sensitive-words/ (office/views/sensitive_words.py). Staff filter the hearing's questions,
see near-duplicates of pending ones, merge in one click (both askers kept, likes summed), bulk
approve and reject (all or nothing), assign to an item and a department, hide with a reason,
block a viewer; keep the sensitive-word list. Refusals are shown and change nothing; anyone
else gets 403."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hearings import selectors, services
from hearings.models import BlockedViewer, Hearing, Person, Question, SensitiveWord
from tests.factories import World, make_department, make_user, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w() -> World:
    world = make_world(status=Hearing.Status.LIVE)
    Hearing.objects.filter(pk=world.hearing.pk).update(categories=["交通", "教育"])
    return world


@pytest.fixture
def staff() -> Client:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    client = Client()
    client.force_login(user)
    return client


def ask(w: World, text: str, *, name: str = "", category: str = "", viewer: str = "") -> Question:
    return services.question_submit(
        hearing_id=w.hearing.pk, text=text, source="public", asker_name=name, category=category, viewer=viewer
    )


def public(w: World, text: str, **fields: Any) -> Question:
    question = ask(w, text, **fields)
    return services.question_approve(hearing_id=w.hearing.pk, question_id=question.pk, by=None)


def page(client: Client, w: World, **query: str) -> str:
    response = client.get(reverse("manage_questions", args=[w.hearing.pk]), query, secure=True)
    assert response.status_code == 200
    return str(response.content.decode())


def act(client: Client, w: World, action: str, data: dict[str, Any], back: str = "") -> str:
    url = reverse("manage_questions_action", args=[w.hearing.pk, action])
    response = client.post(url, {**data, "back": back}, secure=True, follow=True)
    assert response.status_code == 200
    return str(response.content.decode())


def rows(body: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in body.split('<tr id="triage-')[1:]]


def statuses(*questions: Question) -> list[str]:
    return [Question.objects.get(pk=q.pk).status for q in questions]


def test_filters(w: World, staff: Client):
    road = ask(w, "建设路路灯不亮", category="交通")
    school = public(w, "一中食堂太贵", category="教育")
    plain = ask(w, "没有类别的问题")
    services.sensitive_words_add(words=["回扣"], by=None)
    flagged = ask(w, "工程有回扣吗")
    services.question_assign(hearing_id=w.hearing.pk, question_ids=[school.pk], item_id=w.items[1].pk, by=None)
    services.viewer_block(hearing_id=w.hearing.pk, question_id=ask(w, "x", viewer="bad").pk, by=None)
    dropped = ask(w, "被屏蔽观众的提问", viewer="bad")

    assert rows(page(staff, w)) == [road.pk, school.pk, plain.pk, flagged.pk, dropped.pk - 1]
    assert rows(page(staff, w, category="交通")) == [road.pk]
    assert rows(page(staff, w, category="none")) == [plain.pk, flagged.pk, dropped.pk - 1]
    assert rows(page(staff, w, status="approved")) == [school.pk]
    assert rows(page(staff, w, item=str(w.items[1].pk))) == [school.pk]
    assert rows(page(staff, w, source="deputy")) == []
    body = page(staff, w, flagged="1")
    assert rows(body) == [flagged.pk]
    assert '<mark class="sensitive">回扣</mark>' in body
    assert rows(page(staff, w, hidden="1")) == [dropped.pk]
    assert rows(page(staff, w, status="nonsense", item="x", source="<b>")) == rows(page(staff, w))


def test_contact_shows_to_staff_on_the_page(w: World, staff: Client):
    question = ask(w, "留了联系方式的问题")
    Question.objects.filter(pk=question.pk).update(contact="13800000000")
    assert "13800000000" in page(staff, w)


def test_a_pending_question_s_duplicate_is_suggested_and_merged_in_one_click(w: World, staff: Client):
    kept = public(w, "幸福小区门口的垃圾好几天没人清运，臭气熏天，请环卫部门管一管。", name="张三")
    services.like_add(hearing_id=w.hearing.pk, viewer="v1", question_id=kept.pk)
    other = public(w, "一中食堂太贵")
    duplicate = ask(w, "幸福小区门口垃圾堆了好几天都没人清运，气味很臭，环卫部门能不能管一下？", name="李四")
    services.like_add(hearing_id=w.hearing.pk, viewer="v2", question_id=kept.pk)
    body = page(staff, w)
    row = body.split(f'<tr id="triage-{duplicate.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'name="into" value="{kept.pk}"' in row
    assert f'name="into" value="{other.pk}"' not in row

    body = act(staff, w, "merge", {"question": duplicate.pk, "into": kept.pk})
    assert "张三、李四" in body
    kept.refresh_from_db()
    assert selectors.question_asker(kept) == "张三、李四" and kept.likes == 2
    assert Question.objects.get(pk=duplicate.pk).merged_into_id == kept.pk


def test_bulk_approve_and_reject(w: World, staff: Client):
    a, b, c = ask(w, "一"), ask(w, "二"), ask(w, "三")
    body = act(staff, w, "approve", {"questions": [a.pk, b.pk]}, back="status=pending")
    assert "已通过 2 个问题。" in body
    assert rows(body) == [c.pk]  # back on the same filter
    act(staff, w, "reject", {"questions": [c.pk]})
    assert statuses(a, b, c) == ["approved", "approved", "rejected"]


def test_a_bulk_refusal_is_shown_and_changes_nothing(w: World, staff: Client):
    a, done = ask(w, "一"), public(w, "二")
    body = act(staff, w, "approve", {"questions": [a.pk, done.pk]})
    assert f"问题 #{done.pk}" in body and "不在待审核状态" in body
    assert statuses(a, done) == ["pending", "approved"]
    for data in ({}, {"questions": ["x"]}, {"questions": [10**9]}):
        body = act(staff, w, "reject", data)
        assert 'class="message error"' in body
    assert statuses(a) == ["pending"]


def test_assign(w: World, staff: Client):
    a, b = ask(w, "一"), public(w, "二")
    department = make_department()
    body = act(staff, w, "assign", {"questions": [a.pk, b.pk], "item": w.items[2].pk, "department": department.pk})
    assert "已分配 2 个问题。" in body
    assert set(Question.objects.filter(pk__in=[a.pk, b.pk]).values_list("item", "department")) == {
        (w.items[2].pk, department.pk)
    }
    act(staff, w, "assign", {"questions": [a.pk], "item": "none", "department": ""})
    assert list(Question.objects.values_list("item", "department").get(pk=a.pk)) == [None, department.pk]
    body = act(staff, w, "assign", {"questions": [a.pk], "item": "", "department": ""})
    assert "请选择要分配的议程或部门。" in body
    body = act(staff, w, "assign", {"questions": [a.pk], "item": "999999"})
    assert "本场问政会没有这项议程。" in body
    assert list(Question.objects.values_list("item", "department").get(pk=a.pk)) == [None, department.pk]


def test_hide_with_a_reason_and_block(w: World, staff: Client):
    shown = public(w, "要撤下的问题", viewer="viewer-1")
    body = act(staff, w, "hide", {"question": shown.pk, "reason": ""})
    assert 'class="message error"' in body and statuses(shown) == ["approved"]
    act(staff, w, "hide", {"question": shown.pk, "reason": "涉及个人隐私"})
    stored = Question.objects.get(pk=shown.pk)
    assert (stored.status, stored.hidden_reason) == ("hidden", "涉及个人隐私")
    assert shown.pk not in [q.pk for q in selectors.questions_for(w.hearing.pk, public=True)]

    body = act(staff, w, "block", {"question": shown.pk})
    assert "已屏蔽" in body
    assert BlockedViewer.objects.filter(viewer="viewer-1").exists()
    later = ask(w, "再问一次", viewer="viewer-1")
    assert later.dropped and later.pk not in rows(page(staff, w)) and later.pk in rows(page(staff, w, hidden="1"))
    unnamed = services.question_submit(
        hearing_id=w.hearing.pk, text="主持人录入", source="moderator", asker=w.moderator
    )
    body = act(staff, w, "block", {"question": unnamed.pk})
    assert "不是观众提的" in body


def test_an_unknown_action_is_404_and_get_is_refused(w: World, staff: Client):
    url = reverse("manage_questions_action", args=[w.hearing.pk, "explode"])
    assert staff.post(url, {}, secure=True).status_code == 404
    url = reverse("manage_questions_action", args=[w.hearing.pk, "approve"])
    assert staff.get(url, secure=True).status_code == 405


@pytest.mark.parametrize("role", ["anon", "moderator", "deputy"])
def test_anyone_but_staff_is_refused(w: World, role: str):
    client = Client()
    if role == "moderator":
        client.force_login(w.moderator)
    elif role == "deputy":
        client.force_login(w.deputies[0])
    question = ask(w, "一")
    assert client.get(reverse("manage_questions", args=[w.hearing.pk]), secure=True).status_code == 403
    url = reverse("manage_questions_action", args=[w.hearing.pk, "approve"])
    assert client.post(url, {"questions": [question.pk]}, secure=True).status_code == 403
    assert statuses(question) == ["pending"]
    assert client.get(reverse("manage_sensitive_words"), secure=True).status_code == 403
    add = reverse("manage_sensitive_words_action", args=["add"])
    assert client.post(add, {"words": "回扣"}, secure=True).status_code == 403
    assert not SensitiveWord.objects.exists()


# ------------------------------------------------------------------ the sensitive-word list


def test_the_sensitive_word_page(w: World, staff: Client):
    add = reverse("manage_sensitive_words_action", args=["add"])
    remove = reverse("manage_sensitive_words_action", args=["remove"])
    response = staff.post(add, {"words": "回扣\n\n 黑幕 \n回 扣"}, secure=True, follow=True)
    body = response.content.decode()
    assert "已添加 2 个敏感词。" in body and "已在列表中：回 扣" in body
    assert sorted(SensitiveWord.objects.values_list("word", flat=True)) == ["回扣", "黑幕"]
    ask(w, "工程有回扣吗")
    ask(w, "回扣太多")
    body = staff.get(reverse("manage_sensitive_words"), secure=True).content.decode()
    row = body.split('data-word="回扣"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">2</td>' in row

    body = staff.post(add, {"words": "。。。"}, secure=True, follow=True).content.decode()
    assert 'class="message error"' in body
    body = staff.post(add, {"words": ""}, secure=True, follow=True).content.decode()
    assert "请至少给出一个敏感词。" in body
    body = staff.post(remove, {"word": "黑幕"}, secure=True, follow=True).content.decode()
    assert "已删除 1 个敏感词。" in body
    assert list(SensitiveWord.objects.values_list("word", flat=True)) == ["回扣"]


# ------------------------------------------------------------------ the control panel


def test_the_panel_links_staff_to_triage_and_offers_to_block_a_public_asker(w: World):
    client = Client()
    client.force_login(w.moderator)
    control = reverse("hearing_control", args=[w.hearing.pk])
    triage = reverse("manage_questions", args=[w.hearing.pk])
    assert triage not in client.get(control, secure=True).content.decode()
    Person.objects.create(user=w.moderator, name="主持人兼会务", role=Person.Role.STAFF)
    assert triage in client.get(control, secure=True).content.decode()

    asked = public(w, "群众的问题", viewer="viewer-9")
    card = client.get(f"/hearings/{w.hearing.pk}/control/question/{asked.pk}/", secure=True).content.decode()
    assert "control/do/viewer-block/" in card
    mine = services.question_submit(hearing_id=w.hearing.pk, text="主持人录入", source="moderator", asker=w.moderator)
    card = client.get(f"/hearings/{w.hearing.pk}/control/question/{mine.pk}/", secure=True).content.decode()
    assert "control/do/viewer-block/" not in card

    response = client.post(
        reverse("control_action", args=[w.hearing.pk, "viewer-block"]),
        {"question": asked.pk, "reason": "反复刷屏"},
        secure=True,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'class="action-result ok"' in response.content.decode()
    assert BlockedViewer.objects.get(viewer="viewer-9").reason == "反复刷屏"
    assert ask(w, "又来了", viewer="viewer-9").dropped
