"""The question list (问题清单 / 交办单): what a hearing hands to the departments.

One structure, built here from stored state, is what all three renderings show: the Word
document (`list.docx`, question_list_files.py), the workbook (`list.xlsx`) and the print view
(`/hearings/<id>/list/`). Every assigned question of the hearing goes in, grouped by category
(the hearing's categories in their order, then any other, then the uncategorised) and within
it by lead department (主办单位), each with its number, its text exactly as stored, its asker,
how it was answered (现场答复 / 书面答复), the department's commitment, the due date and the
assignment's number.

Public like the session report: it holds only what the hearing and the assignment pages
already show. A question withdrawn from public view (hidden) stays out, as it does from the
report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from assignments.models import Assignment, Origin
from hearings import selectors as hearing_selectors
from hearings.models import Hearing, Question


@dataclass(frozen=True)
class ListEntry:
    number: int  # 序号: running through the whole list
    question: int
    text: str
    asker: str
    origin: str  # Origin: on_site | written
    commitment: str
    due_date: date
    assignment: int
    co_departments: list[str]  # 协办单位

    @property
    def written(self) -> bool:
        return self.origin == Origin.WRITTEN

    @property
    def origin_label(self) -> str:
        """现场答复 / 书面答复, in the language active when it is read."""
        return str(Origin(self.origin).label)


@dataclass(frozen=True)
class ListGroup:
    category: str  # "" when the question has none
    department: str  # the lead department (主办单位)
    number: int
    entries: list[ListEntry]

    @property
    def numeral(self) -> str:
        return chinese_numeral(self.number)


@dataclass(frozen=True)
class QuestionList:
    hearing: Hearing
    date: date | None  # the day of the hearing (when it started, else when planned)
    groups: list[ListGroup]
    issuer: str  # who stamps it

    @property
    def title(self) -> str:
        return f"{self.hearing.title}问题清单（交办单）"

    @property
    def count(self) -> int:
        return sum(len(group.entries) for group in self.groups)

    @property
    def written(self) -> int:
        return sum(1 for group in self.groups for entry in group.entries if entry.written)


def chinese_numeral(n: int) -> str:
    """一、二 … 九十九 for the group headings (more than any hearing has)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


def _category_order(hearing: Hearing, category: str) -> tuple[int, int, str]:
    """The hearing's categories in their order, then others by name, the uncategorised last."""
    categories = [str(c) for c in hearing.categories or []]
    if category in categories:
        return (0, categories.index(category), "")
    return (1 if category else 2, 0, category)


def question_list(hearing: Hearing) -> QuestionList:
    """Every assigned, public question of the hearing, grouped by category then lead department;
    within a group by assignment, then question. Three queries whatever the size."""
    assignments = list(
        Assignment.objects.filter(hearing=hearing)
        .select_related("lead_department")
        .prefetch_related(
            "co_departments",
            Prefetch(
                "questions",
                queryset=Question.objects.filter(status__in=hearing_selectors.PUBLIC_QUESTION_STATUSES)
                .select_related("asker__person")
                .order_by("id"),
            ),
        )
        .order_by("id")
    )
    rows: list[tuple[tuple[tuple[int, int, str], int, int, int], str, Assignment, Question]] = []
    for assignment in assignments:
        for q in assignment.questions.all():
            key = (_category_order(hearing, q.category), assignment.lead_department_id, assignment.pk, q.pk)
            rows.append((key, q.category, assignment, q))
    rows.sort(key=lambda row: row[0])
    groups: list[ListGroup] = []
    for number, (_key, category, assignment, q) in enumerate(rows, start=1):
        department = assignment.lead_department.name
        if not groups or (groups[-1].category, groups[-1].department) != (category, department):
            groups.append(ListGroup(category=category, department=department, number=len(groups) + 1, entries=[]))
        groups[-1].entries.append(
            ListEntry(
                number=number,
                question=q.pk,
                text=q.text,
                asker=hearing_selectors.question_asker(q),
                origin=assignment.origin,
                commitment=assignment.commitment,
                due_date=assignment.due_date,
                assignment=assignment.pk,
                co_departments=[d.name for d in assignment.co_departments.all()],
            )
        )
    day = hearing.started_at or hearing.starts_at
    return QuestionList(
        hearing=hearing,
        date=timezone.localdate(day) if day else None,
        groups=groups,
        issuer=settings.QUESTION_LIST_ISSUER,
    )
