"""Contact retention (`manage.py purge_contacts`, hearings.services.contacts_purge): a collected
question's contact is erased QUESTION_CONTACT_DAYS days after its hearing ended, not a moment
before; other hearings' contacts and everything else of a question stay; a second run erases
nothing; each run that erased something is audited with the count, never the contacts."""

from __future__ import annotations

from datetime import datetime, timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEntry
from core.errors import BadRequest
from hearings import services
from hearings.models import Hearing, Question
from tests.factories import World, make_world

pytestmark = pytest.mark.django_db

ENDED = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.get_current_timezone())


def question(hearing: Hearing, contact: str, text: str = "征集的问题") -> Question:
    return Question.objects.create(hearing=hearing, text=text, source="collected", contact=contact, category="教育")


@pytest.fixture
def hearings(world: World) -> dict[str, Hearing]:
    ended = world.hearing
    Hearing.objects.filter(pk=ended.pk).update(status=Hearing.Status.ENDED, ended_at=ENDED)
    later = make_world().hearing
    Hearing.objects.filter(pk=later.pk).update(status=Hearing.Status.ENDED, ended_at=ENDED + timedelta(days=30))
    draft = make_world().hearing  # not ended: its contacts are still needed
    for hearing, contact in (
        (ended, "13800000001"),
        (ended, "a@example.cn"),
        (later, "13800000002"),
        (draft, "13800000003"),
    ):
        question(hearing, contact)
    question(ended, "", text="没留联系方式")
    return {"ended": ended, "later": later, "draft": draft}


def run(at: datetime, *args: str) -> str:
    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=at):
        call_command("purge_contacts", *args, stdout=out)
    return out.getvalue().strip()


def contacts(hearing: Hearing) -> set[str]:
    return set(Question.objects.filter(hearing=hearing).values_list("contact", flat=True))


def test_contacts_are_erased_n_days_after_the_hearing_ended_and_not_before(
    hearings: dict[str, Hearing], settings: Any
) -> None:
    settings.QUESTION_CONTACT_DAYS = 90
    assert run(ENDED + timedelta(days=90) - timedelta(seconds=1)) == "erased 0 contacts"
    assert contacts(hearings["ended"]) == {"13800000001", "a@example.cn", ""}
    texts = list(Question.objects.order_by("pk").values_list("text", "category", "status"))
    assert run(ENDED + timedelta(days=90)) == "erased 2 contacts"
    assert contacts(hearings["ended"]) == {""}
    assert contacts(hearings["later"]) == {"13800000002"}
    assert contacts(hearings["draft"]) == {"13800000003"}
    assert list(Question.objects.order_by("pk").values_list("text", "category", "status")) == texts
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None and entry.action == "question.contacts_purge"
    assert entry.payload == {"count": 2, "hearings": [hearings["ended"].pk], "days": 90}
    assert "13800000001" not in str(entry.payload)


def test_a_second_run_erases_nothing_and_records_nothing(hearings: dict[str, Hearing]) -> None:
    at = ENDED + timedelta(days=200)
    assert run(at) == "erased 3 contacts"
    audited = AuditEntry.objects.count()
    assert run(at) == "erased 0 contacts"
    assert AuditEntry.objects.count() == audited
    assert contacts(hearings["draft"]) == {"13800000003"}


def test_the_setting_and_the_option_set_the_days(hearings: dict[str, Hearing], settings: Any) -> None:
    settings.QUESTION_CONTACT_DAYS = 10
    assert run(ENDED + timedelta(days=10)) == "erased 2 contacts"
    assert run(ENDED + timedelta(days=31), "--days", "1") == "erased 1 contacts"


def test_the_default_is_ninety_days() -> None:
    from django.conf import settings

    assert settings.QUESTION_CONTACT_DAYS == 90


def test_a_negative_number_of_days_is_refused(hearings: dict[str, Hearing]) -> None:
    with pytest.raises(CommandError):
        run(ENDED + timedelta(days=1000), "--days", "-1")
    with pytest.raises(BadRequest):
        services.contacts_purge(days=-1)
    assert contacts(hearings["ended"]) == {"13800000001", "a@example.cn", ""}
