"""The Django admin cannot change what happens in a hearing or afterwards, not even for a
superuser: polls (a published 满意率 above all), attendance, ballots, questions and assignments
are read-only there, bulk delete included; their changes go through the services (audited,
published live). Text typed in the forms that remain is cleaned like any client text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import models
from django.test import Client
from django.urls import reverse

from assignments.models import Assignment
from audit.models import AuditEntry
from hearings import services
from hearings.models import Department, Hearing, Question
from tests.assignments.helpers import create as create_assignment
from tests.assignments.helpers import make_case
from tests.factories import World, make_user
from tests.voting.helpers import cast
from voting import selectors as voting_selectors
from voting import services as voting_services
from voting.models import Attendance, Ballot, Poll, VoteRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, settings: Any) -> Client:
    settings.SECURE_SSL_REDIRECT = False
    client.force_login(make_user(is_staff=True, is_superuser=True))
    return client


def form_data(obj: models.Model, **changes: Any) -> dict[str, Any]:
    """What the admin's change form would post for `obj` as it is, with `changes`."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or not field.editable:
            continue
        value = field.value_from_object(obj)
        if isinstance(field, models.JSONField):
            value = json.dumps(value, ensure_ascii=False)
        elif isinstance(field, models.BooleanField):
            if not value:
                continue
            value = "on"
        data[field.name] = "" if value is None else value
    for m2m in obj._meta.many_to_many:
        data[m2m.name] = [related.pk for related in getattr(obj, m2m.name).all()]
    return {**data, **changes}


def url(obj: models.Model, view: str = "change") -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])


