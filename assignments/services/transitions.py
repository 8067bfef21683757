"""Every state change of an assignment (交办件).

    assigned → accepted → in_progress → replied → evaluated → closed
    assigned/accepted → returned (misrouted) → assigned again (reassigned by a moderator)
    evaluated (不满意) → reopened (new due date, loop + 1) → accepted → …
    closed → 回头看 (review): held, or relapsed → reopened (new due date, loop + 1) → accepted → …

Each function is one rule-checked change in one transaction that appends one timeline entry.
Which action goes from which status to which, who may take it, the entry it writes and who is
told are the table in workflow.py; every transition runs through _begin (lock, who, status)
and _finish (write, timeline and audit, notices), with its own rules and input in between.
Arguments are keyword-only. `by` is who acts: a user, a Department (its API token: the
department itself acting) or None (the system: seed data, management commands). A refused
change raises a DomainError and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit
from assignments import notes, selectors, workflow
from assignments import notify as notice_kinds
from assignments.models import (
    Assignment,
    Attachment,
    Notice,
    Rating,
    ReviewOutcome,
    Status,
    TimelineEntry,
    Verdict,
)
from assignments.notes import Note, typed
from assignments.services.announce import announce
from assignments.workdays import add_months, add_working_days
from assignments.workflow import Notify, Who
from core import limits
from core.errors import BadRequest, Forbidden, InvalidState, NotFound, clean_or_refuse
from hearings import guards as hearing_guards
from hearings import selectors as hearing_selectors
from hearings.models import Department, Hearing, Question
from outbound.mail import mail, site_url

log = logging.getLogger(__name__)

By = AbstractBaseUser | Department | None
Action = TimelineEntry.Action

# core/limits.py's, under the names this module has used
MAX_NOTE = limits.ASSIGNMENT_NOTE
MAX_REPLY = limits.ASSIGNMENT_REPLY
MAX_TITLE = limits.ASSIGNMENT_TITLE
MAX_WORKING_DAYS = limits.WORKING_DAYS
MAX_ATTACHMENTS = limits.ATTACHMENTS
MAX_ATTACHMENT_BYTES = limits.ATTACHMENT_BYTES
ATTACHMENT_SUFFIXES = {".pdf", ".ofd", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".zip", ".txt"}
DEFAULT_WORKING_DAYS = 20
# 回头看: months after closing, unless the assignment says otherwise (Assignment.review_months).
REVIEW_MONTHS = 6
MAX_REVIEW_MONTHS = 36


class _Default(Enum):
    ASSIGNMENT = "assignment"


# assignment_close's review_months when not given: the assignment's own.
FROM_ASSIGNMENT = _Default.ASSIGNMENT
_NO_NOTE = Note()


# ------------------------------------------------------------------------------- helpers


def local_today() -> date:
    return timezone.localdate()


def _assignment_for_update(assignment_id: int) -> Assignment:
    assignment = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound(_("找不到这件交办件。"))
    return assignment


def _require_lead(assignment: Assignment, by: By) -> None:
    """The lead department (主办单位) acts: one of its liaisons, or its API token."""
    if by is None:
        return
    if isinstance(by, Department):
        if by.pk != assignment.lead_department_id:
            raise Forbidden(_("只有主办单位可以办理这件交办件。"))
        return
    if not selectors.is_liaison(assignment.lead_department_id, by):
        raise Forbidden(_("只有主办单位的联络员可以办理这件交办件。"))


def _require_moderator(assignment: Assignment, by: By) -> None:
    if by is None:
        return
    if isinstance(by, Department) or not hearing_selectors.is_moderator(assignment.hearing_id, by):
        raise Forbidden(_("只有本场问政会的主持人可以这样做。"))


def _require_evaluator(assignment: Assignment, by: By) -> None:
    """The deputy who asked evaluates; with no deputy among the askers, a moderator records it."""
    if by is None:
        return
    if isinstance(by, Department) or not selectors.may_evaluate(assignment, by):
        raise Forbidden(_("只有提出问题的代表可以评价答复。"))


def _require_status(assignment: Assignment, *allowed: Status) -> None:
    if assignment.status not in allowed:
        names = ", ".join(str(status.value) for status in allowed)
        raise InvalidState(_("交办件当前的状态不能办理这一步。"), status=assignment.status, needs=names)


def _text(value: str, *, what: str, limit: int = MAX_NOTE, required: bool = False, multiline: bool = True) -> str:
    """Text a person sent, cleaned by core.text.clean_text: "<what> is required", "<what> has at
    most N characters", "<what> contains a control character (U+…)" … as a BadRequest."""
    return clean_or_refuse(value or "", what=what, max_length=limit, multiline=multiline, required=required)


