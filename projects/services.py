"""The life of a 民生实事 project: chosen by a select poll (or added by the office), carried out by
its department, which reports progress and completes milestones, and rated by a sheet poll.

Who may do what:
- the office (会务工作人员) adds a project by hand, edits it (title, department, budget, note,
  year), plans its milestones, and changes its status (实施中 / 已完成 / 已终止);
- a liaison (联络员) of the project's department reports progress and completes milestones,
  while the project is 实施中;
- adoption (adopt_chosen) follows the publication of a select poll's results.
`by=None` is the system and may do anything. Every change writes one ProjectUpdate (the public
history) and one audit entry, in its transaction; a refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

import audit
from core import limits
from core.errors import BadRequest, Forbidden, InvalidState, NotFound, clean_or_refuse
from hearings import guards
from hearings import selectors as hearing_selectors
from hearings.models import Department
from projects import selectors
from projects.models import Milestone, Project, ProjectReview, ProjectUpdate
from voting import selectors as voting_selectors
from voting import services as voting_services
from voting.models import Poll, PollOption

By = AbstractBaseUser | None

FIELD_PROJECT_TITLE = pgettext_lazy("field in a sentence", "项目名称")
FIELD_PROJECT_NOTE = pgettext_lazy("field in a sentence", "项目说明")
FIELD_UPDATE_TEXT = pgettext_lazy("field in a sentence", "进展情况")
FIELD_MILESTONE_TITLE = pgettext_lazy("field in a sentence", "节点名称")
FIELD_STATUS_REASON = pgettext_lazy("field in a sentence", "变更理由")

# A 人大评 sheet's title when the office gives none: data, in the site's language, as a poll's
# default titles are (voting.services).
REVIEW_TITLE = "民生实事项目测评"

YEAR_MIN, YEAR_MAX = limits.PROJECT_YEAR_MIN, limits.PROJECT_YEAR_MAX


# ------------------------------------------------------------------------------- checks


def _require_staff(by: By) -> None:
    guards.require_office_staff(by)


def _require_liaison(project: Project, by: By) -> None:
    if by is None:
        return
    if project.department_id is None or not selectors.is_liaison(project.department_id, by):
        raise Forbidden(_("只有本项目责任单位的联络员可以这样做。"))


def _require_active(project: Project) -> None:
    if project.status != Project.Status.ACTIVE:
        raise InvalidState(_("项目已不在实施中。"))


def _project_for_update(project_id: int) -> Project:
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        raise NotFound(_("没有这个项目。"))
    return project


def _title(value: object) -> str:
    return clean_or_refuse(
        value if isinstance(value, str) else "",
        what=FIELD_PROJECT_TITLE,
        max_length=limits.PROJECT_TITLE,
        multiline=False,
        required=True,
    )


def _note(value: object) -> str:
    return clean_or_refuse(
        value if isinstance(value, str) else "",
        what=FIELD_PROJECT_NOTE,
        max_length=limits.PROJECT_NOTE,
        required=False,
    )


def _text(value: object, *, what: Any = FIELD_UPDATE_TEXT, required: bool = False) -> str:
    return clean_or_refuse(
        value if isinstance(value, str) else "", what=what, max_length=limits.PROJECT_UPDATE, required=required
    )


def parse_budget(value: object) -> Decimal | None:
    """万元, 0 or more, at most two places after the point; "" or None: no budget."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        budget = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise BadRequest(_("预算须是数字（万元）。")) from None
    if not budget.is_finite() or budget < 0 or budget >= limits.PROJECT_BUDGET:
        raise BadRequest(_("预算须在 0 到 %(most)s 万元之间。"), most=limits.PROJECT_BUDGET)
    if budget != budget.quantize(Decimal("0.01")):
        raise BadRequest(_("预算最多保留两位小数。"))
    return budget.quantize(Decimal("0.01"))


def parse_year(value: object) -> int:
    try:
        year = int(str(value).strip())
    except ValueError:
        raise BadRequest(_("年度须是 %(low)s 到 %(high)s 之间的年份。"), low=YEAR_MIN, high=YEAR_MAX) from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise BadRequest(_("年度须是 %(low)s 到 %(high)s 之间的年份。"), low=YEAR_MIN, high=YEAR_MAX)
    return year


