"""The UI in zh-hans (default) and English: complete catalogs, up to date and compiled, and pages
with no Chinese left in English once the data is ASCII.

PAGES is the list of pages the strong rule walks: append yours, e.g.
`Page("/hearings/{hearing}/report/")`; `{name}` is filled from the world's ids (I18nWorld.ids).
"""

from __future__ import annotations

import ast
import gettext
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client
from django.utils import timezone, translation
from openpyxl import load_workbook  # type: ignore[import-untyped]

from assignments import services as assignment_services
from assignments.models import Assignment, Notice, TimelineEntry
from hearings import selectors as hearing_selectors
from hearings import services as hearing_services
from hearings.labels import LABELS
from hearings.models import AgendaItem, Department, Hearing, Person, Question, SeatCode
from tests.factories import make_user
from voting import services as voting_services
from voting.models import Poll

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale"
PO = {domain: LOCALE / "en" / "LC_MESSAGES" / f"{domain}.po" for domain in ("django", "djangojs")}
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# The language switch names each language in itself.
SWITCH_LABEL = "简体中文"
CI = os.environ.get("CI") == "true"


class Page(NamedTuple):
    path: str  # formatted with I18nWorld.ids
    who: str | None = None  # a key of I18nWorld.users, logged in first; None: anonymous
    status: int = 200


PAGES: list[Page] = [
    Page("/"),
    Page("/", "moderator"),
    Page("/hearings/{hearing}/"),
    Page("/hearings/{hearing}/screen/"),
    Page("/hearings/{hearing}/collect/"),
    Page("/hearings/{hearing}/collect/", "deputy"),
    Page("/hearings/{hearing}/tablet/", "deputy"),
    Page("/hearings/{hearing}/control/", "moderator"),
    Page("/hearings/{hearing}/control/part/hearing/", "moderator"),
    Page("/hearings/{hearing}/control/part/agenda/", "moderator"),
    Page("/hearings/{hearing}/control/part/queue/", "moderator"),
    Page("/hearings/{hearing}/control/part/questions/", "moderator"),
    Page("/hearings/{hearing}/control/part/polls/", "moderator"),
    Page("/hearings/{draft}/control/", "moderator"),
    Page("/assignments/"),
    Page("/assignments/?overdue=1&status=assigned"),
    Page("/assignments/{assigned}/", "liaison"),
    Page("/assignments/{in_progress}/", "liaison"),
    Page("/assignments/{reopened}/", "liaison"),
    Page("/assignments/{replied}/", "deputy"),
    Page("/assignments/{evaluated}/", "moderator"),
    Page("/assignments/{returned}/", "moderator"),
    Page("/assignments/{extension}/", "moderator"),
    Page("/assignments/{closed}/", "moderator"),
    Page("/assignments/{closed}/"),
    Page("/assignments/new/?hearing={hearing}", "moderator"),
    Page("/assignments/export.csv"),
    Page("/hearings/{hearing}/questions.csv"),
    Page("/inbox/", "liaison"),
    Page("/inbox/", "deputy"),
    Page("/inbox/", "moderator"),
    Page("/inbox/notices/settings/", "liaison"),
    Page("/accounts/login/"),
    Page("/hearings/{hearing}/report/"),
    Page("/hearings/{hearing}/report/", "moderator"),
    Page("/scorecards/"),
    Page("/hearings/{hearing}/tablet/", "moderator", 403),
    Page("/manage/hearings/", "staff"),
    Page("/manage/holidays/", "staff"),
    Page("/manage/hearings/new/", "staff"),
    Page("/manage/hearings/{hearing}/", "staff"),
    Page("/manage/hearings/{draft}/", "staff"),
    Page("/manage/hearings/{hearing}/agenda/", "staff"),
    Page("/manage/hearings/{hearing}/seats/", "staff"),
    Page("/manage/people/", "staff"),
    Page("/manage/people/new/", "staff"),
    Page("/manage/people/{person}/", "staff"),
    Page("/manage/departments/", "staff"),
    Page("/manage/departments/{department}/", "staff"),
    Page("/manage/roster/", "staff"),
    Page("/manage/hearings/", "moderator", 403),
    Page("/seat/"),
    Page("/seat/{seat}/"),
    Page("/no-such-page/", None, 404),
]

