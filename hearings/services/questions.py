"""Questions: asked, moderated (approve, reject, edit, merge), put on stage and answered.

As every service here: one rule-checked change in one transaction that publishes its events
on commit; `by` is the acting user (None for the system); a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.errors import (
    FIELD_ANSWER_NOTE,
    FIELD_COMMITMENT,
    FIELD_NAME,
    FIELD_QUESTION,
    FIELD_REASON,
    BadRequest,
    DomainError,
    Forbidden,
    InvalidState,
    NotFound,
    clean_or_refuse,
    text_refused,
)
from core.text import TextError, clean_text
from hearings import guards, selectors
from hearings.contact import clean_contact
from hearings.models import AgendaItem, Department, Hearing, Like, Question
from hearings.screening import matched_words
from hearings.services.agenda import UNCHANGED, _Unchanged
from hearings.services.screening import is_blocked
from live.publish import publish
from live.schema import Event, QuestionData, QuestionRemovedData, QuestionStageData

# core/limits.py's, under the names this module has used
MAX_QUESTION_LENGTH = limits.QUESTION_TEXT
MAX_NAME_LENGTH = limits.ASKER_NAME
MAX_NOTE_LENGTH = limits.ANSWER_NOTE  # an answer note or commitment

# Asked by a viewer (the live page's or the collection page's), not a signed-in person.
ANONYMOUS_SOURCES = (Question.Source.PUBLIC, Question.Source.COLLECTED)


def _question_for_update(hearing: Hearing, question_id: int) -> Question:
    question = Question.objects.select_for_update().filter(pk=question_id, hearing=hearing).first()
    if question is None or question.merged_into_id is not None:
        raise NotFound(_("本场问政会没有这个问题。"))
    return question


def question_events(question: Question, *, was_public: bool, new: bool = False) -> tuple[Event | None, Event]:
    """The public and control events for a question whose state changed (or that is `new`).
    The control view's QUESTION carries its flags; the public's never does."""
    control = Event(
        type="question.new" if new else "question.updated",
        data=QuestionData(question=selectors.question_out(question, control=True)),
    )
    public_payload = QuestionData(question=selectors.question_out(question))
    is_public = question.status in selectors.PUBLIC_QUESTION_STATUSES
    if is_public and not was_public:
        return Event(type="question.new", data=public_payload), control
    if is_public:
        return Event(type="question.updated", data=public_payload), control
    if was_public:  # withdrawn (hidden): the public learns its status and drops it
        return Event(type="question.updated", data=public_payload), control
    return None, control


def _clean_text(text: str) -> str:
    """A question's text, cleaned by core.text.clean_text (trimmed, 1–500 characters)."""
    try:
        return clean_text(text, max_length=MAX_QUESTION_LENGTH)
    except TextError as exc:
        if exc.problem in ("empty", "invisible"):
            raise BadRequest(_("问题内容不能为空。")) from None
        if exc.problem == "too_long":
            raise BadRequest(_("问题内容最多 %(limit)s 字。"), limit=MAX_QUESTION_LENGTH) from None
        raise text_refused(FIELD_QUESTION, exc) from None


