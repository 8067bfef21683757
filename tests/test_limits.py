"""core/limits.py is the one place a limit is written: the models, the wire schemas, the services
and the rendered pages (attributes and the #data-limits the scripts read) all carry its values,
and no template or script types one of them again. (The browser side: tests/e2e/test_pages.py,
the ask box counts and stops at the page's limit.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pydantic import BaseModel

from assignments import services as assignment_services
from assignments.models import Assignment
from assignments.schema import TransitionIn
from core import limits
from hearings import services as hearing_services
from hearings.models import Question
from live import schema
from tests.factories import World, make_world
from voting import services as voting_services
from voting.models import Ballot, Poll

ROOT = Path(__file__).resolve().parents[1]


def test_the_protocol_keeps_its_published_numbers() -> None:
    # PROTOCOL.md: a question is 1–500 characters, a name up to 50, a note up to 2,000, a frame 16 KiB.
    assert (limits.QUESTION_TEXT, limits.ASKER_NAME, limits.ANSWER_NOTE) == (500, 50, 2000)
    assert limits.FRAME_BYTES == 16 * 1024


def test_the_wire_schemas_take_their_limits_from_core_limits() -> None:
    by_field: dict[tuple[type[BaseModel], str], int] = {
        (schema.Ask, "text"): limits.QUESTION_TEXT,
        (schema.Ask, "name"): limits.ASKER_NAME,
        (schema.QuestionAnswered, "note"): limits.ANSWER_NOTE,
        (schema.QuestionAnswered, "commitment"): limits.ANSWER_NOTE,
        (schema.QuestionEdit, "text"): limits.QUESTION_TEXT,
        (schema.PollOpen, "title"): limits.POLL_TITLE,
        (schema.AgendaAdd, "title"): limits.AGENDA_TITLE,
        (schema.AgendaEdit, "title"): limits.AGENDA_TITLE,
        (schema.Vote, "choice"): limits.POLL_CHOICE,
        (schema.Ping, "id"): limits.CLIENT_ID,
        (TransitionIn, "note"): limits.ASSIGNMENT_REPLY,
        (TransitionIn, "reason"): limits.ASSIGNMENT_NOTE,
    }
    found = {(model, field): _schema_max(model, field) for model, field in by_field}
    assert found == by_field
    assert schema.MAX_FRAME_BYTES == limits.FRAME_BYTES


def _schema_max(model: type[BaseModel], field: str) -> Any:
    props = model.model_json_schema()["properties"][field]
    for option in [props, *props.get("anyOf", [])]:
        if "maxLength" in option:
            return option["maxLength"]
    return None


def test_a_question_of_exactly_the_limit_passes_the_wire_and_one_more_does_not() -> None:
    def ask(text: str) -> str:
        frame = json.dumps({"action": "ask", "id": "a", "text": text})
        try:
            schema.parse_action(frame)
        except schema.ActionError as error:
            return str(error.code)
        return "ok"

    assert ask("问" * limits.QUESTION_TEXT) == "ok"
    assert ask("问" * (limits.QUESTION_TEXT + 1)) == "bad_request"


def test_the_models_take_their_limits_from_core_limits() -> None:
    def field(model: Any, name: str) -> Any:
        return model._meta.get_field(name).max_length

    assert field(Question, "text") == limits.QUESTION_TEXT
    assert field(Question, "asker_name") == limits.ASKER_NAME
    assert field(Poll, "title") == limits.POLL_TITLE
    assert field(Ballot, "choice") == limits.POLL_CHOICE
    assert field(Assignment, "title") == limits.ASSIGNMENT_TITLE


def test_the_services_refuse_by_core_limits() -> None:
    assert hearing_services.MAX_QUESTION_LENGTH == limits.QUESTION_TEXT
    assert hearing_services.MAX_NAME_LENGTH == limits.ASKER_NAME
    assert hearing_services.MAX_NOTE_LENGTH == limits.ANSWER_NOTE
    assert voting_services.MAX_TITLE_LENGTH == limits.POLL_TITLE
    assert (
        assignment_services.MAX_NOTE,
        assignment_services.MAX_REPLY,
        assignment_services.MAX_TITLE,
        assignment_services.MAX_WORKING_DAYS,
        assignment_services.MAX_ATTACHMENTS,
        assignment_services.MAX_ATTACHMENT_BYTES,
    ) == (
        limits.ASSIGNMENT_NOTE,
        limits.ASSIGNMENT_REPLY,
        limits.ASSIGNMENT_TITLE,
        limits.WORKING_DAYS,
        limits.ATTACHMENTS,
        limits.ATTACHMENT_BYTES,
    )


# ---------------------------------------------------------------------------- rendered pages


@pytest.fixture
def world(db: None) -> World:
    world = make_world()
    hid = world.hearing.pk
    hearing_services.hearing_start(hearing_id=hid, by=None)
    hearing_services.question_submit(hearing_id=hid, text="营业执照办理要多久？", source="public", viewer="v1")
    approved = hearing_services.question_submit(hearing_id=hid, text="公交线路何时调整？", source="public", viewer="v2")
    hearing_services.question_approve(hearing_id=hid, question_id=approved.pk, by=None)
    return world


def data_limits(html: str) -> Any:
    found = re.search(r'<script id="data-limits" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page has no #data-limits"
    return json.loads(found.group(1))


def attributes(html: str, name: str) -> dict[str, str]:
    """{element id: value of `name`} for every element with both."""
    found = {}
    for tag in re.findall(r"<(?:input|textarea)\b[^>]*>", html):
        ident = re.search(r'\bid="([^"]+)"', tag)
        value = re.search(rf'\b{name}="([^"]*)"', tag)
        if ident and value:
            found[ident.group(1)] = value.group(1)
    return found


def test_the_public_page_hands_its_scripts_the_limits(client: Client, world: World) -> None:
    html = client.get(f"/hearings/{world.hearing.pk}/", secure=True).content.decode()
    assert data_limits(html) == limits.LIMITS
    assert attributes(html, "maxlength") == {"ask-name": str(limits.ASKER_NAME), "ask-text": str(limits.QUESTION_TEXT)}
    assert f'id="ask-count">0 / {limits.QUESTION_TEXT}<' in html
    assert f'placeholder="{limits.QUESTION_TEXT} 字以内"' in html


def test_the_tablet_hands_its_scripts_the_limits(client: Client, world: World) -> None:
    client.force_login(world.deputies[0])
    html = client.get(f"/hearings/{world.hearing.pk}/tablet/", secure=True).content.decode()
    assert data_limits(html) == limits.LIMITS
    assert attributes(html, "maxlength") == {"ask-text": str(limits.QUESTION_TEXT)}
    assert f'id="ask-count">0 / {limits.QUESTION_TEXT}<' in html
    assert f"（{limits.QUESTION_TEXT} 字以内）" in html


def test_the_control_panel_forms_carry_the_limits(client: Client, world: World) -> None:
    client.force_login(world.moderator)
    html = client.get(f"/hearings/{world.hearing.pk}/control/", secure=True).content.decode()
    found = attributes(html, "maxlength")
    pending, approved = Question.objects.filter(hearing=world.hearing).order_by("pk")
    expected = {
        "add-question-name": limits.ASKER_NAME,
        "add-question-text": limits.QUESTION_TEXT,
        "poll-title": limits.POLL_TITLE,
        f"edit-text-{pending.pk}": limits.QUESTION_TEXT,  # the pending card's edit form …
        f"merge-search-{pending.pk}": limits.MERGE_SEARCH,
        f"edit-text-{approved.pk}": limits.QUESTION_TEXT,  # … and the approved card's: one partial
        f"answer-note-{approved.pk}": limits.ANSWER_NOTE,
        f"answer-commitment-{approved.pk}": limits.ANSWER_NOTE,
        f"followup-name-{approved.pk}": limits.ASKER_NAME,
        f"followup-text-{approved.pk}": limits.QUESTION_TEXT,
        f"hide-reason-{approved.pk}": limits.HIDE_REASON,  # withdraw it from public view
        f"block-reason-{approved.pk}": limits.HIDE_REASON,  # block its asker (a viewer)
        "agenda-add-title": limits.AGENDA_TITLE,  # the agenda's tools
        **{f"agenda-title-{item.pk}": limits.AGENDA_TITLE for item in world.items},
    }
    assert found == {key: str(value) for key, value in expected.items()}


def test_the_question_edit_form_is_one_partial_on_both_cards() -> None:
    templates = ROOT / "templates" / "hearings"
    include = '{% include "hearings/_question_edit.html" %}'
    for card in ("_queue_question.html", "_control_question.html"):
        text = (templates / card).read_text()
        assert include in text and "question-edit" not in text, card
    assert "question-edit" in (templates / "_question_edit.html").read_text()


def test_the_assignment_form_carries_the_limits(client: Client, world: World) -> None:
    client.force_login(world.moderator)
    html = client.get(f"/assignments/new/?hearing={world.hearing.pk}", secure=True).content.decode()
    assert re.search(rf'<input name="title" maxlength="{limits.ASSIGNMENT_TITLE}"', html)
    assert f'name="working_days" min="1" max="{limits.WORKING_DAYS}"' in html


# ---------------------------------------------------------------------------- no copies


def sources(folder: str, suffix: str) -> list[Path]:
    return sorted((ROOT / folder).rglob(f"*{suffix}"))


def test_no_template_types_a_limit() -> None:
    typed = re.compile(r'\b(maxlength|max)="\d+"|\b\d+ 字')
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sources("templates", ".html")
        for match in typed.finditer(path.read_text())
    ]
    assert found == [], "write {{ limits.NAME }} (core/limits.py) instead"


def test_no_script_types_a_limit() -> None:
    numbers = "|".join(str(value) for value in set(limits.LIMITS.values()))
    # a counter's "0 / 500" or `${n} / 500`, a maxLength set to a number, a "500 字" in a message
    typed = re.compile(rf"""(maxLength\s*=\s*\d|["`]\d* / ({numbers})\b|\}} / ({numbers})\b|\b({numbers}) 字)""")
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in sources("static", ".js")
        for match in typed.finditer(path.read_text())
    ]
    assert found == [], "read LIMITS (static/live/state.js, the page's #data-limits) instead"


def test_the_ask_flow_is_written_once() -> None:
    live = ROOT / "static" / "live"
    for page in ("public.js", "tablet.js"):
        text = (live / page).read_text()
        assert 'from "./ask.js"' in text and "ASK_ERRORS" not in text and 'send("ask"' not in text, page
    assert 'send("ask"' in (live / "ask.js").read_text()