def _due_date(*, working_days: int | None, due_date: date | None, start: date | None = None) -> date:
    """A due date given directly, or counted in working days from today."""
    start = start or local_today()
    if (working_days is None) == (due_date is None):
        raise BadRequest(_("请填写办理时限（工作日）或指定期限，二者选一。"))
    if working_days is not None:
        if not 1 <= working_days <= MAX_WORKING_DAYS:
            raise BadRequest(_("办理时限为 1 到 %(limit)s 个工作日。"), limit=MAX_WORKING_DAYS)
        return add_working_days(start, working_days)
    assert due_date is not None
    if due_date <= start:
        raise BadRequest(_("期限须晚于今天。"))
    if due_date > start + timedelta(days=730):
        raise BadRequest(_("期限不能超过两年。"))
    return due_date


def _actor_label(assignment: Assignment, by: By) -> str:
    if by is None:
        return "系统"
    if isinstance(by, Department):
        return by.name
    if selectors.is_liaison(assignment.lead_department_id, by):
        return assignment.lead_department.name
    if hearing_selectors.is_moderator(assignment.hearing_id, by):
        return "主持人"
    if selectors.is_asker(assignment, by):
        return "提问代表"
    return "工作人员"


def _record(
    assignment: Assignment, action: str, by: By, *, note: Note = _NO_NOTE, internal_note: str = ""
) -> TimelineEntry:
    # Every transition passes here, inside its service's transaction. The audit record keeps the
    # note as worded in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        worded = notes.render_note(note.code, note.params, note.text)
    audit.record(
        action=f"assignment.{action}",
        actor=by,
        subject=assignment,
        payload={
            "status": assignment.status,
            "lead_department": assignment.lead_department_id,
            "due_date": assignment.due_date,
            "origin": assignment.origin,
            "note": worded,
        },
    )
    return TimelineEntry.objects.create(
        assignment=assignment,
        action=action,
        status=assignment.status,
        due_date=assignment.due_date,
        actor_id=by.pk if isinstance(by, AbstractBaseUser) else None,
        actor_label=_actor_label(assignment, by),
        public_note=note.text,
        note_code=note.code,
        note_params=note.params,
        internal_note=internal_note,
    )


def notify(users: Iterable[AbstractBaseUser], assignment: Assignment, code: str, params: dict[str, Any]) -> int:
    """A notice (code and parameters: assignments/notes.py) to each of the users, once, as each
    wants its kind (assignments/notify.py): in the app, and by e-mail (queued, outbound.mail) to
    those with an address, worded in the site's language. Returns the e-mails queued."""
    people = list({u.pk: u for u in users}.values())
    wants = notice_kinds.choices_for(people, code)
    Notice.objects.bulk_create(
        [
            Notice(user_id=user.pk, assignment=assignment, code=code, params=params)
            for user in people
            if wants[user.pk].in_app
        ]
    )
    addresses = sorted({address for user in people if wants[user.pk].email and (address := getattr(user, "email", ""))})
    if not addresses:
        return 0
    # In-app notices are worded in each reader's language when shown; mail, in the site's.
    with translation.override(settings.LANGUAGE_CODE):
        text = notes.render_notice(code, params)
        subject = _("【问政 Live】%(notice)s") % {"notice": text}
    body = f"{text}\n\n{site_url(f'/assignments/{assignment.pk}/')}\n"
    for address in addresses:  # one message each: no one sees the others' addresses
        mail(str(subject), body, [address])
    return len(addresses)


def liaisons(assignment: Assignment) -> list[AbstractBaseUser]:
    return list(assignment.lead_department.liaisons.all())


def moderators(assignment: Assignment) -> list[AbstractBaseUser]:
    return list(assignment.hearing.moderators.all())


def _recipients(assignment: Assignment, notify: Iterable[Notify]) -> list[AbstractBaseUser]:
    people: list[AbstractBaseUser] = []
    for group in notify:
        if group == Notify.LIAISONS:
            people += liaisons(assignment)
        elif group == Notify.MODERATORS:
            people += moderators(assignment)
        else:
            people += selectors.deputy_askers(assignment)
    return people