@transaction.atomic
def question_submit(
    *,
    hearing_id: int,
    text: str,
    source: str,
    asker: AbstractBaseUser | None = None,
    asker_name: str = "",
    viewer: str = "",
    item_id: int | None = None,
    parent_id: int | None = None,
    category: str | None = None,
    contact: str = "",
) -> Question:
    """Ask a question (or a follow-up, 追问, with `parent_id`), optionally in one of the
    hearing's categories, and (collected ones) with the asker's contact for the office.

    Text is trimmed and must be 1–500 characters. Public questions wait for a moderator;
    deputies' wait only when the hearing says so; a moderator's are approved. A question whose
    text or name holds a sensitive word waits, flagged, whoever asked. A blocked viewer's
    question is kept on the hidden list: no moderator's queue shows it. Asking closes when the
    hearing ends."""
    cleaned = _clean_text(text)
    name = clean_or_refuse(asker_name, what=FIELD_NAME, max_length=MAX_NAME_LENGTH, multiline=False, required=False)
    contact = clean_contact(contact)
    if source not in Question.Source.values:
        raise BadRequest(_("问题来源无效。"))
    hearing = guards.hearing_for_update(hearing_id)
    if hearing.status == Hearing.Status.ENDED:
        raise InvalidState(_("问政会已结束。"))
    category = _category(hearing, category)
    if source == Question.Source.DEPUTY and not selectors.is_deputy(hearing, asker):
        raise Forbidden(_("只有本场问政会的代表可以以代表身份提问。"))
    if source == Question.Source.MODERATOR:
        guards.require_moderator(hearing, asker)
    parent = None
    if parent_id is not None:
        parent = Question.objects.filter(pk=parent_id, hearing=hearing, merged_into__isnull=True).first()
        if parent is None or parent.status not in selectors.PUBLIC_QUESTION_STATUSES:
            raise NotFound(_("要追问的问题已不存在。"))
        if item_id is None:
            item_id = parent.item_id
    if item_id is not None and not AgendaItem.objects.filter(pk=item_id, hearing=hearing).exists():
        raise NotFound(_("本场问政会没有这项议程。"))
    if item_id is None and parent is None and source != Question.Source.COLLECTED:
        item_id = (
            AgendaItem.objects.filter(hearing=hearing, status=AgendaItem.Status.CURRENT)
            .values_list("pk", flat=True)
            .first()
        )
    sensitive = matched_words(cleaned, name)
    dropped = source in ANONYMOUS_SOURCES and is_blocked(viewer)
    needs_approval = (
        bool(sensitive)
        or dropped
        or source in (Question.Source.PUBLIC, Question.Source.COLLECTED)
        or (source == Question.Source.DEPUTY and hearing.deputy_questions_need_approval)
    )
    now = timezone.now()
    question = Question.objects.create(
        hearing=hearing,
        item_id=item_id,
        parent=parent,
        text=cleaned,
        source=source,
        asker_id=asker.pk if asker is not None and source not in ANONYMOUS_SOURCES else None,
        asker_name=name,
        viewer=viewer[:64],
        category=category,
        contact=contact,
        sensitive_words=sensitive,
        dropped=dropped,
        status=Question.Status.PENDING if needs_approval else Question.Status.APPROVED,
        approved_at=None if needs_approval else now,
    )
    if dropped:
        return question  # on the hidden list: nobody is told
    public, control = question_events(question, was_public=False, new=True)
    publish(hearing, public=public, control=control)
    return question


def _category(hearing: Hearing, category: str | None) -> str:
    """A question's category: "" (none), or one of the hearing's."""
    if not category:
        return ""
    if category not in hearing.categories:
        raise BadRequest(_("请从本场问政会的问题类别中选择。"))
    return category


@transaction.atomic
def question_approve(*, hearing_id: int, question_id: int, by: AbstractBaseUser | None) -> Question:
    """pending → approved: from now on the public sees it."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_triager(hearing, by)
    question = _question_for_update(hearing, question_id)
    guards.require_not_ended(hearing)
    if question.status != Question.Status.PENDING:
        raise InvalidState(_("这个问题已不在待审核状态。"))
    question.status = Question.Status.APPROVED
    question.approved_at = timezone.now()
    question.save(update_fields=["status", "approved_at"])
    audit.record(action="question.approve", actor=by, subject=question, payload={"hearing": hearing.pk})
    public, control = question_events(question, was_public=False)
    publish(hearing, public=public, control=control)
    return question


@transaction.atomic
def question_reject(*, hearing_id: int, question_id: int, by: AbstractBaseUser | None) -> Question:
    """pending → rejected; the public never sees it."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_triager(hearing, by)
    question = _question_for_update(hearing, question_id)
    guards.require_not_ended(hearing)
    if question.status != Question.Status.PENDING:
        raise InvalidState(_("这个问题已不在待审核状态。"))
    question.status = Question.Status.REJECTED
    question.save(update_fields=["status"])
    audit.record(action="question.reject", actor=by, subject=question, payload={"hearing": hearing.pk})
    _public, control = question_events(question, was_public=False)
    publish(hearing, public=None, control=control)
    return question


