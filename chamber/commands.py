"""The moderator's commands: one table for the control socket and the control panel.

Each command has its socket action name (`question.approve`), its panel slug
(`/hearings/<id>/control/do/question-approve/`), the live/schema.py model that validates its
fields, the service entry it calls with keyword arguments taken from those fields, what the
socket's ack carries, and the message the panel shows once it is done. A command PROTOCOL.md
does not list (`question.add`, `viewer.block`) is the panel's only: its name is no socket action. Both callers
go through `execute`: the control socket (realtime/consumers.py) with the frame the protocol
parsed, the panel (console/views.py) with the form `parse_form` parsed, so a command cannot do
one thing on the socket and another on the panel. docs/architecture.md ("Commands") has the table.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, TypeVar, get_args, get_origin

from django.http import QueryDict
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from chamber import services as chamber_services
from core.errors import CODES, BadRequest
from core.text import RAW_TEXT
from hearings import services
from hearings.models import Question
from live import schema
from voting import services as voting_services

Fields = TypeVar("Fields", bound=schema.ActionModel)


def _short(text: str) -> str:
    return Truncator(text).chars(30)


def _no_ack(result: Any) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Command:
    name: str  # the socket's action name; a panel-only command's name is no socket action
    slug: str  # the panel's: /hearings/<id>/control/do/<slug>/
    model: type[schema.ActionModel]  # validates the fields (live/schema.py)
    service: Callable[..., Any]  # the service entry: service(hearing_id=, <by>=, **args(fields))
    args: Callable[[Any], dict[str, Any]]  # the service's keyword arguments from the validated fields
    message: Callable[[Any], str]  # what the panel says once done, from the service's result
    ack: Callable[[Any], dict[str, Any]] = field(default=_no_ack)  # the socket ack's fields beyond its id
    socket: bool = True  # False: the control panel's only (PROTOCOL.md has no such action)
    by: str = "by"  # the service's keyword for the moderator


def _poll_open_args(f: schema.PollOpen) -> dict[str, Any]:
    """poll.open's fields as voting.services.poll_open takes them (the kind's fields when given)."""
    args: dict[str, Any] = {"item_id": f.item, "title": f.title or "", "secret": f.secret, "kind": f.kind}
    if f.draft is not None:
        args["draft_id"] = f.draft
    for name, option in (("rows", f.rows), ("candidates", f.candidates)):
        if option is not None:
            args[name] = [
                voting_services.OptionSpec(
                    o.label, o.department, Decimal(str(o.budget)) if o.budget is not None else None, o.note or ""
                )
                for o in option
            ]
    for name, value in (
        ("choices", f.choices),
        ("satisfied", f.satisfied),
        ("weights", f.weights),
        ("min_picks", f.min),
        ("max_picks", f.max),
        ("choose", f.choose),
    ):
        if value is not None:
            args[name] = value
    return args


def _stage_message(question: Question | None) -> str:
    if question is None:
        return _("已撤下台上的问题。")
    return _("已上台：%(text)s") % {"text": _short(question.text)}


def _add_message(question: Question) -> str:
    if question.parent_id:
        return _("已录入追问：%(text)s") % {"text": _short(question.text)}
    return _("已录入问题：%(text)s") % {"text": _short(question.text)}


def _agenda_edit_args(fields: schema.AgendaEdit) -> dict[str, Any]:
    # A department left out stays; one sent as null (an empty choice on a form) is taken away.
    sent = "department" in fields.model_fields_set
    return {
        "item_id": fields.item,
        "title": fields.title,
        "kind": fields.kind,
        "department_id": fields.department if sent else services.UNCHANGED,
        "minutes": fields.minutes,
    }


TABLE: list[Command] = [
    Command(
        "hearing.start",
        "hearing-start",
        schema.HearingStart,
        services.hearing_start,
        args=lambda f: {},
        message=lambda hearing: _("问政会已开始。"),
    ),
    Command(
        "hearing.end",
        "hearing-end",
        schema.HearingEnd,
        chamber_services.hearing_end,
        args=lambda f: {},
        message=lambda hearing: _("问政会已结束。"),
    ),
    Command(
        "agenda.start",
        "agenda-start",
        schema.AgendaStart,
        services.agenda_start,
        args=lambda f: {"item_id": f.item},
        message=lambda item: _("已开始议程：%(title)s") % {"title": item.title},
    ),
    Command(
        "agenda.add",
        "agenda-add",
        schema.AgendaAdd,
        services.agenda_add,
        args=lambda f: {
            "title": f.title,
            "kind": f.kind,
            "department_id": f.department,
            "minutes": f.minutes,
            "after_id": f.after,
        },
        message=lambda item: _("已添加议程：%(title)s") % {"title": item.title},
        ack=lambda item: {"item": item.pk},
    ),
    Command(
        "agenda.edit",
        "agenda-edit",
        schema.AgendaEdit,
        services.agenda_edit,
        args=_agenda_edit_args,
        message=lambda item: _("已修改议程：%(title)s") % {"title": item.title},
    ),
    Command(
        "agenda.move",
        "agenda-move",
        schema.AgendaMove,
        services.agenda_move,
        args=lambda f: {"item_id": f.item, "position": f.position},
        message=lambda item: (
            _("已将议程移到第 %(position)s 项：%(title)s") % {"position": item.position, "title": item.title}
        ),
    ),
    Command(
        "agenda.remove",
        "agenda-remove",
        schema.AgendaRemove,
        services.agenda_remove,
        args=lambda f: {"item_id": f.item},
        message=lambda item: _("已删除议程：%(title)s") % {"title": item.title},
    ),
    Command(
        "question.approve",
        "question-approve",
        schema.QuestionApprove,
        services.question_approve,
        args=lambda f: {"question_id": f.question},
        message=lambda q: _("已通过并公开：%(text)s") % {"text": _short(q.text)},
    ),
    Command(
        "question.reject",
        "question-reject",
        schema.QuestionReject,
        services.question_reject,
        args=lambda f: {"question_id": f.question},
        message=lambda q: _("未采用：%(text)s") % {"text": _short(q.text)},
    ),
    Command(
        "question.hide",
        "question-hide",
        schema.QuestionHide,
        services.question_hide,
        args=lambda f: {"question_id": f.question, "reason": f.reason},
        message=lambda q: _("已撤下：%(text)s") % {"text": _short(q.text)},
    ),
    Command(
        "question.edit",
        "question-edit",
        schema.QuestionEdit,
        services.question_edit,
        args=lambda f: {"question_id": f.question, "text": f.text},
        message=lambda q: _("已修改：%(text)s") % {"text": _short(q.text)},
    ),
    Command(
        "question.merge",
        "question-merge",
        schema.QuestionMerge,
        services.question_merge,
        args=lambda f: {"question_id": f.question, "into_id": f.into},
        message=lambda target: _("已合并到：%(text)s") % {"text": _short(target.text)},
    ),
    Command(
        "question.stage",
        "question-stage",
        schema.QuestionStage,
        services.question_stage,
        args=lambda f: {"question_id": f.question},
        message=_stage_message,
    ),
    Command(
        "question.answered",
        "question-answered",
        schema.QuestionAnswered,
        services.question_answered,
        args=lambda f: {"question_id": f.question, "note": f.note or "", "commitment": f.commitment or ""},
        message=lambda q: _("已答复：%(text)s") % {"text": _short(q.text)},
    ),
    Command(
        "question.add",
        "question-add",
        schema.QuestionAdd,
        services.question_submit,
        args=lambda f: {
            "text": f.text,
            "source": Question.Source.MODERATOR,
            "asker_name": f.name or "",
            "item_id": f.item,
            "parent_id": f.parent,
            "category": f.category,
        },
        message=_add_message,
        socket=False,
        by="asker",
    ),
    Command(
        "viewer.block",
        "viewer-block",
        schema.ViewerBlock,
        services.viewer_block,
        args=lambda f: {"question_id": f.question, "reason": f.reason or ""},
        message=lambda blocked: _("已屏蔽这位提问人：其以后的提问进入隐藏列表，不进审核队列。"),
        socket=False,
    ),
    Command(
        "deputy.checkin",
        "deputy-checkin",
        schema.DeputyCheckin,
        voting_services.checkin_on_behalf,
        args=lambda f: {"deputy_id": f.deputy},
        message=lambda r: (
            _("%(name)s 代表此前已签到。") % {"name": r.name}
            if r.duplicate
            else _("已为 %(name)s 代表代签。") % {"name": r.name}
        ),
        ack=lambda r: {"duplicate": r.duplicate},
    ),
    Command(
        "poll.open",
        "poll-open",
        schema.PollOpen,
        voting_services.poll_open,
        args=_poll_open_args,
        message=lambda poll: _("测评已开启：%(title)s") % {"title": poll.title},
        ack=lambda poll: {"poll": poll.pk},
    ),
    Command(
        "poll.close",
        "poll-close",
        schema.PollClose,
        voting_services.poll_close,
        args=lambda f: {"poll_id": f.poll},
        message=lambda poll: (
            _("投票已结束：%(title)s（已投 %(cast)s / 应投 %(eligible)s）")
            % {"title": poll.title, "cast": poll.cast, "eligible": poll.eligible}
        ),
    ),
    Command(
        "poll.publish",
        "poll-publish",
        schema.PollPublish,
        chamber_services.poll_publish,
        args=lambda f: {"poll_id": f.poll},
        message=lambda poll: _("结果已公布：%(title)s") % {"title": poll.title},
    ),
]

COMMANDS: dict[str, Command] = {command.name: command for command in TABLE}
SLUGS: dict[str, str] = {command.slug: command.name for command in TABLE}  # panel slug → command name
SOCKET_COMMANDS: tuple[str, ...] = tuple(command.name for command in TABLE if command.socket)

for _command in TABLE:
    _literal = get_args(_command.model.model_fields["action"].annotation)
    assert _literal == (_command.name,), f"{_command.name}: its model is {_command.model.__name__}"
    assert _command.socket == (_command.name in schema.ACTIONS), f"{_command.name}: socket action or panel-only"


def execute(command_name: str, *, hearing_id: int, by: Any, fields: schema.ActionModel) -> Any:
    """Run one command for the moderator `by` with its validated fields; returns what its
    service returns, or raises the service's DomainError."""
    command = COMMANDS[command_name]
    if not isinstance(fields, command.model):
        raise TypeError(f"{command_name} takes {command.model.__name__}, not {type(fields).__name__}")
    return command.service(hearing_id=hearing_id, **{command.by: by}, **command.args(fields))