def _departments(lead_department_id: int, co_department_ids: Sequence[int]) -> tuple[Department, list[Department]]:
    lead = Department.objects.filter(pk=lead_department_id).first()
    if lead is None:
        raise NotFound(_("找不到这个主办单位。"))
    co_ids = list(dict.fromkeys(co_department_ids))
    if lead.pk in co_ids:
        raise BadRequest(_("主办单位不能同时是协办单位。"))
    co = list(Department.objects.filter(pk__in=co_ids))
    if len(co) != len(co_ids):
        raise NotFound(_("找不到这个协办单位。"))
    return lead, co


# ------------------------------------------------------------------------------- the transition path

_REQUIRE = {Who.LEAD: _require_lead, Who.MODERATOR: _require_moderator, Who.EVALUATOR: _require_evaluator}


@dataclass
class _Then:
    """The table's second step (workflow.Then), when the action's input leads to it: the fields
    it writes besides the status and the second entry's note."""

    fields: dict[str, Any] = field(default_factory=dict)
    note: Note = _NO_NOTE


@dataclass
class _Change:
    """What one action writes besides the status the table gives: fields of the assignment, the
    public and internal note, the timeline entry when the table offers a choice, the notice's
    parameters besides the title and due date, what to do with the new entry, and the table's
    second step when it is taken."""

    fields: dict[str, Any] = field(default_factory=dict)
    note: Note = _NO_NOTE
    internal_note: str = ""
    entry: str | None = None
    notice: dict[str, Any] = field(default_factory=dict)
    after: Callable[[TimelineEntry], object] | None = None
    then: _Then | None = None


def _begin(action: str, assignment_id: int, by: By) -> Assignment:
    """Every transition starts here (in its service's transaction): the assignment, locked; who
    may take the action and from which status, as workflow.TRANSITIONS says. The service then
    checks its own rules and input, raising before anything is written, and calls _finish."""
    step = workflow.TRANSITIONS[action]
    assignment = _assignment_for_update(assignment_id)
    _REQUIRE[step.who](assignment, by)
    _require_status(assignment, *step.sources)
    return assignment


def _finish(action: str, assignment: Assignment, by: By, change: _Change) -> Assignment:
    """Every transition ends here: the table's status and the change written, one timeline
    entry (and its audit record), the table's notices; then, when the change takes the table's
    second step (workflow.Then), its status and fields, its entry and its notices."""
    step = workflow.TRANSITIONS[action]
    fields = dict(change.fields)
    if step.target is not None:
        fields["status"] = step.target
    for name, value in fields.items():
        setattr(assignment, name, value)
    assignment.save(update_fields=[*fields, "updated_at"])
    written = change.entry or step.entry
    if written not in step.entries:
        raise ValueError(f"{action} does not write {written}")
    entry = _record(assignment, written, by, note=change.note, internal_note=change.internal_note)
    if change.after is not None:
        change.after(entry)
    if step.notify:
        params = {"title": assignment.title, "due": notes.day(assignment.due_date), **change.notice}
        notify(_recipients(assignment, step.notify), assignment, written, params)
    if change.then is not None:
        if step.then is None:
            raise ValueError(f"{action} has no second step")
        then_fields = {**change.then.fields, "status": step.then.target}
        for name, value in then_fields.items():
            setattr(assignment, name, value)
        assignment.save(update_fields=[*then_fields, "updated_at"])
        _record(assignment, step.then.entry, by, note=change.then.note)
        if step.then.notify:
            params = {"title": assignment.title, "due": notes.day(assignment.due_date)}
            notify(_recipients(assignment, step.then.notify), assignment, step.then.entry, params)
    announce(assignment, action)
    return assignment


# ------------------------------------------------------------------------------- moderator: create