def parse_progress(value: object) -> int:
    try:
        progress = int(str(value).strip())
    except ValueError:
        raise BadRequest(_("进度须是 0 到 %(most)s 之间的整数。"), most=limits.PROJECT_PROGRESS) from None
    if not 0 <= progress <= limits.PROJECT_PROGRESS:
        raise BadRequest(_("进度须是 0 到 %(most)s 之间的整数。"), most=limits.PROJECT_PROGRESS)
    return progress


def parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise BadRequest(_("日期的格式应为 年-月-日。")) from None


def _department(value: object) -> Department | None:
    if value is None or value == "":
        return None
    try:
        pk = int(str(value))
    except ValueError:
        raise NotFound(_("找不到所选的部门。")) from None
    department = Department.objects.filter(pk=pk).first()
    if department is None:
        raise NotFound(_("找不到所选的部门。"))
    return department


# ------------------------------------------------------------------------------- the record


def _by_role(project: Project, by: By) -> tuple[str, Department | None]:
    """Who the public history names: the department, the office, or the system."""
    if by is None:
        return ProjectUpdate.By.SYSTEM, None
    if project.department_id is not None and selectors.is_liaison(project.department_id, by):
        return ProjectUpdate.By.DEPARTMENT, project.department
    if hearing_selectors.is_office_staff(by):
        return ProjectUpdate.By.OFFICE, None
    return ProjectUpdate.By.SYSTEM, None  # a moderator publishing a select poll's results


def _record(
    project: Project, kind: str, by: By, *, text: str = "", milestone: Milestone | None = None, **payload: Any
) -> ProjectUpdate:
    audit.record(
        action=f"project.{kind}",
        actor=by,
        subject=project,
        payload={
            "status": project.status,
            "progress": project.progress,
            "department": project.department_id,
            **({"milestone": milestone.pk} if milestone is not None else {}),
            **({"text": text} if text else {}),
            **payload,
        },
    )
    role, department = _by_role(project, by)
    return ProjectUpdate.objects.create(
        project=project,
        kind=kind,
        by_id=by.pk if by is not None else None,
        by_role=role,
        department=department,
        progress=project.progress,
        status=project.status,
        milestone=milestone,
        text=text,
    )


# ------------------------------------------------------------------------------- adoption


@transaction.atomic
def adopt_chosen(*, poll: Poll, by: By) -> list[Project]:
    """Every candidate a published select poll chose (the first `choose` of its ranking, as
    the published POLL says) becomes a project of the year the hearing starts in, with the
    candidate's department, budget and note. Idempotent: a candidate adopted before is left
    as it is. Returns the projects of the chosen candidates, in ranking order."""
    poll = Poll.objects.select_for_update().select_related("hearing").get(pk=poll.pk)
    if by is not None and not (
        hearing_selectors.is_moderator(poll.hearing_id, by) or hearing_selectors.is_office_staff(by)
    ):
        raise Forbidden(_("只有本场问政会的主持人或会务工作人员可以这样做。"))
    if poll.kind != Poll.Kind.SELECT:
        raise InvalidState(_("只有票选的结果可以确定民生实事项目。"))
    if poll.status != Poll.Status.PUBLISHED:
        raise InvalidState(_("票选结果公布后才能确定民生实事项目。"))
    chosen = voting_selectors.poll_out(poll).chosen or []
    candidates = PollOption.objects.in_bulk(chosen)
    existing = {p.candidate_id: p for p in Project.objects.filter(candidate_id__in=chosen)}
    year = timezone.localtime(poll.hearing.starts_at).year
    projects = []
    for candidate_id in chosen:
        project = existing.get(candidate_id)
        if project is None:
            candidate = candidates[candidate_id]
            project = Project.objects.create(
                title=candidate.label,
                department_id=candidate.department_id,
                budget=candidate.budget,
                note=candidate.note,
                year=year,
                poll=poll,
                candidate=candidate,
                created_by_id=by.pk if by is not None else None,
            )
            _record(project, ProjectUpdate.Kind.CREATED, by, poll=poll.pk, candidate=candidate.pk)
        projects.append(project)
    return projects


