"""Who may use the office's pages (/manage/) and the tablet's seat login, as tables.

The roles are those of tests/test_permissions.py (the same world: a live hearing with every
role, and `staff`, an office staff member who is nothing else). /manage/ is for office staff
(会务工作人员) and superusers only: everyone else gets 403, the public included, whatever they
are in a hearing, and nothing changes. Every route of office/urls.py must have a row here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import get_resolver, resolve
from django.urls.resolvers import URLResolver
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, WorkdayOverride
from hearings import selectors, services
from hearings.models import AgendaItem, BlockedViewer, Department, Hearing, Person, Question, SeatCode, SensitiveWord
from outbound.models import WebhookDelivery, WebhookEndpoint
from reports.models import DEFAULT_POINTS, DutyRule
from tests.factories import make_user
from tests.test_permissions import ROLES, Matrix, cells, client_for, fingerprint, make_matrix, table
from voting import services as voting_services
from voting.models import Threshold

# ------------------------------------------------------------------------------- pages (GET)

PAGES = """
path                                    anon  viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
/manage/                                403   403     403     403      403      403       403  403   302    302
/manage/hearings/                       403   403     403     403      403      403       403  403   200    200
/manage/hearings/new/                   403   403     403     403      403      403       403  403   200    200
/manage/hearings/{h}/                   403   403     403     403      403      403       403  403   200    200
/manage/hearings/{x}/                   403   403     403     403      403      403       403  403   404    404
/manage/hearings/{h}/agenda/            403   403     403     403      403      403       403  403   200    200
/manage/hearings/{h}/seats/             403   403     403     403      403      403       403  403   200    200
/manage/hearings/{h}/polls/             403   403     403     403      403      403       403  403   200    200
/manage/hearings/{h}/seats.pdf          403   403     403     403      403      403       403  403   200    200
/manage/people/                         403   403     403     403      403      403       403  403   200    200
/manage/people/new/                     403   403     403     403      403      403       403  403   200    200
/manage/people/{p}/                     403   403     403     403      403      403       403  403   200    200
/manage/departments/                    403   403     403     403      403      403       403  403   200    200
/manage/departments/{d}/                403   403     403     403      403      403       403  403   200    200
/manage/projects/                       403   403     403     403      403      403       403  403   200    200
/manage/projects/review/                403   403     403     403      403      403       403  403   200    200
/manage/projects/{j}/                   403   403     403     403      403      403       403  403   200    200
/manage/projects/{x}/                   403   403     403     403      403      403       403  403   404    404
/manage/roster/                         403   403     403     403      403      403       403  403   200    200
/manage/roster/template.csv             403   403     403     403      403      403       403  403   200    200
/manage/roster/template.xlsx            403   403     403     403      403      403       403  403   200    200
/manage/thresholds/                     403   403     403     403      403      403       403  403   200    200
/manage/deputies/                       403   403     403     403      403      403       403  403   200    200
/manage/deputies.xlsx                   403   403     403     403      403      403       403  403   200    200
/manage/duty-rules/                     403   403     403     403      403      403       403  403   200    200
/manage/hearings/{h}/questions/         403   403     403     403      403      403       403  403   200    200
/manage/hearings/{x}/questions/         403   403     403     403      403      403       403  403   404    404
/manage/sensitive-words/                403   403     403     403      403      403       403  403   200    200
/deputies/{u}/                          403   403     200     403      403      403       403  403   200    200
/deputies/{u}/record.xlsx               403   403     200     403      403      403       403  403   200    200
/manage/webhooks/                       403   403     403     403      403      403       403  403   200    200
/manage/webhooks/deliveries/            403   403     403     403      403      403       403  403   200    200
/manage/webhooks/mail/                  403   403     403     403      403      403       403  403   200    200
/manage/holidays/                       403   403     403     403      403      403       403  403   200    200
/seat/                                  200   200     200     200      200      200       200  200   200    200
/seat/{c}/                              200   200     200     200      200      200       200  200   200    200
"""

# ------------------------------------------------------------------------------- actions (POST)

ACTIONS = """
action                anon  viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
hearing-new           403   403     403     403      403      403       403  403   ok     ok
hearing-edit          403   403     403     403      403      403       403  403   ok     ok
hearing-roster        403   403     403     403      403      403       403  403   ok     ok
hearing-copy          403   403     403     403      403      403       403  403   ok     ok
hearing-replay        403   403     403     403      403      403       403  403   ok     ok
agenda-add            403   403     403     403      403      403       403  403   ok     ok
agenda-edit           403   403     403     403      403      403       403  403   ok     ok
agenda-move           403   403     403     403      403      403       403  403   ok     ok
agenda-remove         403   403     403     403      403      403       403  403   ok     ok
seats-issue           403   403     403     403      403      403       403  403   ok     ok
seat-reissue          403   403     403     403      403      403       403  403   ok     ok
seat-revoke           403   403     403     403      403      403       403  403   ok     ok
seats-revoke-unused   403   403     403     403      403      403       403  403   ok     ok
person-new            403   403     403     403      403      403       403  403   ok     ok
person-save           403   403     403     403      403      403       403  403   ok     ok
person-password       403   403     403     403      403      403       403  403   ok     ok
person-deactivate     403   403     403     403      403      403       403  403   ok     ok
department-new        403   403     403     403      403      403       403  403   ok     ok
department-edit       403   403     403     403      403      403       403  403   ok     ok
project-new           403   403     403     403      403      403       403  403   ok     ok
project-edit          403   403     403     403      403      403       403  403   ok     ok
project-status        403   403     403     403      403      403       403  403   ok     ok
milestone-add         403   403     403     403      403      403       403  403   ok     ok
milestone-edit        403   403     403     403      403      403       403  403   ok     ok
project-review        403   403     403     403      403      403       403  403   ok     ok
roster-import         403   403     403     403      403      403       403  403   ok     ok
poll-prepare          403   403     403     403      403      403       403  403   ok     ok
poll-schedule         403   403     403     403      403      403       403  403   ok     ok
poll-discard          403   403     403     403      403      403       403  403   ok     ok
poll-close            403   403     403     403      403      403       403  403   ok     ok
poll-publish          403   403     403     403      403      403       403  403   ok     ok
threshold-add         403   403     403     403      403      403       403  403   ok     ok
threshold-deactivate  403   403     403     403      403      403       403  403   ok     ok
triage-approve        403   403     403     403      403      403       403  403   ok     ok
triage-reject         403   403     403     403      403      403       403  403   ok     ok
triage-assign         403   403     403     403      403      403       403  403   ok     ok
triage-merge          403   403     403     403      403      403       403  403   ok     ok
triage-hide           403   403     403     403      403      403       403  403   ok     ok
triage-block          403   403     403     403      403      403       403  403   ok     ok
words-add             403   403     403     403      403      403       403  403   ok     ok
words-remove          403   403     403     403      403      403       403  403   ok     ok
duty-rules            403   403     403     403      403      403       403  403   ok     ok
webhook-add           403   403     403     403      403      403       403  403   ok     ok
webhook-deactivate    403   403     403     403      403      403       403  403   ok     ok
webhook-retry         403   403     403     403      403      403       403  403   ok     ok
holiday-add           403   403     403     403      403      403       403  403   ok     ok
holiday-remove        403   403     403     403      403      403       403  403   ok     ok
due-recompute         403   403     403     403      403      403       403  403   ok     ok
"""

ROSTER = "username,name,role,department\nnewdep,新代表,deputy,\n"
HEARING_FORM = {"title": "新一场问政会", "kind": "wenzheng", "starts_at": "2026-12-20T09:00", "quorum_percent": "50"}


def office_state() -> dict[str, Any]:
    """What an office action could change, besides what fingerprint() already covers."""
    return {
        **fingerprint(),
        "people": list(Person.objects.order_by("pk").values_list("pk", "name", "role", "seat", "user__is_active")),
        "passwords": list(Person.objects.order_by("pk").values_list("user__password", flat=True)),
        "departments": list(Department.objects.order_by("pk").values_list("pk", "name", "short_name")),
        "replays": list(Hearing.objects.order_by("pk").values_list("vod_url", "vod_started_at")),
        "agenda": list(AgendaItem.objects.order_by("pk").values_list("pk", "position", "title")),
        "seats": list(SeatCode.objects.order_by("pk").values_list("pk", "used_at", "revoked_at")),
        "thresholds": list(Threshold.objects.order_by("pk").values_list("pk", "metric", "percent", "active")),
        "triage": list(Question.objects.order_by("pk").values_list("pk", "item", "department", "merged_into")),
        "words": list(SensitiveWord.objects.order_by("pk").values_list("word", flat=True)),
        "blocked": list(BlockedViewer.objects.order_by("pk").values_list("viewer", flat=True)),
        "duty_rules": list(DutyRule.objects.order_by("pk").values_list("kind", "points", "active")),
        "holidays": list(WorkdayOverride.objects.order_by("day").values_list("day", "kind")),
        "due_dates": list(Assignment.objects.order_by("pk").values_list("pk", "due_date")),
        "webhooks": list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "url", "active")),
        "deliveries": list(WebhookDelivery.objects.order_by("pk").values_list("pk", "status", "next_at")),
        "rosters": [
            (sorted(h.deputies.values_list("pk", flat=True)), sorted(h.moderators.values_list("pk", flat=True)))
            for h in Hearing.objects.order_by("pk")
        ],
    }


class World:
    """The matrix's world plus what the office pages act on: a deputy with a Person row and an
    unused seat code, a department, an agenda item never started."""

    def __init__(self, m: Matrix) -> None:
        self.m = m
        deputy = m.users["deputy"]
        self.person = Person.objects.create(user=deputy, name="张代表", role=Person.Role.DEPUTY, seat="1排1号")
        Person.objects.create(user=m.users["mod"], name="主持人", role=Person.Role.MODERATOR)
        self.spare = AgendaItem.objects.create(hearing=m.hearing, position=3, title="备用议程")
        services.seat_codes_issue(hearing_id=m.hearing.pk, by=None)
        self.code = selectors.seat_code_text(SeatCode.objects.get(deputy=deputy))
        self.threshold = Threshold.objects.create(metric=Threshold.Metric.SATISFACTION, percent=60)


@pytest.fixture
def w(db: Any, settings: Any, tmp_path: Any) -> World:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return World(make_matrix())


def _format(w: World, path: str) -> str:
    # Matrix.format knows {h} {x} {a} {f} {b} {q}; the office adds {p} {d} {c} {u}.
    values = {"p": w.person.pk, "d": w.m.lead.pk, "c": w.code, "u": w.m.users["deputy"].pk}
    for key, value in values.items():
        path = path.replace("{" + key + "}", str(value))
    return w.m.format(path)


@pytest.mark.parametrize(("path", "role", "expected"), cells(PAGES))
def test_pages(w: World, path: str, role: str, expected: str) -> None:
    response = client_for(w.m, role).get(_format(w, path), secure=True)
    assert response.status_code == int(expected), response.content.decode()[:300]


def request_for(w: World, action: str) -> tuple[str, dict[str, Any]]:
    """(path, form data) that `action` accepts from office staff."""
    h, m = w.m.hearing.pk, w.m
    if action == "hearing-new":
        return "/manage/hearings/new/", HEARING_FORM
    if action == "hearing-edit":
        return f"/manage/hearings/{h}/", {**HEARING_FORM, "title": "改过的标题"}
    if action == "hearing-roster":
        return f"/manage/hearings/{h}/roster/", {"deputies": [], "moderators": [m.users["mod"].pk]}
    if action == "hearing-copy":
        return f"/manage/hearings/{h}/copy/", {}
    if action == "hearing-replay":
        return f"/manage/hearings/{h}/replay/", {
            "vod_url": "https://video.example.cn/replay.m3u8",
            "vod_started_at": "",
        }
    if action.startswith("agenda-"):
        forms: dict[str, dict[str, Any]] = {
            "agenda-add": {"title": "新增议程"},
            "agenda-edit": {"item": w.spare.pk, "title": "改过的议程", "minutes": "20"},
            "agenda-move": {"item": w.spare.pk, "position": "1"},
            "agenda-remove": {"item": w.spare.pk},
        }
        return f"/manage/hearings/{h}/agenda/do/{action}/", forms[action]
    deputy = m.users["deputy"].pk
    if action == "seats-issue":
        SeatCode.objects.update(revoked_at=m.hearing.starts_at)  # someone lacks a code again
        return f"/manage/hearings/{h}/seats/issue/", {}
    if action == "seat-reissue":
        return f"/manage/hearings/{h}/seats/{deputy}/reissue/", {}
    if action == "seat-revoke":
        return f"/manage/hearings/{h}/seats/{deputy}/revoke/", {}
    if action == "seats-revoke-unused":
        return f"/manage/hearings/{h}/seats/revoke-unused/", {}
    person = f"/manage/people/{w.person.pk}/"
    if action == "person-new":
        return "/manage/people/new/", {"username": "newperson", "name": "新人", "role": "deputy"}
    if action == "person-save":
        return person, {"action": "save", "username": "x", "name": "张代表", "role": "deputy", "seat": "9排9号"}
    if action == "person-password":
        return person, {"action": "password"}
    if action == "person-deactivate":
        return person, {"action": "deactivate"}
    if action == "department-new":
        return "/manage/departments/", {"name": "县教育局", "short_name": "教育局"}
    if action == "department-edit":
        return f"/manage/departments/{m.lead.pk}/", {"name": "县教育体育局", "short_name": "教体局"}
    project = f"/manage/projects/{m.project.pk}/"
    if action == "project-new":
        return "/manage/projects/", {"title": "口袋公园建设", "year": "2027", "department": str(m.lead.pk)}
    if action == "project-edit":
        return project, {"action": "save", "title": "改过的项目名", "year": "2027", "department": str(m.lead.pk)}
    if action == "project-status":
        return project, {"action": "status", "status": "stopped", "text": "选址调整"}
    if action == "milestone-add":
        return project, {"action": "milestone-add", "title": "竣工验收", "due_date": "2027-11-30"}
    if action == "milestone-edit":
        return project, {"action": "milestone-edit", "milestone": str(m.milestone.pk), "title": "完成设计招标"}
    if action == "project-review":
        return "/manage/projects/review/", {"hearing": str(h), "projects": [str(m.project.pk)]}
    if action.startswith("poll-"):
        return _poll_request(w, action)
    if action == "threshold-add":
        return "/manage/thresholds/", {"metric": "dissatisfied", "percent": "30"}
    if action == "threshold-deactivate":
        return f"/manage/thresholds/{w.threshold.pk}/deactivate/", {}
    if action == "duty-rules":
        form = {f"points_{kind}": str(points) for kind, points in DEFAULT_POINTS.items()}
        return "/manage/duty-rules/", form | {"points_question": "5", "active_question": "on"}
    if action.startswith(("triage-", "words-")):
        return _triage_request(w, action)
    if action.startswith("webhook-"):
        return _webhook_request(action)
    if action.startswith(("holiday-", "due-")):
        return _holiday_request(w, action)
    raise AssertionError(action)


def _holiday_request(w: World, action: str) -> tuple[str, dict[str, Any]]:
    """The holidays page: a day entered, one removed, and the matrix's assignment (10 working days)
    whose due date the entered holidays no longer give."""
    if action == "holiday-add":
        return "/manage/holidays/", {"mode": "range", "first": "2099-02-05", "last": "2099-02-06", "kind": "holiday"}
    if action == "holiday-remove":
        assignment_services.workdays_override(holidays=["2099-02-05"], by=None)
        return "/manage/holidays/remove/", {"day": "2099-02-05"}
    a = w.m.assignment
    Assignment.objects.filter(pk=a.pk).update(due_date=a.due_date + timedelta(days=1))
    return "/manage/holidays/recompute/", {"assignment": str(a.pk)}


def _webhook_request(action: str) -> tuple[str, dict[str, Any]]:
    if action == "webhook-add":
        return "/manage/webhooks/", {"url": "https://platform.example.gov.cn/hook", "secret": "s" * 16}
    endpoint = WebhookEndpoint.objects.create(url="https://platform.example.gov.cn/hook", secret="s" * 16)
    if action == "webhook-deactivate":
        return f"/manage/webhooks/{endpoint.pk}/deactivate/", {}
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="assignment.accept", body="{}", status="failed")
    return f"/manage/webhooks/deliveries/{delivery.pk}/retry/", {}


def _triage_request(w: World, action: str) -> tuple[str, dict[str, Any]]:
    """The triage page's actions on the matrix's live hearing, and the sensitive-word list's."""
    h = w.m.hearing.pk
    Hearing.objects.filter(pk=h).update(status=Hearing.Status.LIVE)  # test_every_office_route_has_a_row ended it

    def asked(text: str) -> Question:
        return services.question_submit(hearing_id=h, text=text, source="public", viewer="matrix-viewer")

    def public(text: str) -> Question:
        return services.question_approve(hearing_id=h, question_id=asked(text).pk, by=None)

    do = f"/manage/hearings/{h}/questions/do/{action[7:]}/"
    if action in ("triage-approve", "triage-reject"):
        return do, {"questions": [asked("待审核一").pk, asked("待审核二").pk]}
    if action == "triage-assign":
        return do, {"questions": [asked("待分配").pk], "item": str(w.spare.pk), "department": str(w.m.lead.pk)}
    if action == "triage-merge":
        return do, {"question": asked("路灯不亮").pk, "into": public("路灯坏了").pk}
    if action == "triage-hide":
        return do, {"question": public("要撤下的").pk, "reason": "涉及个人隐私"}
    if action == "triage-block":
        return do, {"question": asked("捣乱的提问").pk}
    if action == "words-add":
        return "/manage/sensitive-words/do/add/", {"words": "回扣\n黑幕"}
    services.sensitive_words_add(words=["回扣"], by=None)
    return "/manage/sensitive-words/do/remove/", {"word": "回扣"}


