"""Client text through the control panel's forms (htmx posts): refused as 400 bad_request with
nothing changed, on SQLite and PostgreSQL (NUL used to reach PostgreSQL and fail as a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hearings import services
from hearings.models import Hearing, Question
from tests.factories import World
from tests.text_cases import GOOD, REFUSED, REFUSED_ONE_LINE, WITH_BIDI
from voting.models import Poll

pytestmark = pytest.mark.django_db


def act(client: Client, world: World, action: str, **data: Any) -> Any:
    url = f"/hearings/{world.hearing.pk}/control/do/{action}/"
    return client.post(url, data, secure=True, headers={"HX-Request": "true"})


def state(world: World) -> Any:
    hearing = Hearing.objects.get(pk=world.hearing.pk)
    return (
        list(
            Question.objects.filter(hearing=hearing)
            .order_by("id")
            .values_list("id", "text", "asker_name", "status", "answer_note", "commitment")
        ),
        list(Poll.objects.filter(hearing=hearing).order_by("id").values_list("id", "title", "status")),
        (hearing.public_seq, hearing.control_seq),
    )


@pytest.fixture
def moderator_client(client: Client, live_world: World) -> Client:
    client.force_login(live_world.moderator)
    return client


def approved(world: World) -> Question:
    q = services.question_submit(hearing_id=world.hearing.pk, text="原来的问题", source="public")
    return services.question_approve(hearing_id=world.hearing.pk, question_id=q.pk, by=None)


# (action, the form's other fields, the field holding the text, the refused texts)
FORMS: list[tuple[str, dict[str, Any], str, dict[str, str]]] = [
    ("question-add", {}, "text", REFUSED),
    ("question-add", {"text": "问题"}, "name", REFUSED_ONE_LINE),
    ("question-edit", {"question": "Q"}, "text", REFUSED),
    ("question-answered", {"question": "Q"}, "note", REFUSED),
    ("question-answered", {"question": "Q"}, "commitment", REFUSED),
    ("poll-open", {"item": "I"}, "title", REFUSED_ONE_LINE),
]


CASES = [
    pytest.param(action, fields, field, text, id=f"{action}.{field}-{case}")
    for action, fields, field, cases in FORMS
    for case, text in cases.items()
]


@pytest.mark.parametrize(("action", "fields", "field", "text"), CASES)
def test_a_refused_text_is_a_400_and_changes_nothing(
    moderator_client: Client, live_world: World, action: str, fields: dict[str, Any], field: str, text: str
) -> None:
    question = approved(live_world)
    data = {name: {"Q": question.pk, "I": live_world.items[1].pk}.get(value, value) for name, value in fields.items()}
    before = state(live_world)
    response = act(moderator_client, live_world, action, **data, **{field: text})
    assert response.status_code == 400, response.content.decode()[:300]
    assert 'data-code="bad_request"' in response.content.decode()
    assert state(live_world) == before


def test_good_text_is_stored_and_bidi_controls_are_removed(moderator_client: Client, live_world: World) -> None:
    world = live_world
    question = approved(world)
    assert act(moderator_client, world, "question-add", text=f" {GOOD}\r\n第二行", name="张\u202e三").status_code == 200
    added = Question.objects.filter(hearing=world.hearing).latest("id")
    assert (added.text, added.asker_name) == (f"{GOOD}\n第二行", "张三")
    assert act(moderator_client, world, "question-edit", question=question.pk, text=WITH_BIDI[0]).status_code == 200
    response = act(moderator_client, world, "question-answered", question=question.pk, note=GOOD, commitment="按期")
    assert response.status_code == 200
    question.refresh_from_db()
    assert (question.text, question.answer_note, question.commitment) == (WITH_BIDI[1], GOOD, "按期")
    assert act(moderator_client, world, "poll-open", item=world.items[1].pk, title=WITH_BIDI[0]).status_code == 200
    assert Poll.objects.get(hearing=world.hearing).title == WITH_BIDI[1]


def test_a_refused_text_reads_in_the_page_language(moderator_client: Client, live_world: World) -> None:
    response = act(moderator_client, live_world, "question-add", text="问题", name="\u200b")
    html = response.content.decode()
    assert response.status_code == 400
    assert "提问人姓名没有可见的文字。" in html
