"""People for the office's tests: staff and roster persons (hearings/services/people.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from hearings.models import Department, Person
from tests.factories import make_user


def make_person(role: str = Person.Role.DEPUTY, *, name: str = "", username: str | None = None, **fields: Any) -> Any:
    """A user with a Person of this role; returns the user."""
    user = make_user(username)
    Person.objects.create(user=user, name=name or f"姓名{user.pk}", role=role, **fields)
    return user


def make_staff(username: str | None = None) -> Any:
    return make_person(Person.Role.STAFF, username=username)


def state() -> dict[str, Any]:
    """Everything the people services may change, to compare before and after a refusal."""
    users = get_user_model().objects
    return {
        "users": list(users.order_by("id").values("id", "username", "email", "password", "is_active")),
        "persons": list(Person.objects.order_by("id").values()),
        "departments": list(Department.objects.order_by("id").values()),
        "liaisons": sorted(Department.liaisons.through.objects.values_list("department_id", "user_id")),
        "audit": AuditEntry.objects.count(),
    }
