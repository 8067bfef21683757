"""Markup in what staff, moderators and departments type (a sheet's row labels, a custom scale's
choices, candidates' labels and notes, a poll's title, project titles, milestones, progress text)
is text on every page issue 16 added or changed: never an element."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chamber import services as chamber_services
from hearings.models import Hearing, Person
from projects import services as project_services
from projects.models import Project
from tests.factories import make_user, make_world
from voting import selectors, services

pytestmark = pytest.mark.django_db

EVIL = "<img src=x onerror=alert(1)>"


def staff_user() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    return user


def test_markup_typed_into_polls_and_projects_is_text_on_every_page() -> None:
    world = make_world(status=Hearing.Status.ENDED, deputies=2)
    staff = staff_user()
    department = world.departments[0]
    liaison = make_user()
    department.liaisons.add(liaison)
    now = timezone.now()
    opens_at, closes_at = now - timedelta(minutes=1), now + timedelta(days=1)
    sheet = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="sheet",
        title=f"测评{EVIL}",
        rows=[services.OptionSpec(f"{department.name}{EVIL}", department.pk)],
        choices=[f"满意{EVIL}", "不满意"],
        opens_at=opens_at,
        closes_at=closes_at,
    )
    select = services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=staff,
        kind="select",
        title=f"票选{EVIL}",
        candidates=[services.OptionSpec(f"项目{EVIL}", department.pk, Decimal("10"), f"说明{EVIL}")],
        opens_at=opens_at,
        closes_at=closes_at,
    )
    for deputy in world.deputies:
        services.ballot_cast(
            hearing_id=world.hearing.pk,
            poll_id=sheet.pk,
            deputy=deputy,
            choices={str(selectors.option_ids(sheet)[0]): f"满意{EVIL}"},
            ballot_id=uuid.uuid4(),
        )
        services.ballot_cast(
            hearing_id=world.hearing.pk,
            poll_id=select.pk,
            deputy=deputy,
            picks=selectors.option_ids(select),
            ballot_id=uuid.uuid4(),
        )
    for poll in (sheet, select):
        services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=staff)
        chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=staff)
    project = Project.objects.get()
    milestone = project_services.milestone_add(project_id=project.pk, by=staff, title=f"开工{EVIL}")
    project_services.progress_report(project_id=project.pk, by=liaison, progress=30, text=f"进展{EVIL}")
    project_services.milestone_complete(project_id=project.pk, milestone_id=milestone.pk, by=liaison, text=EVIL)

    pages = [
        (world.deputies[0], reverse("ballot_list")),
        (world.deputies[0], reverse("ballot_page", args=[sheet.pk])),
        (world.deputies[0], reverse("ballot_page", args=[select.pk])),
        (staff, reverse("manage_polls", args=[world.hearing.pk])),
        (staff, reverse("manage_projects")),
        (staff, reverse("manage_project", args=[project.pk])),
        (liaison, reverse("project_mine")),
        (None, reverse("project_list")),
        (None, reverse("project_detail", args=[project.pk])),
        (None, reverse("hearing_report", args=[world.hearing.pk])),
        (None, reverse("scorecards")),
    ]
    for user, url in pages:
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(url, secure=True)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "&lt;img src=x" in body, url  # the text is there, escaped
        assert "<img src=x" not in body, url
