"""The moderator's command table (chamber/commands.py): the control socket and the control panel
reach the same service entry with the same arguments for every command, and the table covers
exactly the socket's control actions and the panel's slugs."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from chamber import commands
from core.errors import BadRequest
from hearings import services
from live import schema
from realtime.consumers import CONTROL, ROUTES
from tests.factories import World, make_world
from tests.live.helpers import control_path, open_socket

db = database_sync_to_async

# The panel's slugs as its URLs have them (/hearings/<id>/control/do/<slug>/).
PANEL_SLUGS = {
    "hearing-start",
    "hearing-end",
    "agenda-start",
    "agenda-add",
    "agenda-edit",
    "agenda-move",
    "agenda-remove",
    "question-approve",
    "question-reject",
    "question-hide",
    "question-edit",
    "question-merge",
    "question-stage",
    "question-answered",
    "question-add",
    "viewer-block",
    "poll-open",
    "poll-close",
    "poll-publish",
    "deputy-checkin",
}

# (command, its fields as a socket frame carries them, as the panel's form posts them)
CASES: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("hearing.start", {}, {}),
    ("hearing.end", {}, {}),
    ("agenda.start", {"item": 11}, {"item": "11"}),
    ("agenda.add", {"title": "新议程"}, {"title": "新议程"}),
    (
        "agenda.add",
        {"title": "新议程", "kind": "evaluation", "department": 5, "minutes": 20, "after": 11},
        {"title": "新议程", "kind": "evaluation", "department": "5", "minutes": "20", "after": "11"},
    ),
    (
        "agenda.edit",
        {"item": 11, "title": "改名", "department": 5, "minutes": 30},
        {"item": "11", "title": "改名", "department": "5", "minutes": "30"},
    ),
    # The panel's edit form always sends the department: empty takes it away, as null does.
    (
        "agenda.edit",
        {"item": 11, "title": "改名", "department": None},
        {"item": "11", "title": "改名", "department": ""},
    ),
    ("agenda.move", {"item": 11, "position": 2}, {"item": "11", "position": "2"}),
    ("agenda.remove", {"item": 11}, {"item": "11"}),
    ("question.approve", {"question": 12}, {"question": "12"}),
    ("question.reject", {"question": 12}, {"question": "12"}),
    ("question.hide", {"question": 12, "reason": "涉及隐私"}, {"question": "12", "reason": "涉及隐私"}),
    ("question.edit", {"question": 12, "text": "改过的问题"}, {"question": "12", "text": "改过的问题"}),
    ("question.merge", {"question": 12, "into": 13}, {"question": "12", "into": "13"}),
    ("question.stage", {"question": 12}, {"question": "12"}),
    ("question.stage", {"question": None}, {}),
    (
        "question.answered",
        {"question": 12, "note": "答复要点", "commitment": "一个月内办结"},
        {"question": "12", "note": "答复要点", "commitment": "一个月内办结"},
    ),
    ("question.answered", {"question": 12}, {"question": "12"}),
    ("question.add", {}, {"text": "主持人录入的追问", "name": "张代表", "parent": "12"}),
    ("question.add", {}, {"text": "主持人录入的问题", "item": ""}),
    ("viewer.block", {}, {"question": "12"}),
    ("viewer.block", {}, {"question": "12", "reason": "反复刷屏"}),
    ("poll.open", {"item": 11}, {"item": "11", "secret": "1"}),
    ("poll.open", {"item": 11, "title": "专项测评", "secret": False}, {"item": "11", "title": "专项测评"}),
    ("poll.close", {"poll": 21}, {"poll": "21"}),
    ("poll.publish", {"poll": 21}, {"poll": "21"}),
    ("deputy.checkin", {"deputy": 31}, {"deputy": "31"}),
]

# What a spied service returns: enough for every command's ack and panel message.
RESULT = SimpleNamespace(
    pk=41,
    title="对某局的满意度测评",
    text="营商环境怎么改善？",
    parent_id=None,
    cast=3,
    eligible=5,
    name="张代表",
    duplicate=False,
    position=2,
)


class Spy:
    """Stands in for a command's service entry: records each call, changes nothing."""

    def __init__(self, by: str) -> None:
        self.by = by
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        moderator = kwargs.pop(self.by)
        self.calls.append({**kwargs, self.by: moderator.pk})
        return RESULT


def spy_on(monkeypatch: pytest.MonkeyPatch, name: str) -> Spy:
    command = commands.COMMANDS[name]
    spy = Spy(command.by)
    monkeypatch.setitem(commands.COMMANDS, name, dataclasses.replace(command, service=spy))
    return spy


def post(world: World, slug: str, form: dict[str, str]) -> tuple[int, str]:
    client = Client()
    client.force_login(world.moderator)
    url = reverse("control_action", args=[world.hearing.pk, slug])
    response = client.post(url, form, secure=True, headers={"HX-Request": "true"})
    return response.status_code, response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "frame", "form"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_socket_and_panel_reach_the_same_service_entry(
    monkeypatch: pytest.MonkeyPatch, name: str, frame: dict[str, Any], form: dict[str, str]
) -> None:
    world = await db(make_world)(status="live")
    command = commands.COMMANDS[name]
    spy = spy_on(monkeypatch, name)

    status, html = await db(post)(world, command.slug, form)
    assert status == 200, html[:300]
    assert 'class="action-result ok"' in html
    assert command.message(RESULT) in html

    control = await open_socket(control_path(world.hearing.pk), user=world.moderator)
    reply = await control.action(name, **frame)
    await control.close()

    expected = {"hearing_id": world.hearing.pk, command.by: world.moderator.pk}
    if command.socket:
        assert reply == {"type": "ack", "id": reply["id"], **command.ack(RESULT)}
        assert len(spy.calls) == 2
        assert spy.calls[0] == spy.calls[1]
    else:
        # Panel-only: not an action of the protocol, so the socket knows no such name.
        assert reply["type"] == "error" and reply["code"] == "unknown_action", reply
        assert len(spy.calls) == 1
    assert spy.calls[0].items() >= expected.items()


