"""A hearing's life: draft → live → ended; and its set-up by the office (create, edit, copy,
roster)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

import audit
from core import limits
from core.errors import FIELD_TITLE, BadRequest, InvalidState, NotFound, clean_or_refuse
from hearings import guards, selectors
from hearings.labels import list_separator
from hearings.models import AgendaItem, Hearing, Person, Question
from hearings.services.agenda import UNCHANGED, _Unchanged
from hearings.services.questions import answer
from live.publish import publish
from live.schema import AgendaCurrentData, Event, HearingStatusData, HearingUpdatedData


@transaction.atomic
def hearing_start(*, hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """draft → live. A hearing starts once."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    if hearing.status != Hearing.Status.DRAFT:
        raise InvalidState(_("只有筹备中的问政会可以开始。"))
    hearing.status = Hearing.Status.LIVE
    hearing.started_at = timezone.now()
    hearing.save(update_fields=["status", "started_at"])
    audit.record(action="hearing.start", actor=by, subject=hearing, payload={"status": hearing.status})
    publish(hearing, public=Event(type="hearing.status", data=HearingStatusData(status="live")))
    return hearing


@transaction.atomic
def hearing_end(*, hearing_id: int, by: AbstractBaseUser | None) -> Hearing:
    """live → ended. The current item is done and the question on stage answered; an ended
    hearing changes no more. The chamber's `hearing_end` (chamber/services.py), which the
    moderator's command runs, closes an open poll first."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_moderator(hearing, by)
    guards.require_live(hearing)
    now = timezone.now()
    current = AgendaItem.objects.filter(hearing=hearing, status=AgendaItem.Status.CURRENT).first()
    if current is not None:
        current.status = AgendaItem.Status.DONE
        current.ended_at = now
        current.save(update_fields=["status", "ended_at"])
        publish(
            hearing,
            public=Event(
                type="agenda.current",
                data=AgendaCurrentData(item=None, previous=current.pk, agenda=selectors.agenda_out(hearing.pk)),
            ),
        )
    staged = Question.objects.filter(hearing=hearing, status=Question.Status.ON_STAGE).first()
    if staged is not None:
        answer(hearing, staged, now=now)
    hearing.status = Hearing.Status.ENDED
    hearing.ended_at = now
    hearing.save(update_fields=["status", "ended_at"])
    audit.record(action="hearing.end", actor=by, subject=hearing, payload={"status": hearing.status})
    publish(hearing, public=Event(type="hearing.status", data=HearingStatusData(status="ended")))
    return hearing


# --------------------------------------------------------------------------- the office (会务)
# Staff prepare hearings under /manage/: create, edit, copy a past one, assign its roster.

FIELD_THEME = pgettext_lazy("field in a sentence", "主题")
FIELD_VENUE = pgettext_lazy("field in a sentence", "地点")
FIELD_STREAM_URL = pgettext_lazy("field in a sentence", "直播地址")
FIELD_CATEGORY = pgettext_lazy("field in a sentence", "问题类别")
FIELD_VOD_URL = pgettext_lazy("field in a sentence", "回放地址")

# The models' lengths: one definition (hearings/models.py).
TITLE_MAX = Hearing._meta.get_field("title").max_length or 200
THEME_MAX = Hearing._meta.get_field("theme").max_length or 300
VENUE_MAX = Hearing._meta.get_field("venue").max_length or 200
STREAM_URL_MAX = Hearing._meta.get_field("stream_url").max_length or 200
VOD_URL_MAX = Hearing._meta.get_field("vod_url").max_length or 200

# What a page, a screen or a phone shows of a hearing (live.schema.HearingOut): a change of one
# of these while sockets are open is published as `hearing.updated`.
_SHOWN = ("title", "theme", "venue", "starts_at", "stream_url")
_FIELDS = (
    "title",
    "kind",
    "theme",
    "venue",
    "starts_at",
    "ends_at",
    "stream_url",
    "quorum_percent",
    "deputy_questions_need_approval",
    "categories",
    "collect_opens_at",
    "collect_closes_at",
)
_url = URLValidator(schemes=["http", "https"])


def _hearing_fields(
    *,
    title: str,
    kind: str,
    theme: str,
    venue: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    stream_url: str,
    quorum_percent: int,
    deputy_questions_need_approval: bool,
    categories: Sequence[str],
    collect_opens_at: datetime | None,
    collect_closes_at: datetime | None,
) -> dict[str, Any]:
    """The fields of a hearing as stored, or the BadRequest of the first that is wrong."""
    title = clean_or_refuse(title, what=FIELD_TITLE, max_length=TITLE_MAX, multiline=False)
    if kind not in Hearing.Kind.values:
        raise BadRequest(_("没有这种会议类型。"))
    theme = clean_or_refuse(theme, what=FIELD_THEME, max_length=THEME_MAX, multiline=False, required=False)
    venue = clean_or_refuse(venue, what=FIELD_VENUE, max_length=VENUE_MAX, multiline=False, required=False)
    if not isinstance(starts_at, datetime):
        raise BadRequest(_("请填写开始时间。"))
    if ends_at is not None and (not isinstance(ends_at, datetime) or ends_at <= starts_at):
        raise BadRequest(_("计划结束时间须晚于开始时间。"))
    stream_url = clean_or_refuse(
        stream_url, what=FIELD_STREAM_URL, max_length=STREAM_URL_MAX, multiline=False, required=False
    )
    if stream_url:
        try:
            _url(stream_url)
        except ValidationError:
            raise BadRequest(_("直播地址须是以 http:// 或 https:// 开头的网址。")) from None
    if (
        isinstance(quorum_percent, bool)
        or not isinstance(quorum_percent, int)
        or not limits.QUORUM_PERCENT_MIN <= quorum_percent <= limits.QUORUM_PERCENT_MAX
    ):
        raise BadRequest(
            _("法定人数须在 %(low)s%% 到 %(high)s%% 之间。"),
            low=limits.QUORUM_PERCENT_MIN,
            high=limits.QUORUM_PERCENT_MAX,
        )
    categories = _categories(categories)
    _window(collect_opens_at, collect_closes_at)
    return {
        "title": title,
        "kind": kind,
        "theme": theme,
        "venue": venue,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "stream_url": stream_url,
        "quorum_percent": quorum_percent,
        "deputy_questions_need_approval": bool(deputy_questions_need_approval),
        "categories": categories,
        "collect_opens_at": collect_opens_at,
        "collect_closes_at": collect_closes_at,
    }


def _categories(categories: Sequence[str]) -> list[str]:
    """The question categories (问题类别, e.g. the ten areas of a question list): each one line
    of at most QUESTION_CATEGORY characters, distinct, at most HEARING_CATEGORIES of them."""
    if isinstance(categories, str) or not all(isinstance(value, str) for value in categories):
        raise BadRequest(_("问题类别须是一组文字。"))
    if len(categories) > limits.HEARING_CATEGORIES:
        raise BadRequest(_("问题类别最多 %(limit)s 个。"), limit=limits.HEARING_CATEGORIES)
    cleaned = [
        clean_or_refuse(value, what=FIELD_CATEGORY, max_length=limits.QUESTION_CATEGORY, multiline=False)
        for value in categories
    ]
    repeated = sorted({value for value in cleaned if cleaned.count(value) > 1}, key=cleaned.index)
    if repeated:
        raise BadRequest(_("问题类别重复：%(names)s。"), names=list_separator().join(repeated))
    return cleaned


def _window(opens: datetime | None, closes: datetime | None) -> None:
    """The collection window (征集): both ends or neither, and it closes after it opens."""
    if (opens is None) != (closes is None):
        raise BadRequest(_("征集开始时间和截止时间须同时填写，或都不填。"))
    for value in (opens, closes):
        if value is not None and not isinstance(value, datetime):
            raise BadRequest(_("征集时间有误。"))
    if opens is not None and closes is not None and closes <= opens:
        raise BadRequest(_("征集截止时间须晚于开始时间。"))


@transaction.atomic
def hearing_create(
    *,
    by: AbstractBaseUser | None,
    title: str,
    kind: str = Hearing.Kind.WENZHENG,
    theme: str = "",
    venue: str = "",
    starts_at: datetime | None,
    ends_at: datetime | None = None,
    stream_url: str = "",
    quorum_percent: int = limits.QUORUM_PERCENT,
    deputy_questions_need_approval: bool = False,
    categories: Sequence[str] = (),
    collect_opens_at: datetime | None = None,
    collect_closes_at: datetime | None = None,
) -> Hearing:
    """A new hearing in draft (筹备中), by office staff, with its question categories and
    collection window if given. Nothing is published: no page of it is open yet."""
    guards.require_office_staff(by)
    fields = _hearing_fields(
        title=title,
        kind=kind,
        theme=theme,
        venue=venue,
        starts_at=starts_at,
        ends_at=ends_at,
        stream_url=stream_url,
        quorum_percent=quorum_percent,
        deputy_questions_need_approval=deputy_questions_need_approval,
        categories=categories,
        collect_opens_at=collect_opens_at,
        collect_closes_at=collect_closes_at,
    )
    hearing = Hearing.objects.create(status=Hearing.Status.DRAFT, **fields)
    audit.record(action="hearing.create", actor=by, subject=hearing, payload=fields)
    return hearing


@transaction.atomic
def hearing_update(
    *,
    hearing_id: int,
    by: AbstractBaseUser | None,
    title: str,
    kind: str,
    theme: str,
    venue: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    stream_url: str,
    quorum_percent: int,
    deputy_questions_need_approval: bool,
    categories: Sequence[str] | _Unchanged = UNCHANGED,
    collect_opens_at: datetime | _Unchanged | None = UNCHANGED,
    collect_closes_at: datetime | _Unchanged | None = UNCHANGED,
) -> Hearing:
    """Edit a hearing's set-up, by office staff: in draft, and while live (a title, the
    schedule, the stream or the quorum can change during the session); an ended hearing is a
    record and changes no more. Its kind (会议类型) is fixed once it is live: the session has
    been announced and run as that kind. When something a page shows changes (title, theme,
    venue, start, stream), open pages are told (`hearing.updated`). Categories and the
    collection window left UNCHANGED keep their values."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    if hearing.status == Hearing.Status.ENDED:
        raise InvalidState(_("已结束的问政会不能再修改。"))
    fields = _hearing_fields(
        title=title,
        kind=kind,
        theme=theme,
        venue=venue,
        starts_at=starts_at,
        ends_at=ends_at,
        stream_url=stream_url,
        quorum_percent=quorum_percent,
        deputy_questions_need_approval=deputy_questions_need_approval,
        categories=hearing.categories if isinstance(categories, _Unchanged) else categories,
        collect_opens_at=hearing.collect_opens_at if isinstance(collect_opens_at, _Unchanged) else collect_opens_at,
        collect_closes_at=(
            hearing.collect_closes_at if isinstance(collect_closes_at, _Unchanged) else collect_closes_at
        ),
    )
    if hearing.status == Hearing.Status.LIVE and fields["kind"] != hearing.kind:
        raise InvalidState(_("直播中的问政会不能更改会议类型。"))
    changed = {name: value for name, value in fields.items() if getattr(hearing, name) != value}
    if not changed:
        return hearing
    for name, value in changed.items():
        setattr(hearing, name, value)
    hearing.save(update_fields=list(changed))
    audit.record(action="hearing.update", actor=by, subject=hearing, payload={"changed": changed})
    if any(name in changed for name in _SHOWN):
        publish(
            hearing,
            public=Event(type="hearing.updated", data=HearingUpdatedData(hearing=selectors.hearing_out(hearing))),
        )
    return hearing