@transaction.atomic
def question_edit(*, hearing_id: int, question_id: int, text: str, by: AbstractBaseUser | None) -> Question:
    """Fix a typo in a pending or approved question."""
    cleaned = _clean_text(text)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    question = _question_for_update(hearing, question_id)
    guards.require_not_ended(hearing)
    if question.status not in (Question.Status.PENDING, Question.Status.APPROVED):
        raise InvalidState(_("这个问题已不能修改。"))
    audit.record(action="question.edit", actor=by, subject=question, payload={"from": question.text, "to": cleaned})
    question.text = cleaned
    question.sensitive_words = matched_words(cleaned, question.asker_name)
    question.save(update_fields=["text", "sensitive_words"])
    was_public = question.status == Question.Status.APPROVED
    public, control = question_events(question, was_public=was_public)
    publish(hearing, public=public, control=control)
    return question


@transaction.atomic
def question_hide(*, hearing_id: int, question_id: int, reason: str, by: AbstractBaseUser | None) -> Question:
    """approved or answered → hidden: withdrawn from public view (public sockets get its new
    status and drop it; snapshots leave it out). The reason is kept and audited, never public.
    A question on stage is taken off the stage first."""
    reason = clean_or_refuse(reason, what=FIELD_REASON, max_length=limits.HIDE_REASON, multiline=False)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_triager(hearing, by)
    question = _question_for_update(hearing, question_id)
    if question.status == Question.Status.ON_STAGE:
        raise InvalidState(_("请先让这个问题下台，再撤下。"))
    if question.status not in (Question.Status.APPROVED, Question.Status.ANSWERED):
        raise InvalidState(_("只有已公开的问题可以撤下。"))
    question.status = Question.Status.HIDDEN
    question.hidden_reason = reason
    question.save(update_fields=["status", "hidden_reason"])
    audit.record(action="question.hide", actor=by, subject=question, payload={"hearing": hearing.pk, "reason": reason})
    public, control = question_events(question, was_public=True)
    publish(hearing, public=public, control=control)
    return question