# ------------------------------------------------------------------------------- the office


@transaction.atomic
def project_add(
    *, by: By, title: object, year: object, department_id: object = None, budget: object = None, note: object = ""
) -> Project:
    """A project the office adds by hand (no poll chose it)."""
    _require_staff(by)
    fields = {
        "title": _title(title),
        "year": parse_year(year),
        "department": _department(department_id),
        "budget": parse_budget(budget),
        "note": _note(note),
    }
    project = Project.objects.create(**fields, created_by_id=by.pk if by is not None else None)
    _record(project, ProjectUpdate.Kind.CREATED, by, title=project.title, by_hand=True)
    return project


@transaction.atomic
def project_edit(
    *,
    project_id: int,
    by: By,
    title: object,
    year: object,
    department_id: object = None,
    budget: object = None,
    note: object = "",
) -> Project:
    """Change a project's facts; a department once set cannot be taken away (only changed).
    Unchanged: nothing written."""
    _require_staff(by)
    project = _project_for_update(project_id)
    department = _department(department_id)
    if department is None and project.department_id is not None:
        raise BadRequest(_("请选择责任单位。"))
    after = {
        "title": _title(title),
        "year": parse_year(year),
        "department_id": department.pk if department else None,
        "budget": parse_budget(budget),
        "note": _note(note),
    }
    before = {name: getattr(project, name) for name in after}
    changed = {name: value for name, value in after.items() if before[name] != value}
    if not changed:
        return project
    for name, value in changed.items():
        setattr(project, name, value)
    project.save(update_fields=[*changed, "updated_at"])
    _record(project, ProjectUpdate.Kind.EDITED, by, changed={name: str(value) for name, value in changed.items()})
    return project


@transaction.atomic
def project_set_status(*, project_id: int, by: By, status: str, text: object = "") -> Project:
    """实施中 → 已完成 (progress becomes 100) or 已终止 (a reason is required); either back to
    实施中 with a reason. Only the office decides: a department reports 100 %, the office
    accepts the work (验收) and marks it done."""
    _require_staff(by)
    if status not in Project.Status.values:
        raise BadRequest(_("没有这种项目状态。"))
    project = _project_for_update(project_id)
    if project.status == status:
        raise InvalidState(_("项目已是这个状态。"))
    needs_reason = status == Project.Status.STOPPED or project.status != Project.Status.ACTIVE
    reason = _text(text, what=FIELD_STATUS_REASON, required=needs_reason)
    if status == Project.Status.DONE and project.department_id is None:
        raise InvalidState(_("请先确定责任单位。"))
    before = project.status
    project.status = status
    if status == Project.Status.DONE:
        project.progress = limits.PROJECT_PROGRESS
    project.save(update_fields=["status", "progress", "updated_at"])
    _record(project, ProjectUpdate.Kind.STATUS, by, text=reason, before=before)
    return project


@transaction.atomic
def milestone_add(*, project_id: int, by: By, title: object, due_date: object = None) -> Milestone:
    """A milestone at the end of the project's plan."""
    _require_staff(by)
    project = _project_for_update(project_id)
    clean = clean_or_refuse(
        title if isinstance(title, str) else "",
        what=FIELD_MILESTONE_TITLE,
        max_length=limits.MILESTONE_TITLE,
        multiline=False,
    )
    due = parse_date(due_date)
    count = project.milestones.count()
    if count >= limits.PROJECT_MILESTONES:
        raise BadRequest(_("一个项目最多 %(n)s 个节点。"), n=limits.PROJECT_MILESTONES)
    last = project.milestones.order_by("-position").values_list("position", flat=True).first() or 0
    milestone = Milestone.objects.create(project=project, position=last + 1, title=clean, due_date=due)
    _record(project, ProjectUpdate.Kind.PLAN, by, milestone=milestone, title=clean, due_date=str(due or ""))
    return milestone


