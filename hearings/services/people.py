"""People (人员) and departments (部门): the one place either is created or changed.

A person is a user account and its roster row (`Person`), matched by username. Nobody is
deleted: a person who leaves is deactivated (`user.is_active`), which keeps every question,
ballot and timeline entry they left. Only office staff (会务工作人员) make these changes
(`by=None` is the system: the roster command). Every change is audited; an unchanged save
writes nothing, so importing the same roster twice leaves no trace the second time.

Administrator accounts (a superuser, or staff of the Django admin: `is_staff`) are outside the
office's world: only a superuser changes them here; the office (a staff member, the roster, the
`import_roster` command) cannot rename, re-role, re-address, re-password or deactivate one, so
a staff member cannot make themselves an administrator's password or mail. A staff member
cannot change their own role either (as they cannot deactivate themselves). A new username may
not differ only in case from an existing one (`admin` and `Admin` are two people to Django but
one to a reader).

Liaisons (联络员) belong to exactly one department here: a liaison saved with another
department moves (leaves the other departments' liaisons), and a person who is no longer a
liaison leaves every department's liaisons.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import CharField
from django.db.models.functions import Lower
from django.utils.crypto import get_random_string
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

import audit
from core import limits
from core.errors import BadRequest, DomainError, Forbidden, InvalidState, NotFound, clean_or_refuse
from hearings import guards
from hearings.models import Department, Hearing, Person

Outcome = Literal["created", "updated", "unchanged"]

# A field as a sentence names it (the roster's columns and the forms' fields).
LABELS: dict[str, Promise] = {
    "username": _("用户名"),
    "name": _("姓名"),
    "role": _("身份"),
    "department": _("部门"),
    "delegation": _("代表团"),
    "seat": _("座位"),
    "phone": _("电话"),
    "email": _("邮箱"),
    "short_name": _("简称"),
    "department_name": _("名称"),
}

_OPTIONAL = ("delegation", "seat", "phone")
# Unambiguous letters and digits: an initial password is read off a screen and typed on a tablet.
_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"
_PASSWORD_LENGTH = 12


def _user_field_max(name: str) -> int:
    model_field = get_user_model()._meta.get_field(name)
    assert isinstance(model_field, CharField) and model_field.max_length is not None
    return model_field.max_length


class FieldErrors(BadRequest):
    """A refusal naming each bad field: `errors` maps a field ("name", "role", …) to its refusal."""

    def __init__(self, errors: Mapping[str, DomainError]) -> None:
        super().__init__("%(problems)s", problems=_Joined(errors))
        self.errors = dict(errors)


class _Joined:
    """The field errors as one sentence, rendered when read (in the reader's language)."""

    def __init__(self, errors: Mapping[str, DomainError]) -> None:
        self.errors = errors

    def __str__(self) -> str:
        return " ".join(error.message for error in self.errors.values())


@dataclass(frozen=True)
class PersonData:
    """A person's fields, valid. None for delegation/seat/phone/email: left as they are."""

    username: str
    name: str
    role: str
    department: Department | None
    delegation: str | None = None
    seat: str | None = None
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class SavedPerson:
    person: Person
    outcome: Outcome
    changed: tuple[str, ...]


# ------------------------------------------------------------------------------- validation


def _text(errors: dict[str, DomainError], field: str, value: object, *, max_length: int, required: bool) -> str:
    try:
        return clean_or_refuse(
            value if value is not None else "",  # type: ignore[arg-type]  # clean_or_refuse refuses non-text
            what=LABELS[field],
            max_length=max_length,
            multiline=False,
            required=required,
        )
    except BadRequest as exc:
        errors[field] = exc
        return ""


def _username(errors: dict[str, DomainError], value: object) -> str:
    username = _text(errors, "username", value, max_length=limits.USERNAME, required=True)
    if username and "username" not in errors:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError:
            errors["username"] = BadRequest(_("用户名只能包含字母、数字和 @ . + - _ 字符。"))
    return username


def _email(errors: dict[str, DomainError], value: object) -> str:
    email = _text(errors, "email", value, max_length=_user_field_max("email"), required=False)
    if email and "email" not in errors:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = BadRequest(_("邮箱“%(email)s”格式不正确。"), email=email)
    return email


def department_by_short_name(short_name: str, departments: Mapping[str, Department] | None = None) -> Department | None:
    if departments is not None:
        return departments.get(short_name)
    return Department.objects.filter(short_name=short_name).first()


def person_clean(
    *,
    username: object,
    name: object,
    role: object,
    department: Department | str | None = None,
    delegation: object = None,
    seat: object = None,
    phone: object = None,
    email: object = None,
    departments: Mapping[str, Department] | None = None,
) -> PersonData:
    """The fields checked, each bad one named (FieldErrors); reads departments only.

    `department` is a Department or its short name; `departments` (short name → Department)
    saves the query per row when many are checked at once."""
    errors: dict[str, DomainError] = {}
    clean_username = _username(errors, username)
    clean_name = _text(errors, "name", name, max_length=limits.PERSON_NAME, required=True)
    clean_role = role if isinstance(role, str) else ""
    if clean_role not in Person.Role.values:
        errors["role"] = BadRequest(
            _("身份须为代表、主持人、联络员或会务工作人员（deputy、moderator、liaison、staff）之一。")
        )
    optional = {
        field: None if value is None else _text(errors, field, value, max_length=limits.PERSON_FIELD, required=False)
        for field, value in (("delegation", delegation), ("seat", seat), ("phone", phone))
    }
    clean_email = None if email is None else _email(errors, email)
    found: Department | None = None
    if isinstance(department, Department):
        found = department
    elif department is not None:
        short = _text(errors, "department", department, max_length=limits.DEPARTMENT_SHORT_NAME, required=False)
        if short:
            found = department_by_short_name(short, departments)
            if found is None:
                errors["department"] = BadRequest(_("没有简称为“%(short_name)s”的部门。"), short_name=short)
    if "department" not in errors and "role" not in errors:
        if clean_role == Person.Role.LIAISON and found is None:
            errors["department"] = BadRequest(_("联络员须填写所属部门的简称。"))
        elif clean_role != Person.Role.LIAISON and found is not None:
            errors["department"] = BadRequest(_("只有联络员属于部门：身份不是联络员时，部门须留空。"))
    if errors:
        raise FieldErrors(errors)
    return PersonData(
        username=clean_username,
        name=clean_name,
        role=clean_role,
        department=found,
        email=clean_email,
        **optional,
    )


def _changes(
    user: Any, person: Person | None, data: PersonData, departments: set[int] | None = None
) -> tuple[str, ...]:
    """What saving `data` would change (field names); every field for a new person.
    `departments`: the ids of the departments the user is a liaison of, if already read."""
    if user is None or person is None:
        return tuple(
            field
            for field in ("name", "role", "department", *_OPTIONAL, "email")
            if field in ("name", "role") or getattr(data, field)
        )
    changed = [field for field in ("name", "role") if getattr(person, field) != getattr(data, field)]
    current = departments if departments is not None else _liaison_of([user.pk])[user.pk]
    wanted = {data.department.pk} if data.department is not None else set()
    if current != wanted:
        changed.append("department")
    changed += [f for f in _OPTIONAL if getattr(data, f) is not None and getattr(person, f) != getattr(data, f)]
    if data.email is not None and user.email != data.email:
        changed.append("email")
    return tuple(changed)


def _liaison_of(user_ids: list[int]) -> dict[int, set[int]]:
    """user id → the ids of the departments they are a liaison of."""
    found: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    rows = Department.liaisons.through.objects.filter(user_id__in=user_ids).values_list("user_id", "department_id")
    for user_id, department_id in rows:
        found[user_id].add(department_id)
    return found


ADMINISTRATOR = _("“%(username)s”是系统管理员账号，会务不能修改它（请在管理后台由超级用户修改）。")
OWN_ROLE = _("不能更改自己的身份。")
CASE_TWIN = _("用户名“%(username)s”与已有的“%(existing)s”只有大小写不同。")


def is_administrator(user: Any) -> bool:
    """A superuser or a staff member of the Django admin: not the office's to change."""
    return bool(getattr(user, "is_superuser", False) or getattr(user, "is_staff", False))


def _by_superuser(by: AbstractBaseUser | None) -> bool:
    return bool(by is not None and getattr(by, "is_superuser", False))


def require_changeable(user: Any, by: AbstractBaseUser | None) -> None:
    """Forbidden when `by` may not change this account (an administrator's, unless by a superuser)."""
    if is_administrator(user) and not _by_superuser(by):
        raise Forbidden(ADMINISTRATOR, username=user.get_username())


def _refusals(
    user: Any, person: Person | None, data: PersonData, by: AbstractBaseUser | None, twin: str | None
) -> dict[str, DomainError]:
    """Why saving `data` over this account is refused by who is saving (field → refusal)."""
    errors: dict[str, DomainError] = {}
    if user is not None and is_administrator(user) and not _by_superuser(by):
        errors["username"] = BadRequest(ADMINISTRATOR, username=user.get_username())
    elif user is None and twin is not None:
        errors["username"] = BadRequest(CASE_TWIN, username=data.username, existing=twin)
    if by is not None and user is not None and by.pk == user.pk and person is not None and person.role != data.role:
        errors["role"] = BadRequest(OWN_ROLE)
    return errors


def _case_twins(usernames: list[str]) -> dict[str, str]:
    """Lowercased username → an existing username written so, for the usernames given (the
    database lowercases as SQL's LOWER does: ASCII letters on SQLite, all on PostgreSQL)."""
    folded = {name.lower() for name in usernames}
    rows = (
        get_user_model()
        .objects.annotate(folded=Lower("username"))
        .filter(folded__in=folded)
        .values_list("folded", "username")
    )
    return dict(rows)


def people_refusals(people: list[PersonData], by: AbstractBaseUser | None) -> list[dict[str, DomainError]]:
    """For each, why person_save by `by` would refuse it (empty when it would not), writing
    nothing; a few queries for the whole list."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[d.username for d in people])}
    persons = {p.user_id: p for p in Person.objects.filter(user_id__in=[u.pk for u in users.values()])}
    twins = _case_twins([d.username for d in people if d.username not in users])
    found: list[dict[str, DomainError]] = []
    for data in people:
        user = users.get(data.username)
        person = persons.get(user.pk) if user is not None else None
        found.append(_refusals(user, person, data, by, twins.get(data.username.lower())))
    return found


def people_plan(people: list[PersonData]) -> list[Outcome]:
    """What person_save would do with each (created, updated or unchanged), writing nothing;
    a few queries for the whole list (a roster of thousands is checked at once)."""
    users = {u.username: u for u in get_user_model().objects.filter(username__in=[d.username for d in people])}
    persons = {p.user_id: p for p in Person.objects.filter(user_id__in=[u.pk for u in users.values()])}
    departments = _liaison_of(list(persons))
    outcomes: list[Outcome] = []
    for data in people:
        user = users.get(data.username)
        person = persons.get(user.pk) if user is not None else None
        if user is None or person is None:
            outcomes.append("created")
        else:
            changed = _changes(user, person, data, departments[user.pk])
            outcomes.append("updated" if changed else "unchanged")
    return outcomes


def person_plan(data: PersonData) -> Outcome:
    """What person_save would do with `data` (created, updated or unchanged), writing nothing."""
    return people_plan([data])[0]


# ------------------------------------------------------------------------------- people


@transaction.atomic
def person_save(
    *,
    username: object,
    name: object,
    role: object,
    department: Department | str | None = None,
    delegation: object = None,
    seat: object = None,
    phone: object = None,
    email: object = None,
    by: AbstractBaseUser | None,
    must_be_new: bool = False,
    departments: Mapping[str, Department] | None = None,
) -> SavedPerson:
    """Create or update the person with this username.

    A new person gets a user with an unusable password (staff set one: person_set_password).
    delegation/seat/phone/email None: left as they are. A liaison is in exactly their
    department's liaisons; anyone else in none. `must_be_new`: refuse an existing username
    (the new-person form). Nothing changed: nothing written, no audit entry."""
    guards.require_office_staff(by)
    data = person_clean(
        username=username,
        name=name,
        role=role,
        department=department,
        delegation=delegation,
        seat=seat,
        phone=phone,
        email=email,
        departments=departments,
    )
    users = get_user_model()
    user = users.objects.select_for_update().filter(username=data.username).first()
    if must_be_new and user is not None:
        raise FieldErrors({"username": BadRequest(_("用户名“%(username)s”已被使用。"), username=data.username)})
    person = Person.objects.select_for_update().filter(user=user).first() if user is not None else None
    twin = _case_twins([data.username]).get(data.username.lower()) if user is None else None
    refused = _refusals(user, person, data, by, twin)
    if refused:
        raise FieldErrors(refused)
    changed = _changes(user, person, data)
    if not changed:
        assert person is not None
        return SavedPerson(person, "unchanged", ())
    outcome: Outcome = "created" if person is None else "updated"
    if user is None:
        # The account's full name is the roster's name too: Django's own pages (the admin, the
        # top bar's name) show it.
        user = users(username=data.username, email=data.email or "", first_name=data.name)
        user.set_unusable_password()
        user.save()
    else:
        fields = []
        if "email" in changed:
            user.email = data.email or ""
            fields.append("email")
        if user.get_full_name() != data.name:
            user.first_name, user.last_name = data.name, ""
            fields += ["first_name", "last_name"]
        if fields:
            user.save(update_fields=fields)
    if person is None:
        person = Person(user=user)
    person.name = data.name
    person.role = data.role
    for field in _OPTIONAL:
        value = getattr(data, field)
        if value is not None:
            setattr(person, field, value)
    person.save()
    left = _leave_hearings_of_another_role(user, data.role) if "role" in changed and outcome == "updated" else {}
    if "department" in changed:
        for other in Department.objects.filter(liaisons=user):
            if other != data.department:
                other.liaisons.remove(user)
        if data.department is not None:
            data.department.liaisons.add(user)
    audit.record(
        action=f"person.{'create' if outcome == 'created' else 'update'}",
        actor=by,
        subject=person,
        payload={
            "username": data.username,
            "role": data.role,
            "department": data.department.pk if data.department is not None else None,
            "changed": list(changed),  # the names only: phone numbers stay out of the permanent log
            **left,
        },
    )
    return SavedPerson(person, outcome, changed)


def _leave_hearings_of_another_role(user: AbstractBaseUser, role: str) -> dict[str, list[int]]:
    """A person whose role changes leaves the lists of hearings (not yet ended) that the new
    role may not be on, as hearing_set_roster would refuse them: a deputy no more leaves their
    deputies, one who is neither moderator nor staff their moderators. An ended hearing is a
    record: it keeps who was there. Returns what was left, for the audit entry."""
    open_hearings = Hearing.objects.exclude(status=Hearing.Status.ENDED)
    left: dict[str, list[int]] = {}
    if role != Person.Role.DEPUTY:
        ids = sorted(open_hearings.filter(deputies=user.pk).values_list("pk", flat=True))
        Hearing.deputies.through.objects.filter(user_id=user.pk, hearing_id__in=ids).delete()
        if ids:
            left["left_deputies_of"] = ids
    if role not in (Person.Role.MODERATOR, Person.Role.STAFF):
        ids = sorted(open_hearings.filter(moderators=user.pk).values_list("pk", flat=True))
        Hearing.moderators.through.objects.filter(user_id=user.pk, hearing_id__in=ids).delete()
        if ids:
            left["left_moderators_of"] = ids
    return left


def _person_for_update(person_id: int) -> Person:
    person = Person.objects.select_for_update().select_related("user").filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("没有这个人员。"))
    return person


@transaction.atomic
def person_set_password(*, person_id: int, by: AbstractBaseUser | None) -> str:
    """A new initial password for the person, returned once (to show to staff); only its hash is
    stored. The person's earlier password stops working."""
    guards.require_office_staff(by)
    person = _person_for_update(person_id)
    require_changeable(person.user, by)
    password = get_random_string(_PASSWORD_LENGTH, allowed_chars=_PASSWORD_CHARS)
    person.user.set_password(password)
    person.user.save(update_fields=["password"])
    audit.record(action="person.password", actor=by, subject=person, payload={"username": person.user.username})
    return password


def _set_active(person_id: int, active: bool, by: AbstractBaseUser | None) -> Person:
    guards.require_office_staff(by)
    person = _person_for_update(person_id)
    require_changeable(person.user, by)
    if person.user.is_active == active:
        raise InvalidState(_("此人员已启用。") if active else _("此人员已停用。"))
    if not active and by is not None and by.pk == person.user_id:
        raise InvalidState(_("不能停用自己的账号。"))
    person.user.is_active = active
    person.user.save(update_fields=["is_active"])
    audit.record(
        action="person.activate" if active else "person.deactivate",
        actor=by,
        subject=person,
        payload={"username": person.user.username},
    )
    return person


@transaction.atomic
def person_deactivate(*, person_id: int, by: AbstractBaseUser | None) -> Person:
    """The person can no longer log in (their sessions end too); nothing they did is removed."""
    return _set_active(person_id, False, by)


@transaction.atomic
def person_activate(*, person_id: int, by: AbstractBaseUser | None) -> Person:
    """A deactivated person may log in again."""
    return _set_active(person_id, True, by)


# ------------------------------------------------------------------------------- departments


def _department_fields(name: object, short_name: object, *, exclude: int | None) -> tuple[str, str]:
    errors: dict[str, DomainError] = {}
    try:
        clean_name = clean_or_refuse(
            name if isinstance(name, str) else "",
            what=LABELS["department_name"],
            max_length=limits.DEPARTMENT_NAME,
            multiline=False,
        )
    except BadRequest as exc:
        errors["name"] = exc
        clean_name = ""
    clean_short = _text(errors, "short_name", short_name, max_length=limits.DEPARTMENT_SHORT_NAME, required=True)
    others = Department.objects.exclude(pk=exclude) if exclude is not None else Department.objects.all()
    if clean_name and others.filter(name=clean_name).exists():
        errors["name"] = BadRequest(_("已有名为“%(name)s”的部门。"), name=clean_name)
    if clean_short and others.filter(short_name=clean_short).exists():
        errors["short_name"] = BadRequest(_("已有简称为“%(short_name)s”的部门。"), short_name=clean_short)
    if errors:
        raise FieldErrors(errors)
    return clean_name, clean_short


@transaction.atomic
def department_create(*, name: object, short_name: object, by: AbstractBaseUser | None) -> Department:
    """A new department; its name and its short name are each unique."""
    guards.require_office_staff(by)
    clean_name, clean_short = _department_fields(name, short_name, exclude=None)
    department = Department.objects.create(name=clean_name, short_name=clean_short)
    audit.record(
        action="department.create",
        actor=by,
        subject=department,
        payload={"name": clean_name, "short_name": clean_short},
    )
    return department


@transaction.atomic
def department_update(
    *, department_id: int, name: object, short_name: object, by: AbstractBaseUser | None
) -> Department:
    """Rename a department (name, short name; each unique). Unchanged: nothing written."""
    guards.require_office_staff(by)
    department = Department.objects.select_for_update().filter(pk=department_id).first()
    if department is None:
        raise NotFound(_("没有这个部门。"))
    clean_name, clean_short = _department_fields(name, short_name, exclude=department.pk)
    if (department.name, department.short_name) == (clean_name, clean_short):
        return department
    before = {"name": department.name, "short_name": department.short_name}
    department.name, department.short_name = clean_name, clean_short
    department.save(update_fields=["name", "short_name"])
    audit.record(
        action="department.update",
        actor=by,
        subject=department,
        payload={"before": before, "name": clean_name, "short_name": clean_short},
    )
    return department