def test_the_cases_cover_every_command() -> None:
    assert {name for name, _, _ in CASES} == set(commands.COMMANDS)


def test_the_table_is_the_sockets_control_actions_and_the_panels_slugs() -> None:
    control_only = {name for name, route in ROUTES.items() if route.roles == frozenset({CONTROL})}
    assert set(commands.SOCKET_COMMANDS) == control_only
    assert {c.name for c in commands.TABLE if not c.socket} == {"question.add", "viewer.block"}
    assert (set(commands.COMMANDS) - set(commands.SOCKET_COMMANDS)).isdisjoint(schema.ACTIONS)
    assert set(commands.SLUGS) == PANEL_SLUGS
    for slug in PANEL_SLUGS:
        assert commands.for_slug(slug) is commands.COMMANDS[commands.SLUGS[slug]]
        assert reverse("control_action", args=[1, slug]) == f"/hearings/1/control/do/{slug}/"
    assert commands.for_slug("question.approve") is None


def form(**fields: str) -> QueryDict:
    data = QueryDict(mutable=True)
    data.update(fields)
    return data


def test_agenda_edit_keeps_a_department_left_out_and_takes_away_one_sent_empty() -> None:
    command = commands.COMMANDS["agenda.edit"]
    left_out = schema.parse_action('{"id": "1", "action": "agenda.edit", "item": 3, "title": "改"}')
    assert command.args(left_out)["department_id"] is services.UNCHANGED
    assert command.args(left_out)["minutes"] is None and command.args(left_out)["kind"] is None
    cleared = schema.parse_action('{"id": "1", "action": "agenda.edit", "item": 3, "department": null}')
    assert command.args(cleared)["department_id"] is None
    posted = commands.parse_form(schema.AgendaEdit, form(item="3", title="改", department="", minutes=""))
    assert command.args(posted) == {
        "item_id": 3,
        "title": "改",
        "kind": None,
        "department_id": None,
        "minutes": None,
    }


def test_the_panel_leaves_numbers_to_the_service_the_socket_checks_them() -> None:
    posted = commands.parse_form(schema.AgendaEdit, form(item="3", title="x", minutes="9999"))
    assert posted.minutes == 9999  # the service refuses it in the page's words
    for frame in (
        '{"id": "1", "action": "agenda.edit", "item": 3, "minutes": 9999}',
        '{"id": "1", "action": "agenda.add", "title": "x", "minutes": 0}',
        '{"id": "1", "action": "agenda.move", "item": 3, "position": 0}',
        '{"id": "1", "action": "agenda.add", "title": "x", "kind": "party"}',
        '{"id": "1", "action": "agenda.add", "title": ""}',
        '{"id": "1", "action": "agenda.add", "title": "a\\nb"}',
        '{"id": "1", "action": "agenda.move", "item": 3, "position": "2"}',
    ):
        with pytest.raises(schema.ActionError) as refused:
            schema.parse_action(frame)
        assert refused.value.code == "bad_request", frame


def test_parse_form_coerces_form_strings_with_the_commands_model() -> None:
    opened = commands.parse_form(schema.PollOpen, form(item=" 7 ", title=" 标题 ", secret="1"))
    assert (opened.item, opened.title, opened.secret) == (7, " 标题 ", True)  # texts stay as sent
    assert commands.parse_form(schema.PollOpen, form(item="7")).secret is False  # an unticked checkbox
    assert commands.parse_form(schema.QuestionStage, form()).question is None
    added = commands.parse_form(schema.QuestionAdd, form(text="", item="", parent="3"))
    assert (added.text, added.item, added.parent, added.name) == ("", None, 3, "")


@pytest.mark.parametrize(
    ("model", "fields", "message"),
    [
        (schema.QuestionApprove, {}, "请选择要操作的对象。"),
        (schema.QuestionApprove, {"question": "0"}, "请选择要操作的对象。"),
        (schema.QuestionApprove, {"question": "abc"}, "请选择要操作的对象。"),
        (schema.QuestionMerge, {"question": "4", "into": "-1"}, "请选择要操作的对象。"),
        (schema.QuestionAdd, {"text": "", "item": "x"}, "请选择要操作的对象。"),
        (schema.AgendaStart, {"item": str(2**63)}, "请选择要操作的对象。"),
        (schema.AgendaMove, {"item": "3", "position": "二"}, "请填写整数。"),
        (schema.AgendaMove, {"item": "3"}, "请填写整数。"),
        (schema.AgendaEdit, {"item": "3", "minutes": "1.5"}, "请填写整数。"),
        (schema.AgendaRemove, {"item": ""}, "请选择要操作的对象。"),
    ],
)
def test_parse_form_refuses_what_is_no_id_as_the_panel_does(
    model: type[schema.ActionModel], fields: dict[str, str], message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        commands.parse_form(model, form(**fields))
    assert refused.value.message == message


def test_execute_takes_the_commands_own_model() -> None:
    with pytest.raises(TypeError):
        commands.execute(
            "question.approve",
            hearing_id=1,
            by=None,
            fields=schema.QuestionReject(id="", action="question.reject", question=1),
        )
