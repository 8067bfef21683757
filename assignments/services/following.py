"""The public following an assignment by e-mail, no account needed (关注办理进展).

Double opt-in: a request mails a confirmation link to the address; only a confirmed follower
hears of later changes, each mail with a one-click unsubscribe link (and the List-Unsubscribe
headers of RFC 8058). One random token per follower, only ever mailed to that address, opens
both links. What the public page shows of an assignment is what a follower is told: never an
internal note. Nothing a request answers says whether an address follows.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assignments import notes
from assignments.models import Assignment, Follower, Status, TimelineEntry
from core import limits
from core.clientaddr import limit_key
from core.errors import BadRequest, InvalidState, NotFound, RateLimited
from core.text import TextError, clean_text
from outbound.mail import mail, site_url

log = logging.getLogger(__name__)

HOUR = 3600
DAY = 86400
# A follower mail quotes the latest public note up to this many characters; the page has the rest.
NOTE_IN_MAIL = 500
TOKEN = r"[A-Za-z0-9_-]{20,64}"  # what a link's token looks like (secrets.token_urlsafe(32): 43)

INVALID_EMAIL = gettext_lazy("请填写有效的电子邮箱地址。")
TOO_MANY = gettext_lazy("关注请求太频繁，请稍后再试。")
NO_FOLLOWER = gettext_lazy("链接无效或已失效。")


def clean_email(value: str) -> str:
    """An e-mail address as stored: trimmed, lower-case, one line, at most limits.EMAIL
    characters, ASCII and valid; anything else a BadRequest."""
    try:
        text = clean_text(value or "", max_length=limits.EMAIL, multiline=False, required=True)
    except TextError:
        raise BadRequest(INVALID_EMAIL) from None
    if not text.isascii() or any(c.isspace() for c in text):
        raise BadRequest(INVALID_EMAIL)
    try:
        validate_email(text)
    except ValidationError:
        raise BadRequest(INVALID_EMAIL) from None
    return text.lower()


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def _address_allowed(address: str, now: float) -> bool:
    """One more request from this client address this hour, within FOLLOW_PER_HOUR? With the
    cache away nothing is counted here (the per-e-mail limit below still holds)."""
    try:
        return _count(f"follow:address:{limit_key(address)}:{int(now // HOUR)}", HOUR * 2) <= limits.FOLLOW_PER_HOUR
    except Exception:
        log.warning("follow limit skipped: the cache did not answer", exc_info=True)
        return True


def _mail_allowed(email: str, now: float) -> bool:
    """One more confirmation mail to this address today, within FOLLOW_MAILS_PER_DAY? With the
    cache away, no: the form must not become a way to flood an address."""
    digest = hashlib.sha256(email.encode()).hexdigest()
    try:
        return _count(f"follow:email:{digest}:{int(now // DAY)}", DAY * 2) <= limits.FOLLOW_MAILS_PER_DAY
    except Exception:
        log.warning("follow mail not sent: the cache did not answer", exc_info=True)
        return False


@transaction.atomic
def follow_request(*, assignment_id: int, email: str, address: str | None = None) -> None:
    """Ask to follow an assignment (any the public page shows) by e-mail: a follower not yet
    confirmed gets a fresh token and a confirmation mail (a new address, one never confirmed,
    one that unsubscribed). An address already following gets nothing, and the answer is the
    same either way. A client address may ask FOLLOW_PER_HOUR times an hour (RateLimited after,
    nothing stored); an e-mail address is sent at most FOLLOW_MAILS_PER_DAY confirmations a
    day, silently. The link is absolute by SITE_URL (outbound.mail.site_url), never by the
    request's Host: the mail goes to anyone's address, and a Host the requester chose would aim
    the link, token and all, at their site."""
    cleaned = clean_email(email)
    if not Assignment.objects.filter(pk=assignment_id).exists():
        raise NotFound(gettext_lazy("找不到这件交办件。"))
    now = time.time()
    if address is not None and not _address_allowed(address, now):
        raise RateLimited(TOO_MANY)
    follower = Follower.objects.select_for_update().filter(assignment_id=assignment_id, email=cleaned).first()
    if follower is not None and follower.confirmed_at is not None and follower.unsubscribed_at is None:
        return  # already following: no mail, and nothing said
    if not _mail_allowed(cleaned, now):
        return
    token = secrets.token_urlsafe(32)
    if follower is None:
        follower, created = Follower.objects.get_or_create(
            assignment_id=assignment_id, email=cleaned, defaults={"token": token}
        )
        if not created:  # a request for the same address landed first
            return
    else:
        follower.token, follower.confirmed_at, follower.unsubscribed_at = token, None, None
        follower.save(update_fields=["token", "confirmed_at", "unsubscribed_at"])
    title = Assignment.objects.values_list("title", flat=True).get(pk=assignment_id)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【问政 Live】请确认关注交办件办理进展")
        body = _(
            "有人用这个邮箱地址申请关注交办件“%(title)s”的办理进展。\n\n"
            "如果是您本人，请打开下面的链接并点击“确认关注”：\n%(link)s\n\n"
            "如果不是，请忽略这封邮件，您不会再收到任何消息。"
        ) % {"title": title, "link": site_url(reverse("follower_confirm", args=[token]))}
    mail(subject, body, [cleaned])


def _follower(token: str) -> Follower:
    follower = Follower.objects.select_for_update().filter(token=token).first() if token else None
    if follower is None:
        raise NotFound(NO_FOLLOWER)
    return follower


def follower_get(*, token: str) -> Follower:
    """The follower of a link's token (NotFound for any other)."""
    follower = Follower.objects.select_related("assignment").filter(token=token).first() if token else None
    if follower is None:
        raise NotFound(NO_FOLLOWER)
    return follower


