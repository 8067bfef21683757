"""Question collection before the session (督前征集): the public page /hearings/<id>/collect/.

A collected question goes through question_submit's rules (text, name, category, screening,
blocked viewers, moderation); this adds the collection's own: the window, a category when the
hearing has categories, the contact, and the per-viewer and per-address limits."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.clientaddr import limit_key
from core.errors import FIELD_NAME, BadRequest, Forbidden, InvalidState, RateLimited, clean_or_refuse
from hearings import guards, selectors
from hearings.contact import clean_contact
from hearings.models import Hearing, Question
from hearings.services.questions import _clean_text, question_submit

log = logging.getLogger(__name__)

WINDOW = 60  # seconds: the limits count per minute
TOO_MANY = _("提交太频繁，请稍后再试。")


def _local(value: object) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")  # type: ignore[arg-type]


def limit_keys(*, sender: str, address: str | None, now: float | None = None) -> list[str]:
    """The cache keys counting `sender`'s (and `address`'s) collected questions this minute."""
    window = int((time.time() if now is None else now) // WINDOW)
    keys = [f"collect:sender:{sender}:{window}"]
    if address is not None:
        keys.append(f"collect:address:{limit_key(address)}:{window}")
    return keys


def _count(key: str) -> int:
    cache.add(key, 0, timeout=WINDOW * 2)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=WINDOW * 2)
        return 1


def _allowed(*, sender: str, address: str | None) -> bool:
    """Count one question for the sender and its address; False past either limit. A sender
    over its own limit spends none of its address's. With the cache away (Redis down) nothing is
    counted and the question taken: the database's own rules still hold."""
    sender_key, *address_key = limit_keys(sender=sender, address=address)
    try:
        if _count(sender_key) > settings.COLLECT["PER_MINUTE"]:
            return False
        return not address_key or _count(address_key[0]) <= settings.COLLECT["ADDRESS_PER_MINUTE"]
    except Exception:
        log.warning("collection limit skipped: the cache did not answer", exc_info=True)
        return True


@transaction.atomic
def question_collect(
    *,
    hearing_id: int,
    text: str,
    category: str | None = None,
    name: str = "",
    contact: str = "",
    viewer: str = "",
    address: str | None = None,
    deputy: AbstractBaseUser | None = None,
) -> Question:
    """A question sent through the collection page while the hearing's collection window is
    open (opens ≤ now < closes), never once the hearing has ended nor when it has no window.

    From the public (`viewer`, the page's viewer cookie; `address`, the client's) it is a
    collected question with an optional name and contact (a mobile number or an e-mail, for the
    office only). From a deputy of the hearing (`deputy`) it is the deputy's own question,
    under their name, with no contact. Either way it goes through question_submit: a category
    of the hearing's (required when it has categories), the screening, the hidden list of
    blocked viewers, and moderation (a collected question always waits for a moderator).
    Each sender (viewer or deputy) and each address may send settings.COLLECT's number a
    minute; past it RateLimited, after every other check, nothing stored."""
    cleaned = _clean_text(text)
    name = clean_or_refuse(name, what=FIELD_NAME, max_length=limits.ASKER_NAME, multiline=False, required=False)
    contact = clean_contact(contact)
    hearing = guards.hearing_for_update(hearing_id)
    state = selectors.collect_state(hearing)
    if state == selectors.COLLECT_ENDED:
        raise InvalidState(_("问政会已结束，问题征集已关闭。"))
    if state == selectors.COLLECT_NONE:
        raise InvalidState(_("本场问政会不征集问题。"))
    if state == selectors.COLLECT_BEFORE:
        raise InvalidState(_("问题征集尚未开始，开始时间：%(at)s。"), at=_local(hearing.collect_opens_at))
    if state == selectors.COLLECT_AFTER:
        raise InvalidState(_("问题征集已于 %(at)s 截止。"), at=_local(hearing.collect_closes_at))
    if hearing.categories and not category:
        raise BadRequest(_("请选择问题类别。"))
    if deputy is not None:
        if not selectors.is_deputy(hearing, deputy):
            raise Forbidden(_("只有本场问政会的代表可以以代表身份提问。"))
        sender, address, source = f"deputy:{deputy.pk}", None, Question.Source.DEPUTY
        name, contact = "", ""
    else:
        if not viewer:
            raise Forbidden(_("请先打开征集页面再提交（需要允许本站的 Cookie）。"))
        sender, source = f"viewer:{viewer}", Question.Source.COLLECTED
    # question_submit checks the category again; checked here first so that a wrong one is a
    # bad request, not a spent token of the limit.
    if category and category not in hearing.categories:
        raise BadRequest(_("请从本场问政会的问题类别中选择。"))
    if not _allowed(sender=sender, address=address):
        raise RateLimited(TOO_MANY)
    return question_submit(
        hearing_id=hearing.pk,
        text=cleaned,
        source=source,
        asker=deputy,
        asker_name=name,
        viewer=viewer,
        category=category,
        contact=contact,
    )


@transaction.atomic
def contacts_purge(*, days: int | None = None) -> int:
    """Erase the contacts (phone or e-mail) of every question whose hearing ended more than
    `days` days ago (default settings.QUESTION_CONTACT_DAYS); the count erased. Running it
    again erases nothing more. Audited (the count and the hearings, never a contact)."""
    days = settings.QUESTION_CONTACT_DAYS if days is None else days
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise BadRequest(_("保留天数须是不小于 0 的整数。"))
    cutoff = timezone.now() - timedelta(days=days)
    questions = Question.objects.filter(hearing__status=Hearing.Status.ENDED, hearing__ended_at__lte=cutoff).exclude(
        contact=""
    )
    hearing_ids = sorted(set(questions.values_list("hearing_id", flat=True)))
    count = questions.update(contact="")
    if count:
        audit.record(
            action="question.contacts_purge",
            actor=None,
            subject="hearings.question:contacts",
            payload={"count": count, "hearings": hearing_ids, "days": days},
        )
    return count