def _poll_request(w: World, action: str) -> tuple[str, dict[str, Any]]:
    """The office's polls page: a draft prepared on the live hearing; the rest on the hearing
    once ended (a window poll does not run beside the live one)."""
    h = w.m.hearing.pk
    if action == "poll-prepare":
        return f"/manage/hearings/{h}/polls/", {"kind": "satisfaction", "ballot": "secret", "scale": "three"}
    Hearing.objects.filter(pk=h).update(status=Hearing.Status.ENDED)
    now = timezone.localtime()
    window = {"opens_at": now - timedelta(hours=1), "closes_at": now + timedelta(days=1)}
    if action in ("poll-schedule", "poll-discard"):
        Hearing.objects.filter(pk=h).update(status=Hearing.Status.DRAFT)
        draft = voting_services.poll_prepare(hearing_id=h, by=None, kind="satisfaction")
        Hearing.objects.filter(pk=h).update(status=Hearing.Status.ENDED)
        form = {key: value.strftime("%Y-%m-%dT%H:%M") for key, value in window.items()}
        return f"/manage/hearings/{h}/polls/{draft.pk}/{action[5:]}/", form if action == "poll-schedule" else {}
    poll = voting_services.poll_prepare(
        hearing_id=h, by=None, kind="satisfaction", opens_at=window["opens_at"], closes_at=window["closes_at"]
    )
    if action == "poll-publish":
        voting_services.poll_close(hearing_id=h, poll_id=poll.pk, by=None)
    return f"/manage/hearings/{h}/polls/{poll.pk}/{action[5:]}/", {}