@transaction.atomic
def question_stage(*, hearing_id: int, question_id: int | None, by: AbstractBaseUser | None) -> Question | None:
    """Put an approved question on stage (None: clear the stage). At most one is on stage;
    one that was there and not answered goes back to approved. Publishes `question.stage`
    with both ids."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    question = _question_for_update(hearing, question_id) if question_id is not None else None
    guards.require_live(hearing)
    if question is not None and question.status != Question.Status.APPROVED:
        raise InvalidState(_("只有待回答的问题可以上台。"))
    previous = Question.objects.select_for_update().filter(hearing=hearing, status=Question.Status.ON_STAGE).first()
    if previous is None and question is None:
        raise InvalidState(_("台上没有问题。"))
    if previous is not None:
        previous.status = Question.Status.APPROVED
        previous.save(update_fields=["status"])
    if question is not None:
        question.status = Question.Status.ON_STAGE
        question.staged_at = timezone.now()
        question.save(update_fields=["status", "staged_at"])
    audit.record(
        action="question.stage",
        actor=by,
        subject=hearing,
        payload={"question": question and question.pk, "previous": previous and previous.pk},
    )
    # One event says it all (clients set `question` on_stage and `previous` back to approved):
    # a stage change is what every phone of the crowd receives, so it costs one frame, not three.
    publish(
        hearing,
        public=Event(
            type="question.stage",
            data=QuestionStageData(
                question=question.pk if question else None, previous=previous.pk if previous else None
            ),
        ),
    )
    return question


def answer(hearing: Hearing, question: Question, *, now: datetime, note: str = "", commitment: str = "") -> None:
    was_on_stage = question.status == Question.Status.ON_STAGE
    question.status = Question.Status.ANSWERED
    question.answered_at = now
    if note:
        question.answer_note = note
    if commitment:
        question.commitment = commitment
    question.save(update_fields=["status", "answered_at", "answer_note", "commitment"])
    public, control = question_events(question, was_public=True)
    publish(hearing, public=public, control=control)
    if was_on_stage:
        publish(
            hearing,
            public=Event(type="question.stage", data=QuestionStageData(question=None, previous=question.pk)),
        )


@transaction.atomic
def question_answered(
    *, hearing_id: int, question_id: int, by: AbstractBaseUser | None, note: str = "", commitment: str = ""
) -> Question:
    """on_stage or approved → answered, with an optional answer note and commitment (承诺).
    The stage clears if it held this question."""
    note = clean_or_refuse(note, what=FIELD_ANSWER_NOTE, max_length=MAX_NOTE_LENGTH, required=False)
    commitment = clean_or_refuse(commitment, what=FIELD_COMMITMENT, max_length=MAX_NOTE_LENGTH, required=False)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    question = _question_for_update(hearing, question_id)
    guards.require_not_ended(hearing)
    if question.status not in (Question.Status.ON_STAGE, Question.Status.APPROVED):
        raise InvalidState(_("只有待回答或正在回答的问题可以标记为已回答。"))
    answer(hearing, question, now=timezone.now(), note=note, commitment=commitment)
    audit.record(
        action="question.answered", actor=by, subject=question, payload={"note": note, "commitment": commitment}
    )
    return question


@transaction.atomic
def question_merge(*, hearing_id: int, question_id: int, into_id: int, by: AbstractBaseUser | None) -> Question:
    """Merge a duplicate into another question of the hearing. The duplicate leaves every
    list; its likers count for the kept question, once each; its asker (and those of the
    questions merged into it) joins the kept question's asker line."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_triager(hearing, by)
    if question_id == into_id:
        raise BadRequest(_("问题不能合并到它自己。"))
    duplicate = _question_for_update(hearing, question_id)
    target = _question_for_update(hearing, into_id)
    guards.require_not_ended(hearing)
    if duplicate.status == Question.Status.ON_STAGE:
        raise InvalidState(_("台上的问题不能被合并。"))
    if target.status == Question.Status.REJECTED:
        raise InvalidState(_("不能合并到未采用的问题。"))
    was_public = duplicate.status in selectors.PUBLIC_QUESTION_STATUSES
    if was_public and target.status == Question.Status.PENDING:
        # The public would lose a question it sees and not get the one it went into.
        raise InvalidState(_("请先通过要保留的问题，再把重复的问题合并进去。"))
    # Move the duplicate's likes; a viewer who liked both counts once.
    already = Like.objects.filter(question=target).values_list("viewer", flat=True)
    Like.objects.filter(question=duplicate, viewer__in=already).delete()
    Like.objects.filter(question=duplicate).update(question=target)
    target.likes = Like.objects.filter(question=target).count()
    # Both askers stay on the kept question's asker line (and those merged into the duplicate).
    target.also_asked = [*target.also_asked, selectors.own_asker(duplicate), *duplicate.also_asked]
    target.save(update_fields=["likes", "also_asked"])
    Question.objects.filter(merged_into=duplicate).update(merged_into=target)
    duplicate.merged_into = target
    duplicate.status = Question.Status.REJECTED
    duplicate.likes = 0
    duplicate.save(update_fields=["merged_into", "status", "likes"])
    audit.record(
        action="question.merge", actor=by, subject=duplicate, payload={"into": target.pk, "likes": target.likes}
    )
    # Follow-ups of the duplicate now follow the kept question.
    for child in Question.objects.select_for_update().filter(parent=duplicate):
        child.parent = target
        child.save(update_fields=["parent"])
        child_public, child_control = question_events(
            child, was_public=child.status in selectors.PUBLIC_QUESTION_STATUSES
        )
        publish(hearing, public=child_public, control=child_control)
    removed = Event(type="question.removed", data=QuestionRemovedData(question=duplicate.pk, merged_into=target.pk))
    publish(hearing, public=removed if was_public else None, control=removed)
    target_public, target_control = question_events(
        target, was_public=target.status in selectors.PUBLIC_QUESTION_STATUSES
    )
    publish(hearing, public=target_public, control=target_control)
    return target