@transaction.atomic
def assignment_create(
    *,
    hearing_id: int,
    question_ids: Sequence[int],
    lead_department_id: int,
    by: By,
    co_department_ids: Sequence[int] = (),
    working_days: int | None = None,
    due_date: date | None = None,
    commitment: str = "",
    title: str = "",
    internal_note: str = "",
) -> Assignment:
    """Turn one answered question, or several grouped as one question-list item, into an
    assignment. The hearing is live or ended; each question is answered and assigned once.
    Once the hearing ended, an approved question it never answered is assigned too, recorded
    as a written reply (书面答复); one assignment holds questions of one kind. The due date is
    counted in working days (statutory holidays and 调休 included) or given."""
    hearing = Hearing.objects.select_for_update().filter(pk=hearing_id).first()
    if hearing is None:
        raise NotFound(_("找不到这场问政会。"))
    if by is not None and (isinstance(by, Department) or not hearing_selectors.is_moderator(hearing, by)):
        raise Forbidden(_("只有本场问政会的主持人可以交办问题。"))
    if hearing.status == Hearing.Status.DRAFT:
        raise InvalidState(_("问政会尚未开始。"))
    ids = list(dict.fromkeys(question_ids))
    if not ids:
        raise BadRequest(_("请至少选择一个问题。"))
    questions = list(Question.objects.select_for_update().filter(pk__in=ids, hearing=hearing, merged_into__isnull=True))
    if len(questions) != len(ids):
        raise NotFound(_("本场问政会没有这个问题。"))
    # Answered on site (现场答复), or left over when the hearing ended (书面答复): the approved
    # question nobody reached is answered in writing, so it is handed over like the answered ones.
    origins = {selectors.origin_of(question, hearing) for question in questions}
    if None in origins:
        raise InvalidState(_("只有已答复的问题，或问政会结束时未答复的已公开问题，可以交办。"))
    if len(origins) > 1:
        raise BadRequest(_("现场答复和书面答复的问题请分别交办。"))
    origin = origins.pop()
    assert origin is not None
    if Assignment.questions.through.objects.filter(question_id__in=ids).exists():
        raise InvalidState(_("所选问题中有已经交办的。"))
    lead, co = _departments(lead_department_id, co_department_ids)
    due = _due_date(working_days=working_days, due_date=due_date)
    questions.sort(key=lambda q: ids.index(q.pk))
    cleaned_title = _text(title, what="title", limit=MAX_TITLE, multiline=False) or questions[0].text[:60]
    cleaned_commitment = _text(commitment, what="commitment", limit=MAX_REPLY) or "\n".join(
        q.commitment for q in questions if q.commitment
    )
    assignment = Assignment.objects.create(
        hearing=hearing,
        title=cleaned_title,
        lead_department=lead,
        due_date=due,
        working_days=working_days,
        commitment=cleaned_commitment,
        origin=origin,
        created_by_id=by.pk if isinstance(by, AbstractBaseUser) else None,
    )
    assignment.questions.set(questions)
    assignment.co_departments.set(co)
    _record(
        assignment,
        Action.CREATED,
        by,
        note=Note(code=notes.CREATED, params={"department": lead.name, "due": notes.day(due)}),
        internal_note=_text(internal_note, what="internal note"),
    )
    params = {"title": assignment.title, "due": notes.day(due)}
    notify(_recipients(assignment, workflow.CREATED_NOTIFY), assignment, Action.CREATED, params)
    announce(assignment, "create")
    return assignment


@transaction.atomic
def assignments_create_each(
    *,
    hearing_id: int,
    question_ids: Sequence[int],
    lead_department_id: int,
    by: By,
    co_department_ids: Sequence[int] = (),
    working_days: int | None = None,
    due_date: date | None = None,
) -> list[Assignment]:
    """One assignment per question, all or none; each keeps its question's own commitment."""
    if not question_ids:
        raise BadRequest(_("请至少选择一个问题。"))
    return [
        assignment_create(
            hearing_id=hearing_id,
            question_ids=[question_id],
            lead_department_id=lead_department_id,
            co_department_ids=co_department_ids,
            working_days=working_days,
            due_date=due_date,
            by=by,
        )
        for question_id in dict.fromkeys(question_ids)
    ]


# ------------------------------------------------------------------------------- lead department


@transaction.atomic
def assignment_accept(*, assignment_id: int, by: By, note: str = "") -> Assignment:
    """assigned or reopened → accepted (签收)."""
    assignment = _begin("accept", assignment_id, by)
    cleaned = _text(note, what="note")
    return _finish("accept", assignment, by, _Change(note=typed(cleaned) if cleaned else Note(code=notes.ACCEPTED)))


@transaction.atomic
def assignment_return(*, assignment_id: int, by: By, reason: str, internal_note: str = "") -> Assignment:
    """assigned or accepted → returned: misrouted, back to the moderator, with a reason."""
    assignment = _begin("return", assignment_id, by)
    cleaned = _text(reason, what="reason", required=True)
    change = _Change(
        fields={"return_reason": cleaned, "extension_due_date": None, "extension_reason": ""},
        note=Note(text=cleaned, code=notes.RETURNED),
        internal_note=_text(internal_note, what="internal note"),
        notice={"reason": cleaned[:100]},
    )
    return _finish("return", assignment, by, change)