@transaction.atomic
def hearing_set_replay(
    *, hearing_id: int, by: AbstractBaseUser | None, vod_url: str, vod_started_at: datetime | None
) -> Hearing:
    """Set (or clear, with "") the recording of a hearing, by office staff: its URL (HLS `.m3u8`
    or MP4, http or https) and the moment its position 0 shows, to the second (None: when the
    hearing started). In any status, an ended hearing too (that is when the recording exists);
    the public page shows it, with its chapters, once the hearing has ended (hearings/replay.py).
    Open pages are not told: an ended hearing's page shows it on its next load."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    vod_url = clean_or_refuse(vod_url, what=FIELD_VOD_URL, max_length=VOD_URL_MAX, multiline=False, required=False)
    if vod_url:
        try:
            _url(vod_url)
        except ValidationError:
            raise BadRequest(_("回放地址须是以 http:// 或 https:// 开头的网址。")) from None
    if vod_started_at is not None:
        if not isinstance(vod_started_at, datetime) or timezone.is_naive(vod_started_at):
            raise BadRequest(_("回放起点时间有误。"))
        if hearing.ended_at is not None and vod_started_at > hearing.ended_at:
            raise BadRequest(_("回放起点时间不能晚于问政会结束的时刻。"))
    changed = {
        name: value
        for name, value in (("vod_url", vod_url), ("vod_started_at", vod_started_at))
        if getattr(hearing, name) != value
    }
    if not changed:
        return hearing
    for name, value in changed.items():
        setattr(hearing, name, value)
    hearing.save(update_fields=list(changed))
    audit.record(action="hearing.replay", actor=by, subject=hearing, payload={"changed": changed})
    return hearing


def _copy_title(title: str) -> str:
    """「title（副本）」 in the acting user's language, the original shortened to fit."""
    suffix = str(_("（副本）"))
    return title[: TITLE_MAX - len(suffix)] + suffix


