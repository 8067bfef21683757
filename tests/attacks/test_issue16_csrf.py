"""Every POST issue 16 added refuses a request without the CSRF token (403) and changes nothing:
the deputy's window ballot, the department's progress report and milestone, the office's poll
form and poll actions, and the threshold rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hearings.models import Hearing, Person
from projects import services as project_services
from projects.models import Milestone, Project, ProjectUpdate
from tests.factories import make_user, make_world
from voting import selectors, services
from voting.models import Poll, Threshold, VoteRecord

pytestmark = pytest.mark.django_db


def staff_user() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    return user


def client_of(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_no_new_post_works_without_the_csrf_token() -> None:
    world = make_world(status=Hearing.Status.ENDED, deputies=2)
    staff = staff_user()
    now = timezone.now()
    poll = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="sheet",
        rows=[services.OptionSpec(d.name, d.pk) for d in world.departments],
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=1),
    )
    draft = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="sheet",
        rows=[services.OptionSpec("甲")],
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=1),
    )
    department = world.departments[0]
    liaison = make_user()
    department.liaisons.add(liaison)
    project = project_services.project_add(by=staff, title="老旧小区改造", year=2026, department_id=department.pk)
    milestone = project_services.milestone_add(project_id=project.pk, by=staff, title="开工")
    ballot = {f"row-{pk}": "满意" for pk in selectors.option_ids(poll)} | {
        "ballot": "7f1c2a9e-0d1b-4b8e-9a51-1d2f3e4a5b6c"
    }
    before = (
        VoteRecord.objects.count(),
        Poll.objects.count(),
        list(Poll.objects.values_list("status", flat=True)),
        ProjectUpdate.objects.count(),
        Milestone.objects.filter(done_at__isnull=False).count(),
        Threshold.objects.count(),
    )
    posts = [
        (world.deputies[0], reverse("ballot_page", args=[poll.pk]), ballot),
        (liaison, reverse("project_report", args=[project.pk]), {"progress": "50", "text": "过半"}),
        (liaison, reverse("project_milestone_done", args=[project.pk, milestone.pk]), {"text": "已开工"}),
        (staff, reverse("manage_polls", args=[world.hearing.pk]), {"kind": "select", "candidates": "甲\n乙"}),
        (staff, reverse("manage_poll_action", args=[world.hearing.pk, draft.pk, "close"]), {}),
        (staff, reverse("manage_poll_action", args=[world.hearing.pk, poll.pk, "close"]), {}),
        (staff, reverse("manage_thresholds"), {"metric": "dissatisfied", "percent": "30"}),
    ]
    for user, url, data in posts:
        assert client_of(user).post(url, data, secure=True).status_code == 403, url
    after = (
        VoteRecord.objects.count(),
        Poll.objects.count(),
        list(Poll.objects.values_list("status", flat=True)),
        ProjectUpdate.objects.count(),
        Milestone.objects.filter(done_at__isnull=False).count(),
        Threshold.objects.count(),
    )
    assert after == before
    assert Project.objects.get(pk=project.pk).progress == 0