def _roster_token(client: Any) -> str:
    upload = SimpleUploadedFile("roster.csv", ROSTER.encode(), content_type="text/csv")
    response = client.post("/manage/roster/", {"action": "preview", "file": upload}, secure=True)
    assert response.status_code == 200
    body = response.content.decode()
    marker = 'name="token" value="'
    assert marker in body, body[:500]
    return body.split(marker, 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(("action", "role", "expected"), cells(ACTIONS))
def test_actions(w: World, action: str, role: str, expected: str) -> None:
    client = client_for(w.m, role)
    if action == "roster-import":
        # The token of a preview made by office staff; an outsider holding it gets nothing.
        staff_client = client_for(w.m, "staff")
        token = _roster_token(client if expected == "ok" else staff_client)
        path, data = "/manage/roster/", {"action": "import", "token": token}
    else:
        path, data = request_for(w, action)
    before = office_state()
    response = client.post(path, data, secure=True)
    if expected == "ok":
        assert response.status_code in (200, 302), response.content.decode()[:500]
        assert office_state() != before
    else:
        assert response.status_code == int(expected)
        assert office_state() == before


def test_every_office_route_has_a_row(w: World) -> None:
    routes = set()
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and getattr(pattern.urlconf_name, "__name__", "") == "office.urls":
            routes |= {str(pattern.pattern) + str(sub.pattern) for sub in pattern.url_patterns}
    covered = {resolve(_format(w, path)).route for path, _, _ in table(PAGES)}
    covered |= {
        resolve(request_for(w, action)[0] if action != "roster-import" else "/manage/roster/").route
        for action, _, _ in table(ACTIONS)
    }
    assert routes - covered == set()


def test_the_tables_have_every_role() -> None:
    for text in (PAGES, ACTIONS):
        assert [column for _, column, _ in table(text)][: len(ROLES)] == ROLES


def test_a_deputy_who_is_also_office_staff_may_manage(w: World) -> None:
    """Staff is a role of its own: being a deputy elsewhere takes nothing away."""
    person = make_user("both")
    Person.objects.create(user=person, name="既是代表也是工作人员", role=Person.Role.STAFF)
    w.m.hearing.deputies.add(person)
    client = Client()
    client.force_login(person)
    assert client.get("/manage/hearings/", secure=True).status_code == 200
    assert client.get(f"/hearings/{w.m.hearing.pk}/tablet/", secure=True).status_code == 200