# English words of the UI that the Chinese pages must not show (the test data avoids them).
ENGLISH_UI_WORDS = [
    "Hearings",
    "Assignments",
    "Satisfaction",
    "Log in",
    "Log out",
    "Moderator",
    "Deputy",
    "Lead department",
    "Follow-up",
    "Control panel",
    "Check in",
    "Agenda",
]


# --------------------------------------------------------------------------- catalogs


@dataclass
class Entry:
    context: str | None
    msgid: str
    plural: str | None
    msgstr: dict[int, str]
    flags: set[str] = field(default_factory=set)


def _po_text(parts: dict[str, list[str]], name: str) -> str | None:
    return "".join(ast.literal_eval(s) for s in parts[name]) if name in parts else None


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (the header excluded)."""
    entries = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        parts: dict[str, list[str]] = {}
        flags: set[str] = set()
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                parts[key].append(line)
            else:
                key, _, value = line.partition(" ")
                parts[key] = [value]
        msgstr = {
            int(k[7:-1]) if k.startswith("msgstr[") else 0: _po_text(parts, k) or ""
            for k in parts
            if k.startswith("msgstr")
        }
        entry = Entry(
            _po_text(parts, "msgctxt"), _po_text(parts, "msgid") or "", _po_text(parts, "msgid_plural"), msgstr
        )
        entry.flags = flags
        entries.append(entry)
    return [entry for entry in entries if entry.msgid]


def keys(entries: list[Entry]) -> set[tuple[str | None, str]]:
    return {(entry.context, entry.msgid) for entry in entries}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_msgid_has_an_english_msgstr_and_none_is_fuzzy(domain: str) -> None:
    entries = read_po(PO[domain])
    assert entries
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    assert not fuzzy, f"fuzzy entries in {domain}.po: {fuzzy}"
    empty = [entry.msgid for entry in entries if not all(entry.msgstr.get(i) for i in range(2 if entry.plural else 1))]
    assert not empty, f"untranslated in {domain}.po: {empty}"
    chinese = [entry.msgid for entry in entries if any(CJK.search(s) for s in entry.msgstr.values())]
    assert chinese == (["简体中文"] if domain == "django" else []), f"Chinese left in an English msgstr: {chinese}"


def _gettext_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        if CI:
            pytest.fail(f"{name} (GNU gettext) is missing; .ci/run installs it")
        pytest.skip(f"{name} (GNU gettext) is not installed: apt-get install gettext")
    return tool


def _copy_project(to: Path) -> Path:
    """The sources makemessages reads (no virtualenv, no build output) and the locale folder."""
    skip = shutil.ignore_patterns(
        ".*", "__pycache__", "staticfiles", "artifacts", "media", "bench", "docs", "*.sqlite3*", "*.mo"
    )
    shutil.copytree(BASE, to, ignore=skip)
    return to


def test_the_catalogs_are_up_to_date(tmp_path: Path) -> None:
    """makemessages over the sources adds no msgid the committed .po files lack."""
    _gettext_tool("xgettext")
    copy = _copy_project(tmp_path / "project")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "makemessages"}
    for domain in ("django", "djangojs"):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "en", "-d", domain, "--no-obsolete"],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
        )
        fresh = keys(read_po(copy / "locale" / "en" / "LC_MESSAGES" / f"{domain}.po"))
        missing = sorted(fresh - keys(read_po(PO[domain])), key=str)
        assert not missing, (
            f"{domain}.po lacks {missing}: run manage.py makemessages -l en -d {domain} --no-obsolete "
            "and translate the new entries"
        )


def _catalog(mo: Path) -> dict[Any, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_committed_mo_files_match_their_po(domain: str, tmp_path: Path) -> None:
    msgfmt = _gettext_tool("msgfmt")
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run([msgfmt, "--check-format", "-o", str(compiled), str(PO[domain])], check=True)
    committed = PO[domain].with_suffix(".mo")
    assert _catalog(committed) == _catalog(compiled), f"{committed.name} is stale: run manage.py compilemessages"


# --------------------------------------------------------------------------- the world, in ASCII


@dataclass
class I18nWorld:
    ids: dict[str, int | str]
    users: dict[str, Any]


def _answered(hearing: Hearing, item: AgendaItem, text: str, deputy: Any = None) -> Question:
    return Question.objects.create(
        hearing=hearing,
        item=item,
        text=text,
        source=Question.Source.DEPUTY if deputy else Question.Source.PUBLIC,
        asker=deputy,
        asker_name="" if deputy else "Dana",
        status=Question.Status.ANSWERED,
        answered_at=timezone.now(),
        answer_note="We will look into it",
        commitment=f"Fix it: {text}",
    )


def build_world() -> I18nWorld:
    """A live hearing with every kind of question and poll, and assignments in every state:
    every name, title and note ASCII, so any Chinese on an English page comes from the UI."""
    lead = Department.objects.create(name="Market Bureau", short_name="MB")
    other = Department.objects.create(name="Transport Bureau", short_name="TB")
    moderator = make_user("mod-ada", first_name="Ada", last_name="Ames")
    deputy = make_user("dep-bo", first_name="Bo", last_name="Bell")
    deputy2 = make_user("dep-cy")
    liaison = make_user("liaison-mb", email="liaison@example.org")
    lead.liaisons.add(liaison)
    hearing = Hearing.objects.create(
        title="Better Business Hearing",
        theme="Less red tape",
        venue="County Hall",
        starts_at=timezone.now(),
        stream_url="https://live.example.org/stream.m3u8",
    )
    hearing.moderators.add(moderator)
    hearing.deputies.add(deputy, deputy2)
    draft = Hearing.objects.create(title="Next Hearing", starts_at=timezone.now() + timedelta(days=30))
    draft.moderators.add(moderator)
    AgendaItem.objects.create(hearing=draft, position=1, title="Welcome", kind="opening")
    items = [
        AgendaItem.objects.create(hearing=hearing, position=1, title="Welcome", kind="opening"),
        AgendaItem.objects.create(hearing=hearing, position=2, title="Permits", department=lead),
        AgendaItem.objects.create(hearing=hearing, position=3, title="Buses", department=other),
        AgendaItem.objects.create(hearing=hearing, position=4, title="Vote", kind="evaluation"),
    ]
    hid = hearing.pk
    hearing_services.hearing_start(hearing_id=hid, by=None)
    hearing_services.agenda_start(hearing_id=hid, item_id=items[1].pk, by=None)
    Hearing.objects.filter(pk=hid).update(likes=65000)

    submit = hearing_services.question_submit
    submit(hearing_id=hid, text="Why do permits take so long?", source="public", asker_name="Alice")
    submit(hearing_id=hid, text="Second pending question", source="public")
    unsigned = submit(hearing_id=hid, text="When are the lights fixed?", source="public")
    hearing_services.question_approve(hearing_id=hid, question_id=unsigned.pk, by=None)
    spam = submit(hearing_id=hid, text="Spam", source="public")
    hearing_services.question_reject(hearing_id=hid, question_id=spam.pk, by=None)
    asked = submit(
        hearing_id=hid, text="How many days for a permit?", source="deputy", asker=deputy, item_id=items[1].pk
    )
    submit(hearing_id=hid, text="And for a renewal?", source="deputy", asker=deputy, parent_id=asked.pk)
    hearing_services.question_stage(hearing_id=hid, question_id=asked.pk, by=None)
    hearing_services.question_answered(
        hearing_id=hid, question_id=asked.pk, by=None, note="Five days", commitment="Three days by June"
    )
    hearing_services.question_stage(hearing_id=hid, question_id=unsigned.pk, by=None)

    for who in (deputy, deputy2):
        voting_services.checkin(hearing_id=hid, deputy=who)
    poll = voting_services.poll_open(hearing_id=hid, item_id=items[1].pk, by=None, title="Market Bureau poll")
    for who, choice in ((deputy, "满意"), (deputy2, "不满意")):
        voting_services.ballot_cast(hearing_id=hid, poll_id=poll.pk, deputy=who, choice=choice, ballot_id=uuid.uuid4())
    voting_services.poll_close(hearing_id=hid, poll_id=poll.pk, by=None)
    voting_services.poll_publish(hearing_id=hid, poll_id=poll.pk, by=None)
    closed_poll = voting_services.poll_open(
        hearing_id=hid, item_id=items[2].pk, by=None, title="Bus poll", secret=False
    )
    voting_services.poll_close(hearing_id=hid, poll_id=closed_poll.pk, by=None)
    voting_services.poll_open(hearing_id=hid, item_id=items[3].pk, by=None, title="Overall poll")

    questions = [_answered(hearing, items[1], f"Question {n}", deputy if n % 2 else None) for n in range(1, 10)]
    _answered(hearing, items[2], "Not assigned yet")
    s = assignment_services

    def create(n: int, **extra: Any) -> Assignment:
        return s.assignment_create(
            hearing_id=hid,
            question_ids=[questions[n].pk],
            lead_department_id=lead.pk,
            working_days=10,
            by=moderator,
            **extra,
        )

    def accepted(n: int, **extra: Any) -> int:
        pk = create(n, **extra).pk
        s.assignment_accept(assignment_id=pk, by=liaison)
        return pk

    def replied(n: int) -> int:
        pk = accepted(n)
        s.assignment_reply(
            assignment_id=pk,
            by=liaison,
            text="Done",
            files=[SimpleUploadedFile("plan.pdf", b"%PDF plan", content_type="application/pdf")],
            internal_note="Budget from the county",
        )
        return pk

    # Deputy-asked (so the deputy evaluates): questions 0, 2, 4, 6, 8.
    ids: dict[str, int] = {"hearing": hid, "draft": draft.pk, "poll": poll.pk}
    # The office: staff, the deputies as people with a delegation and a seat, their seat codes.
    staff = make_user("staff-di", first_name="Di Dale")
    Person.objects.create(user=staff, name="Di Dale", role=Person.Role.STAFF)
    person = Person.objects.create(user=deputy, name="Bo Bell", role=Person.Role.DEPUTY, delegation="North", seat="A-1")
    Person.objects.create(user=deputy2, name="Cy Cole", role=Person.Role.DEPUTY, delegation="South", seat="B-2")
    Person.objects.create(user=moderator, name="Ada Ames", role=Person.Role.MODERATOR)
    hearing_services.seat_codes_issue(hearing_id=hid, by=None)
    ids["person"], ids["department"] = person.pk, lead.pk
    seat = hearing_selectors.seat_code_text(SeatCode.objects.get(hearing_id=hid, deputy=deputy))
    ids["assigned"] = create(1, co_department_ids=[other.pk]).pk
    Assignment.objects.filter(pk=ids["assigned"]).update(due_date=timezone.localdate() - timedelta(days=2))
    ids["in_progress"] = accepted(3, co_department_ids=[other.pk])
    s.assignment_progress(assignment_id=ids["in_progress"], by=liaison, note="Site visit", internal_note="Call back")
    ids["extension"] = accepted(5)
    s.assignment_request_extension(
        assignment_id=ids["extension"], by=liaison, due_date=timezone.localdate() + timedelta(days=90), reason="Budget"
    )
    ids["returned"] = create(7).pk
    s.assignment_return(assignment_id=ids["returned"], by=liaison, reason="Not ours")
    ids["replied"] = replied(4)
    ids["evaluated"] = replied(6)
    s.assignment_evaluate(assignment_id=ids["evaluated"], by=deputy, verdict="不满意", comment="Not fixed")
    ids["reopened"] = replied(8)
    s.assignment_evaluate(assignment_id=ids["reopened"], by=deputy, verdict="不满意", comment="Still slow")
    s.assignment_reopen(assignment_id=ids["reopened"], by=moderator, working_days=5)
    ids["closed"] = replied(0)
    s.assignment_evaluate(assignment_id=ids["closed"], by=deputy, verdict="基本满意")
    s.assignment_close(assignment_id=ids["closed"], by=moderator)

    # What the services word themselves (timeline notes, notices) is stored as codes and shown in
    # the page's language: nothing to rewrite. Only people's text must be ASCII here.
    for entry in TimelineEntry.objects.all():
        assert not CJK.search(entry.public_note), entry.public_note
    assert Notice.objects.filter(user=liaison).exists() and Notice.objects.filter(user=moderator).exists()
    assert not Poll.objects.filter(title__regex=CJK.pattern).exists()
    users = {"moderator": moderator, "deputy": deputy, "liaison": liaison, "staff": staff}
    return I18nWorld({**ids, "seat": seat}, users)


@pytest.fixture
def i18n_world(db: Any, settings: Any, tmp_path: Path) -> I18nWorld:
    settings.SECURE_SSL_REDIRECT = False
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return build_world()


def client_in(language: str, user: Any = None) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    if user is not None:
        client.force_login(user)
    return client


def get(world: I18nWorld, page: Page, language: str) -> str:
    user = world.users[page.who] if page.who else None
    url = page.path.format(**world.ids)
    response = client_in(language, user).get(url)
    assert response.status_code == page.status, f"{url} as {page.who}: {response.status_code}"
    return response.content.decode()


# Machine values, not text: the stored poll choices and verdicts (满意 / 基本满意 / 不满意) that a
# form posts back or a script keys on. Their visible labels are translated (hearings/labels.py).
STORED_VALUE = re.compile(r'\b(data-choice|value)="({})"'.format("|".join(map(re.escape, LABELS))))


def chinese_in(html: str) -> list[str]:
    """Each place Chinese shows, with a little context (the switch's own label and the machine
    values of stored choices removed)."""
    html = STORED_VALUE.sub("", html.replace(SWITCH_LABEL, ""))
    return [html[max(0, m.start() - 40) : m.end() + 40] for m in CJK.finditer(html)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: f"{page.path} {page.who or ''}".strip())
def test_english_pages_have_no_chinese(i18n_world: I18nWorld, page: Page) -> None:
    html = get(i18n_world, page, "en")
    found = chinese_in(html)
    assert not found, f"{page.path} as {page.who}: Chinese on the English page: {found[:5]}"


@pytest.mark.parametrize("page", [page for page in PAGES if page.status == 200 and ".csv" not in page.path])
def test_chinese_pages_are_chinese(i18n_world: I18nWorld, page: Page) -> None:
    html = get(i18n_world, page, "zh-hans")
    assert CJK.search(html) and ("<html" not in html or '<html lang="zh-hans">' in html)
    shown = [word for word in ENGLISH_UI_WORDS if word in html]
    assert not shown, f"{page.path}: English UI words on the Chinese page: {shown}"


def test_the_forms_each_role_sees_are_all_there(i18n_world: I18nWorld) -> None:
    """The detail pages PAGES walks do show every form (else the rule above checks less than it says)."""

    def page(name: str, who: str) -> str:
        return get(i18n_world, Page(f"/assignments/{{{name}}}/", who), "en")

    assert "/do/accept/" in page("assigned", "liaison") and "/do/return/" in page("assigned", "liaison")
    in_progress = page("in_progress", "liaison")
    assert all(f"/do/{a}/" in in_progress for a in ("progress", "reply", "request_extension"))
    assert 'id="evaluate-form"' in page("replied", "deputy")
    evaluated = page("evaluated", "moderator")
    assert "/do/reopen/" in evaluated and "/do/close/" in evaluated
    assert "/do/reassign/" in page("returned", "moderator")
    assert "/do/decide_extension/" in page("extension", "moderator")
    assert "/do/review/" in page("closed", "moderator")


def test_numbers_and_dates_follow_the_language(i18n_world: I18nWorld) -> None:
    control = Page("/hearings/{hearing}/control/", "moderator")
    assert ">65,000<" in get(i18n_world, control, "en") and ">65,000<" in get(i18n_world, control, "zh-hans")
    due = Assignment.objects.get(pk=i18n_world.ids["in_progress"]).due_date
    detail = Page("/assignments/{in_progress}/", "liaison")
    english, chinese = get(i18n_world, detail, "en"), get(i18n_world, detail, "zh-hans")
    assert f'<time datetime="{due:%Y-%m-%d}">{due.year}年{due.month}月{due.day}日</time>' in chinese
    month = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]
    assert f'<time datetime="{due:%Y-%m-%d}">{month[due.month - 1]} {due.day}, {due.year}</time>' in english
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d</time>", chinese)  # the timeline
    assert re.search(r"[A-Z][a-z]+\.? \d{1,2}, \d{4}, (\d{1,2}(:\d\d)? [ap]\.m\.|noon|midnight)</time>", english)


def test_refusals_and_results_read_in_the_page_language(i18n_world: I18nWorld) -> None:
    ids, users = i18n_world.ids, i18n_world.users
    rejected = Question.objects.get(text="Spam")
    url = f"/hearings/{ids['hearing']}/control/do/question-approve/"
    for language, expect in (("en", "no longer awaits moderation"), ("zh-hans", "这个问题已不在待审核状态")):
        client = client_in(language, users["moderator"])
        response = client.post(url, {"question": rejected.pk}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 409 and 'data-code="invalid_state"' in html
        assert expect in html and "not pending" not in html
        if language == "en":
            assert not chinese_in(html), html
            # Without htmx the same refusal comes back as a message on the panel.
            page = client.post(url, {"question": rejected.pk}, follow=True).content.decode()
            assert "no longer awaits moderation" in page and not chinese_in(page)
    moderator = client_in("en", users["moderator"])
    done = moderator.post(f"/hearings/{ids['hearing']}/control/do/hearing-end/", HTTP_HX_REQUEST="true")
    assert "The hearing has ended." in done.content.decode() and not chinese_in(done.content.decode())

    liaison = client_in("en", users["liaison"])
    page = liaison.post(f"/assignments/{ids['replied']}/do/accept/", follow=True).content.decode()
    assert "Could not be done" in page and not chinese_in(page), chinese_in(page)
    page = liaison.post(f"/assignments/{ids['in_progress']}/do/progress/", {"note": " "}, follow=True).content.decode()
    assert "Please fill in the note." in page and not chinese_in(page)
    page = moderator.post(
        f"/assignments/new/?hearing={ids['hearing']}", {"questions": [], "lead_department": 1, "working_days": "5"}
    ).content.decode()
    assert "Choose at least one question." in page and not chinese_in(page)
    login = client_in("en").post("/accounts/login/", {"username": "nobody", "password": "wrong"}).content.decode()
    assert "Wrong username or password" in login and not chinese_in(login)


def test_the_500_page_is_translated() -> None:
    with translation.override("en"):
        html = render_to_string("500.html")
    assert 'lang="en"' in html and "Server error" in html and not chinese_in(html)
    with translation.override("zh-hans"):
        assert "服务器出错了" in render_to_string("500.html")


def test_exports_follow_the_requesters_language(i18n_world: I18nWorld) -> None:
    for url in ("/assignments/export.xlsx", f"/hearings/{i18n_world.ids['hearing']}/questions.xlsx"):
        english = load_workbook(filename=io.BytesIO(client_in("en").get(url).content)).active
        header = [cell.value for cell in english[1]]
        assert not CJK.search(english.title + "".join(str(v) for v in header)), (english.title, header)
        values = [str(cell.value or "") for row in english.iter_rows(min_row=2) for cell in row]
        assert not [v for v in values if CJK.search(v)], values
        chinese = load_workbook(filename=io.BytesIO(client_in("zh-hans").get(url).content)).active
        assert CJK.search(chinese.title) and all(CJK.search(str(cell.value)) for cell in chinese[1])
    english_csv = client_in("en").get("/assignments/export.csv").content.decode("utf-8-sig")
    assert english_csv.startswith("No.,Hearing,Question no.,Title,Lead department,Co-departments,Status,")
    assert ",Yes," in english_csv and ",No," in english_csv


# --------------------------------------------------------------------------- sources


def _source(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".js":
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        text = re.sub(r"(?m)^\s*//.*$|\s//\s.*$", "", text)
    else:
        text = re.sub(r"\{#.*?#\}", "", text)
        text = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", "", text, flags=re.S)
    return text


JS_STRING = r'"(?:[^"\\]|\\.)*"'
JS_CALL = re.compile(rf"\b(?P<fn>gettext|ngettext|pgettext)\(\s*(?P<a>{JS_STRING})(?:\s*,\s*(?P<b>{JS_STRING}))?", re.S)


def js_msgids() -> set[str]:
    """The catalog keys the live pages' scripts look up (pgettext: context + "\\x04" + msgid)."""
    found = set()
    for path in sorted((BASE / "static" / "live").glob("*.js")):
        for call in JS_CALL.finditer(_source(path)):
            a, b = json.loads(call["a"]), json.loads(call["b"]) if call["b"] else None
            found.add(f"{a}\x04{b}" if call["fn"] == "pgettext" else a)
    return found


