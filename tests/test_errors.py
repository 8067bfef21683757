"""Errors as data (core/errors.py): one definition, rendered in the reader's language on every
path: the WebSocket `error` frame, the control panel (htmx and plain posts), the REST API."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from assignments import services as assignment_services
from assignments.schema import ErrorName
from core.errors import CODES, FIELD_REPLY, BadRequest, DomainError, InvalidState, text_refused
from core.text import TextError
from hearings import guards
from hearings import services as hearing_services
from hearings.models import Hearing, Question
from live.schema import ErrorCode
from realtime.consumers import scope_language
from tests.assignments.helpers import Case, create, make_case
from tests.factories import World, make_world
from tests.live.helpers import control_path, open_socket

LANGUAGES = ("zh-hans", "en")

# A refusal with parameters: a lazy field name and a number, both rendered when read.
TOO_LONG = {"zh-hans": "答复内容最多 10,000 字。", "en": "The reply has at most 10,000 characters."}
TITLE_BAD_REQUEST = {"zh-hans": "输入有误", "en": "Invalid input"}
# A rule of the hearing services: approving a question that is no longer pending.
NOT_PENDING = {"zh-hans": "这个问题已不在待审核状态。", "en": "This question no longer awaits moderation."}
TITLE_INVALID_STATE = {"zh-hans": "当前状态下不能这样做", "en": "Not possible in the current state"}
# A rule of the assignment services: a step the assignment's status does not allow.
WRONG_STEP = {
    "zh-hans": "交办件当前的状态不能办理这一步。",
    "en": "This step is not possible in the assignment's current status.",
}


def too_long() -> BadRequest:
    return BadRequest(_("%(what)s最多 %(limit)s 字。"), what=FIELD_REPLY, limit=10000)


def refuse_too_long(*args: Any, **kwargs: Any) -> None:
    raise too_long()


def all_subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *all_subclasses(sub)]
    return found


# --------------------------------------------------------------------------- the definitions


def test_every_code_has_a_status_and_a_title_in_both_languages() -> None:
    classes: list[type[DomainError]] = [DomainError, *all_subclasses(DomainError)]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.code in CODES, cls
    for code, row in CODES.items():
        assert 400 <= row.status < 500, code
        with translation.override("zh-hans"):
            chinese = str(row.title)
        with translation.override("en"):
            english = str(row.title)
        assert chinese and english and chinese != english, code
    # The wire's codes: a socket carries any but `unauthorized` (the REST API's own), and the
    # REST API answers with PROTOCOL.md's statuses.
    assert {cls.code for cls in classes} - {"unauthorized"} <= {str(code) for code in ErrorCode}
    rest = {code: CODES[code].status for code in get_args(ErrorName)}
    assert rest == {"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "invalid_state": 409}


def test_a_messages_parameters_render_in_the_active_language_when_read() -> None:
    error = too_long()  # made in neither language: rendered each time it is read
    for language in LANGUAGES:
        with translation.override(language):
            assert error.message == str(error) == TOO_LONG[language]
            assert error.title == TITLE_BAD_REQUEST[language]
            assert error.payload() == {"error": "bad_request", "message": TOO_LONG[language]}
    assert error.status == 400


def test_a_text_refusal_reads_as_the_fields_sentence() -> None:
    refusal = text_refused("reply", TextError("too_long", "has at most 10000 characters", limit=10000))
    for language in LANGUAGES:
        with translation.override(language):
            assert refusal.message == TOO_LONG[language]
    with translation.override("en"):
        assert text_refused("note", TextError("forbidden_char", "")).message == (
            "The note cannot contain control characters."
        )


def test_a_socket_speaks_the_language_its_page_would() -> None:
    cookie = settings.LANGUAGE_COOKIE_NAME
    assert scope_language({}) == settings.LANGUAGE_CODE == "zh-hans"
    assert scope_language({"cookies": {cookie: "en"}}) == "en"
    assert scope_language({"headers": [(b"accept-language", b"en-US,en;q=0.9")]}) == "en"
    # The language switch's cookie wins over the browser's languages, as for a page.
    assert scope_language({"cookies": {cookie: "zh-hans"}, "headers": [(b"accept-language", b"en")]}) == "zh-hans"
    assert scope_language({"cookies": {cookie: "fr"}, "headers": [(b"accept-language", b"fr")]}) == "zh-hans"


# --------------------------------------------------------------------------- the socket


db = database_sync_to_async


async def rejected_question(world: World) -> Question:
    q = await db(hearing_services.question_submit)(hearing_id=world.hearing.pk, text="广告", source="public")
    return await db(hearing_services.question_reject)(hearing_id=world.hearing.pk, question_id=q.pk, by=None)


def language_cookie(language: str) -> str:
    return f"{settings.LANGUAGE_COOKIE_NAME}={language}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_socket_error_frame_says_the_refusal_in_the_sockets_language(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await db(make_world)(status=Hearing.Status.LIVE)
    question = await rejected_question(world)
    cookies = language_cookie(language) if language == "en" else ""  # no cookie: LANGUAGE_CODE
    sock = await open_socket(control_path(world.hearing.pk), user=world.moderator, cookies=cookies)
    reply = await sock.action("question.approve", question=question.pk)
    assert reply == {"type": "error", "id": reply["id"], "code": "invalid_state", "message": NOT_PENDING[language]}
    monkeypatch.setattr(guards, "require_triager", refuse_too_long)
    reply = await sock.action("question.approve", question=question.pk)
    assert reply == {"type": "error", "id": reply["id"], "code": "bad_request", "message": TOO_LONG[language]}
    await sock.close()


# --------------------------------------------------------------------------- the control panel


def client_in(language: str, user: Any = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_panel_shows_the_codes_title_and_the_refusal_in_the_moderators_language(
    language: str, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = False
    world = make_world(status=Hearing.Status.LIVE)
    question = hearing_services.question_submit(hearing_id=world.hearing.pk, text="广告", source="public")
    hearing_services.question_reject(hearing_id=world.hearing.pk, question_id=question.pk, by=None)
    client = client_in(language, world.moderator)
    url = f"/hearings/{world.hearing.pk}/control/do/question-approve/"

    response = client.post(url, {"question": question.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == CODES["invalid_state"].status == 409
    assert 'data-code="invalid_state"' in html
    assert f'<span class="text">{TITLE_INVALID_STATE[language]}</span>' in html
    assert f'<span class="detail">{NOT_PENDING[language]}</span>' in html

    monkeypatch.setattr(guards, "require_triager", refuse_too_long)
    response = client.post(url, {"question": question.pk}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400 and 'data-code="bad_request"' in html
    assert f'<span class="text">{TITLE_BAD_REQUEST[language]}</span>' in html
    assert f'<span class="detail">{TOO_LONG[language]}</span>' in html
    # A plain post: the same two lines as the panel's message after the redirect.
    page = client.post(url, {"question": question.pk}, follow=True).content.decode()
    separator = "：" if language == "zh-hans" else ": "
    assert f"{TITLE_BAD_REQUEST[language]}{separator}{TOO_LONG[language]}" in page


# --------------------------------------------------------------------------- the REST API


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rest_api_answers_the_code_and_the_refusal_in_the_requests_language(
    language: str, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.SECURE_SSL_REDIRECT = False
    case: Case = make_case()
    assignment = create(case)  # assigned: progress needs it accepted first
    token = assignment_services.api_token_issue(department=case.lead)
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": language})

    def progress() -> Any:
        body = json.dumps({"action": "progress", "note": "进展"})
        return client.post(f"/api/v1/assignments/{assignment.pk}/transitions/", body, content_type="application/json")

    response = progress()
    assert response.status_code == 409
    assert response.json() == {"error": "invalid_state", "message": WRONG_STEP[language]}

    monkeypatch.setattr(assignment_services, "assignment_progress", refuse_too_long)
    response = progress()
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": TOO_LONG[language]}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rest_api_words_a_refused_text_field_and_a_missing_token(language: str, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    case = make_case()
    assignment = create(case)
    url = f"/api/v1/assignments/{assignment.pk}/transitions/"
    token = assignment_services.api_token_issue(department=case.lead)
    client = Client(headers={"Authorization": f"Bearer {token}", "Accept-Language": language})
    body = json.dumps({"action": "accept", "note": "a\x00b"})
    response = client.post(url, body, content_type="application/json")
    expected = {"zh-hans": "说明不能包含控制字符。", "en": "The note cannot contain control characters."}
    assert response.status_code == 400
    assert response.json() == {"error": "bad_request", "message": expected[language]}

    anonymous = Client(headers={"Accept-Language": language})
    response = anonymous.post(url, json.dumps({"action": "accept"}), content_type="application/json")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    with translation.override(language):
        assert response.json()["message"] == str(_("需要有效的单位令牌（Authorization: Bearer …）。"))


def test_invalid_state_is_the_same_everywhere() -> None:
    """The socket's code and the REST API's code and status come from one row."""
    error = InvalidState(_("这个问题已不在待审核状态。"))
    assert (error.code, error.status) == ("invalid_state", 409)
    assert ErrorCode(error.code) is ErrorCode.INVALID_STATE
