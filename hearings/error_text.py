"""What a person reads on a page when a service refuses a change.

A DomainError carries a protocol code and an English developer message; both go on the wire as
they are (the WebSocket `error` frame, the REST API). Pages never show that message: they show
`title` (one line per code) and `reason` (the rule that refused, when it is one we know), both
in the reader's language. A message not listed here falls back to its code's line, so nothing
untranslated reaches a page; tests/test_i18n.py checks that every message the services and
views raise is listed.
"""

from __future__ import annotations

import re

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.errors import DomainError

TITLES: dict[str, Promise] = {
    "bad_request": _("输入有误"),
    "forbidden": _("无权进行此操作"),
    "not_found": _("找不到要操作的对象"),
    "invalid_state": _("当前状态下不能这样做"),
    "poll_closed": _("测评已结束"),
    "already_voted": _("已经投过票"),
    "not_eligible": _("请先签到"),
    "rate_limited": _("操作太频繁，请稍后再试"),
}
FAILED = _("操作失败")

# The `what` of a text a service refused (core.errors.clean_or_refuse), as a sentence names it.
FIELDS: dict[str, Promise] = {
    "title": pgettext_lazy("field in a sentence", "标题"),
    "commitment": pgettext_lazy("field in a sentence", "现场承诺"),
    "internal note": pgettext_lazy("field in a sentence", "内部备注"),
    "note": pgettext_lazy("field in a sentence", "说明"),
    "reason": pgettext_lazy("field in a sentence", "理由"),
    "reply": pgettext_lazy("field in a sentence", "答复内容"),
    "comment": pgettext_lazy("field in a sentence", "评价意见"),
    # core.errors.clean_or_refuse's `what` in the hearing and voting services
    "question": pgettext_lazy("field in a sentence", "问题内容"),
    "name": pgettext_lazy("field in a sentence", "提问人姓名"),
    "answer note": pgettext_lazy("field in a sentence", "答复要点"),
}