def for_slug(slug: str) -> Command | None:
    """The command behind a panel slug, or None."""
    name = SLUGS.get(slug)
    return COMMANDS[name] if name is not None else None


# ------------------------------------------------------------------------------- the panel's forms


def _field_kind(annotation: Any) -> tuple[type | None, bool]:
    """(int, bool or str: what a form string becomes; None for anything else), and whether
    the field takes None."""
    options = get_args(annotation) if get_origin(annotation) in (typing.Union, types.UnionType) else (annotation,)
    nullable = type(None) in options
    kinds = {get_args(o)[0] if get_origin(o) is Annotated else o for o in options if o is not type(None)}
    kind = kinds.pop() if len(kinds) == 1 else None
    return (kind if kind in (int, bool, str) else None), nullable


def _is_number(info: FieldInfo) -> bool:
    """A number a person types (schema.Between: minutes, a position), not an id."""
    options = get_args(info.annotation) if get_origin(info.annotation) in (typing.Union, types.UnionType) else ()
    metadata = [*info.metadata, *(m for o in options if get_origin(o) is Annotated for m in get_args(o)[1:])]
    return any(isinstance(m, schema.Between) for m in metadata)


def _form_values(model: type[schema.ActionModel], data: QueryDict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name == "id":
            values[name] = ""  # a form post has no client id
            continue
        if name == "action":
            values[name] = get_args(info.annotation)[0]
            continue
        kind, nullable = _field_kind(info.annotation)
        raw = data.get(name)
        if kind is bool:
            values[name] = (raw or "") != ""  # a checkbox: sent when ticked
        elif kind is str:
            values[name] = raw if raw is not None else ""
        elif not raw:
            if nullable:
                values[name] = None
        elif kind is int:
            try:
                values[name] = int(raw)
            except ValueError:
                values[name] = raw  # refused below, as any value that is not an id
        else:
            values[name] = raw
    return values


def parse_form(model: type[Fields], data: QueryDict) -> Fields:
    """A panel form's fields, validated by the command's model: form strings become ids
    (empty: None where the field takes None), checkboxes booleans. Texts are checked for type
    only and left as sent: the services clean every text and word a refusal for the page.
    A field refused is BadRequest, worded as the panel words it ("请选择要操作的对象。" for an id)."""
    try:
        return model.model_validate(_form_values(model, data), context={RAW_TEXT: True})
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = str(first["loc"][0]) if first.get("loc") else "form"
        info = model.model_fields.get(where)
        kind = _field_kind(info.annotation)[0] if info is not None else None
        if kind is int and info is not None and _is_number(info):
            raise BadRequest(gettext_lazy("请填写整数。")) from None
        if kind is int:
            raise BadRequest(gettext_lazy("请选择要操作的对象。")) from None
        raise BadRequest(CODES[BadRequest.code].title) from None