@transaction.atomic
def assignment_progress(*, assignment_id: int, by: By, note: str, internal_note: str = "") -> Assignment:
    """accepted or in_progress → in_progress, with a progress note (办理进展)."""
    assignment = _begin("progress", assignment_id, by)
    cleaned = _text(note, what="note", required=True)
    change = _Change(note=typed(cleaned), internal_note=_text(internal_note, what="internal note"))
    return _finish("progress", assignment, by, change)


def _check_files(files: Sequence[UploadedFile[Any]]) -> None:
    if len(files) > MAX_ATTACHMENTS:
        raise BadRequest(_("附件最多 %(limit)s 个。"), limit=MAX_ATTACHMENTS)
    for upload in files:
        name = upload.name or ""
        if PurePath(name).suffix.lower() not in ATTACHMENT_SUFFIXES:
            raise BadRequest(_("附件只能是这些格式：%(suffixes)s。"), suffixes=", ".join(sorted(ATTACHMENT_SUFFIXES)))
        if (upload.size or 0) > MAX_ATTACHMENT_BYTES:
            raise BadRequest(_("每个附件最大 10 MB。"))


def _score(value: object, *, what: str | Promise) -> int | None:
    """A 双向评议 score: 1 to 5 (an int, or its digits from a form); None or "" when not given."""
    if value is None or value == "":
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip() in {str(n) for n in Rating.values}:
        number = int(value.strip())
    if number is None or number not in Rating.values:
        raise BadRequest(_("%(what)s须为 1 到 5 的整数。"), what=what)
    return number


def _rating(science: object, feasibility: object, comment: str, *, required: bool) -> dict[str, Any]:
    """The department's rating (双向评议) as fields of the assignment: both scores or none (then
    no comment either); `required`: both scores must be there."""
    scores = (_score(science, what=_("科学性")), _score(feasibility, what=_("可行性")))
    cleaned = _text(comment, what="comment")
    if None in scores and (required or scores != (None, None) or cleaned):
        raise BadRequest(_("请为问题的科学性和可行性各打 1 到 5 分。"))
    rated = scores[0] is not None
    return {
        "department_science": scores[0],
        "department_feasibility": scores[1],
        "department_comment": cleaned,
        "department_rated_at": timezone.now() if rated else None,
    }


@transaction.atomic
def assignment_reply(
    *,
    assignment_id: int,
    by: By,
    text: str,
    files: Sequence[UploadedFile[Any]] = (),
    internal_note: str = "",
    science: int | str | None = None,
    feasibility: int | str | None = None,
    comment: str = "",
    rating_required: bool = False,
) -> Assignment:
    """accepted or in_progress → replied (答复), with optional attachments. A pending extension
    request lapses. 双向评议: the department rates the question or suggestion it answers,
    `science` (科学性) and `feasibility` (可行性) 1 to 5 and a `comment`, both scores or none
    (`rating_required`: the page asks for them; the REST API's old clients send none). The
    rating is this reply's: a reply without one clears an earlier loop's. It is not public."""
    assignment = _begin("reply", assignment_id, by)
    cleaned = _text(text, what="reply", limit=MAX_REPLY, required=True)
    rating = _rating(science, feasibility, comment, required=rating_required)
    _check_files(files)

    def attach(entry: TimelineEntry) -> None:
        for upload in files:
            Attachment.objects.create(
                assignment=assignment,
                entry=entry,
                file=upload,
                name=PurePath(upload.name or "").name,
                size=upload.size or 0,
            )

    change = _Change(
        fields={
            "reply": cleaned,
            "replied_at": timezone.now(),
            "extension_due_date": None,
            "extension_reason": "",
            **rating,
        },
        # The reply is also the entry's public note: a reopened assignment's earlier replies stay on record.
        note=typed(cleaned),
        internal_note=_text(internal_note, what="internal note"),
        after=attach,
    )
    return _finish("reply", assignment, by, change)