# (developer message, as a regular expression matched in full) → the reason a page shows.
# Named groups fill the text's %(name)s: `what` through FIELDS, `limit` as a number.
_REASONS: list[tuple[str, Promise]] = [
    # hearings
    (r"no such hearing", _("找不到这场问政会。")),
    (r"only a moderator of (this|the) hearing may do this", _("只有本场问政会的主持人可以这样做。")),
    (r"the hearing is \w+, not live", _("问政会不在直播中。")),
    (r"the hearing has ended", _("问政会已结束。")),
    (r"the hearing has not started", _("问政会尚未开始。")),
    (r"the hearing is \w+; only a draft hearing can start", _("只有筹备中的问政会可以开始。")),
    (r"no such agenda item in this hearing", _("本场问政会没有这项议程。")),
    (r"this item is already current", _("这项议程已在进行中。")),
    (r"no such question in this hearing", _("本场问政会没有这个问题。")),
    (r"no such question", _("找不到这个问题。")),
    (r"a like needs a viewer", _("无法识别这台设备，请刷新页面后再点赞。")),
    (r"the question is empty", _("问题内容不能为空。")),
    (r"a question has at most (?P<limit>\d+) characters", _("问题内容最多 %(limit)s 字。")),
    (r"unknown question source", _("问题来源无效。")),
    (r"only a deputy of this hearing asks as a deputy", _("只有本场问政会的代表可以以代表身份提问。")),
    (r"no such question to follow up", _("要追问的问题已不存在。")),
    (r"the question is \w+, not pending", _("这个问题已不在待审核状态。")),
    (r"a question that is \w+ is no longer edited", _("这个问题已不能修改。")),
    (r"the question is \w+; only an approved question goes on stage", _("只有待回答的问题可以上台。")),
    (r"no question is on stage", _("台上没有问题。")),
    (
        r"the question is \w+; only an approved or staged one is answered",
        _("只有待回答或正在回答的问题可以标记为已回答。"),
    ),
    (r"a question cannot merge into itself", _("问题不能合并到它自己。")),
    (r"the question on stage cannot be merged away", _("台上的问题不能被合并。")),
    (r"cannot merge into a rejected question", _("不能合并到未采用的问题。")),
    (
        r"approve the question to keep before merging a public one into it",
        _("请先通过要保留的问题，再把重复的问题合并进去。"),
    ),
    (r'"\w+" must be a positive id', _("请选择要操作的对象。")),
    # voting
    (r"only a deputy of this hearing checks in", _("只有本场问政会的代表可以签到。")),
    (r"another poll of this hearing is open; close it first", _("本场还有一项测评正在投票，请先结束投票。")),
    (r"a poll needs two or more distinct choices", _("测评至少需要两个不同的选项。")),
    (r"no such poll in this hearing", _("本场问政会没有这项测评。")),
    (r"close the poll before publishing it", _("请先结束投票，再公布结果。")),
    (r"you have voted in this poll", _("您已在本次测评中投过票。")),
    (r"the poll is closed", _("测评已结束。")),
    (r"only a deputy of this hearing votes", _("只有本场问政会的代表可以投票。")),
    (r"check in first", _("请先签到，签到后才能投票。")),
    (r"choose one of .+", _("请从测评选项中选择一项。")),
    # assignments
    (r"no such assignment", _("找不到这件交办件。")),
    (r"only the lead department may act on this assignment", _("只有主办单位可以办理这件交办件。")),
    (
        r"only a liaison of the lead department may act on this assignment",
        _("只有主办单位的联络员可以办理这件交办件。"),
    ),
    (r"only the deputy who asked may evaluate the reply", _("只有提出问题的代表可以评价答复。")),
    (r"the assignment is \w+; this needs .+", _("交办件当前的状态不能办理这一步。")),
    (r"(?P<what>.+) is required", _("请填写%(what)s。")),
    (r"(?P<what>.+) has at most (?P<limit>\d+) characters", _("%(what)s最多 %(limit)s 字。")),
    # any text (core.text.clean_text, through core.errors.clean_or_refuse)
    (r"(?P<what>.+) contains a control character \(U\+[0-9A-F]{4}\)", _("%(what)s不能包含控制字符。")),
    (r"(?P<what>.+) must be one line", _("%(what)s只能填写一行。")),
    (r"(?P<what>.+) has no visible characters", _("%(what)s没有可见的文字。")),
    (r"give either working_days or due_date", _("请填写办理时限（工作日）或指定期限，二者选一。")),
    (r"working_days is 1 to (?P<limit>\d+)", _("办理时限为 1 到 %(limit)s 个工作日。")),
    (r"working days: not a number", _("办理时限须为整数。")),
    (r"due date: not a date", _("期限不是有效的日期。")),
    (r"the due date must be after today", _("期限须晚于今天。")),
    (r"the due date is more than two years away", _("期限不能超过两年。")),
    (r"not an id", _("选择无效，请重新选择。")),
    (r"no such lead department", _("找不到这个主办单位。")),
    (r"the lead department is not also a co-department", _("主办单位不能同时是协办单位。")),
    (r"no such co-department", _("找不到这个协办单位。")),
    (r"only a moderator of the hearing may assign its questions", _("只有本场问政会的主持人可以交办问题。")),
    (r"choose at least one question", _("请至少选择一个问题。")),
    (r"question \d+ is \w+; only answered questions are assigned", _("只有已答复的问题可以交办。")),
    (r"a question of these is already assigned", _("所选问题中有已经交办的。")),
    (r"at most (?P<limit>\d+) attachments", _("附件最多 %(limit)s 个。")),
    (r"attachments are (?P<suffixes>.+)", _("附件只能是这些格式：%(suffixes)s。")),
    (r"an attachment has at most 10 MB", _("每个附件最大 10 MB。")),
    (r"an extension request is already waiting for a decision", _("已有一项延期申请在等待审核。")),
    (r"due_date is required", _("请填写申请延期至哪一天。")),
    (r"the new due date must be after the current one", _("新期限须晚于现在的期限。")),
    (r"an extension is at most a year", _("延期最长一年。")),
    (r"no extension request is waiting", _("没有待审核的延期申请。")),
    (r"only a reply the deputy found unsatisfactory is reopened", _("只有代表评价为不满意的答复才能重新办理。")),
    (r"review_months is 1 to (?P<limit>\d+)", _("回头看安排在办结后 1 到 %(limit)s 个月。")),
    (r"no review is scheduled for this assignment", _("这件交办件没有安排回头看。")),
    (r"the review is already recorded", _("回头看已经记录。")),
    (r"outcome is one of .+", _("请选择回头看结果。")),
    (r"verdict is one of .+", _("请选择满意、基本满意或不满意。")),
]
REASONS: list[tuple[re.Pattern[str], Promise]] = [(re.compile(pattern), text) for pattern, text in _REASONS]


def title(error: DomainError) -> str:
    """One line for the error's code."""
    return str(TITLES.get(error.code, FAILED))


def reason(error: DomainError) -> str:
    """The rule that refused, when the message is one we know; else ""."""
    for pattern, text in REASONS:
        match = pattern.fullmatch(error.message)
        params = _params(match) if match else None
        if params is not None:
            return str(text) % params if params else str(text)
    return ""


def _params(match: re.Match[str]) -> dict[str, str] | None:
    """The text's %(name)s values from the message; None when a `what` is not a field we name."""
    params: dict[str, str] = {}
    for name, value in match.groupdict().items():
        if name == "what":
            field = FIELDS.get(value)
            if field is None:
                return None
            params[name] = str(field)
        elif name == "limit":
            params[name] = number_format(int(value), force_grouping=True)
        else:
            params[name] = value
    return params


def text(error: DomainError) -> str:
    """The reason when known, else the code's line: what a message on a page says."""
    return reason(error) or title(error)
