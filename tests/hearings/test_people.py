"""People and departments (hearings/services/people.py): who may, what is checked, what is audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from audit.models import AuditEntry
from core import limits
from core.errors import Forbidden, InvalidState, NotFound
from hearings import services
from hearings.models import Department, Person
from hearings.services import FieldErrors
from tests.factories import make_department, make_user
from tests.hearings.people_helpers import make_person, make_staff, state

pytestmark = pytest.mark.django_db

User = get_user_model()


def save(**fields: Any) -> services.SavedPerson:
    values: dict[str, Any] = {"username": "zhangsan", "name": "张三", "role": "deputy", "by": None}
    values.update(fields)
    return services.person_save(**values)


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


# ------------------------------------------------------------------------------- creating and updating


def test_a_new_person_gets_a_user_with_an_unusable_password_and_an_audit_entry() -> None:
    staff = make_staff()
    saved = save(delegation="城关镇代表团", seat="A-01", phone="13800000001", email="z@example.com", by=staff)
    assert saved.outcome == "created"
    person = Person.objects.select_related("user").get(user__username="zhangsan")
    assert (person.name, person.role, person.delegation, person.seat, person.phone) == (
        "张三",
        "deputy",
        "城关镇代表团",
        "A-01",
        "13800000001",
    )
    assert person.user.email == "z@example.com"
    assert person.user.get_full_name() == "张三"  # Django's own pages (admin, top bar) show the name
    assert not person.user.has_usable_password()
    entry = AuditEntry.objects.get(action="person.create")
    assert entry.actor == staff.username
    assert entry.payload["username"] == "zhangsan"
    assert "phone" in entry.payload["changed"]
    assert "13800000001" not in str(entry.payload)  # names of fields only, never a phone number


def test_saving_the_same_username_updates_and_audits_only_what_changed() -> None:
    save(phone="1")
    saved = save(name="张三丰", phone="1")
    assert saved.outcome == "updated"
    assert saved.changed == ("name",)
    assert Person.objects.get().name == "张三丰"
    assert User.objects.get(username="zhangsan").get_full_name() == "张三丰"
    assert User.objects.filter(username="zhangsan").count() == 1
    assert actions() == ["person.create", "person.update"]
    assert AuditEntry.objects.get(action="person.update").payload["changed"] == ["name"]


def test_an_unchanged_save_writes_nothing_and_no_audit_entry() -> None:
    save(phone="1", email="z@example.com")
    before = state()
    saved = save(phone="1", email="z@example.com")
    assert saved.outcome == "unchanged"
    assert state() == before


def test_optional_fields_left_out_stay_as_they_are() -> None:
    save(delegation="城关镇代表团", seat="A-01", phone="1", email="z@example.com")
    assert save(name="张三丰").changed == ("name",)
    person = Person.objects.select_related("user").get()
    assert (person.delegation, person.seat, person.phone, person.user.email) == (
        "城关镇代表团",
        "A-01",
        "1",
        "z@example.com",
    )
    save(delegation="", seat="", phone="", email="")  # given empty: cleared
    person = Person.objects.select_related("user").get()
    assert (person.delegation, person.seat, person.phone, person.user.email) == ("", "", "", "")


def test_an_existing_account_without_a_person_gets_one_and_keeps_its_password() -> None:
    user = make_user("admin2")
    saved = save(username="admin2", role="staff")
    assert saved.outcome == "created"
    user.refresh_from_db()
    assert user.has_usable_password()
    assert user.person.role == "staff"


def test_a_liaison_joins_their_department_by_short_name_or_object() -> None:
    fgj, jyj = make_department(short_name="发改局"), make_department(short_name="教育局")
    save(username="li", role="liaison", department="发改局")
    save(username="wang", role="liaison", department=jyj)
    assert list(fgj.liaisons.values_list("username", flat=True)) == ["li"]
    assert list(jyj.liaisons.values_list("username", flat=True)) == ["wang"]


def test_a_liaison_whose_department_changes_moves() -> None:
    fgj, jyj = make_department(short_name="发改局"), make_department(short_name="教育局")
    save(username="li", role="liaison", department="发改局")
    user = User.objects.get(username="li")
    jyj.liaisons.add(user)  # also in another department from before (the admin)
    saved = save(username="li", role="liaison", department="教育局")
    assert saved.changed == ("department",)
    assert list(user.liaison_departments.all()) == [jyj]
    assert not fgj.liaisons.exists()


def test_a_person_no_longer_a_liaison_leaves_every_department() -> None:
    fgj, jyj = make_department(short_name="发改局"), make_department(short_name="教育局")
    save(username="li", role="liaison", department="发改局")
    jyj.liaisons.add(User.objects.get(username="li"))
    saved = save(username="li", role="deputy", department="")
    assert set(saved.changed) == {"role", "department"}
    assert not fgj.liaisons.exists() and not jyj.liaisons.exists()


def test_must_be_new_refuses_a_username_in_use() -> None:
    save()
    before = state()
    with pytest.raises(FieldErrors) as caught:
        save(name="别人", must_be_new=True)
    assert set(caught.value.errors) == {"username"}
    assert "zhangsan" in caught.value.message
    assert state() == before


# ------------------------------------------------------------------------------- validation


LONG = "长" * (limits.PERSON_FIELD + 1)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"username": ""}, "username", "用户名"),
        ({"username": "zhang san"}, "username", "用户名"),
        ({"username": "a" * (limits.USERNAME + 1)}, "username", str(limits.USERNAME)),
        ({"name": ""}, "name", "姓名"),
        ({"name": "   "}, "name", "姓名"),
        ({"name": "张" * (limits.PERSON_NAME + 1)}, "name", str(limits.PERSON_NAME)),
        ({"name": "张\n三"}, "name", "姓名"),
        ({"role": "mayor"}, "role", "身份"),
        ({"role": ""}, "role", "身份"),
        ({"delegation": LONG}, "delegation", "代表团"),
        ({"seat": LONG}, "seat", "座位"),
        ({"phone": LONG}, "phone", "电话"),
        ({"email": "not-an-email"}, "email", "not-an-email"),
        ({"role": "liaison"}, "department", "联络员"),
        ({"role": "liaison", "department": ""}, "department", "联络员"),
        ({"role": "liaison", "department": "没有这个局"}, "department", "没有这个局"),
        ({"role": "deputy", "department": "发改局"}, "department", "联络员"),
    ],
)
def test_a_bad_field_is_named_and_nothing_changes(fields: dict[str, Any], field: str, says: str) -> None:
    make_department(short_name="发改局")
    save(username="other")
    before = state()
    with pytest.raises(FieldErrors) as caught:
        save(**fields)
    assert set(caught.value.errors) == {field}
    assert says in caught.value.errors[field].message
    assert caught.value.code == "bad_request"
    assert state() == before


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(FieldErrors) as caught:
        save(username="", name="", role="x", email="@", phone=LONG)
    assert set(caught.value.errors) == {"username", "name", "role", "email", "phone"}
    assert not Person.objects.exists()


def test_an_empty_email_is_fine() -> None:
    assert save(email="").outcome == "created"


# ------------------------------------------------------------------------------- who may


def non_staff(kind: str) -> Any:
    if kind == "anonymous":
        return AnonymousUser()
    if kind == "django_staff":
        return make_user(is_staff=True)  # the Django admin's staff flag is not office staff
    return make_person(kind)


CALLS: dict[str, Any] = {
    "person_save": lambda who, target, department: save(by=who),
    "person_set_password": lambda who, target, department: services.person_set_password(
        person_id=target.person.pk, by=who
    ),
    "person_deactivate": lambda who, target, department: services.person_deactivate(person_id=target.person.pk, by=who),
    "person_activate": lambda who, target, department: services.person_activate(person_id=target.person.pk, by=who),
    "department_create": lambda who, target, department: services.department_create(
        name="县新局", short_name="新局", by=who
    ),
    "department_update": lambda who, target, department: services.department_update(
        department_id=department.pk, name="改名", short_name="改", by=who
    ),
}


@pytest.mark.parametrize("kind", ["deputy", "liaison", "moderator", "django_staff", "anonymous"])
@pytest.mark.parametrize("call", CALLS)
def test_only_office_staff_or_the_system_may_change_people(kind: str, call: str) -> None:
    department = make_department()
    target = make_person()
    who = non_staff(kind)
    before = state()
    with pytest.raises(Forbidden):
        CALLS[call](who, target, department)
    assert state() == before


def test_a_superuser_counts_as_office_staff() -> None:
    assert save(by=make_user(is_superuser=True)).outcome == "created"


def test_an_inactive_staff_member_may_not() -> None:
    staff = make_staff()
    staff.is_active = False
    staff.save()
    with pytest.raises(Forbidden):
        save(by=staff)
    assert not User.objects.filter(username="zhangsan").exists()


# ------------------------------------------------------------------------------- password, deactivation


def test_an_initial_password_is_returned_once_and_only_its_hash_stored() -> None:
    staff = make_staff()
    person = save().person
    password = services.person_set_password(person_id=person.pk, by=staff)
    person.user.refresh_from_db()
    assert len(password) >= 12
    assert person.user.check_password(password)
    assert password not in person.user.password
    entry = AuditEntry.objects.get(action="person.password")
    assert password not in str(entry.payload)
    again = services.person_set_password(person_id=person.pk, by=staff)
    person.user.refresh_from_db()
    assert again != password
    assert not person.user.check_password(password)  # the earlier one stops working


def test_deactivate_and_activate() -> None:
    staff = make_staff()
    person = save().person
    services.person_deactivate(person_id=person.pk, by=staff)
    person.user.refresh_from_db()
    assert not person.user.is_active
    assert Person.objects.filter(pk=person.pk).exists()  # never deleted
    before = state()
    with pytest.raises(InvalidState):
        services.person_deactivate(person_id=person.pk, by=staff)
    assert state() == before
    services.person_activate(person_id=person.pk, by=staff)
    person.user.refresh_from_db()
    assert person.user.is_active
    with pytest.raises(InvalidState):
        services.person_activate(person_id=person.pk, by=staff)
    assert actions()[-2:] == ["person.deactivate", "person.activate"]


def test_staff_cannot_deactivate_themselves() -> None:
    staff = make_staff()
    before = state()
    with pytest.raises(InvalidState):
        services.person_deactivate(person_id=staff.person.pk, by=staff)
    assert state() == before


def test_an_unknown_person_is_not_found() -> None:
    with pytest.raises(NotFound):
        services.person_set_password(person_id=999_999, by=None)
    with pytest.raises(NotFound):
        services.person_deactivate(person_id=999_999, by=None)


# ------------------------------------------------------------------------------- departments


def test_department_create_and_update_are_audited() -> None:
    staff = make_staff()
    department = services.department_create(name=" 县发展和改革局 ", short_name="发改局", by=staff)
    assert (department.name, department.short_name) == ("县发展和改革局", "发改局")
    services.department_update(department_id=department.pk, name="县发改委", short_name="发改委", by=staff)
    department.refresh_from_db()
    assert (department.name, department.short_name) == ("县发改委", "发改委")
    assert actions() == ["department.create", "department.update"]
    before = state()
    services.department_update(department_id=department.pk, name="县发改委", short_name="发改委", by=staff)
    assert state() == before  # unchanged: no audit entry


@pytest.mark.parametrize(
    ("name", "short_name", "fields"),
    [
        ("县教育局", "新局", {"name"}),
        ("县新局", "教育局", {"short_name"}),
        ("县教育局", "教育局", {"name", "short_name"}),
        ("", "新局", {"name"}),
        ("县新局", "", {"short_name"}),
        ("局" * (limits.DEPARTMENT_NAME + 1), "新局", {"name"}),
        ("县新局", "局" * (limits.DEPARTMENT_SHORT_NAME + 1), {"short_name"}),
    ],
)
def test_department_names_are_unique_and_checked(name: str, short_name: str, fields: set[str]) -> None:
    make_department(name="县教育局", short_name="教育局")
    other = make_department(name="县卫健局", short_name="卫健局")
    before = state()
    with pytest.raises(FieldErrors) as caught:
        services.department_create(name=name, short_name=short_name, by=None)
    assert set(caught.value.errors) == fields
    with pytest.raises(FieldErrors) as caught:
        services.department_update(department_id=other.pk, name=name, short_name=short_name, by=None)
    assert set(caught.value.errors) == fields
    assert state() == before


def test_a_department_keeps_its_own_names_when_renamed() -> None:
    department = make_department(name="县教育局", short_name="教育局")
    services.department_update(department_id=department.pk, name="县教育和体育局", short_name="教育局", by=None)
    assert Department.objects.get(pk=department.pk).name == "县教育和体育局"


def test_an_unknown_department_is_not_found() -> None:
    with pytest.raises(NotFound):
        services.department_update(department_id=999_999, name="x", short_name="y", by=None)


def test_the_username_limit_is_the_user_models() -> None:
    assert User._meta.get_field("username").max_length == limits.USERNAME


def test_saving_a_deactivated_person_does_not_activate_them() -> None:
    person = save().person
    services.person_deactivate(person_id=person.pk, by=None)
    assert save(name="张三丰").outcome == "updated"
    person.user.refresh_from_db()
    assert not person.user.is_active


# ------------------------------------------------------------------------------- a role that changes


def test_a_person_whose_role_changes_leaves_the_open_hearings_that_role_may_not_be_on() -> None:
    """A deputy made a liaison is no longer a deputy of a draft or live hearing (a tablet it
    held closes at its next role check); an ended hearing keeps its record."""
    from django.utils import timezone

    from hearings.models import Hearing

    user = save().person.user
    draft = Hearing.objects.create(title="筹备", starts_at=timezone.now())
    live = Hearing.objects.create(title="直播", starts_at=timezone.now(), status=Hearing.Status.LIVE)
    ended = Hearing.objects.create(title="结束", starts_at=timezone.now(), status=Hearing.Status.ENDED)
    for hearing in (draft, live, ended):
        hearing.deputies.add(user)
    department = make_department()
    save(role="liaison", department=department.short_name)
    assert [h.pk for h in Hearing.objects.filter(deputies=user)] == [ended.pk]
    entry = AuditEntry.objects.filter(action="person.update").latest("seq")
    assert entry.payload["left_deputies_of"] == sorted([draft.pk, live.pk])


def test_a_moderator_made_a_deputy_leaves_the_moderators_but_staff_stay() -> None:
    from django.utils import timezone

    from hearings.models import Hearing

    hearing = Hearing.objects.create(title="筹备", starts_at=timezone.now())
    moderator = save(username="mod", role="moderator").person.user
    staff = save(username="office", role="staff").person.user
    hearing.moderators.add(moderator, staff)
    save(username="office", role="moderator")  # staff → moderator: still may moderate
    save(username="mod", role="deputy")
    assert list(hearing.moderators.all()) == [staff]
    assert not hearing.deputies.exists()  # a new deputy is not added anywhere by a role change