@transaction.atomic
def assignment_request_extension(*, assignment_id: int, by: By, due_date: date | None, reason: str) -> Assignment:
    """Ask for a later due date (申请延期) while handling; a moderator approves or refuses.
    One request at a time."""
    assignment = _begin("request_extension", assignment_id, by)
    if assignment.extension_due_date is not None:
        raise InvalidState(_("已有一项延期申请在等待审核。"))
    if due_date is None:
        raise BadRequest(_("请填写申请延期至哪一天。"))
    if due_date <= assignment.due_date:
        raise BadRequest(_("新期限须晚于现在的期限。"))
    if due_date > assignment.due_date + timedelta(days=365):
        raise BadRequest(_("延期最长一年。"))
    cleaned = _text(reason, what="reason", required=True)
    change = _Change(
        fields={"extension_due_date": due_date, "extension_reason": cleaned},
        note=Note(text=cleaned, code=notes.EXTENSION_REQUESTED, params={"due": notes.day(due_date)}),
    )
    return _finish("request_extension", assignment, by, change)


# ------------------------------------------------------------------------------- moderator


@transaction.atomic
def assignment_decide_extension(*, assignment_id: int, by: By, approve: bool, note: str = "") -> Assignment:
    """Approve (the due date moves) or refuse the pending extension request."""
    assignment = _begin("decide_extension", assignment_id, by)
    if assignment.extension_due_date is None:
        raise InvalidState(_("没有待审核的延期申请。"))
    cleaned = _text(note, what="note")
    requested = assignment.extension_due_date
    if approve and requested <= assignment.due_date:
        # The due date moved past the request since it was made (a recount after the holidays
        # changed): approving it would bring the deadline forward.
        raise InvalidState(
            _("现在的期限（%(due)s）已不早于申请延期至的日期，请不同意这项申请，需要时由主办单位重新申请。"),
            due=notes.day(assignment.due_date),
        )
    fields: dict[str, Any] = {"extension_due_date": None, "extension_reason": ""}
    if approve:
        fields["due_date"] = requested
        default = Note(code=notes.EXTENSION_APPROVED, params={"due": notes.day(requested)})
    else:
        default = Note(code=notes.EXTENSION_REFUSED)
    change = _Change(
        fields=fields,
        note=typed(cleaned) if cleaned else default,
        entry=Action.EXTENSION_APPROVED if approve else Action.EXTENSION_REFUSED,
    )
    return _finish("decide_extension", assignment, by, change)


@transaction.atomic
def assignment_reassign(
    *,
    assignment_id: int,
    by: By,
    lead_department_id: int,
    co_department_ids: Sequence[int] = (),
    working_days: int | None = None,
    due_date: date | None = None,
    note: str = "",
) -> Assignment:
    """returned → assigned to a (usually another) lead department. Without a new due date the
    old one stands."""
    assignment = _begin("reassign", assignment_id, by)
    lead, co = _departments(lead_department_id, co_department_ids)
    fields: dict[str, Any] = {"lead_department": lead, "return_reason": ""}
    if working_days is not None or due_date is not None:
        fields["due_date"] = _due_date(working_days=working_days, due_date=due_date)
        fields["working_days"] = working_days
    cleaned = _text(note, what="note")
    due = fields.get("due_date", assignment.due_date)
    given = typed(cleaned)
    if not cleaned:
        given = Note(code=notes.REASSIGNED, params={"department": lead.name, "due": notes.day(due)})
    if "due_date" in fields:
        # A new time limit counts from today even when it lands on the old due date (the working
        # days left, given again): selectors.due_date_start reads this mark.
        given = Note(text=given.text, code=given.code, params={**given.params, notes.NEW_LIMIT: working_days})
    change = _Change(fields=fields, note=given, after=lambda entry: assignment.co_departments.set(co))
    return _finish("reassign", assignment, by, change)


@transaction.atomic
def assignment_reopen(
    *, assignment_id: int, by: By, working_days: int | None = None, due_date: date | None = None, note: str = ""
) -> Assignment:
    """evaluated as 不满意 → reopened: handled again with a new due date; the loop count rises.
    The earlier reply and verdict stay in the timeline."""
    assignment = _begin("reopen", assignment_id, by)
    if assignment.verdict != Verdict.UNSATISFIED:
        raise InvalidState(_("只有代表评价为不满意的答复才能重新办理。"))
    due = _due_date(working_days=working_days, due_date=due_date)
    cleaned = _text(note, what="note")
    loop = assignment.loop + 1
    change = _Change(
        fields={
            "due_date": due,
            "working_days": working_days,
            "loop": loop,
            "reply": "",
            "replied_at": None,
            "verdict": "",
            "verdict_comment": "",
            "evaluated_at": None,
        },
        note=typed(cleaned) if cleaned else Note(code=notes.REOPENED, params={"loop": loop, "due": notes.day(due)}),
    )
    return _finish("reopen", assignment, by, change)


