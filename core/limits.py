"""The one definition of every limit a person or a client meets: how long a question, a name, a
note may be, how many working days an assignment may take, how big a WebSocket frame is.

Models (max_length), the wire schemas (live/schema.py, assignments/schema.py), the services (which
clean and refuse) and the pages all read these. Templates get them as `limits` (the context
processor below): `maxlength="{{ limits.QUESTION_TEXT }}"`; a page's scripts read them from the
page's #data-limits JSON (`{% data_limits %}`, static/live/state.js `LIMITS`). A number written
anywhere else is a copy that will drift: tests/test_limits.py checks the places that must agree.

Text limits count characters (code points) after core.text.clean_text, as the services do.
Changing a value that a model uses needs a migration; PROTOCOL.md states the wire ones.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

# ------------------------------------------------------------------ hearings (questions)

QUESTION_TEXT = 500  # a question or follow-up (问题内容): 1–500 characters
ASKER_NAME = 50  # the name a question is signed with (称呼 / 提问人), optional
QUESTION_CATEGORY = 30  # one area of a hearing's question list (e.g. 教育、医疗卫生)
HEARING_CATEGORIES = 20  # areas one hearing collects questions in (the reference list has 10)
ASKER_CONTACT = 100  # a collected question's phone or e-mail, seen by staff only
SENSITIVE_WORD = 30  # one entry of the sensitive-word list
SENSITIVE_WORDS_AT_ONCE = 1000  # words one call adds or removes
HIDE_REASON = 200  # why an approved question was withdrawn from public view
ANSWER_NOTE = 2000  # an answer's note (答复要点) or commitment (承诺事项), each
MERGE_SEARCH = 100  # the control panel's search for the question a duplicate merges into
TRIAGE_BATCH = 200  # questions one bulk action of the triage page (approve, reject, assign) takes

# ------------------------------------------------------------------ voting

POLL_TITLE = 200  # a poll's title (测评标题)
POLL_CHOICE = 50  # one choice of a poll, as a ballot names it
POLL_CHOICES = 10  # choices of one poll (a 5-level scale and then some)
POLL_ROWS = 60  # rows of one sheet poll (departments, or department × aspect)
POLL_CANDIDATES = 100  # candidates of one select poll (e.g. 民生实事 projects)
POLL_OPTION_LABEL = 200  # a sheet row's or a candidate's label
POLL_OPTION_NOTE = 500  # a candidate's description (a 民生实事 project's what and where)
POLL_OPTION_BUDGET = 10_000_000  # 万元: a candidate's budget is below this
POLL_WEIGHT = 1_000_000_000  # a choice's weight (分值) is a number strictly between ± this
POLL_WINDOW_DAYS = 90  # the longest a window poll (事后 / annual 评议) takes ballots

# ------------------------------------------------------------------ assignments

ASSIGNMENT_TITLE = 200  # an assignment's title (交办件标题)
ASSIGNMENT_NOTE = 2000  # a note, reason or comment on an assignment
ASSIGNMENT_REPLY = 10000  # a reply (答复内容) or the commitment an assignment carries
WORKING_DAYS = 250  # an assignment's time limit: 1 to this many working days
ATTACHMENTS = 5  # files per reply
ATTACHMENT_BYTES = 10 * 1024 * 1024  # per file
EMAIL = 254  # an e-mail address (following an assignment): RFC 5321's longest path
FOLLOW_PER_HOUR = 10  # follow requests one client address may send an hour
FOLLOW_MAILS_PER_DAY = 3  # confirmation mails one e-mail address may be sent a day

# ------------------------------------------------------------------ projects (民生实事)

PROJECT_TITLE = POLL_OPTION_LABEL  # a project's title: what its candidate was called
PROJECT_NOTE = POLL_OPTION_NOTE  # a project's description, as its candidate's
PROJECT_UPDATE = 2000  # what a department says with a progress report, or why a status changed
PROJECT_MILESTONES = 30  # milestones (节点) of one project
MILESTONE_TITLE = 200  # a milestone's title
PROJECT_BUDGET = 10**10  # a budget in 万元: from 0 to under this (12 digits, 2 after the point)
PROJECT_YEAR_MIN = 2000  # a project's year (年度): from this …
PROJECT_YEAR_MAX = 2100  # … to this
PROJECT_PROGRESS = 100  # progress is a whole percent from 0 to this
DUTY_POINTS = 100  # a duty-record rule (履职积分) gives 0 to this many points a time

# ------------------------------------------------------------------ the office (people, agenda, seats)

PERSON_NAME = 50  # a person's name (姓名)
PERSON_FIELD = 50  # a person's delegation (代表团), seat (座位) or phone (电话)
AGENDA_TITLE = 200  # an agenda item's title (议程标题)
AGENDA_MINUTES = 600  # an agenda item's planned minutes: 1 to this many
AGENDA_ITEMS = 100  # items of one hearing's agenda (every agenda.updated carries them all)
QUORUM_PERCENT = 50  # quorum: more than this percent of a hearing's deputies checked in (default)
QUORUM_PERCENT_MIN = 1  # a hearing's quorum percent: from this …
QUORUM_PERCENT_MAX = 99  # … to this
ROSTER_ROWS = 5000  # rows of one roster file (名单导入)
ROSTER_BYTES = 2 * 1024 * 1024  # one roster file
SEAT_CODE_INPUT = 32  # a seat code as typed (12 characters, with any spaces and dashes)
ROSTER_UNPACKED_BYTES = 32 * 1024 * 1024  # an XLSX roster unzipped (a small zip can hold a huge sheet)
DEPARTMENT_NAME = 100  # a department's name (部门名称)
DEPARTMENT_SHORT_NAME = 30  # its short name (简称), which the roster's `department` column gives
USERNAME = 150  # a login name (用户名): Django's User.username
PEOPLE_SEARCH = 100  # the people list's search text

# ------------------------------------------------------------------ outbound webhooks

WEBHOOK_URL = 500  # a webhook endpoint's URL (http or https)
WEBHOOK_SECRET_MIN = 16  # its signing secret: at least this many characters …
WEBHOOK_SECRET = 200  # … and at most this many

# ------------------------------------------------------------------ the live protocol

FRAME_BYTES = 16 * 1024  # a client's WebSocket frame (UTF-8); a larger one is `too_large`
CLIENT_ID = 100  # a client action's "id", echoed back in its ack or error

# What the pages read (templates and, through #data-limits, scripts): the names above.
LIMITS: dict[str, int] = {
    "QUESTION_TEXT": QUESTION_TEXT,
    "ASKER_NAME": ASKER_NAME,
    "ANSWER_NOTE": ANSWER_NOTE,
    "MERGE_SEARCH": MERGE_SEARCH,
    "HIDE_REASON": HIDE_REASON,
    "QUESTION_CATEGORY": QUESTION_CATEGORY,
    "ASKER_CONTACT": ASKER_CONTACT,
    "SENSITIVE_WORD": SENSITIVE_WORD,
    "POLL_TITLE": POLL_TITLE,
    "ASSIGNMENT_TITLE": ASSIGNMENT_TITLE,
    "ASSIGNMENT_NOTE": ASSIGNMENT_NOTE,
    "ASSIGNMENT_REPLY": ASSIGNMENT_REPLY,
    "WORKING_DAYS": WORKING_DAYS,
    "ATTACHMENTS": ATTACHMENTS,
    "EMAIL": EMAIL,
    "PERSON_NAME": PERSON_NAME,
    "PERSON_FIELD": PERSON_FIELD,
    "AGENDA_TITLE": AGENDA_TITLE,
    "AGENDA_MINUTES": AGENDA_MINUTES,
    "SEAT_CODE_INPUT": SEAT_CODE_INPUT,
    "DEPARTMENT_NAME": DEPARTMENT_NAME,
    "DEPARTMENT_SHORT_NAME": DEPARTMENT_SHORT_NAME,
    "USERNAME": USERNAME,
    "PEOPLE_SEARCH": PEOPLE_SEARCH,
    "AGENDA_ITEMS": AGENDA_ITEMS,
    "PROJECT_TITLE": PROJECT_TITLE,
    "PROJECT_NOTE": PROJECT_NOTE,
    "PROJECT_UPDATE": PROJECT_UPDATE,
    "MILESTONE_TITLE": MILESTONE_TITLE,
    "PROJECT_YEAR_MIN": PROJECT_YEAR_MIN,
    "PROJECT_YEAR_MAX": PROJECT_YEAR_MAX,
    "PROJECT_PROGRESS": PROJECT_PROGRESS,
    "DUTY_POINTS": DUTY_POINTS,
    "WEBHOOK_URL": WEBHOOK_URL,
    "WEBHOOK_SECRET_MIN": WEBHOOK_SECRET_MIN,
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def context(request: HttpRequest) -> dict[str, Any]:
    """Template context processor (config/settings.py TEMPLATES): `{{ limits.QUESTION_TEXT }}`."""
    return {"limits": LIMITS}