@transaction.atomic
def hearing_copy(
    *,
    hearing_id: int,
    by: AbstractBaseUser | None,
    title: str | None = None,
    starts_at: datetime | None = None,
) -> Hearing:
    """A new draft hearing prepared like `hearing_id` (any status; usually a past one): the
    same kind, theme, venue, stream URL, quorum, moderation setting and question categories
    (not the collection window: a new one is set for the new hearing), the agenda (titles,
    kinds, departments, planned minutes, order; every item pending), the deputies and the
    moderators still active. Nothing of what happened in it: no questions, polls, likes, attendance, seat
    codes or event history. Title by default 「…（副本）」; start by default the original's
    (the planned end keeps its distance from the start)."""
    guards.require_office_staff(by)
    original = Hearing.objects.filter(pk=hearing_id).first()
    if original is None:
        raise NotFound(_("找不到这场问政会。"))
    new_start = starts_at if starts_at is not None else original.starts_at
    new_end = None
    if original.ends_at is not None and original.ends_at > original.starts_at:
        new_end = new_start + (original.ends_at - original.starts_at)
    fields = _hearing_fields(
        title=_copy_title(original.title) if title is None else title,
        kind=original.kind,
        theme=original.theme,
        venue=original.venue,
        starts_at=new_start,
        ends_at=new_end,
        stream_url=original.stream_url,
        quorum_percent=original.quorum_percent,
        deputy_questions_need_approval=original.deputy_questions_need_approval,
        categories=list(original.categories),
        collect_opens_at=None,
        collect_closes_at=None,
    )
    copy = Hearing.objects.create(status=Hearing.Status.DRAFT, **fields)
    items = AgendaItem.objects.filter(hearing=original).order_by("position", "id")
    AgendaItem.objects.bulk_create(
        AgendaItem(
            hearing=copy,
            position=item.position,
            title=item.title,
            kind=item.kind,
            department_id=item.department_id,
            planned_minutes=item.planned_minutes,
            status=AgendaItem.Status.PENDING,
        )
        for item in items
    )
    # The people who are still active: a deactivated one (who left) joins no new hearing.
    deputy_ids = list(original.deputies.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    moderator_ids = list(original.moderators.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    copy.deputies.set(deputy_ids)
    copy.moderators.set(moderator_ids)
    audit.record(
        action="hearing.copy",
        actor=by,
        subject=copy,
        payload={
            "from": original.pk,
            **fields,
            "agenda": copy.agenda.count(),
            "deputies": deputy_ids,
            "moderators": moderator_ids,
        },
    )
    return copy


def _people(ids: Iterable[int], roles: set[str]) -> tuple[list[int], list[int], list[str]]:
    """Of `ids` (user ids): those that are people with one of `roles` (sorted, distinct), the
    unknown ids, and the names of the others."""
    wanted = sorted({int(pk) for pk in ids})
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=wanted).select_related("person")}
    unknown = [pk for pk in wanted if pk not in users]
    wrong: list[str] = []
    for pk in wanted:
        user = users.get(pk)
        if user is None:
            continue
        person: Person | None = getattr(user, "person", None)
        if person is None or person.role not in roles:
            wrong.append(selectors.display_name(user))
    return wanted, unknown, wrong