def _review_months(value: object) -> int | None:
    """1 to MAX_REVIEW_MONTHS months, or None (no 回头看); anything else is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REVIEW_MONTHS:
        raise BadRequest(_("回头看安排在办结后 1 到 %(limit)s 个月。"), limit=MAX_REVIEW_MONTHS)
    return value


@transaction.atomic
def assignment_close(
    *,
    assignment_id: int,
    by: By,
    resolved: bool | None = None,
    note: str = "",
    review_months: int | _Default | None = FROM_ASSIGNMENT,
) -> Assignment:
    """evaluated → closed (办结), resolved or closed but unresolved (by default: resolved unless
    the deputy was unsatisfied). Schedules the 回头看 `review_months` after today (None: none;
    not given: the assignment's own interval, Assignment.review_months); a given interval
    becomes the assignment's. An earlier 回头看 (one that found a relapse) stays in the
    timeline; the new one starts unrecorded."""
    assignment = _begin("close", assignment_id, by)
    months = _review_months(assignment.review_months if review_months is FROM_ASSIGNMENT else review_months)
    cleaned = _text(note, what="note")
    is_resolved = assignment.verdict != Verdict.UNSATISFIED if resolved is None else resolved
    review_due = add_months(local_today(), months) if months else None
    default = Note(
        code=notes.CLOSED,
        params={"resolved": is_resolved, "review_due": notes.day(review_due) if review_due else None},
    )
    change = _Change(
        fields={
            "resolved": is_resolved,
            "closed_at": timezone.now(),
            "review_months": months,
            "review_due": review_due,
            "review_outcome": "",
            "review_note": "",
            "reviewed_at": None,
        },
        note=typed(cleaned) if cleaned else default,
    )
    return _finish("close", assignment, by, change)


@transaction.atomic
def assignment_review(
    *,
    assignment_id: int,
    by: By,
    outcome: str,
    note: str,
    working_days: int | None = None,
    due_date: date | None = None,
) -> Assignment:
    """Record the 回头看 of a closed assignment: did the fix hold? Once per closing. A relapse
    (问题出现反弹) reopens it, as an unsatisfied verdict does: handled again with a new due
    date (`working_days` or `due_date`; by default DEFAULT_WORKING_DAYS), the loop count up,
    the liaisons told. The timeline keeps the review, then the reopening."""
    assignment = _begin("review", assignment_id, by)
    if assignment.review_due is None:
        raise InvalidState(_("这件交办件没有安排回头看。"))
    if assignment.reviewed_at is not None:
        raise InvalidState(_("回头看已经记录。"))
    if outcome not in ReviewOutcome.values:
        raise BadRequest(_("请选择回头看结果。"))
    cleaned = _text(note, what="note", required=True)
    then = None
    if outcome == ReviewOutcome.RELAPSED:
        if working_days is None and due_date is None:
            working_days = DEFAULT_WORKING_DAYS
        due = _due_date(working_days=working_days, due_date=due_date)
        loop = assignment.loop + 1
        then = _Then(
            fields={
                "due_date": due,
                "working_days": working_days,
                "loop": loop,
                "resolved": None,
                "closed_at": None,
                "reply": "",
                "replied_at": None,
                "verdict": "",
                "verdict_comment": "",
                "evaluated_at": None,
                "extension_due_date": None,
                "extension_reason": "",
            },
            note=Note(code=notes.RELAPSE_REOPENED, params={"loop": loop, "due": notes.day(due)}),
        )
    change = _Change(
        fields={"review_outcome": outcome, "review_note": cleaned, "reviewed_at": timezone.now()},
        note=Note(text=cleaned, code=notes.REVIEWED, params={"outcome": outcome}),
        then=then,
    )
    return _finish("review", assignment, by, change)


@transaction.atomic
def assignment_set_review(
    *, assignment_id: int, by: By, months: int | None, due_date: date | None = None
) -> Assignment:
    """Set an assignment's 回头看 (a moderator of its hearing): the interval after closing
    (`months`; None: no 回头看) and, once closed and not yet reviewed, its date (`due_date`, or
    `months` after the closing day). Before closing only the interval is kept, for the close.
    Not a workflow step: the status does not change; the audit log records it."""
    assignment = _assignment_for_update(assignment_id)
    _require_moderator(assignment, by)
    cleaned_months = _review_months(months)
    fields: dict[str, Any] = {"review_months": cleaned_months}
    if assignment.status == Status.CLOSED:
        if assignment.reviewed_at is not None:
            raise InvalidState(_("回头看已经记录。"))
        if cleaned_months is None:
            if due_date is not None:
                raise BadRequest(_("不安排回头看时不能指定回头看日期。"))
            fields["review_due"] = None
        elif due_date is not None:
            today = local_today()
            if due_date < today:
                raise BadRequest(_("回头看日期不能早于今天。"))
            if due_date > today + timedelta(days=31 * MAX_REVIEW_MONTHS):
                raise BadRequest(_("回头看日期不能晚于 %(limit)s 个月后。"), limit=MAX_REVIEW_MONTHS)
            fields["review_due"] = due_date
        else:
            closed = timezone.localdate(assignment.closed_at) if assignment.closed_at else local_today()
            fields["review_due"] = add_months(closed, cleaned_months)
    elif due_date is not None:
        raise InvalidState(_("办结后才能指定回头看日期。"))
    for name, value in fields.items():
        setattr(assignment, name, value)
    assignment.save(update_fields=[*fields, "updated_at"])
    audit.record(
        action="assignment.set_review",
        actor=by,
        subject=assignment,
        payload={"review_months": cleaned_months, "review_due": assignment.review_due},
    )
    return assignment


# ------------------------------------------------------------------------------- deputy


@transaction.atomic
def assignment_evaluate(*, assignment_id: int, by: By, verdict: str, comment: str = "") -> Assignment:
    """replied → evaluated: the deputy's verdict (满意 / 基本满意 / 不满意) on the reply.
    不满意 needs a comment saying why."""
    assignment = _begin("evaluate", assignment_id, by)
    if verdict not in Verdict.values:
        raise BadRequest(_("请选择满意、基本满意或不满意。"))
    cleaned = _text(comment, what="comment", required=verdict == Verdict.UNSATISFIED)
    change = _Change(
        fields={"verdict": verdict, "verdict_comment": cleaned, "evaluated_at": timezone.now()},
        note=Note(text=cleaned, code=notes.VERDICT_COMMENT if cleaned else notes.VERDICT, params={"verdict": verdict}),
        notice={"verdict": verdict},
    )
    return _finish("evaluate", assignment, by, change)


# ------------------------------------------------------------------------------- office staff: holidays


@dataclass(frozen=True)
class RecomputeReport:
    changed: list[Assignment]
    skipped: list[int]  # asked for, but open no more or its due date already right


@transaction.atomic
def assignments_due_recompute(*, assignment_ids: Sequence[int], by: AbstractBaseUser | None) -> RecomputeReport:
    """Office staff count the due dates of open assignments given in working days again from
    the day each was given, after the holidays changed (selectors.due_drifts lists them): never
    silently, each an entry in the timeline (`due_recomputed`, the status unchanged), an audit
    record and a notice to the lead department. One that no longer differs is skipped; when
    none does, nothing changes and it is refused."""
    hearing_guards.require_office_staff(by)
    wanted = list(dict.fromkeys(assignment_ids))
    if not wanted:
        raise BadRequest(_("请选择要重算期限的交办件。"))
    locked = {a.pk: a for a in Assignment.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
    changed: list[Assignment] = []
    skipped: list[int] = []
    for pk in wanted:
        assignment = locked.get(pk)
        drift = selectors.due_drift(assignment) if assignment is not None else None
        if assignment is None or drift is None:
            skipped.append(pk)
            continue
        assignment.due_date = drift.counted
        assignment.save(update_fields=["due_date", "updated_at"])
        params = {"days": assignment.working_days, "old": notes.day(drift.now), "due": notes.day(drift.counted)}
        _record(assignment, Action.DUE_RECOMPUTED, by, note=Note(code=notes.DUE_RECOMPUTED, params=params))
        notify(liaisons(assignment), assignment, Action.DUE_RECOMPUTED, {"title": assignment.title, **params})
        announce(assignment, "recompute_due")
        changed.append(assignment)
    if not changed:
        raise InvalidState(_("所选交办件的期限无需重算。"))
    return RecomputeReport(changed=changed, skipped=skipped)
