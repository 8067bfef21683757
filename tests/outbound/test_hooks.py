"""The events other apps send: `assignment.<action>` after every assignment change (with the
ASSIGNMENT as the REST API returns it, to the lead department's endpoints and those for all
events) and `poll.published` once when a poll's results are published (the POLL as published)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from assignments import services
from chamber import services as chamber_services
from hearings.models import Hearing
from outbound import webhooks
from outbound.models import WebhookDelivery
from tests.assignments.helpers import Case, advance, create, make_case
from tests.factories import make_world
from tests.outbound.conftest import SECRET
from tests.outbound.receiver import Receiver
from tests.voting.helpers import cast, event_poll
from voting import services as voting_services

pytestmark = pytest.mark.django_db

Work = Callable[[], int]


@pytest.fixture
def case(db: Any) -> Case:
    return make_case()


def bodies(event_prefix: str = "") -> list[dict[str, Any]]:
    rows = WebhookDelivery.objects.filter(event__startswith=event_prefix).order_by("created_at", "event")
    return [json.loads(body) for body in rows.values_list("body", flat=True)]


def test_every_transition_sends_the_assignment_as_the_api_returns_it(
    case: Case, client: Client, receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register(receiver.url(), SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assignment = create(case)
    with django_capture_on_commit_callbacks(execute=True):
        advance(case, assignment, "closed")
    events = [body["event"] for body in bodies()]
    assert events == [
        "assignment.create", "assignment.accept", "assignment.progress", "assignment.reply",
        "assignment.evaluate", "assignment.close",
    ]  # fmt: skip
    last = bodies()[-1]
    assert last["data"] == client.get(f"/api/v1/assignments/{assignment.pk}/").json()
    assert last["data"]["status"] == "closed" and last["data"]["actions"] == []
    work()
    hits = receiver.received()
    assert [json.loads(hit.body)["event"] for hit in hits] == events
    assert all(hit.verified(SECRET) for hit in hits)


def test_the_payload_is_in_the_sites_language_whoever_acts(
    case: Case, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.register("https://platform.example.gov.cn/hook", SECRET)
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        assignment = create(case)
    (body,) = bodies()
    url = f"/api/v1/assignments/{assignment.pk}/"
    chinese = client.get(url, headers={"Accept-Language": "zh-hans"}).json()
    english = client.get(url, headers={"Accept-Language": "en"}).json()
    assert chinese["timeline"][0]["note"] != english["timeline"][0]["note"]
    assert body["data"] == chinese


def test_a_department_endpoint_gets_its_assignments_only(case: Case, django_capture_on_commit_callbacks: Any) -> None:
    lead_hook = webhooks.register("https://lead.example.gov.cn/hook", SECRET, department=case.lead)
    other_hook = webhooks.register("https://other.example.gov.cn/hook", SECRET, department=case.other)
    with django_capture_on_commit_callbacks(execute=True):
        assignment = create(case, co_department_ids=[case.other.pk])  # a co-department is not the lead
        services.assignment_return(assignment_id=assignment.pk, by=case.liaison, reason="不属于本部门职责")
        services.assignment_reassign(assignment_id=assignment.pk, by=case.moderator, lead_department_id=case.other.pk)
        services.assignment_accept(assignment_id=assignment.pk, by=case.other_liaison)

    def got(endpoint: Any) -> list[str]:
        rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("created_at")
        return list(rows.values_list("event", flat=True))

    assert got(lead_hook) == ["assignment.create", "assignment.return"]
    assert got(other_hook) == ["assignment.reassign", "assignment.accept"]


def test_a_refused_transition_sends_nothing(case: Case, django_capture_on_commit_callbacks: Any) -> None:
    webhooks.register("https://platform.example.gov.cn/hook", SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        assignment = create(case)
    with pytest.raises(Exception), django_capture_on_commit_callbacks(execute=True) as callbacks:  # noqa: B017, PT011
        services.assignment_evaluate(assignment_id=assignment.pk, by=case.deputy, verdict="满意")
    assert callbacks == []
    assert [body["event"] for body in bodies()] == ["assignment.create"]


def test_without_endpoints_a_transition_queues_nothing(case: Case, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        advance(case, create(case), "accepted")
    assert WebhookDelivery.objects.count() == 0


def test_publishing_a_poll_sends_it_once_as_published(
    published: Any, receiver: Receiver, work: Work, django_capture_on_commit_callbacks: Any
) -> None:
    world = make_world(deputies=3, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    poll = voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator)
    for deputy, choice in zip(world.deputies, ["满意", "满意", "不满意"], strict=True):
        cast(world, poll, deputy, choice)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    department_hook = webhooks.register("https://dept.example.gov.cn/hook", SECRET, department=world.departments[0])
    webhooks.register(receiver.url(), SECRET)
    assert WebhookDelivery.objects.count() == 0  # opening, ballots and closing send nothing
    for _ in range(2):  # publishing again changes nothing and sends nothing
        with django_capture_on_commit_callbacks(execute=True):
            chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    (body,) = bodies()
    assert body["event"] == "poll.published"
    frame = next(frame for (_, kind, _, frame) in published if kind == "poll.published")
    assert body["data"] == event_poll(frame)  # the POLL the live protocol published
    assert body["data"]["results"] == {"满意": 2, "基本满意": 0, "不满意": 1}
    assert not WebhookDelivery.objects.filter(endpoint=department_hook).exists()  # polls go to all-event endpoints
    work()
    (hit,) = receiver.received()
    assert hit.verified(SECRET) and json.loads(hit.body)["data"]["status"] == "published"