@transaction.atomic
def hearing_set_roster(
    *,
    hearing_id: int,
    by: AbstractBaseUser | None,
    deputy_ids: Iterable[int],
    moderator_ids: Iterable[int],
) -> Hearing:
    """The hearing's deputies and moderators become exactly these users: deputies are people
    whose roster role is 代表, moderators people who are 主持人 or 会务工作人员. Unknown ids
    or the wrong role refuse the whole change. In draft and while live (a deputy taken off a
    live hearing loses the tablet: the socket's periodic role check closes it); an ended
    hearing's roster is a record. A deactivated person is not added (one deactivated while on
    the hearing may stay on it)."""
    hearing = guards.hearing_for_update(hearing_id)
    guards.require_office_staff(by)
    if hearing.status == Hearing.Status.ENDED:
        raise InvalidState(_("已结束的问政会不能再修改名单。"))
    deputies, unknown_d, wrong_d = _people(deputy_ids, {Person.Role.DEPUTY})
    moderators, unknown_m, wrong_m = _people(moderator_ids, {Person.Role.MODERATOR, Person.Role.STAFF})
    unknown = sorted(set(unknown_d) | set(unknown_m))
    if unknown:
        raise BadRequest(_("找不到这些人员：%(ids)s。"), ids=", ".join(f"#{pk}" for pk in unknown))
    if wrong_d:
        raise BadRequest(_("这些人员不是代表，不能列为本场代表：%(names)s。"), names=list_separator().join(wrong_d))
    if wrong_m:
        raise BadRequest(
            _("这些人员不是主持人或会务工作人员，不能列为本场主持人：%(names)s。"),
            names=list_separator().join(wrong_m),
        )
    before_d = set(hearing.deputies.values_list("pk", flat=True))
    before_m = set(hearing.moderators.values_list("pk", flat=True))
    # A deactivated person (who left) joins no hearing; one deactivated while on it may stay.
    joining = (set(deputies) - before_d) | (set(moderators) - before_m)
    inactive = get_user_model().objects.filter(pk__in=joining, is_active=False).select_related("person")
    if inactive:
        raise BadRequest(
            _("这些人员已停用，不能加入本场：%(names)s。"),
            names=list_separator().join(selectors.display_name(user) for user in inactive.order_by("pk")),
        )
    if before_d == set(deputies) and before_m == set(moderators):
        return hearing
    hearing.deputies.set(deputies)
    hearing.moderators.set(moderators)
    audit.record(
        action="hearing.roster",
        actor=by,
        subject=hearing,
        payload={
            "deputies": {"added": sorted(set(deputies) - before_d), "removed": sorted(before_d - set(deputies))},
            "moderators": {"added": sorted(set(moderators) - before_m), "removed": sorted(before_m - set(moderators))},
        },
    )
    return hearing
