"""人大评: the office prepares a sheet poll rating projects (one row each, linked), the chamber
votes on it, and each project's page shows its row's published results."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from chamber import services as chamber_services
from core.errors import BadRequest, Forbidden, NotFound
from projects import services
from projects.models import Project, ProjectReview, ProjectUpdate
from tests.factories import World
from tests.projects.helpers import People, published_select
from tests.projects.test_services import state
from voting import services as voting_services
from voting.models import Poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(world: World) -> list[Project]:
    published_select(world)
    return list(Project.objects.order_by("pk"))


def test_the_office_prepares_a_sheet_with_a_row_per_project(projects: list[Project], who: People, world: World) -> None:
    ordered = [projects[1], projects[0]]
    poll = services.review_prepare(hearing_id=world.hearing.pk, by=who.staff, project_ids=[p.pk for p in ordered])
    assert (poll.kind, poll.status, poll.title) == (Poll.Kind.SHEET, Poll.Status.DRAFT, services.REVIEW_TITLE)
    rows = list(poll.options.order_by("position"))
    assert [(r.label, r.department_id) for r in rows] == [(p.title, p.department_id) for p in ordered]
    links = {link.row_id: link.project_id for link in ProjectReview.objects.all()}
    assert links == {rows[0].pk: ordered[0].pk, rows[1].pk: ordered[1].pk}
    assert ProjectUpdate.objects.filter(kind=ProjectUpdate.Kind.REVIEW).count() == 2


def test_review_is_refused_for_others_and_bad_choices(projects: list[Project], who: People, world: World) -> None:
    before = state(), Poll.objects.count(), ProjectReview.objects.count()
    for outsider in (who.liaison, world.moderator):
        with pytest.raises(Forbidden):
            services.review_prepare(hearing_id=world.hearing.pk, by=outsider, project_ids=[projects[0].pk])
    with pytest.raises(BadRequest):
        services.review_prepare(hearing_id=world.hearing.pk, by=who.staff, project_ids=[])
    with pytest.raises(NotFound):
        services.review_prepare(hearing_id=world.hearing.pk, by=who.staff, project_ids=[projects[0].pk, 999999])
    with pytest.raises(BadRequest):
        services.review_prepare(hearing_id=world.hearing.pk, by=who.staff, project_ids=[projects[0].pk], title="a\x00")
    assert (state(), Poll.objects.count(), ProjectReview.objects.count()) == before


def test_published_results_show_on_the_project_page(projects: list[Project], who: People, world: World) -> None:
    hid = world.hearing.pk
    poll = services.review_prepare(hearing_id=hid, by=who.staff, project_ids=[p.pk for p in projects])
    rows = list(poll.options.order_by("position"))
    voting_services.poll_open(hearing_id=hid, item_id=world.items[-1].pk, draft_id=poll.pk, by=world.moderator)
    for deputy, choice in zip(world.deputies, ["满意", "满意", "不满意"], strict=True):
        voting_services.checkin(hearing_id=hid, deputy=deputy)
        voting_services.ballot_cast(
            hearing_id=hid,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            choices={str(rows[0].pk): choice, str(rows[1].pk): "基本满意"},
        )
    voting_services.poll_close(hearing_id=hid, poll_id=poll.pk, by=world.moderator)
    page = Client().get(f"/projects/{projects[0].pk}/").content.decode()
    assert f'id="review-{poll.pk}"' not in page  # closed, not yet published
    chamber_services.poll_publish(hearing_id=hid, poll_id=poll.pk, by=world.moderator)
    assert Project.objects.count() == 2  # a sheet poll adopts nothing
    page = Client().get(f"/projects/{projects[0].pk}/").content.decode()
    assert f'id="review-{poll.pk}"' in page
    assert "满意率" in page and "67%" in page and "2 票" in page and "1 票" in page
    other = Client().get(f"/projects/{projects[1].pk}/").content.decode()
    assert "100%" in other and "3 票" in other


def test_the_office_review_page(projects: list[Project], who: People, world: World) -> None:
    client = Client()
    client.force_login(who.staff)
    assert client.get("/manage/projects/review/").status_code == 200
    refused = client.post("/manage/projects/review/", {"hearing": str(world.hearing.pk)})
    assert refused.status_code == 400 and "请选择要测评的项目" in refused.content.decode()
    no_hearing = client.post("/manage/projects/review/", {"hearing": "x", "projects": [str(projects[0].pk)]})
    assert no_hearing.status_code == 400 and "请选择问政会" in no_hearing.content.decode()
    assert not Poll.objects.filter(kind=Poll.Kind.SHEET).exists()
    response = client.post(
        "/manage/projects/review/",
        {"hearing": str(world.hearing.pk), "title": "2027 年民生实事项目人大评", "projects": [str(projects[0].pk)]},
    )
    assert response.status_code == 302 and response["Location"] == f"/manage/hearings/{world.hearing.pk}/"
    poll = Poll.objects.get(kind=Poll.Kind.SHEET)
    assert poll.title == "2027 年民生实事项目人大评" and poll.options.get().project_review.project == projects[0]
    for user in (None, who.liaison, world.moderator):
        outsider = Client()
        if user is not None:
            outsider.force_login(user)
        assert outsider.get("/manage/projects/review/").status_code == 403
        assert outsider.post("/manage/projects/review/", {"hearing": str(world.hearing.pk)}).status_code == 403
