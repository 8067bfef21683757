"""The project pages: public by year and per project (no private data), the department's page
and its reports, the office's pages under /manage/."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.test import Client

from projects import services
from projects.models import Milestone, Project, ProjectUpdate
from tests.factories import World
from tests.projects.helpers import CANDIDATES, People, published_select
from tests.projects.test_services import state

pytestmark = pytest.mark.django_db


def client_of(user: object = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.fixture
def adopted(world: World) -> list[Project]:
    published_select(world)
    return list(Project.objects.order_by("pk"))


def test_the_public_list_shows_the_chosen_projects_by_year(adopted: list[Project], world: World) -> None:
    body = client_of().get("/projects/").content.decode()
    year = adopted[0].year
    assert f'id="projects-{year}"' in body
    for project in adopted:
        assert f'id="project-{project.pk}"' in body and project.title in body
    assert CANDIDATES[0] not in body  # not chosen
    assert world.departments[0].name in body and "1,202.5" in body
    assert "2027 年民生实事项目票决" in body and "3 票" in body and "2 票" in body
    assert 'aria-valuenow="0"' in body and "实施中" in body


def test_the_year_filter(adopted: list[Project], who: People) -> None:
    hand = services.project_add(by=who.staff, title="口袋公园建设", year=2030)
    body = client_of().get("/projects/?year=2030").content.decode()
    assert hand.title in body and adopted[0].title not in body
    assert client_of().get("/projects/?year=abc").status_code == 200


def test_a_project_page_shows_milestones_history_and_no_private_data(
    adopted: list[Project], who: People, world: World
) -> None:
    project = adopted[0]
    milestone = services.milestone_add(project_id=project.pk, by=who.staff, title="完成招标", due_date="2027-03-31")
    services.milestone_complete(project_id=project.pk, milestone_id=milestone.pk, by=who.liaison)
    services.progress_report(project_id=project.pk, by=who.liaison, progress=35, text="已完成招标，施工队进场")
    body = client_of().get(f"/projects/{project.pk}/").content.decode()
    assert "完成招标" in body and "已完成招标，施工队进场" in body and "进度 35%" in body
    assert world.departments[0].name in body and "完成节点：完成招标" in body
    # Nobody's name or login: the department's name stands for its liaison, the office for staff.
    for user in (who.liaison, who.staff, world.moderator):
        assert user.username not in body
    assert "联络员" not in body
    assert 'id="project-report"' not in body  # no form for the public
    assert client_of().get("/projects/999999/").status_code == 404


def test_the_liaison_reports_through_the_page(adopted: list[Project], who: People) -> None:
    project = adopted[0]
    client = client_of(who.liaison)
    assert 'id="project-report"' in client.get(f"/projects/{project.pk}/").content.decode()
    response = client.post(f"/projects/{project.pk}/report/", {"progress": "40", "text": "主体施工"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.progress == 40
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "进展已报送" in page and "主体施工" in page


def test_a_bad_report_says_why_and_stores_nothing(adopted: list[Project], who: People) -> None:
    project = adopted[0]
    client = client_of(who.liaison)
    before = state()
    response = client.post(f"/projects/{project.pk}/report/", {"progress": "150", "text": "x"}, follow=True)
    assert "进度须是 0 到 100 之间的整数" in response.content.decode()
    response = client.post(f"/projects/{project.pk}/report/", {"progress": "0", "text": ""}, follow=True)
    assert "进度没有变化" in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("role", ["anon", "liaison2", "staff", "deputy"])
def test_others_may_not_report(adopted: list[Project], who: People, world: World, role: str) -> None:
    project = adopted[0]
    milestone = Milestone.objects.create(project=project, position=1, title="开工")
    user = {"anon": None, "liaison2": who.liaison2, "staff": who.staff, "deputy": world.deputies[0]}[role]
    client = client_of(user)
    before = state()
    report = client.post(f"/projects/{project.pk}/report/", {"progress": "90", "text": "冒报"})
    done = client.post(f"/projects/{project.pk}/milestones/{milestone.pk}/done/", {})
    if role == "anon":
        assert report.status_code == done.status_code == 302
        assert report["Location"].startswith("/accounts/login/")
    else:
        assert report.status_code == done.status_code == 403
    assert state() == before
    assert 'id="project-report"' not in client.get(f"/projects/{project.pk}/").content.decode()


def test_the_liaison_s_page_lists_their_department_s_projects(
    adopted: list[Project], who: People, world: World
) -> None:
    body = client_of(who.liaison).get("/projects/mine/").content.decode()
    assert adopted[0].title in body and adopted[1].title not in body
    inbox = client_of(who.liaison).get("/inbox/").content.decode()
    assert 'href="/projects/mine/"' in inbox
    assert client_of(world.deputies[0]).get("/projects/mine/").status_code == 403
    assert client_of().get("/projects/mine/").status_code == 302


def test_the_liaison_completes_a_milestone_through_the_page(adopted: list[Project], who: People) -> None:
    project = adopted[0]
    milestone = services.milestone_add(project_id=project.pk, by=None, title="完成招标")
    response = client_of(who.liaison).post(f"/projects/{project.pk}/milestones/{milestone.pk}/done/", {})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.done_at is not None
    again = client_of(who.liaison).post(f"/projects/{project.pk}/milestones/{milestone.pk}/done/", {}, follow=True)
    assert "这个节点已经完成" in again.content.decode()
    other = client_of(who.liaison).post(f"/projects/{project.pk}/milestones/999999/done/", {})
    assert other.status_code == 404


def test_the_nav_links_the_projects_page(db: None) -> None:
    assert 'href="/projects/"' in client_of().get("/").content.decode()


def test_a_hearing_page_of_a_stopped_project_takes_no_report(adopted: list[Project], who: People) -> None:
    project = adopted[0]
    services.project_set_status(project_id=project.pk, by=who.staff, status="stopped", text="选址调整")
    body = client_of(who.liaison).get(f"/projects/{project.pk}/").content.decode()
    assert 'id="project-report"' not in body and "已终止" in body and "选址调整" in body


# ------------------------------------------------------------------------------- /manage/projects/


def test_the_office_list_and_adding_by_hand(adopted: list[Project], who: People, world: World) -> None:
    client = client_of(who.staff)
    body = client.get("/manage/projects/").content.decode()
    assert all(p.title in body for p in adopted)
    response = client.post(
        "/manage/projects/",
        {"title": "口袋公园建设", "year": "2027", "department": str(world.departments[2].pk), "budget": "88.5"},
    )
    added = Project.objects.get(title="口袋公园建设")
    assert response.status_code == 302 and response["Location"] == f"/manage/projects/{added.pk}/"
    assert added.department_id == world.departments[2].pk and str(added.budget) == "88.50"


def test_the_office_form_refuses_bad_input_and_keeps_what_was_typed(who: People) -> None:
    before = state()
    response = client_of(who.staff).post("/manage/projects/", {"title": "口袋公园", "year": "2027", "budget": "很多"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "预算须是数字" in body and 'value="口袋公园"' in body
    assert state() == before


def test_the_office_edits_plans_and_changes_status(adopted: list[Project], who: People, world: World) -> None:
    orphan = adopted[1]
    client = client_of(who.staff)
    assert "请确定责任单位" in client.get(f"/manage/projects/{orphan.pk}/").content.decode()
    form = {"action": "save", "title": orphan.title, "year": str(orphan.year), "budget": "100", "note": ""}
    client.post(f"/manage/projects/{orphan.pk}/", {**form, "department": str(world.departments[1].pk)})
    orphan.refresh_from_db()
    assert orphan.department_id == world.departments[1].pk and str(orphan.budget) == "100.00"
    client.post(
        f"/manage/projects/{orphan.pk}/", {"action": "milestone-add", "title": "开工", "due_date": "2027-05-01"}
    )
    milestone = orphan.milestones.get()
    client.post(
        f"/manage/projects/{orphan.pk}/",
        {"action": "milestone-edit", "milestone": str(milestone.pk), "title": "开工建设", "due_date": ""},
    )
    milestone.refresh_from_db()
    assert (milestone.title, milestone.due_date) == ("开工建设", None)
    before = state()
    refused = client.post(f"/manage/projects/{orphan.pk}/", {"action": "status", "status": "stopped", "text": ""})
    assert refused.status_code == 400 and "请填写变更理由" in refused.content.decode()
    assert state() == before
    client.post(f"/manage/projects/{orphan.pk}/", {"action": "status", "status": "done"})
    orphan.refresh_from_db()
    assert (orphan.status, orphan.progress) == ("done", 100)
    assert list(orphan.updates.values_list("kind", flat=True)) == ["created", "edited", "plan", "plan", "status"]
    other_milestone = Milestone.objects.create(project=adopted[0], position=1, title="别的项目的节点")
    wrong = client.post(
        f"/manage/projects/{orphan.pk}/",
        {"action": "milestone-edit", "milestone": str(other_milestone.pk), "title": "x"},
    )
    assert wrong.status_code == 404
    assert client.post(f"/manage/projects/{orphan.pk}/", {"action": "explode"}).status_code == 404


def test_the_office_pages_are_staff_only(adopted: list[Project], who: People, world: World) -> None:
    project = adopted[0]
    for user in (None, who.liaison, world.moderator, world.deputies[0]):
        client = client_of(user)
        before = state()
        assert client.get("/manage/projects/").status_code == 403
        assert client.get(f"/manage/projects/{project.pk}/").status_code == 403
        assert client.post("/manage/projects/", {"title": "x", "year": "2027"}).status_code == 403
        assert client.post(f"/manage/projects/{project.pk}/", {"action": "status", "status": "done"}).status_code == 403
        assert state() == before


def test_history_shows_who_by_role(adopted: list[Project], who: People) -> None:
    project = adopted[0]
    services.progress_report(project_id=project.pk, by=who.liaison, progress=10, text="前期")
    services.milestone_add(project_id=project.pk, by=who.staff, title="竣工")
    roles = list(project.updates.values_list("by_role", flat=True))
    # Adopted when the moderator published the poll: the system; then the department; the office.
    assert roles == [ProjectUpdate.By.SYSTEM, ProjectUpdate.By.DEPARTMENT, ProjectUpdate.By.OFFICE]


def test_the_list_reads_in_the_same_queries_however_many_projects(
    adopted: list[Project], who: People, django_assert_max_num_queries: Any
) -> None:
    client = client_of()
    client.get("/projects/")
    with django_assert_max_num_queries(8) as few:
        client.get("/projects/")
    for n in range(6):
        services.project_add(by=who.staff, title=f"口袋公园{n}", year=2027, department_id=adopted[0].department_id)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/projects/")


def test_the_admin_shows_projects_read_only(adopted: list[Project], admin_client: Client) -> None:
    assert admin_client.get("/admin/projects/project/").status_code == 200
    page = admin_client.get(f"/admin/projects/project/{adopted[0].pk}/change/")
    assert page.status_code == 200 and adopted[0].title in page.content.decode()
    assert admin_client.post(f"/admin/projects/project/{adopted[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert Project.objects.filter(pk=adopted[0].pk).exists()


def test_the_office_publishing_a_window_select_poll_adopts(who: People, world: World) -> None:
    """A select poll voted on the deputies' own devices after the hearing, closed and published
    by the office on /manage/hearings/<id>/polls/: its chosen become projects too."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from hearings.models import Hearing
    from voting import services as voting_services

    Hearing.objects.filter(pk=world.hearing.pk).update(status=Hearing.Status.ENDED)
    now = timezone.now()
    poll = voting_services.poll_prepare(
        hearing_id=world.hearing.pk,
        by=who.staff,
        kind="select",
        title="2027 年民生实事项目票决（会后）",
        candidates=[voting_services.OptionSpec("口袋公园", world.departments[0].pk, budget=Decimal("88"))],
        choose=1,
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=1),
    )
    candidate = poll.options.get().pk
    voting_services.ballot_cast(
        hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=world.deputies[0], picks=[candidate], ballot_id=uuid4()
    )
    client = client_of(who.staff)
    for name in ("close", "publish"):
        url = reverse("manage_poll_action", args=[world.hearing.pk, poll.pk, name])
        assert client.post(url).status_code == 302
    project = Project.objects.get()
    assert (project.title, project.department_id, project.budget) == (
        "口袋公园",
        world.departments[0].pk,
        Decimal("88"),
    )