@transaction.atomic
def milestone_edit(*, milestone_id: int, project_id: int, by: By, title: object, due_date: object = None) -> Milestone:
    """Rename a milestone or move its date. Unchanged: nothing written."""
    _require_staff(by)
    project = _project_for_update(project_id)
    milestone = Milestone.objects.filter(pk=milestone_id, project=project).first()
    if milestone is None:
        raise NotFound(_("本项目没有这个节点。"))
    clean = clean_or_refuse(
        title if isinstance(title, str) else "",
        what=FIELD_MILESTONE_TITLE,
        max_length=limits.MILESTONE_TITLE,
        multiline=False,
    )
    due = parse_date(due_date)
    if (milestone.title, milestone.due_date) == (clean, due):
        return milestone
    milestone.title, milestone.due_date = clean, due
    milestone.save(update_fields=["title", "due_date"])
    _record(project, ProjectUpdate.Kind.PLAN, by, milestone=milestone, title=clean, due_date=str(due or ""))
    return milestone


# ------------------------------------------------------------------------------- the department


@transaction.atomic
def progress_report(*, project_id: int, by: By, progress: object, text: object = "") -> Project:
    """The department's report: the percent done and what was done. A report that does not
    move the project forward (the same percent, or less: a setback) must say why."""
    project = _project_for_update(project_id)
    _require_liaison(project, by)
    _require_active(project)
    percent = parse_progress(progress)
    said = _text(text)
    if percent < project.progress and not said:
        raise BadRequest(_("进度比上次报告的低，请说明原因。"))
    if percent == project.progress and not said:
        raise BadRequest(_("进度没有变化，请填写进展情况。"))
    before = project.progress
    project.progress = percent
    project.save(update_fields=["progress", "updated_at"])
    _record(project, ProjectUpdate.Kind.PROGRESS, by, text=said, before=before)
    return project


@transaction.atomic
def milestone_complete(*, project_id: int, milestone_id: int, by: By, text: object = "") -> Milestone:
    """The department marks a milestone done (once)."""
    project = _project_for_update(project_id)
    _require_liaison(project, by)
    _require_active(project)
    milestone = Milestone.objects.filter(pk=milestone_id, project=project).first()
    if milestone is None:
        raise NotFound(_("本项目没有这个节点。"))
    said = _text(text)
    if milestone.done_at is not None:
        raise InvalidState(_("这个节点已经完成。"))
    milestone.done_at = timezone.now()
    milestone.save(update_fields=["done_at"])
    _record(project, ProjectUpdate.Kind.MILESTONE, by, text=said, milestone=milestone)
    return milestone


# ------------------------------------------------------------------------------- 人大评


@transaction.atomic
def review_prepare(
    *, hearing_id: int, by: By, project_ids: Sequence[int], title: str = "", item_id: int | None = None
) -> Poll:
    """人大评: the office prepares a sheet poll on a hearing with one row per project (its title
    and department), in the order given, and links each row to its project. The poll is a draft
    (voting.services.poll_prepare): the moderator opens it in the chamber, or the office sets a
    voting window; once published, each project's page shows its row's results."""
    _require_staff(by)
    wanted = list(dict.fromkeys(project_ids))
    if not wanted:
        raise BadRequest(_("请选择要测评的项目。"))
    found = Project.objects.in_bulk(wanted)
    if len(found) != len(wanted):
        raise NotFound(_("没有这个项目。"))
    projects = [found[pk] for pk in wanted]
    rows = [voting_services.OptionSpec(p.title, p.department_id) for p in projects]
    poll = voting_services.poll_prepare(
        hearing_id=hearing_id,
        by=by,
        kind=Poll.Kind.SHEET,
        title=title or REVIEW_TITLE,
        item_id=item_id,
        rows=rows,
    )
    options = list(poll.options.order_by("position"))
    ProjectReview.objects.bulk_create(
        [ProjectReview(project=project, row=row) for project, row in zip(projects, options, strict=True)]
    )
    for project, row in zip(projects, options, strict=True):
        _record(project, ProjectUpdate.Kind.REVIEW, by, poll=poll.pk, row=row.pk)
    return poll