# ------------------------------------------------------------------------------- triage (many at once)


def _batch(question_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(question_ids))
    if not ids:
        raise BadRequest(_("请至少选择一个问题。"))
    if len(ids) > limits.TRIAGE_BATCH:
        raise BadRequest(_("一次最多处理 %(n)s 个问题。"), n=limits.TRIAGE_BATCH)
    return ids


def _each(
    change: Callable[..., Question], *, hearing_id: int, question_id: int, by: AbstractBaseUser | None
) -> Question:
    """One question of a batch: a refusal names it (the batch as a whole is refused)."""
    try:
        return change(hearing_id=hearing_id, question_id=question_id, by=by)
    except DomainError as exc:
        raise type(exc)(_("问题 #%(id)s：%(reason)s"), id=str(question_id), reason=exc.message) from None


@transaction.atomic
def questions_approve(*, hearing_id: int, question_ids: Sequence[int], by: AbstractBaseUser | None) -> list[Question]:
    """Approve several pending questions: all or nothing (one that cannot be approved refuses
    the batch, naming it). Each is audited and published as question_approve does."""
    ids = _batch(question_ids)
    return [_each(question_approve, hearing_id=hearing_id, question_id=pk, by=by) for pk in ids]


@transaction.atomic
def questions_reject(*, hearing_id: int, question_ids: Sequence[int], by: AbstractBaseUser | None) -> list[Question]:
    """Reject several pending questions: all or nothing, as questions_approve."""
    ids = _batch(question_ids)
    return [_each(question_reject, hearing_id=hearing_id, question_id=pk, by=by) for pk in ids]


@transaction.atomic
def question_assign(
    *,
    hearing_id: int,
    question_ids: Sequence[int],
    item_id: int | _Unchanged | None = UNCHANGED,
    department_id: int | _Unchanged | None = UNCHANGED,
    by: AbstractBaseUser | None,
) -> list[Question]:
    """Attach questions to an agenda item of the hearing and/or the department meant to answer
    them (None takes either away; UNCHANGED keeps it). Moderators and staff; all or nothing;
    one audit entry; each question's new state is published (to the public too when public)."""
    ids = _batch(question_ids)
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_triager(hearing, by)
    if item_id is UNCHANGED and department_id is UNCHANGED:
        raise BadRequest(_("请选择要分配的议程或部门。"))
    if isinstance(item_id, int) and not AgendaItem.objects.filter(pk=item_id, hearing=hearing).exists():
        raise NotFound(_("本场问政会没有这项议程。"))
    if isinstance(department_id, int) and not Department.objects.filter(pk=department_id).exists():
        raise NotFound(_("没有这个部门。"))
    questions = list(
        Question.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, hearing=hearing, merged_into__isnull=True)
        .select_related("asker__person")
        .order_by("id")
    )
    missing = sorted(set(ids) - {q.pk for q in questions})
    if missing:
        raise NotFound(_("本场问政会没有问题 #%(id)s。"), id=str(missing[0]))
    fields = []
    if item_id is not UNCHANGED:
        fields.append("item")
    if department_id is not UNCHANGED:
        fields.append("department")
    for question in questions:
        if item_id is not UNCHANGED:
            question.item_id = item_id
        if department_id is not UNCHANGED:
            question.department_id = department_id
        question.save(update_fields=fields)
    audit.record(
        action="question.assign",
        actor=by,
        subject=hearing,
        payload={
            "questions": [q.pk for q in questions],
            **({"item": item_id} if item_id is not UNCHANGED else {}),
            **({"department": department_id} if department_id is not UNCHANGED else {}),
        },
    )
    for question in questions:
        public_status = question.status in selectors.PUBLIC_QUESTION_STATUSES
        public, control = question_events(question, was_public=public_status)
        publish(hearing, public=public if public_status else None, control=control)
    return questions