@transaction.atomic
def follower_confirm(*, token: str) -> Follower:
    """The address's owner confirms (by POST from the link's page: a mail scanner that fetches
    the link confirms nothing). Confirming twice changes nothing; after unsubscribing, a new
    request is needed."""
    follower = _follower(token)
    if follower.unsubscribed_at is not None:
        raise InvalidState(gettext_lazy("您已退订，如需继续关注，请重新申请。"))
    if follower.confirmed_at is None:
        follower.confirmed_at = timezone.now()
        follower.save(update_fields=["confirmed_at"])
    return follower


@transaction.atomic
def follower_unsubscribe(*, token: str) -> Follower:
    """Stop every mail to this follower (the link's page, or the mail client's one-click POST)."""
    follower = _follower(token)
    if follower.unsubscribed_at is None:
        follower.unsubscribed_at = timezone.now()
        follower.save(update_fields=["unsubscribed_at"])
    return follower


def assignment_changed(assignment: Assignment, action: str) -> None:
    """After every change (announce.py, inside its transaction): e-mail each confirmed follower
    who has not unsubscribed the title, the new status, the step and its public note, and the
    links to the page and to unsubscribe; sent once the change commits."""
    followers = list(
        Follower.objects.filter(
            assignment=assignment, confirmed_at__isnull=False, unsubscribed_at__isnull=True
        ).values_list("email", "token")
    )
    if not followers:
        return
    entry = TimelineEntry.objects.filter(assignment=assignment).order_by("-at", "-id").first()
    with translation.override(settings.LANGUAGE_CODE):
        note = notes.entry_note(entry) if entry is not None else ""
        if len(note) > NOTE_IN_MAIL:
            note = note[:NOTE_IN_MAIL] + "…"
        step = entry.get_action_display() if entry is not None else ""
        subject = _("【问政 Live】交办件有新进展：%(title)s") % {"title": assignment.title}
        head = _("交办件：%(title)s\n状态：%(status)s\n最新办理情况：%(step)s") % {
            "title": assignment.title,
            "status": Status(assignment.status).label,
            "step": step,
        }
        page = _("查看详情：%(link)s") % {"link": site_url(f"/assignments/{assignment.pk}/")}
        foot = _("不想再收到这件交办件的消息？点击退订：%(link)s")
    for email, token in followers:
        unsubscribe = site_url(reverse("follower_unsubscribe", args=[token]))
        body = "\n\n".join(part for part in (head, note, page, foot % {"link": unsubscribe}) if part)
        mail(
            subject,
            body + "\n",
            [email],
            headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
