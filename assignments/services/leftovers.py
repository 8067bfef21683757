"""Leftover questions (书面答复): after a hearing ends, the approved questions it never answered
are handed to their departments in one batch, one assignment each, for a written reply.

All or nothing: every question is checked (of this hearing, assignable, a department to go to)
before the first assignment is written, and the batch runs in one transaction. A question an
assignment already holds is skipped and reported, so running the batch again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils.translation import gettext_lazy as _

import audit
from assignments import selectors
from assignments.models import Assignment
from assignments.services.transitions import DEFAULT_WORKING_DAYS, By, _due_date, assignment_create
from core.errors import BadRequest, Forbidden, InvalidState, NotFound
from hearings import selectors as hearing_selectors
from hearings.labels import list_separator
from hearings.models import Department, Hearing, Question


@dataclass
class BatchResult:
    """What one batch did: the assignments made (in question order) and the questions skipped
    because an assignment already held them."""

    created: list[Assignment] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def _numbers(ids: Sequence[int]) -> str:
    return list_separator().join(f"#{pk}" for pk in ids)


@transaction.atomic
def leftovers_assign(
    *,
    hearing_id: int,
    by: By,
    question_ids: Sequence[int] | None = None,
    departments: Mapping[int, int] | None = None,
    working_days: int | None = None,
    due_date: date | None = None,
) -> BatchResult:
    """Turn the chosen leftover questions of an ended hearing (default: all of them) into
    assignments, one each, in one transaction. Each goes to the department chosen for it in
    `departments` (question id → department id), else the question's own department, else its
    agenda item's; a question with none refuses the whole batch, naming it. The due date is
    `working_days` working days from today (default DEFAULT_WORKING_DAYS) or `due_date`. An
    answered question may be in the batch too (recorded as 现场答复); anything else refuses it.
    Questions already assigned are skipped and reported, not refused."""
    hearing = Hearing.objects.select_for_update().filter(pk=hearing_id).first()
    if hearing is None:
        raise NotFound(_("找不到这场问政会。"))
    if by is not None and (isinstance(by, Department) or not hearing_selectors.is_moderator(hearing, by)):
        raise Forbidden(_("只有本场问政会的主持人可以交办问题。"))
    if hearing.status != Hearing.Status.ENDED:
        raise InvalidState(_("问政会结束后，才能把未答复的问题作为书面答复交办。"))
    chosen = departments or {}
    if question_ids is None:
        ids = [q.pk for q in selectors.leftover_questions(hearing)]
    else:
        ids = list(dict.fromkeys(question_ids))
        if not ids:
            raise BadRequest(_("请至少选择一个问题。"))
    questions = {
        q.pk: q
        # Locks the questions only: PostgreSQL locks no row of an outer join's nullable side.
        for q in Question.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, hearing=hearing)
        .select_related("department", "item__department")
    }
    missing = [pk for pk in ids if pk not in questions]
    if missing:
        raise NotFound(_("本场问政会没有这些问题：%(numbers)s。"), numbers=_numbers(missing))
    unfit = [pk for pk in ids if selectors.origin_of(questions[pk], hearing) is None]
    if unfit:
        raise InvalidState(_("这些问题不能交办（未通过、已撤下或已合并）：%(numbers)s。"), numbers=_numbers(unfit))
    assigned = set(
        Assignment.questions.through.objects.filter(question_id__in=ids).values_list("question_id", flat=True)
    )
    todo = [pk for pk in ids if pk not in assigned]
    known = set(
        Department.objects.filter(pk__in=[chosen[pk] for pk in todo if pk in chosen]).values_list("pk", flat=True)
    )
    if any(pk in chosen and chosen[pk] not in known for pk in todo):
        raise NotFound(_("找不到这个主办单位。"))
    leads: dict[int, int] = {}
    for pk in todo:
        department = selectors.question_department(questions[pk])
        lead = chosen.get(pk) or (department.pk if department is not None else None)
        if lead is not None:
            leads[pk] = lead
    homeless = [pk for pk in todo if pk not in leads]
    if homeless:
        raise BadRequest(_("这些问题还没有承办部门，请为它们选择主办单位：%(numbers)s。"), numbers=_numbers(homeless))
    if working_days is None and due_date is None:
        working_days = DEFAULT_WORKING_DAYS
    _due_date(working_days=working_days, due_date=due_date)  # refused here, before anything is written
    result = BatchResult(skipped=[pk for pk in ids if pk in assigned])
    for pk in todo:
        result.created.append(
            assignment_create(
                hearing_id=hearing.pk,
                question_ids=[pk],
                lead_department_id=leads[pk],
                working_days=working_days,
                due_date=due_date,
                by=by,
            )
        )
    audit.record(
        action="assignment.batch",
        actor=by,
        subject=hearing,
        payload={
            "assignments": [a.pk for a in result.created],
            "questions": todo,
            "skipped": result.skipped,
        },
    )
    return result
