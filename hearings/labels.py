"""Display names for the few values the system itself stores in Chinese.

The default poll choices (满意 / 基本满意 / 不满意, also an assignment's verdict), the asker
shown for a question without a name, and the timeline's role labels are data: they stay as
they are in the database, on the wire and in exports of stored text. A page shows them in the
reader's language; any other value (a name someone typed, a department) shows as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

LABELS: dict[str, Promise] = {
    # voting.models.DEFAULT_CHOICES, assignments.models.Verdict
    "满意": _("满意"),
    "基本满意": _("基本满意"),
    "不满意": _("不满意"),
    # hearings.selectors.question_asker: a question nobody signed
    "网友": _("网友"),
    "主持人": _("主持人"),
    "代表": _("代表"),
    # assignments.services.transitions._actor_label
    "系统": _("系统"),
    "提问代表": _("提问代表"),
    "工作人员": _("工作人员"),
}


def label(value: str) -> str:
    """`value` in the active language when it is one of ours, else unchanged."""
    known = LABELS.get(value)
    return value if known is None else str(known)


def labels() -> dict[str, str]:
    """The whole table in the active language, for the live pages' scripts."""
    return {value: str(text) for value, text in LABELS.items()}


def list_separator() -> str:
    """Between the items of a list in running text: "、" in Chinese, ", " in English."""
    return pgettext("list separator", "、")
