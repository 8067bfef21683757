"""`manage.py seed_demo`: the demo data of shared/PROTOCOL.md, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from demo.management.commands.seed_demo import DEFAULT_PASSWORD
from hearings.models import AgendaItem, Department, Hearing

pytestmark = pytest.mark.django_db

User = get_user_model()


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "departments": Department.objects.count(),
        "liaisons": Department.liaisons.through.objects.count(),
        "hearings": Hearing.objects.count(),
        "agenda": AgendaItem.objects.count(),
        "deputies": Hearing.deputies.through.objects.count(),
        "moderators": Hearing.moderators.through.objects.count(),
    }


def demo_hearing() -> Hearing:
    hearings = list(Hearing.objects.filter(status=Hearing.Status.DRAFT))
    assert len(hearings) == 1
    return hearings[0]


def test_seed_demo_creates_the_hearing_and_its_people() -> None:
    output = seed("--deputies", "5", "--password", "pw-demo-7788")

    hearing = demo_hearing()
    assert hearing.status == Hearing.Status.DRAFT
    items = list(hearing.agenda.order_by("position"))
    assert len(items) >= 4
    questioned = [item for item in items if item.department_id is not None]
    assert len(questioned) >= 3
    assert len({item.position for item in items}) == len(items)
    assert all(item.status == AgendaItem.Status.PENDING for item in items)

    moderator = User.objects.get(username="moderator")
    assert list(hearing.moderators.all()) == [moderator]
    deputies = User.objects.filter(username__startswith="deputy").order_by("username")
    assert [user.username for user in deputies] == ["deputy001", "deputy002", "deputy003", "deputy004", "deputy005"]
    assert set(hearing.deputies.all()) == set(deputies)

    departments = list(Department.objects.all())
    assert {item.department_id for item in questioned} <= {department.pk for department in departments}
    for department in departments:
        assert [user.username for user in department.liaisons.all()] == [f"liaison-{department.short_name}"]

    people = [moderator, *deputies, *User.objects.filter(username__startswith="liaison-")]
    assert len(people) == 1 + 5 + len(departments)
    for user in people:
        assert user.check_password("pw-demo-7788"), user.username

    assert f"{hearing.pk}" in output
    for path in ("", "screen/", "tablet/", "control/"):
        assert f"/hearings/{hearing.pk}/{path}" in output
    assert "pw-demo-7788" in output


def test_seed_demo_twice_creates_no_duplicates() -> None:
    first_output = seed("--deputies", "4", "--password", "pw-demo-7788")
    first_id = demo_hearing().pk
    counts = row_counts()

    second_output = seed("--deputies", "4", "--password", "pw-demo-7788")

    assert row_counts() == counts
    assert demo_hearing().pk == first_id
    assert f"/hearings/{first_id}/" in first_output
    assert f"/hearings/{first_id}/" in second_output


def test_seed_demo_again_with_a_new_password_and_more_deputies() -> None:
    seed("--deputies", "3", "--password", "old-pass-1234")
    hearing_id = demo_hearing().pk

    seed("--deputies", "12", "--password", "new-pass-5678")

    assert demo_hearing().pk == hearing_id
    assert User.objects.filter(username__startswith="deputy").count() == 12
    assert User.objects.filter(username="deputy012").exists()
    assert demo_hearing().deputies.count() == 12
    for user in User.objects.filter(username__regex=r"^(moderator|deputy\d{3}|liaison-.+)$"):
        assert user.check_password("new-pass-5678"), user.username
        assert not user.check_password("old-pass-1234")


def test_seed_demo_defaults_to_30_deputies_and_prints_the_password() -> None:
    output = seed()

    usernames = set(User.objects.filter(username__startswith="deputy").values_list("username", flat=True))
    assert usernames == {f"deputy{n:03d}" for n in range(1, 31)}
    assert User.objects.get(username="deputy030").check_password(DEFAULT_PASSWORD)
    assert User.objects.get(username="moderator").check_password(DEFAULT_PASSWORD)
    assert DEFAULT_PASSWORD in output
