"""Test data in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from hearings.models import AgendaItem, Department, Hearing

PASSWORD = "test-pass-123"
_counter = iter(range(1, 10**9))


def make_user(username: str | None = None, **extra: Any) -> Any:
    users = get_user_model()
    username = username or f"user{next(_counter)}"
    user = users.objects.create_user(username=username, password=PASSWORD, **extra)
    return user


def make_department(name: str | None = None, short_name: str | None = None) -> Department:
    n = next(_counter)
    return Department.objects.create(name=name or f"县测试局{n}", short_name=short_name or f"测试局{n}")


@dataclass
class World:
    hearing: Hearing
    items: list[AgendaItem]
    departments: list[Department]
    moderator: Any
    deputies: list[Any] = field(default_factory=list)
    other_moderator: Any = None


def make_world(*, deputies: int = 3, status: str = Hearing.Status.DRAFT, **hearing_fields: Any) -> World:
    departments = [make_department() for _ in range(3)]
    hearing = Hearing.objects.create(
        title=hearing_fields.pop("title", "测试问政会"), starts_at=timezone.now(), status=status, **hearing_fields
    )
    items = [AgendaItem.objects.create(hearing=hearing, position=1, title="开场", kind="opening")]
    for position, department in enumerate(departments, start=2):
        items.append(
            AgendaItem.objects.create(
                hearing=hearing, position=position, title=f"问政{department.name}", department=department
            )
        )
    moderator = make_user()
    hearing.moderators.add(moderator)
    deps = [make_user() for _ in range(deputies)]
    hearing.deputies.add(*deps)
    other_hearing = Hearing.objects.create(title="另一场", starts_at=timezone.now())
    other_moderator = make_user()
    other_hearing.moderators.add(other_moderator)
    return World(hearing, items, departments, moderator, deps, other_moderator)
