"""The rules of a 民生实事 project (projects/services.py): adoption from a published select poll,
the department's reports, the office's changes; each refusal changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from chamber import services as chamber_services
from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from projects import services
from projects.models import Milestone, Project, ProjectUpdate
from tests.factories import World
from tests.projects.helpers import CANDIDATES, PICKS, People, published_select, select_poll, vote
from voting import selectors as voting_selectors
from voting import services as voting_services
from voting.models import Poll

pytestmark = pytest.mark.django_db


def state() -> dict[str, Any]:
    """Everything a refused change must leave as it was."""
    return {
        "projects": list(
            Project.objects.order_by("pk").values_list(
                "pk", "title", "department_id", "budget", "note", "year", "status", "progress"
            )
        ),
        "milestones": list(Milestone.objects.order_by("pk").values_list("pk", "title", "due_date", "done_at")),
        "updates": ProjectUpdate.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# ------------------------------------------------------------------------------- adoption


def test_publishing_a_select_poll_adopts_exactly_the_chosen_candidates(world: World) -> None:
    poll, options = published_select(world)
    out = voting_selectors.poll_out(poll)
    ranking = voting_selectors.ranking([o.pk for o in options], poll.results or {})
    assert out.chosen == ranking[: poll.choose] == [options[2].pk, options[4].pk]
    projects = list(Project.objects.order_by("pk"))
    assert [p.candidate_id for p in projects] == out.chosen
    first = projects[0]
    assert (first.title, first.department_id, first.budget, first.note) == (
        CANDIDATES[2],
        world.departments[0].pk,
        Decimal("1202.50"),
        "说明2",
    )
    assert first.year == timezone.localtime(world.hearing.starts_at).year
    assert first.poll_id == poll.pk and first.status == Project.Status.ACTIVE and first.progress == 0
    assert projects[1].department_id is None  # its candidate had none: the office sets it
    update = ProjectUpdate.objects.get(project=first)
    assert (update.kind, update.by_role) == (ProjectUpdate.Kind.CREATED, ProjectUpdate.By.SYSTEM)
    assert AuditEntry.objects.filter(action="project.created").count() == 2


def test_adoption_is_idempotent(world: World) -> None:
    poll, _ = published_select(world)
    before = state()
    assert [p.pk for p in services.adopt_chosen(poll=poll, by=None)] == [p[0] for p in before["projects"]]
    chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    assert state() == before


def test_choose_takes_that_many_of_the_ranking(world: World) -> None:
    _poll, options = published_select(world, choose=3)
    assert list(Project.objects.order_by("pk").values_list("candidate_id", flat=True)) == [
        options[2].pk,
        options[4].pk,
        options[0].pk,
    ]


def test_adoption_is_refused_for_an_unpublished_or_other_poll(world: World) -> None:
    poll, _ = select_poll(world)
    vote(world, poll, PICKS)
    with pytest.raises(InvalidState):
        services.adopt_chosen(poll=poll, by=None)  # open
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    with pytest.raises(InvalidState):
        services.adopt_chosen(poll=poll, by=None)  # closed, not published
    voting_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    satisfaction = voting_services.poll_open(hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=None)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=satisfaction.pk, by=None)
    chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=satisfaction.pk, by=None)
    before = state()
    assert before["projects"] == []  # publishing a satisfaction poll adopts nothing
    with pytest.raises(InvalidState):
        services.adopt_chosen(poll=satisfaction, by=None)
    assert state() == before


def test_adoption_is_for_the_hearing_s_moderators_and_the_office(world: World, who: People) -> None:
    poll, _ = select_poll(world)
    vote(world, poll, PICKS)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    voting_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    before = state()
    for outsider in (who.liaison, world.deputies[0], world.other_moderator):
        with pytest.raises(Forbidden):
            services.adopt_chosen(poll=poll, by=outsider)
    assert state() == before
    assert len(services.adopt_chosen(poll=poll, by=who.staff)) == 2


def test_a_publish_refused_adopts_nothing(world: World) -> None:
    poll, _ = select_poll(world)
    with pytest.raises(InvalidState):
        chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    poll.refresh_from_db()
    assert poll.status == Poll.Status.OPEN and not Project.objects.exists()


# ------------------------------------------------------------------------------- the department


@pytest.fixture
def project(world: World) -> Project:
    published_select(world)
    return Project.objects.get(department=world.departments[0])


def test_the_department_reports_progress(project: Project, who: People) -> None:
    services.progress_report(project_id=project.pk, by=who.liaison, progress=40, text="完成设计招标")
    project.refresh_from_db()
    assert project.progress == 40
    update = project.updates.last()
    assert update is not None
    assert (update.kind, update.progress, update.text, update.by_role, update.department_id) == (
        ProjectUpdate.Kind.PROGRESS,
        40,
        "完成设计招标",
        ProjectUpdate.By.DEPARTMENT,
        project.department_id,
    )
    entry = AuditEntry.objects.filter(action="project.progress").get()
    assert entry.payload["progress"] == 40 and entry.payload["before"] == 0


def test_progress_that_does_not_rise_must_say_why(project: Project, who: People) -> None:
    services.progress_report(project_id=project.pk, by=who.liaison, progress="60")
    before = state()
    with pytest.raises(BadRequest, match="请说明原因"):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=50)
    with pytest.raises(BadRequest, match="进度没有变化"):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=60, text="  ")
    assert state() == before
    services.progress_report(project_id=project.pk, by=who.liaison, progress=50, text="审计核减工程量")
    services.progress_report(project_id=project.pk, by=who.liaison, progress=50, text="施工队进场")
    project.refresh_from_db()
    assert project.progress == 50


@pytest.mark.parametrize("progress", [-1, 101, "", "abc", "50.5", None, "1e2"])
def test_progress_out_of_range_is_refused(project: Project, who: People, progress: object) -> None:
    before = state()
    with pytest.raises(BadRequest, match="0 到 100"):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=progress, text="x")
    assert state() == before


def test_another_department_s_liaison_and_the_office_may_not_report(
    project: Project, who: People, world: World
) -> None:
    milestone = services.milestone_add(project_id=project.pk, by=who.staff, title="开工")
    before = state()
    for outsider in (who.liaison2, who.staff, world.moderator, world.deputies[0]):
        with pytest.raises(Forbidden):
            services.progress_report(project_id=project.pk, by=outsider, progress=90, text="冒报")
        with pytest.raises(Forbidden):
            services.milestone_complete(project_id=project.pk, milestone_id=milestone.pk, by=outsider)
    assert state() == before


def test_nobody_reports_on_a_project_without_a_department(world: World, who: People) -> None:
    published_select(world)
    orphan = Project.objects.get(department__isnull=True)
    with pytest.raises(Forbidden):
        services.progress_report(project_id=orphan.pk, by=who.liaison, progress=10, text="x")


def test_text_is_cleaned_and_refused_by_the_common_rules(project: Project, who: People) -> None:
    before = state()
    with pytest.raises(BadRequest, match="控制字符"):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=10, text="a\x00b")
    with pytest.raises(BadRequest, match="最多"):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=10, text="长" * 2001)
    assert state() == before
    services.progress_report(project_id=project.pk, by=who.liaison, progress=10, text="  已开工  ")
    assert project.updates.last().text == "已开工"  # type: ignore[union-attr]


def test_milestones_are_planned_by_the_office_and_completed_by_the_department(project: Project, who: People) -> None:
    first = services.milestone_add(project_id=project.pk, by=who.staff, title="完成招标", due_date="2027-03-31")
    second = services.milestone_add(project_id=project.pk, by=who.staff, title="竣工验收")
    assert (first.position, second.position) == (1, 2)
    services.milestone_edit(
        milestone_id=second.pk, project_id=project.pk, by=who.staff, title="竣工验收", due_date="2027-11-30"
    )
    second.refresh_from_db()
    assert str(second.due_date) == "2027-11-30"
    with pytest.raises(Forbidden):
        services.milestone_add(project_id=project.pk, by=who.liaison, title="自己加的节点")
    services.milestone_complete(project_id=project.pk, milestone_id=first.pk, by=who.liaison, text="已定标")
    first.refresh_from_db()
    assert first.done_at is not None
    before = state()
    with pytest.raises(InvalidState):
        services.milestone_complete(project_id=project.pk, milestone_id=first.pk, by=who.liaison)
    other = Project.objects.exclude(pk=project.pk).first()
    assert other is not None
    with pytest.raises(NotFound):
        services.milestone_complete(project_id=other.pk, milestone_id=second.pk, by=None)
    with pytest.raises(BadRequest, match="日期"):
        services.milestone_add(project_id=project.pk, by=who.staff, title="x", due_date="明年三月")
    with pytest.raises(BadRequest):
        services.milestone_add(project_id=project.pk, by=who.staff, title="")
    assert state() == before
    kinds = list(project.updates.values_list("kind", flat=True))
    assert kinds == ["created", "plan", "plan", "plan", "milestone"]


def test_a_project_has_at_most_so_many_milestones(project: Project, who: People) -> None:
    from core import limits

    for n in range(limits.PROJECT_MILESTONES):
        services.milestone_add(project_id=project.pk, by=None, title=f"节点{n}")
    before = state()
    with pytest.raises(BadRequest, match="最多"):
        services.milestone_add(project_id=project.pk, by=who.staff, title="再多一个")
    assert state() == before


# ------------------------------------------------------------------------------- the office


def test_the_office_adds_a_project_by_hand(who: People, world: World) -> None:
    project = services.project_add(
        by=who.staff, title=" 口袋公园建设 ", year="2027", department_id=str(world.departments[2].pk), budget="350"
    )
    assert (project.title, project.year, project.budget, project.poll_id, project.candidate_id) == (
        "口袋公园建设",
        2027,
        Decimal("350.00"),
        None,
        None,
    )
    assert project.updates.get().kind == ProjectUpdate.Kind.CREATED


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "请填写项目名称"),
        ({"title": "x" * 201}, "最多"),
        ({"title": "a\nb"}, "一行"),
        ({"year": "1999"}, "年度"),
        ({"year": "二〇二七"}, "年度"),
        ({"budget": "-1"}, "预算"),
        ({"budget": "1.234"}, "两位小数"),
        ({"budget": "NaN"}, "预算"),
        ({"budget": "1e20"}, "预算"),
        ({"budget": "很多"}, "预算"),
        ({"department_id": "999999"}, "部门"),
        ({"department_id": "x"}, "部门"),
        ({"note": "\x07"}, "控制字符"),
    ],
)
def test_bad_project_fields_are_refused_and_nothing_is_stored(
    who: People, fields: dict[str, str], message: str
) -> None:
    before = state()
    with pytest.raises((BadRequest, NotFound), match=message):
        services.project_add(by=who.staff, **{"title": "口袋公园", "year": "2027", **fields})
    assert state() == before


def test_only_the_office_adds_and_edits(project: Project, who: People, world: World) -> None:
    before = state()
    for outsider in (who.liaison, world.moderator, world.deputies[0]):
        with pytest.raises(Forbidden):
            services.project_add(by=outsider, title="冒充", year=2027)
        with pytest.raises(Forbidden):
            services.project_edit(project_id=project.pk, by=outsider, title="改名", year=2027)
        with pytest.raises(Forbidden):
            services.project_set_status(project_id=project.pk, by=outsider, status="done")
    assert state() == before


def test_the_office_sets_the_department_and_may_not_take_it_away(world: World, who: People) -> None:
    published_select(world)
    orphan = Project.objects.get(department__isnull=True)
    fields = {"title": orphan.title, "year": orphan.year, "budget": orphan.budget, "note": orphan.note}
    services.project_edit(project_id=orphan.pk, by=who.staff, department_id=world.departments[1].pk, **fields)
    orphan.refresh_from_db()
    assert orphan.department_id == world.departments[1].pk
    assert orphan.updates.last().kind == ProjectUpdate.Kind.EDITED  # type: ignore[union-attr]
    before = state()
    with pytest.raises(BadRequest, match="责任单位"):
        services.project_edit(project_id=orphan.pk, by=who.staff, department_id="", **fields)
    services.project_edit(project_id=orphan.pk, by=who.staff, department_id=world.departments[1].pk, **fields)
    assert state() == before  # unchanged: nothing written
    services.progress_report(project_id=orphan.pk, by=who.liaison2, progress=5, text="前期工作")


def test_status_changes(project: Project, who: People) -> None:
    services.progress_report(project_id=project.pk, by=who.liaison, progress=95, text="主体完工")
    before = state()
    with pytest.raises(BadRequest, match="变更理由"):
        services.project_set_status(project_id=project.pk, by=who.staff, status="stopped")
    with pytest.raises(BadRequest):
        services.project_set_status(project_id=project.pk, by=who.staff, status="paused")
    with pytest.raises(InvalidState):
        services.project_set_status(project_id=project.pk, by=who.staff, status="active")
    assert state() == before
    services.project_set_status(project_id=project.pk, by=who.staff, status="done")
    project.refresh_from_db()
    assert (project.status, project.progress) == ("done", 100)
    # A finished project takes no more reports, until the office reopens it (with a reason).
    with pytest.raises(InvalidState):
        services.progress_report(project_id=project.pk, by=who.liaison, progress=100, text="再报")
    with pytest.raises(BadRequest):
        services.project_set_status(project_id=project.pk, by=who.staff, status="active")
    services.project_set_status(project_id=project.pk, by=who.staff, status="active", text="验收发现问题，返工")
    assert project.updates.last().text == "验收发现问题，返工"  # type: ignore[union-attr]


def test_updates_are_append_only(project: Project) -> None:
    update = project.updates.get()
    update.text = "改写历史"
    with pytest.raises(ValueError, match="immutable"):
        update.save()
    with pytest.raises(ValueError, match="immutable"):
        update.delete()


def test_the_poll_publish_command_adopts_on_the_socket_and_the_panel(world: World) -> None:
    """chamber/commands.py's poll.publish (control socket and panel) is chamber's poll_publish."""
    from chamber import commands
    from live import schema

    assert commands.COMMANDS["poll.publish"].service is chamber_services.poll_publish
    poll, _ = select_poll(world)
    vote(world, poll, PICKS)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    fields = schema.PollPublish(id="p", action="poll.publish", poll=poll.pk)
    commands.execute("poll.publish", hearing_id=world.hearing.pk, by=world.moderator, fields=fields)
    assert Project.objects.count() == 2


def test_a_panel_publish_adopts(world: World) -> None:
    from django.test import Client

    poll, _ = select_poll(world)
    vote(world, poll, PICKS)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    client = Client()
    client.force_login(world.moderator)
    response = client.post(
        f"/hearings/{world.hearing.pk}/control/do/poll-publish/", {"poll": poll.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'class="action-result ok"' in response.content.decode()
    assert sorted(Project.objects.values_list("title", flat=True)) == sorted([CANDIDATES[2], CANDIDATES[4]])
