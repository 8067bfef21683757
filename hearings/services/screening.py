"""The sensitive-word list (敏感词) and blocked viewers: kept by the office, audited.

`by` is the acting user, None for the system (`manage.py sensitive_words`); only office staff
change the list. A question that matches waits for a moderator, flagged (questions.py); a
blocked viewer's further questions never reach the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

import audit
from core import limits
from core.errors import FIELD_REASON, BadRequest, Forbidden, NotFound, clean_or_refuse
from hearings import guards, screening, selectors
from hearings.models import BlockedViewer, Question, SensitiveWord
from hearings.screening import normal_form

FIELD_WORD = pgettext_lazy("field in a sentence", "敏感词")


@dataclass(frozen=True)
class WordsChanged:
    changed: list[str]  # added (or removed), as stored
    unchanged: list[str]  # already there (or not there)


def _clean_words(words: Sequence[str]) -> list[str]:
    if not words:
        raise BadRequest(_("请至少给出一个敏感词。"))
    if len(words) > limits.SENSITIVE_WORDS_AT_ONCE:
        raise BadRequest(_("一次最多 %(n)s 个敏感词。"), n=limits.SENSITIVE_WORDS_AT_ONCE)
    cleaned = []
    for word in words:
        word = clean_or_refuse(word, what=FIELD_WORD, max_length=limits.SENSITIVE_WORD, multiline=False)
        if not normal_form(word):
            raise BadRequest(_("“%(word)s”只有标点或空白，不能作为敏感词。"), word=word)
        cleaned.append(word)
    return cleaned


@transaction.atomic
def sensitive_words_add(*, words: Sequence[str], by: AbstractBaseUser | None) -> WordsChanged:
    """Add words; one whose normal form is on the list already (as 敏感词 covers ＡＢＣ and
    abc) is left as it is. All or nothing: one invalid word refuses them all."""
    guards.require_office_staff(by)
    cleaned = _clean_words(words)
    known = {normal_form(word) for word in SensitiveWord.objects.values_list("word", flat=True)}
    added, unchanged = [], []
    for word in cleaned:
        form = normal_form(word)
        if form in known:
            unchanged.append(word)
            continue
        known.add(form)
        added.append(word)
    SensitiveWord.objects.bulk_create([SensitiveWord(word=word, added_by_id=by.pk if by else None) for word in added])
    transaction.on_commit(screening.forget)
    if added:
        audit.record(action="sensitive_words.add", actor=by, subject="sensitive_words:list", payload={"words": added})
    return WordsChanged(added, unchanged)


@transaction.atomic
def sensitive_words_remove(*, words: Sequence[str], by: AbstractBaseUser | None) -> WordsChanged:
    """Remove words (matched by normal form); ones not on the list are reported unchanged."""
    guards.require_office_staff(by)
    cleaned = _clean_words(words)
    stored = {normal_form(w): (pk, w) for pk, w in SensitiveWord.objects.values_list("pk", "word")}
    removed, unchanged = [], []
    for word in cleaned:
        entry = stored.pop(normal_form(word), None)
        if entry is None:
            unchanged.append(word)
        else:
            SensitiveWord.objects.filter(pk=entry[0]).delete()
            removed.append(entry[1])
    transaction.on_commit(screening.forget)
    if removed:
        audit.record(
            action="sensitive_words.remove", actor=by, subject="sensitive_words:list", payload={"words": removed}
        )
    return WordsChanged(removed, unchanged)


@transaction.atomic
def viewer_block(*, hearing_id: int, question_id: int, by: AbstractBaseUser | None, reason: str = "") -> BlockedViewer:
    """Block the viewer who asked a question (its `viewer` identity): their further asks, in
    any hearing, are dropped to the hidden list. Moderators of the hearing and staff."""
    reason = clean_or_refuse(reason, what=FIELD_REASON, max_length=limits.HIDE_REASON, multiline=False, required=False)
    hearing = guards.hearing_for_update(hearing_id)
    if by is not None and not selectors.may_edit_agenda(hearing, by):
        raise Forbidden(_("只有本场问政会的主持人或会务工作人员可以这样做。"))
    question = Question.objects.filter(pk=question_id, hearing=hearing).first()
    if question is None:
        raise NotFound(_("本场问政会没有这个问题。"))
    if not question.viewer:
        raise BadRequest(_("这个问题不是观众提的，无法屏蔽提问人。"))
    blocked, created = BlockedViewer.objects.get_or_create(
        viewer=question.viewer, defaults={"reason": reason, "by_id": by.pk if by else None}
    )
    if created:
        audit.record(
            action="viewer.block", actor=by, subject=question, payload={"hearing": hearing.pk, "reason": reason}
        )
    return blocked


def is_blocked(viewer: str) -> bool:
    return bool(viewer) and BlockedViewer.objects.filter(viewer=viewer).exists()
