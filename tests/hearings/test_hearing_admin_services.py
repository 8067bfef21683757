"""The office's hearing services: create, update, copy, roster (hearings/services/hearing.py).

Every rule is checked on stored state, the audit log and the events published; every refusal
changes no row (hearings, agenda, rosters, audit, event history) and publishes nothing."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from audit.models import AuditEntry
from core import limits
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound
from hearings import services
from hearings.models import AgendaItem, Hearing, Like, Person, Question, SeatCode
from live.models import LiveEvent
from tests.conftest import Published
from tests.factories import World, make_user, make_world
from voting import services as voting_services
from voting.models import Attendance, Poll

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------- helpers


def person(role: str, *, name: str | None = None, delegation: str = "", **extra: Any) -> Any:
    user = make_user(**extra)
    Person.objects.create(user=user, name=name or f"人员{user.pk}", role=role, delegation=delegation)
    return user


def staff() -> Any:
    return person(Person.Role.STAFF)


START = datetime(2026, 12, 8, 9, 0, tzinfo=timezone.get_current_timezone())


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": "优化营商环境专题询问",
        "kind": Hearing.Kind.INQUIRY,
        "theme": "助企纾困",
        "venue": "县人大常委会第一会议室",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "stream_url": "https://live.example.cn/hls/1.m3u8",
        "quorum_percent": 60,
        "deputy_questions_need_approval": True,
    }
    return {**base, **changes}


def fields_of(hearing: Hearing, **changes: Any) -> dict[str, Any]:
    hearing.refresh_from_db()
    return fields(**{**{name: getattr(hearing, name) for name in fields()}, **changes})


def db_state() -> dict[str, Any]:
    through_d = Hearing.deputies.through.objects.order_by("pk")
    through_m = Hearing.moderators.through.objects.order_by("pk")
    return {
        "hearings": list(Hearing.objects.order_by("pk").values()),
        "agenda": list(AgendaItem.objects.order_by("pk").values()),
        "deputies": list(through_d.values_list("hearing_id", "user_id")),
        "moderators": list(through_m.values_list("hearing_id", "user_id")),
        "audit": AuditEntry.objects.count(),
        "events": list(LiveEvent.objects.order_by("pk").values_list("hearing_id", "stream", "seq", "type")),
    }


def assert_refused(published: Published, error: type[DomainError], call: Callable[[], object]) -> DomainError:
    before = db_state()
    seen = len(published)
    with pytest.raises(DomainError) as info:
        call()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert db_state() == before
    assert published[seen:] == []
    return info.value


def last_audit() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    return entry


def roster(hearing: Hearing) -> tuple[set[int], set[int]]:
    return (
        set(hearing.deputies.values_list("pk", flat=True)),
        set(hearing.moderators.values_list("pk", flat=True)),
    )


# --------------------------------------------------------------------------- create


def test_staff_create_a_draft_hearing_and_it_is_audited(published: Published) -> None:
    by = staff()
    hearing = services.hearing_create(by=by, **fields(title="  优化营商环境专题询问 "))
    hearing.refresh_from_db()
    assert hearing.status == Hearing.Status.DRAFT
    assert hearing.title == "优化营商环境专题询问"  # cleaned like every text
    assert (hearing.kind, hearing.quorum_percent, hearing.deputy_questions_need_approval) == ("inquiry", 60, True)
    assert hearing.ends_at == START + timedelta(hours=3)
    assert roster(hearing) == (set(), set())
    entry = last_audit()
    assert (entry.action, entry.subject) == ("hearing.create", f"hearings.hearing:{hearing.pk}")
    assert entry.actor == by.username
    assert entry.payload["title"] == "优化营商环境专题询问" and entry.payload["quorum_percent"] == 60
    assert published == []  # no page of it is open


def test_create_takes_the_defaults_for_what_it_is_not_given() -> None:
    hearing = services.hearing_create(by=staff(), title="问政", starts_at=START)
    assert (hearing.kind, hearing.quorum_percent, hearing.stream_url, hearing.ends_at) == (
        Hearing.Kind.WENZHENG,
        limits.QUORUM_PERCENT,
        "",
        None,
    )


def test_the_system_may_create_too() -> None:
    assert services.hearing_create(by=None, **fields()).status == Hearing.Status.DRAFT
    assert last_audit().actor_kind == "system"


BAD_FIELDS: dict[str, dict[str, Any]] = {
    "empty title": {"title": "   "},
    "title too long": {"title": "问" * 201},
    "title with a line break": {"title": "第一行\n第二行"},
    "title with a control character": {"title": "问政\x00会"},
    "unknown kind": {"kind": "party"},
    "theme too long": {"theme": "题" * 301},
    "venue too long": {"venue": "地" * 201},
    "no start": {"starts_at": None},
    "start not a time": {"starts_at": "2026-12-08 09:00"},
    "end before start": {"ends_at": START - timedelta(minutes=1)},
    "end at start": {"ends_at": START},
    "stream not a URL": {"stream_url": "live.example.cn/1.m3u8"},
    "stream of another scheme": {"stream_url": "javascript:alert(1)"},
    "stream over rtmp": {"stream_url": "rtmp://live.example.cn/1"},
    "stream too long": {"stream_url": "https://example.cn/" + "a" * 200},
    "quorum 0": {"quorum_percent": 0},
    "quorum 100": {"quorum_percent": 100},
    "quorum negative": {"quorum_percent": -5},
    "quorum not a number": {"quorum_percent": "50"},
    "quorum a boolean": {"quorum_percent": True},
}


@pytest.mark.parametrize("name", list(BAD_FIELDS))
def test_create_refuses_bad_fields_and_stores_nothing(name: str, published: Published) -> None:
    by = staff()
    error = assert_refused(published, BadRequest, lambda: services.hearing_create(by=by, **fields(**BAD_FIELDS[name])))
    assert error.message  # a sentence for the page


def test_the_edges_of_the_rules_pass() -> None:
    by = staff()
    for changes in (
        {"title": "问" * 200, "quorum_percent": 1, "stream_url": "", "ends_at": None},
        {"quorum_percent": 99, "stream_url": "http://10.0.0.8/live.m3u8", "ends_at": START + timedelta(minutes=1)},
    ):
        services.hearing_create(by=by, **fields(**changes))
    assert Hearing.objects.count() == 2


def test_the_refusals_say_what_is_wrong() -> None:
    by = staff()
    with pytest.raises(BadRequest) as info:
        services.hearing_create(by=by, **fields(quorum_percent=100))
    assert "1% 到 99%" in info.value.message
    with pytest.raises(BadRequest) as info:
        services.hearing_create(by=by, **fields(ends_at=START))
    assert "结束时间" in info.value.message
    with pytest.raises(BadRequest) as info:
        services.hearing_create(by=by, **fields(title="问" * 201))
    assert info.value.message == "标题最多 200 字。"


WHO: dict[str, Callable[[], Any]] = {
    "a deputy": lambda: person(Person.Role.DEPUTY),
    "a moderator": lambda: person(Person.Role.MODERATOR),
    "a liaison": lambda: person(Person.Role.LIAISON),
    "a user who is no person": lambda: make_user(),
    "a Django-admin staff user": lambda: make_user(is_staff=True),
    "an inactive staff person": lambda: person(Person.Role.STAFF, is_active=False),
    "anonymous": lambda: AnonymousUser(),
}


@pytest.mark.parametrize("who", list(WHO))
def test_only_office_staff_may_create_update_copy_or_assign(who: str, published: Published) -> None:
    w = make_world()
    deputy = person(Person.Role.DEPUTY)
    by = WHO[who]()
    assert_refused(published, Forbidden, lambda: services.hearing_create(by=by, **fields()))
    assert_refused(published, Forbidden, lambda: services.hearing_update(hearing_id=w.hearing.pk, by=by, **fields()))
    assert_refused(published, Forbidden, lambda: services.hearing_copy(hearing_id=w.hearing.pk, by=by))
    assert_refused(
        published,
        Forbidden,
        lambda: services.hearing_set_roster(hearing_id=w.hearing.pk, by=by, deputy_ids=[deputy.pk], moderator_ids=[]),
    )


def test_a_superuser_counts_as_office_staff() -> None:
    assert services.hearing_create(by=make_user(is_superuser=True), **fields()).pk


# --------------------------------------------------------------------------- update


def test_update_in_draft_changes_and_audits_what_changed(published: Published) -> None:
    hearing = services.hearing_create(by=staff(), **fields())
    by = staff()
    new = fields_of(hearing, title="新标题", kind=Hearing.Kind.APPRAISAL, quorum_percent=75)
    services.hearing_update(hearing_id=hearing.pk, by=by, **new)
    hearing.refresh_from_db()
    assert (hearing.title, hearing.kind, hearing.quorum_percent) == ("新标题", "appraisal", 75)
    entry = last_audit()
    assert entry.action == "hearing.update" and entry.actor == by.username
    assert entry.payload == {"changed": {"title": "新标题", "kind": "appraisal", "quorum_percent": 75}}
    # the title is shown on pages: a draft hearing's open pages are told too
    assert published.types() == ["hearing.updated"] and published.types("public") == ["hearing.updated"]


def test_update_of_what_no_page_shows_publishes_nothing(published: Published) -> None:
    hearing = services.hearing_create(by=staff(), **fields())
    services.hearing_update(
        hearing_id=hearing.pk, by=staff(), **fields_of(hearing, quorum_percent=80, ends_at=START + timedelta(hours=5))
    )
    assert published == []
    assert last_audit().payload["changed"].keys() == {"quorum_percent", "ends_at"}


def test_an_update_that_changes_nothing_writes_nothing(published: Published) -> None:
    hearing = services.hearing_create(by=staff(), **fields())
    before = db_state()
    services.hearing_update(hearing_id=hearing.pk, by=staff(), **fields_of(hearing))
    assert db_state() == before
    assert published == []


def test_a_live_hearing_can_be_renamed_and_its_pages_are_told(published: Published) -> None:
    w = make_world(status="live")
    services.hearing_update(
        hearing_id=w.hearing.pk,
        by=staff(),
        **fields_of(w.hearing, title="改名", stream_url="https://live.example.cn/2.m3u8", quorum_percent=70),
    )
    w.hearing.refresh_from_db()
    assert (w.hearing.title, w.hearing.status, w.hearing.quorum_percent) == ("改名", "live", 70)
    assert published.types() == ["hearing.updated"]
    assert published.types("public") == ["hearing.updated"]
    frame = published.last()[3]
    assert '"title":"改名"' in frame and '"stream_url":"https://live.example.cn/2.m3u8"' in frame


def test_a_live_hearing_keeps_its_kind(published: Published) -> None:
    w = make_world(status="live")
    by = staff()
    assert_refused(
        published,
        InvalidState,
        lambda: services.hearing_update(
            hearing_id=w.hearing.pk, by=by, **fields_of(w.hearing, kind=Hearing.Kind.APPRAISAL, title="新")
        ),
    )


def test_an_ended_hearing_cannot_be_updated(published: Published) -> None:
    w = make_world(status="ended")
    by = staff()
    assert_refused(
        published,
        InvalidState,
        lambda: services.hearing_update(hearing_id=w.hearing.pk, by=by, **fields_of(w.hearing, title="改")),
    )


def test_update_refuses_bad_fields_and_unknown_hearings(published: Published) -> None:
    w = make_world()
    Hearing.objects.filter(pk=w.hearing.pk).update(starts_at=START)
    by = staff()
    for changes in BAD_FIELDS.values():
        bad = fields_of(w.hearing, **changes)
        assert_refused(
            published,
            BadRequest,
            functools.partial(services.hearing_update, hearing_id=w.hearing.pk, by=by, **bad),
        )
    assert_refused(published, NotFound, lambda: services.hearing_update(hearing_id=10**9, by=by, **fields()))


# --------------------------------------------------------------------------- copy


def lived_through(w: World) -> None:
    """What happens in a hearing: check-in, items started, questions, likes, a poll, a seat code."""
    hid = w.hearing.pk
    services.hearing_start(hearing_id=hid, by=w.moderator)
    services.agenda_start(hearing_id=hid, item_id=w.items[1].pk, by=w.moderator)
    voting_services.checkin(hearing_id=hid, deputy=w.deputies[0])
    q = services.question_submit(hearing_id=hid, text="问题", source="public", viewer=uuid4().hex)
    services.question_approve(hearing_id=hid, question_id=q.pk, by=w.moderator)
    services.like_add(hearing_id=hid, viewer=uuid4().hex, question_id=q.pk)
    services.like_add(hearing_id=hid, viewer=uuid4().hex, question_id=None)
    voting_services.poll_open(hearing_id=hid, item_id=w.items[1].pk, by=w.moderator)
    SeatCode.objects.create(hearing=w.hearing, deputy=w.deputies[1], nonce=uuid4().hex, digest=uuid4().hex)


def test_copy_is_a_draft_with_the_set_up_agenda_and_roster_and_nothing_else(published: Published) -> None:
    w = make_world(
        kind=Hearing.Kind.INQUIRY,
        theme="营商环境",
        venue="第一会议室",
        stream_url="https://live.example.cn/a.m3u8",
        quorum_percent=66,
        deputy_questions_need_approval=True,
        ends_at=timezone.now() + timedelta(hours=2),
    )
    AgendaItem.objects.filter(pk=w.items[2].pk).update(planned_minutes=40)
    lived_through(w)
    original = Hearing.objects.get(pk=w.hearing.pk)
    by = staff()
    seen = len(published)

    copy = services.hearing_copy(hearing_id=original.pk, by=by)

    assert published[seen:] == []
    copy.refresh_from_db()
    assert copy.pk != original.pk
    assert copy.status == Hearing.Status.DRAFT and copy.started_at is None and copy.ended_at is None
    assert copy.title == f"{original.title}（副本）"
    same = ("kind", "theme", "venue", "stream_url", "quorum_percent", "deputy_questions_need_approval", "starts_at")
    assert [getattr(copy, f) for f in same] == [getattr(original, f) for f in same]
    assert original.ends_at is not None and copy.ends_at == original.ends_at
    assert (copy.likes, copy.public_seq, copy.control_seq) == (0, 0, 0)
    shape = ("position", "title", "kind", "department_id", "planned_minutes")
    assert list(copy.agenda.order_by("position").values_list(*shape)) == list(
        original.agenda.order_by("position").values_list(*shape)
    )
    assert set(copy.agenda.values_list("status", flat=True)) == {"pending"}
    assert set(copy.agenda.values_list("started_at", flat=True)) == {None}
    assert roster(copy) == roster(original)
    assert not Question.objects.filter(hearing=copy).exists()
    assert not Like.objects.filter(hearing=copy).exists()
    assert not Poll.objects.filter(hearing=copy).exists()
    assert not Attendance.objects.filter(hearing=copy).exists()
    assert not SeatCode.objects.filter(hearing=copy).exists()
    assert not LiveEvent.objects.filter(hearing_id=copy.pk).exists()
    entry = last_audit()
    assert (entry.action, entry.subject) == ("hearing.copy", f"hearings.hearing:{copy.pk}")
    assert entry.payload["from"] == original.pk and entry.payload["agenda"] == len(w.items)


def test_copy_takes_a_title_and_a_start_and_keeps_the_planned_length() -> None:
    w = make_world(ends_at=timezone.now() + timedelta(hours=2, minutes=30))
    original = Hearing.objects.get(pk=w.hearing.pk)
    copy = services.hearing_copy(hearing_id=original.pk, by=staff(), title=" 第二场 ", starts_at=START)
    assert (copy.title, copy.starts_at) == ("第二场", START)
    assert original.ends_at is not None
    assert copy.ends_at == START + (original.ends_at - original.starts_at)


def test_a_long_title_is_shortened_to_fit_its_copy_mark() -> None:
    w = make_world(title="问" * 200)
    copy = services.hearing_copy(hearing_id=w.hearing.pk, by=staff())
    assert len(copy.title) == 200 and copy.title.endswith("（副本）")


def test_the_copy_is_independent_of_its_original() -> None:
    w = make_world()
    original = w.hearing
    before = list(original.agenda.order_by("pk").values())
    copy = services.hearing_copy(hearing_id=original.pk, by=staff())
    # change the copy: its agenda, its roster, its fields
    copy_item = copy.agenda.order_by("position").first()
    assert copy_item is not None and copy_item.pk not in {item.pk for item in w.items}
    AgendaItem.objects.filter(pk=copy_item.pk).update(title="改过的")
    services.hearing_set_roster(hearing_id=copy.pk, by=staff(), deputy_ids=[], moderator_ids=[])
    services.hearing_update(hearing_id=copy.pk, by=staff(), **fields_of(copy, title="另起"))
    services.hearing_start(hearing_id=copy.pk, by=None)
    services.agenda_start(hearing_id=copy.pk, item_id=copy_item.pk, by=None)
    original.refresh_from_db()
    assert original.title == "测试问政会" and original.status == "draft"
    assert list(original.agenda.order_by("pk").values()) == before
    assert roster(original) == ({d.pk for d in w.deputies}, {w.moderator.pk})


def test_copy_refuses_an_unknown_hearing_and_a_bad_title(published: Published) -> None:
    w = make_world()
    by = staff()
    assert_refused(published, NotFound, lambda: services.hearing_copy(hearing_id=10**9, by=by))
    assert_refused(published, BadRequest, lambda: services.hearing_copy(hearing_id=w.hearing.pk, by=by, title=" "))


# --------------------------------------------------------------------------- roster


def test_set_roster_assigns_deputies_and_moderators_and_audits_the_difference() -> None:
    w = make_world(deputies=0)
    hearing = w.hearing
    d1 = person(Person.Role.DEPUTY, delegation="城关代表团")
    d2 = person(Person.Role.DEPUTY, delegation="城关代表团")
    m = person(Person.Role.MODERATOR)
    s = person(Person.Role.STAFF)
    by = staff()
    services.hearing_set_roster(
        hearing_id=hearing.pk, by=by, deputy_ids=[d1.pk, d2.pk, d1.pk], moderator_ids=[m.pk, s.pk]
    )
    assert roster(hearing) == ({d1.pk, d2.pk}, {m.pk, s.pk})  # the world's moderator was taken off
    entry = last_audit()
    assert (entry.action, entry.actor) == ("hearing.roster", by.username)
    assert entry.payload == {
        "deputies": {"added": sorted([d1.pk, d2.pk]), "removed": []},
        "moderators": {"added": sorted([m.pk, s.pk]), "removed": [w.moderator.pk]},
    }
    services.hearing_set_roster(hearing_id=hearing.pk, by=by, deputy_ids=[d2.pk], moderator_ids=[m.pk])
    assert roster(hearing) == ({d2.pk}, {m.pk})
    assert last_audit().payload["deputies"] == {"added": [], "removed": [d1.pk]}


def test_a_roster_that_changes_nothing_writes_nothing(published: Published) -> None:
    w = make_world(deputies=0)
    d = person(Person.Role.DEPUTY)
    m = person(Person.Role.MODERATOR)
    services.hearing_set_roster(hearing_id=w.hearing.pk, by=staff(), deputy_ids=[d.pk], moderator_ids=[m.pk])
    before = db_state()
    services.hearing_set_roster(hearing_id=w.hearing.pk, by=staff(), deputy_ids=[d.pk], moderator_ids=[m.pk])
    assert db_state() == before
    assert published == []


def test_set_roster_refuses_wrong_roles_and_unknown_ids_and_changes_nothing(published: Published) -> None:
    w = make_world()
    hid = w.hearing.pk
    deputy = person(Person.Role.DEPUTY)
    moderator = person(Person.Role.MODERATOR, name="王主持")
    liaison = person(Person.Role.LIAISON, name="李联络")
    staff_person = person(Person.Role.STAFF, name="赵会务")
    nobody = make_user()  # a user without a roster row
    by = staff()
    cases = [
        ([moderator.pk], [], "王主持"),  # a moderator is no deputy
        ([staff_person.pk], [], "赵会务"),  # nor is staff
        ([deputy.pk, liaison.pk], [], "李联络"),
        ([nobody.pk], [], nobody.username),
        ([], [deputy.pk], None),  # a deputy is no moderator
        ([], [liaison.pk], "李联络"),
        ([], [nobody.pk], nobody.username),
        ([deputy.pk, 10**9], [], "#1000000000"),  # unknown
        ([], [10**9 + 1], "#1000000001"),
    ]
    for deputies, moderators, named in cases:
        error = assert_refused(
            published,
            BadRequest,
            functools.partial(
                services.hearing_set_roster, hearing_id=hid, by=by, deputy_ids=deputies, moderator_ids=moderators
            ),
        )
        if named:
            assert named in error.message
    assert roster(w.hearing) == ({d.pk for d in w.deputies}, {w.moderator.pk})


def test_set_roster_while_live_takes_a_deputy_off_and_refuses_once_ended(published: Published) -> None:
    w = make_world(status="live", deputies=0)
    d1 = person(Person.Role.DEPUTY)
    d2 = person(Person.Role.DEPUTY)
    m = person(Person.Role.MODERATOR)
    by = staff()
    services.hearing_set_roster(hearing_id=w.hearing.pk, by=by, deputy_ids=[d1.pk, d2.pk], moderator_ids=[m.pk])
    services.hearing_set_roster(hearing_id=w.hearing.pk, by=by, deputy_ids=[d1.pk], moderator_ids=[m.pk])
    assert roster(w.hearing) == ({d1.pk}, {m.pk})
    assert published == []  # no snapshot holds the roster
    Hearing.objects.filter(pk=w.hearing.pk).update(status=Hearing.Status.ENDED)
    assert_refused(
        published,
        InvalidState,
        lambda: services.hearing_set_roster(hearing_id=w.hearing.pk, by=by, deputy_ids=[], moderator_ids=[]),
    )
    assert_refused(
        published,
        NotFound,
        lambda: services.hearing_set_roster(hearing_id=10**9, by=by, deputy_ids=[], moderator_ids=[]),
    )