def changelist(model: type[models.Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def published_poll(world: World) -> Poll:
    """4 满意 and 1 不满意 of 5: 满意率 0.8."""
    hid = world.hearing.pk
    extra = [make_user() for _ in range(2)]
    world.hearing.deputies.add(*extra)
    deputies = [*world.deputies, *extra]
    poll = voting_services.poll_open(hearing_id=hid, item_id=world.items[1].pk, by=None)
    for deputy, choice in zip(deputies, ["满意", "满意", "基本满意", "满意", "不满意"], strict=True):
        voting_services.checkin(hearing_id=hid, deputy=deputy)
        cast(world, poll, deputy, choice)
    voting_services.poll_close(hearing_id=hid, poll_id=poll.pk, by=None)
    return voting_services.poll_publish(hearing_id=hid, poll_id=poll.pk, by=None)


def poll_state(poll: Poll) -> Any:
    poll.refresh_from_db()
    fields = [f.name for f in Poll._meta.concrete_fields]
    return (
        [getattr(poll, name) for name in fields],
        sorted(Ballot.objects.filter(poll=poll).values_list("choice", flat=True)),
        VoteRecord.objects.filter(poll=poll).count(),
        AuditEntry.objects.count(),
    )


def test_a_published_poll_cannot_be_changed_or_deleted(admin_client: Client, live_world: World) -> None:
    poll = published_poll(live_world)
    assert voting_selectors.poll_out(poll).satisfaction_rate == 0.8
    before = poll_state(poll)
    page = admin_client.get(url(poll))
    assert page.status_code == 200  # shown …
    assert b'name="satisfied"' not in page.content  # … with nothing to edit
    everyone_satisfied = form_data(poll, satisfied=json.dumps(["满意", "基本满意", "不满意"]), title="改过的标题")
    assert admin_client.post(url(poll), everyone_satisfied).status_code == 403
    assert admin_client.post(url(poll, "delete"), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [poll.pk], "post": "yes"}
    admin_client.post(changelist(Poll), bulk)
    assert admin_client.get(reverse("admin:voting_poll_add")).status_code == 403
    assert poll_state(poll) == before
    assert voting_selectors.poll_out(poll).satisfaction_rate == 0.8


def test_an_open_poll_and_attendance_are_read_only_too(admin_client: Client, live_world: World) -> None:
    hid = live_world.hearing.pk
    voting_services.checkin(hearing_id=hid, deputy=live_world.deputies[0])
    poll = voting_services.poll_open(hearing_id=hid, item_id=live_world.items[1].pk, by=None)
    before = poll_state(poll)
    assert admin_client.post(url(poll), form_data(poll, choices=json.dumps(["好", "坏"]))).status_code == 403
    attendance = Attendance.objects.get()
    assert admin_client.post(url(attendance, "delete"), {"post": "yes"}).status_code == 403
    assert poll_state(poll) == before
    assert Attendance.objects.count() == 1


def test_what_would_take_ballots_or_polls_with_it_cannot_be_deleted(admin_client: Client, live_world: World) -> None:
    poll = published_poll(live_world)
    before = poll_state(poll)
    hearing, deputy = live_world.hearing, live_world.deputies[0]
    assert admin_client.post(url(hearing, "delete"), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [hearing.pk], "post": "yes"}
    assert admin_client.post(changelist(Hearing), bulk).status_code == 403
    assert admin_client.post(url(deputy, "delete"), {"post": "yes"}).status_code == 403
    assert poll_state(poll) == before
    assert Hearing.objects.filter(pk=hearing.pk).exists()
    # Ballots and vote records are never shown.
    assert admin_client.get(changelist(Ballot)).status_code == 403
    assert admin_client.get(changelist(VoteRecord)).status_code == 403


def question_state() -> Any:
    return list(Question.objects.order_by("id").values()), AuditEntry.objects.count()


def test_a_question_cannot_be_changed_added_or_deleted(admin_client: Client, live_world: World) -> None:
    hid = live_world.hearing.pk
    q = services.question_submit(hearing_id=hid, text="原来的问题", source="public", asker_name="张三")
    services.question_approve(hearing_id=hid, question_id=q.pk, by=None)
    q = services.question_answered(hearing_id=hid, question_id=q.pk, by=None, note="已答复", commitment="年底前完成")
    before = question_state()
    assert admin_client.get(url(q)).status_code == 200
    edit = form_data(q, text="改过的问题", asker_name="李四", answer_note="改过的答复", commitment="不承诺")
    assert admin_client.post(url(q), edit).status_code == 403
    assert admin_client.post(url(q, "delete"), {"post": "yes"}).status_code == 403
    admin_client.post(changelist(Question), {"action": "delete_selected", "_selected_action": [q.pk], "post": "yes"})
    add = {"hearing": hid, "text": "后台加的问题", "source": "moderator", "status": "approved"}
    assert admin_client.post(reverse("admin:hearings_question_add"), add).status_code == 403
    assert question_state() == before


def test_an_assignment_cannot_be_changed_or_deleted(admin_client: Client, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    case = make_case()
    a = create_assignment(case)
    before = (list(Assignment.objects.values()), list(a.co_departments.values_list("pk", flat=True)))
    entries = list(a.timeline.all())
    timeline = {
        "timeline-TOTAL_FORMS": len(entries),
        "timeline-INITIAL_FORMS": len(entries),
        "timeline-MIN_NUM_FORMS": 0,
        "timeline-MAX_NUM_FORMS": 1000,
        **{f"timeline-{i}-id": entry.pk for i, entry in enumerate(entries)},
        **{f"timeline-{i}-assignment": a.pk for i in range(len(entries))},
    }
    edit = {**form_data(a, co_departments=[case.other.pk], questions=[q.pk for q in case.questions]), **timeline}
    assert admin_client.post(url(a), edit).status_code == 403
    assert admin_client.post(url(a, "delete"), {"post": "yes"}).status_code == 403
    admin_client.post(changelist(Assignment), {"action": "delete_selected", "_selected_action": [a.pk], "post": "yes"})
    after = (list(Assignment.objects.values()), list(a.co_departments.values_list("pk", flat=True)))
    assert after == before
    assert list(a.questions.values_list("pk", flat=True)) == [case.questions[0].pk]


def test_text_typed_in_the_admin_is_cleaned(admin_client: Client) -> None:
    add = reverse("admin:hearings_department_add")
    response = admin_client.post(add, {"name": "县\x00交通局", "short_name": "交通"})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    response = admin_client.post(add, {"name": "\u200b", "short_name": "交通"})
    assert response.status_code == 200 and "name" in response.context["adminform"].form.errors
    assert not Department.objects.exists()
    assert admin_client.post(add, {"name": " 县\u202e交通局 ", "short_name": "交通"}).status_code == 302
    assert Department.objects.get().name == "县交通局"