def test_scripts_say_nothing_in_chinese_outside_gettext() -> None:
    for path in sorted((BASE / "static" / "live").glob("*.js")):
        rest = JS_CALL.sub("", _source(path))
        assert not CJK.findall(rest), f"{path.name}: Chinese outside gettext(): {CJK.findall(rest)[:10]}"


def test_templates_say_nothing_in_chinese_outside_translate_tags() -> None:
    """templates/reports/ mark their own strings (tests/reports)."""
    for path in sorted((BASE / "templates").rglob("*.html")):
        if "reports" in path.parts:
            continue
        text = _source(path).replace(f">{SWITCH_LABEL}<", "><")
        text = re.sub(r"\{%\s*blocktranslate.*?%\}.*?\{%\s*endblocktranslate\s*%\}", "", text, flags=re.S)
        text = re.sub(r"\{%\s*translate\s.*?%\}", "", text)
        assert not CJK.findall(text), f"{path.relative_to(BASE)}: {CJK.findall(text)[:10]}"


def test_the_javascript_catalog_in_english_has_every_string_the_scripts_use(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
    body = client_in("en").get("/jsi18n/").content.decode()
    start = body.index("const newcatalog = ") + len("const newcatalog = ")
    catalog, _ = json.JSONDecoder().raw_decode(body, start)
    wanted = js_msgids()
    assert len(wanted) > 80
    missing = sorted(key for key in wanted if key not in catalog)
    assert not missing, f"not in the English JavaScript catalog: {missing}"
    chinese = sorted(key for key in wanted if CJK.search(json.dumps(catalog[key], ensure_ascii=False)))
    assert not chinese, chinese
