"""Who may do what, over HTTP: every role against every page, form and API call, as tables.

Each table below is the intended permission, written out: a change in who may do what must
change a table. One parametrized test per table runs every cell against the real stack.

Roles (the columns):
    anon      anonymous, no cookies
    viewer    anonymous with the public live page's signed viewer cookie
    deputy    a deputy (人大代表) of the hearing, who asked the assigned question
    deputy2   a deputy of another hearing
    liaison   a liaison (联络员) of the assignment's lead department (主办单位)
    liaison2  a liaison of another department, a co-department (协办单位) of the assignment
    mod       a moderator (主持人) of the hearing
    mod2      a moderator of another hearing
    admin     a superuser (is_staff) who is none of the above
    staff     office staff (会务工作人员, Person.role staff) who is none of the above: prepares
              hearings under /manage/, has no role in a hearing unless made its moderator

What "admin" may do: the Django admin (and through it the audit log, read only). Being a
superuser gives no role in a hearing: the control panel, the control socket and moderator
actions need the user to be a moderator *of that hearing*, the tablet and voting a deputy of
it, and department actions a liaison of the lead department, superuser or not. A superuser
who should run a hearing is added to its moderators in the admin.

Outcomes: a status code; `login` (302 to the login page), `a-login` (302 to the admin's
login page); `ok` (allowed: the change is made); `403` on an action means refused with
nothing changed.

Every request here comes from loopback (the test client's address): /metrics, open to loopback
whoever asks, is refused from elsewhere by its own tests (tests/metrics/test_endpoint.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, Attachment, TimelineEntry
from assignments.workflow import TRANSITIONS, Who
from audit.models import AuditEntry
from hearings import services
from hearings.models import AgendaItem, Department, Hearing, Like, Person, Question
from live.viewer import COOKIE, sign
from projects import services as project_services
from projects.models import Milestone, Project, ProjectUpdate
from tests.factories import make_department, make_user
from voting import services as voting_services
from voting.models import Attendance, Poll, VoteRecord

ROLES = ["anon", "viewer", "deputy", "deputy2", "liaison", "liaison2", "mod", "mod2", "admin", "staff"]


# ------------------------------------------------------------------------------- tables


def table(text: str) -> list[tuple[str, str, str]]:
    """(row, column, expected) for every cell of a whitespace-aligned table; the first line
    names the columns."""
    lines = [line.split() for line in text.strip().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    cells = []
    for row in rows:
        assert len(row) == len(header), f"row {row[0]!r} has {len(row)} cells, the header {len(header)}"
        cells += [(row[0], column, expected) for column, expected in zip(header[1:], row[1:], strict=True)]
    return cells


def cells(text: str) -> Any:
    """pytest parameters for every cell, with readable ids."""
    return [pytest.param(row, column, expected, id=f"{row} {column}") for row, column, expected in table(text)]


# ------------------------------------------------------------------------------- the world


@dataclass
class Matrix:
    """A live hearing with every role, an assignment (from the deputy's answered question,
    with an internal note and a reply attachment on a second one) and another hearing."""

    hearing: Hearing
    other_hearing: Hearing
    items: list[AgendaItem]
    lead: Department
    other: Department
    users: dict[str, Any]
    assignment: Assignment
    attachment: Attachment
    project: Project  # a 民生实事 project of the lead department, with a milestone not yet done
    milestone: Milestone

    def format(self, text: str) -> str:
        return text.format(
            h=self.hearing.pk,
            x=10**9,
            a=self.assignment.pk,
            f=self.attachment.pk,
            b=self.attachment.assignment_id,
            q=self.assignment.questions.values_list("pk", flat=True).first(),
            j=self.project.pk,
            k=self.milestone.pk,
        )


INTERNAL_NOTE = "内部：仅主办单位与主持人可见"


def make_matrix() -> Matrix:
    lead, other = make_department(), make_department()
    hearing = Hearing.objects.create(title="权限矩阵问政会", starts_at=timezone.now(), status=Hearing.Status.LIVE)
    items = [
        AgendaItem.objects.create(hearing=hearing, position=1, title="开场", kind="opening"),
        AgendaItem.objects.create(hearing=hearing, position=2, title="问政", department=lead),
    ]
    other_hearing = Hearing.objects.create(title="另一场", starts_at=timezone.now())
    users: dict[str, Any] = {"anon": None, "viewer": None}
    for role in ROLES[2:]:
        users[role] = make_user(f"{role}-{uuid4().hex[:6]}", is_staff=role == "admin", is_superuser=role == "admin")
    Person.objects.create(user=users["staff"], name="会务工作人员", role=Person.Role.STAFF)
    hearing.deputies.add(users["deputy"])
    other_hearing.deputies.add(users["deputy2"])
    hearing.moderators.add(users["mod"])
    other_hearing.moderators.add(users["mod2"])
    lead.liaisons.add(users["liaison"])
    other.liaisons.add(users["liaison2"])

    def answered(text: str) -> Question:
        return Question.objects.create(
            hearing=hearing, item=items[1], text=text, source="deputy", asker=users["deputy"], status="answered"
        )

    assignment = assignment_services.assignment_create(
        hearing_id=hearing.pk,
        question_ids=[answered("企业开办还要跑几次？").pk],
        lead_department_id=lead.pk,
        co_department_ids=[other.pk],
        working_days=10,
        internal_note=INTERNAL_NOTE,
        by=None,
    )
    replied = assignment_services.assignment_create(
        hearing_id=hearing.pk, question_ids=[answered("路灯").pk], lead_department_id=lead.pk, working_days=10, by=None
    )
    assignment_services.assignment_accept(assignment_id=replied.pk, by=None)
    pdf = SimpleUploadedFile("reply.pdf", b"%PDF-1.4 reply", content_type="application/pdf")
    assignment_services.assignment_reply(assignment_id=replied.pk, by=None, text="已修复", files=[pdf])
    attachment = Attachment.objects.get(assignment=replied)
    project = project_services.project_add(by=None, title="城区老旧小区改造", year=2027, department_id=lead.pk)
    milestone = project_services.milestone_add(project_id=project.pk, by=None, title="完成招标")
    return Matrix(hearing, other_hearing, items, lead, other, users, assignment, attachment, project, milestone)


def viewer_cookie() -> str:
    return sign("v" + uuid4().hex)


def client_for(m: Matrix, role: str, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    if role == "viewer":
        client.cookies[COOKIE] = viewer_cookie()
    elif m.users[role] is not None:
        client.force_login(m.users[role])
    return client


@pytest.fixture(autouse=True)
def _tmp_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def m(db: Any) -> Matrix:
    return make_matrix()


def fingerprint() -> dict[str, Any]:
    """What any action could change: a refused one leaves all of it as it was."""
    return {
        "audit": AuditEntry.objects.count(),
        "questions": list(Question.objects.order_by("pk").values_list("pk", "status", "text")),
        "hearings": list(Hearing.objects.order_by("pk").values_list("pk", "status")),
        "items": list(AgendaItem.objects.order_by("pk").values_list("pk", "status")),
        "polls": list(Poll.objects.order_by("pk").values_list("pk", "status")),
        "attendance": Attendance.objects.count(),
        "votes": VoteRecord.objects.count(),
        "likes": Like.objects.count(),
        "assignments": list(Assignment.objects.order_by("pk").values_list("pk", "status", "lead_department_id")),
        "timeline": TimelineEntry.objects.count(),
        "projects": list(Project.objects.order_by("pk").values_list("pk", "status", "progress", "department_id")),
        "milestones": list(Milestone.objects.order_by("pk").values_list("pk", "title", "done_at")),
        "project_updates": ProjectUpdate.objects.count(),
    }


def check_redirect(response: Any, expected: str) -> None:
    if expected == "login":
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/accounts/login/?next="), response["Location"]
    elif expected == "a-login":
        assert response.status_code == 302, response.status_code
        assert response["Location"].startswith("/admin/login/?next="), response["Location"]
    else:
        raise AssertionError(f"not a redirect outcome: {expected}")


# ------------------------------------------------------------------------------- pages (GET)

PAGES = """
path                                  anon     viewer   deputy   deputy2  liaison  liaison2  mod      mod2     admin  staff
/                                     200      200      200      200      200      200       200      200      200    200
/healthz                              200      200      200      200      200      200       200      200      200    200
/readyz                               200      200      200      200      200      200       200      200      200    200
/audit/head.json                      200      200      200      200      200      200       200      200      200    200
/metrics                              200      200      200      200      200      200       200      200      200    200
/jsi18n/                              200      200      200      200      200      200       200      200      200    200
/accounts/login/                      200      200      200      200      200      200       200      200      200    200
/hearings/{h}/                        200      200      200      200      200      200       200      200      200    200
/hearings/{x}/                        404      404      404      404      404      404       404      404      404    404
/hearings/{h}/screen/                 200      200      200      200      200      200       200      200      200    200
/hearings/{h}/overlay/                200      200      200      200      200      200       200      200      200    200
/hearings/{x}/overlay/                404      404      404      404      404      404       404      404      404    404
/hearings/{h}/questions.csv           200      200      200      200      200      200       200      200      200    200
/hearings/{h}/report/                 200      200      200      200      200      200       200      200      200    200
/hearings/{h}/report.xlsx             200      200      200      200      200      200       200      200      200    200
/hearings/{h}/report.pdf              200      200      200      200      200      200       200      200      200    200
/hearings/{x}/report/                 404      404      404      404      404      404       404      404      404    404
/hearings/{h}/list/                   200      200      200      200      200      200       200      200      200    200
/hearings/{h}/list.docx               200      200      200      200      200      200       200      200      200    200
/hearings/{h}/list.xlsx               200      200      200      200      200      200       200      200      200    200
/hearings/{x}/list/                   404      404      404      404      404      404       404      404      404    404
/hearings/{x}/list.docx               404      404      404      404      404      404       404      404      404    404
/scorecards/                          200      200      200      200      200      200       200      200      200    200
/hearings/{h}/tablet/                 login    login    200      403      403      403       403      403      403    403
/hearings/{h}/control/                login    login    403      403      403      403       200      403      403    403
/hearings/{h}/control/part/queue/     login    login    403      403      403      403       200      403      403    403
/hearings/{h}/control/question/{q}/   login    login    403      403      403      403       200      403      403    403
/hearings/{h}/control/merge-targets/  login    login    403      403      403      403       200      403      403    403
/assignments/                         200      200      200      200      200      200       200      200      200    200
/assignments/export.csv               200      200      200      200      200      200       200      200      200    200
/assignments/{a}/                     200      200      200      200      200      200       200      200      200    200
/assignments/{b}/attachments/{f}/     200      200      200      200      200      200       200      200      200    200
/assignments/new/?hearing={h}         login    login    403      403      403      403       200      403      403    403
/assignments/reviews/                 login    login    403      403      403      403       200      200      200    200
/inbox/                               login    login    200      403      200      200       200      403      403    403
/inbox/notices/settings/              login    login    200      200      200      200       200      200      200    200
/assignments/{a}/follow/              405      405      405      405      405      405       405      405      405    405
/follow/AAAAAAAAAAAAAAAAAAAAAAAA/confirm/     404  404  404  404  404  404  404  404  404  404
/follow/AAAAAAAAAAAAAAAAAAAAAAAA/unsubscribe/ 404  404  404  404  404  404  404  404  404  404
/projects/                            200      200      200      200      200      200       200      200      200    200
/projects/{j}/                        200      200      200      200      200      200       200      200      200    200
/projects/{x}/                        404      404      404      404      404      404       404      404      404    404
/projects/mine/                       login    login    403      403      200      200       403      403      403    403
/admin/                               a-login  a-login  a-login  a-login  a-login  a-login   a-login  a-login  200    a-login
/admin/audit/auditentry/              a-login  a-login  a-login  a-login  a-login  a-login   a-login  a-login  200    a-login
"""


@pytest.mark.parametrize(("path", "role", "expected"), cells(PAGES))
def test_pages(m: Matrix, path: str, role: str, expected: str) -> None:
    response = client_for(m, role).get(m.format(path), secure=True)
    if expected.isdigit():
        assert response.status_code == int(expected)
    else:
        check_redirect(response, expected)


# An assignment's internal notes (内部意见) show on its page to the lead department and the
# hearing's moderators only; never in the API.
INTERNAL = """
what                      anon  viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
/assignments/{a}/         no    no      no      no       yes      no        yes  no    no     no
/api/v1/assignments/{a}/  no    no      no      no       no       no        no   no    no     no
"""


@pytest.mark.parametrize(("path", "role", "expected"), cells(INTERNAL))
def test_internal_notes(m: Matrix, path: str, role: str, expected: str) -> None:
    response = client_for(m, role).get(m.format(path), secure=True)
    assert response.status_code == 200
    assert (INTERNAL_NOTE in response.content.decode()) == (expected == "yes")


# ------------------------------------------------------------------------------- control panel actions (htmx POST)

CONTROL_ACTIONS = """
action             anon   viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
hearing-start      login  login   403     403      403      403       ok   403   403    403
hearing-end        login  login   403     403      403      403       ok   403   403    403
agenda-start       login  login   403     403      403      403       ok   403   403    403
question-approve   login  login   403     403      403      403       ok   403   ok     ok
question-reject    login  login   403     403      403      403       ok   403   ok     ok
question-hide      login  login   403     403      403      403       ok   403   ok     ok
question-edit      login  login   403     403      403      403       ok   403   403    403
question-merge     login  login   403     403      403      403       ok   403   ok     ok
question-stage     login  login   403     403      403      403       ok   403   403    403
question-answered  login  login   403     403      403      403       ok   403   403    403
question-add       login  login   403     403      403      403       ok   403   403    403
viewer-block       login  login   403     403      403      403       ok   403   ok     ok
poll-open          login  login   403     403      403      403       ok   403   403    403
poll-close         login  login   403     403      403      403       ok   403   403    403
poll-publish       login  login   403     403      403      403       ok   403   403    403
deputy-checkin     login  login   403     403      403      403       ok   403   403    403
agenda-add         login  login   403     403      403      403       ok   403   ok     ok
agenda-edit        login  login   403     403      403      403       ok   403   ok     ok
agenda-move        login  login   403     403      403      403       ok   403   ok     ok
agenda-remove      login  login   403     403      403      403       ok   403   ok     ok
"""


def prepare(m: Matrix, action: str) -> dict[str, Any]:
    """Bring the hearing to a state where `action` (a socket name; the control panel's names
    use dashes) succeeds for whoever may do it, and return its fields."""
    hid = m.hearing.pk
    action = action.replace("-", ".")

    def pending(text: str = "待审核的问题") -> Question:
        return services.question_submit(hearing_id=hid, text=text, source="public")

    def approved(text: str = "已公开的问题") -> Question:
        return services.question_approve(hearing_id=hid, question_id=pending(text).pk, by=None)

    def open_poll() -> Poll:
        return voting_services.poll_open(hearing_id=hid, item_id=m.items[1].pk, by=None)

    if action == "hearing.start":
        Hearing.objects.filter(pk=hid).update(status=Hearing.Status.DRAFT)
        return {}
    if action in ("hearing.end", "ping", "checkin", "question.add"):
        return {"text": "主持人录入的问题"} if action == "question.add" else {}
    if action in ("agenda.start", "poll.open"):
        return {"item": m.items[1].pk}
    if action in ("question.approve", "question.reject"):
        return {"question": pending().pk}
    if action == "question.edit":
        return {"question": pending().pk, "text": "改过的问题"}
    if action in ("question.stage", "question.answered"):
        return {"question": approved().pk}
    if action == "question.hide":
        return {"question": approved().pk, "reason": "涉及个人隐私"}
    if action == "viewer.block":
        return {"question": services.question_submit(hearing_id=hid, text="刷屏", source="public", viewer="v-x").pk}
    if action == "question.merge":
        return {"question": approved("重复的问题").pk, "into": approved("保留的问题").pk}
    if action == "poll.close":
        return {"poll": open_poll().pk}
    if action == "poll.publish":
        poll = open_poll()
        voting_services.poll_close(hearing_id=hid, poll_id=poll.pk, by=None)
        return {"poll": poll.pk}
    if action == "agenda.add":
        return {"title": "新增议程"}
    if action == "agenda.edit":
        return {"item": m.items[1].pk, "title": "改过的议程"}
    if action == "agenda.move":
        return {"item": m.items[1].pk, "position": 1}
    if action == "agenda.remove":
        spare = AgendaItem.objects.create(hearing=m.hearing, position=3, title="备用议程")
        return {"item": spare.pk}
    if action == "deputy.checkin":
        return {"deputy": m.users["deputy"].pk}
    if action == "resume":
        return {"seq": 0}
    if action == "like":
        return {"question": approved().pk}
    if action == "ask":
        return {"text": "群众的新问题"}
    if action == "vote":
        voting_services.checkin(hearing_id=hid, deputy=m.users["deputy"])
        return {"poll": open_poll().pk, "choice": "满意", "ballot": str(uuid4())}
    raise AssertionError(f"no preparation for {action}")


@pytest.mark.parametrize(("action", "role", "expected"), cells(CONTROL_ACTIONS))
def test_control_actions(m: Matrix, action: str, role: str, expected: str) -> None:
    data = prepare(m, action)
    before = fingerprint()
    client = client_for(m, role)
    response = client.post(f"/hearings/{m.hearing.pk}/control/do/{action}/", data, secure=True, HTTP_HX_REQUEST="true")
    if expected == "ok":
        assert response.status_code == 200, response.content.decode()
        assert 'class="action-result ok"' in response.content.decode()
        assert fingerprint() != before
    elif expected == "403":
        assert response.status_code == 403
        assert fingerprint() == before
    else:
        check_redirect(response, expected)
        assert fingerprint() == before


# ------------------------------------------------------------------------------- assignment actions (form POST)

ASSIGNMENT_ACTIONS = """
action             anon   viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
accept             login  login   403     403      ok       403       403  403   403    403
return             login  login   403     403      ok       403       403  403   403    403
progress           login  login   403     403      ok       403       403  403   403    403
reply              login  login   403     403      ok       403       403  403   403    403
request_extension  login  login   403     403      ok       403       403  403   403    403
decide_extension   login  login   403     403      403      403       ok   403   403    403
reassign           login  login   403     403      403      403       ok   403   403    403
reopen             login  login   403     403      403      403       ok   403   403    403
close              login  login   403     403      403      403       ok   403   403    403
review             login  login   403     403      403      403       ok   403   403    403
evaluate           login  login   ok      403      403      403       403  403   403    403
"""


def test_assignment_actions_table_agrees_with_the_workflow() -> None:
    """The written-out table above and assignments/workflow.py say the same: each action is ok
    for exactly the role its `who` names (the matrix's deputy asked the question)."""
    role_of = {Who.LEAD: "liaison", Who.MODERATOR: "mod", Who.EVALUATOR: "deputy"}
    for action, role, expected in table(ASSIGNMENT_ACTIONS):
        if role not in ("anon", "viewer"):
            assert (expected == "ok") == (role == role_of[TRANSITIONS[action].who]), f"{action} {role}"


def prepare_assignment(m: Matrix, action: str) -> dict[str, Any]:
    """Move the assignment (as the system) to where `action` is allowed; return its form."""
    pk, s = m.assignment.pk, assignment_services

    def to(*steps: str) -> None:
        moves = {
            "accepted": lambda: s.assignment_accept(assignment_id=pk, by=None),
            "returned": lambda: s.assignment_return(assignment_id=pk, by=None, reason="不归我们管"),
            "replied": lambda: s.assignment_reply(assignment_id=pk, by=None, text="已办理"),
            "extension": lambda: s.assignment_request_extension(
                assignment_id=pk, by=None, due_date=m.assignment.due_date + timedelta(days=30), reason="工程量大"
            ),
            "unsatisfied": lambda: s.assignment_evaluate(assignment_id=pk, by=None, verdict="不满意", comment="没解决"),
            "closed": lambda: s.assignment_close(assignment_id=pk, by=None),
        }
        for step in steps:
            moves[step]()

    later = (m.assignment.due_date + timedelta(days=30)).isoformat()
    forms: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
        "accept": ((), {}),
        "return": ((), {"reason": "应由其他部门办理"}),
        "progress": (("accepted",), {"note": "已现场核查"}),
        "reply": (("accepted",), {"text": "已完成整改", "science": "4", "feasibility": "4"}),
        "request_extension": (("accepted",), {"due_date": later, "reason": "需要招标"}),
        "decide_extension": (("accepted", "extension"), {"approve": "1"}),
        "reassign": (("returned",), {"lead_department": m.other.pk}),
        "reopen": (("accepted", "replied", "unsatisfied"), {"working_days": "10"}),
        "close": (("accepted", "replied", "unsatisfied"), {"resolved": "0"}),
        "review": (("accepted", "replied", "unsatisfied", "closed"), {"outcome": "held", "note": "已巩固"}),
        "evaluate": (("accepted", "replied"), {"verdict": "满意"}),
    }
    steps, form = forms[action]
    to(*steps)
    return form


@pytest.mark.parametrize(("action", "role", "expected"), cells(ASSIGNMENT_ACTIONS))
def test_assignment_actions(m: Matrix, action: str, role: str, expected: str) -> None:
    data = prepare_assignment(m, action)
    before = fingerprint()
    response = client_for(m, role).post(f"/assignments/{m.assignment.pk}/do/{action}/", data, secure=True)
    if expected == "ok":
        assert response.status_code == 302
        assert response["Location"] == f"/assignments/{m.assignment.pk}/"
        assert TimelineEntry.objects.count() == before["timeline"] + 1  # done, not refused with a message
    elif expected == "403":
        assert response.status_code == 403
        assert fingerprint() == before
    else:
        check_redirect(response, expected)
        assert fingerprint() == before


# ------------------------------------------------------------------------------- other forms (POST)

FORMS = """
form              anon   viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
assignment-new    login  login   403     403      403      403       ok   403   403    403
assignment-batch  login  login   403     403      403      403       ok   403   403    403
notices-read      login  login   ok      ok       ok       ok        ok   ok    ok     ok
notice-settings   login  login   ok      ok       ok       ok        ok   ok    ok     ok
review-plan       login  login   403     403      403      403       ok   403   403    403
project-report    login  login   403     403      ok       403       403  403   403    403
milestone-done    login  login   403     403      ok       403       403  403   403    403
set-language      ok     ok      ok      ok       ok       ok        ok   ok    ok     ok
logout            ok     ok      ok      ok       ok       ok        ok   ok    ok     ok
"""


def form_request(m: Matrix, form: str) -> tuple[str, dict[str, Any], str]:
    """(path, data, where an accepted post redirects to)."""
    if form == "assignment-new":
        question = Question.objects.create(
            hearing=m.hearing, item=m.items[1], text="待交办", source="public", status="answered"
        )
        data = {"hearing": m.hearing.pk, "questions": [question.pk], "lead_department": m.lead.pk, "working_days": 5}
        return "/assignments/new/", data, f"/assignments/new/?hearing={m.hearing.pk}"
    if form == "assignment-batch":
        # The leftovers (书面答复) of the ended hearing, in one batch.
        Hearing.objects.filter(pk=m.hearing.pk).update(status=Hearing.Status.ENDED)
        leftover = Question.objects.create(
            hearing=m.hearing, item=m.items[1], text="会上未答复", source="public", status="approved"
        )
        data = {"hearing": m.hearing.pk, "mode": "batch", "questions": [leftover.pk], "working_days": 5}
        return "/assignments/new/", data, f"/assignments/new/?hearing={m.hearing.pk}"
    if form == "project-report":
        return f"/projects/{m.project.pk}/report/", {"progress": "30", "text": "已开工"}, f"/projects/{m.project.pk}/"
    if form == "milestone-done":
        path = f"/projects/{m.project.pk}/milestones/{m.milestone.pk}/done/"
        return path, {}, f"/projects/{m.project.pk}/"
    if form == "review-plan":
        return (
            f"/assignments/{m.assignment.pk}/review-plan/",
            {"review_months": "3"},
            f"/assignments/{m.assignment.pk}/",
        )
    if form == "notices-read":
        return "/inbox/notices/read/", {}, "/inbox/"
    if form == "notice-settings":
        return "/inbox/notices/settings/", {"assigned.in_app": "on"}, "/inbox/notices/settings/"
    if form == "set-language":
        return "/i18n/setlang/", {"language": "en", "next": "/"}, "/"
    if form == "logout":
        return "/accounts/logout/", {}, "/"
    raise AssertionError(form)


@pytest.mark.parametrize(("form", "role", "expected"), cells(FORMS))
def test_forms(m: Matrix, form: str, role: str, expected: str) -> None:
    path, data, target = form_request(m, form)
    before = fingerprint()
    response = client_for(m, role).post(path, data, secure=True)
    if expected == "ok":
        assert (response.status_code, response["Location"]) == (302, target)
        if form in ("assignment-new", "assignment-batch"):
            assert Assignment.objects.count() == len(before["assignments"]) + 1
        if form in ("project-report", "milestone-done"):
            assert ProjectUpdate.objects.count() == before["project_updates"] + 1
    elif expected == "403":
        assert response.status_code == 403
        assert fingerprint() == before
    else:
        check_redirect(response, expected)
        assert fingerprint() == before


# ------------------------------------------------------------------------------- REST API

# Columns: the credentials sent. none; a token nobody issued; a lead liaison's login session
# and no token (sessions never authorize the API); another department's token (a
# co-department's); the lead department's token.
API = """
request                  none  bogus  session  other  lead
GET-list                 200   200    200      200    200
GET-detail               200   200    200      200    200
GET-openapi              200   200    200      200    200
POST-accept              401   401    401      403    200
POST-progress-too-early  401   401    401      403    409
POST-unknown-assignment  401   401    401      404    404
"""


@pytest.mark.parametrize(("request_name", "credentials", "expected"), cells(API))
def test_api(m: Matrix, request_name: str, credentials: str, expected: str) -> None:
    client = Client()
    headers: dict[str, str] = {}
    if credentials == "bogus":
        headers["Authorization"] = "Bearer wz_not-a-token"
    elif credentials in ("other", "lead"):
        department = m.other if credentials == "other" else m.lead
        headers["Authorization"] = f"Bearer {assignment_services.api_token_issue(department=department)}"
    elif credentials == "session":
        client.force_login(m.users["liaison"])
    base = "/api/v1/assignments/"
    before = fingerprint()
    method, _, what = request_name.partition("-")
    if method == "GET":
        path = {"list": base, "detail": f"{base}{m.assignment.pk}/", "openapi": "/api/v1/openapi.json"}[what]
        response = client.get(path, headers=headers, secure=True)
    else:
        target = 10**9 if what == "unknown-assignment" else m.assignment.pk
        body = {"action": "progress" if what == "progress-too-early" else "accept", "note": "收到"}
        response = client.post(
            f"{base}{target}/transitions/",
            json.dumps(body),
            content_type="application/json",
            headers=headers,
            secure=True,
        )
    assert response.status_code == int(expected), response.content.decode()
    if response.status_code >= 400 and method == "POST":
        assert set(response.json()) == {"error", "message"}
    if expected == "200" and method == "POST":
        assert response.json()["status"] == "accepted"
    else:
        assert fingerprint() == before


# ------------------------------------------------------------------------------- window ballots (/polls/)

# A window poll (现场或事后) of the matrix's hearing once it has ended, taking ballots now: its
# page and its ballot are for the hearing's deputies, logged in; the list shows each logged-in
# user their own (none for a non-deputy). `cast` posts a ballot to /polls/{w}/.
WINDOW_BALLOTS = """
what         anon   viewer  deputy  deputy2  liaison  liaison2  mod  mod2  admin  staff
/polls/      login  login   200     200      200      200       200  200   200    200
/polls/{w}/  login  login   200     403      403      403       403  403   403    403
cast         login  login   ok      403      403      403       403  403   403    403
"""


def window_poll(m: Matrix) -> Poll:
    Hearing.objects.filter(pk=m.hearing.pk).update(status=Hearing.Status.ENDED)
    now = timezone.now()
    return voting_services.poll_prepare(
        hearing_id=m.hearing.pk,
        by=None,
        kind="satisfaction",
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
    )


@pytest.mark.parametrize(("what", "role", "expected"), cells(WINDOW_BALLOTS))
def test_window_ballots(m: Matrix, what: str, role: str, expected: str) -> None:
    poll = window_poll(m)
    client = client_for(m, role)
    before = fingerprint()
    if what == "cast":
        data = {"ballot": str(uuid4()), "choice": "满意"}
        response = client.post(f"/polls/{poll.pk}/", data, secure=True)
    else:
        response = client.get(what.replace("{w}", str(poll.pk)), secure=True)
    if expected == "ok":
        assert response.status_code == 303
        assert VoteRecord.objects.filter(poll=poll, deputy=m.users[role]).exists()
    elif expected.isdigit():
        assert response.status_code == int(expected)
    else:
        check_redirect(response, expected)
    if expected != "ok":
        assert fingerprint() == before


# ------------------------------------------------------------------------------- every page has a row


def _project_routes() -> set[str]:
    """The routes of the project's own pages (Django's admin, auth and i18n views and the API
    have their own rows and tables above)."""
    routes = set()
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            if getattr(pattern.urlconf_name, "__name__", "") in ("console.urls", "assignments.urls", "projects.urls"):
                routes |= {str(pattern.pattern) + str(sub.pattern) for sub in pattern.url_patterns}
        else:
            routes.add(str(pattern.pattern))
    return routes


def test_every_page_and_action_has_a_row(m: Matrix) -> None:
    """A new URL must get its row in a table above (and so a decision about who may use it)."""
    paths = [m.format(path) for path, _, _ in table(PAGES)]
    paths += [f"/hearings/{m.hearing.pk}/control/do/hearing-start/", f"/assignments/{m.assignment.pk}/do/accept/"]
    paths += [form_request(m, form)[0] for form, _, _ in table(FORMS)]
    paths += [path.replace("{w}", "1") for path, _, _ in table(WINDOW_BALLOTS) if path.startswith("/")]
    covered = {resolve(path.split("?")[0]).route for path in paths}
    # The tablet's seat login has its rows with the office's pages (tests/test_permissions_office.py).
    from tests.test_permissions_office import PAGES as OFFICE_PAGES

    covered |= {resolve(path.replace("{c}", "CODE")).route for path, _, _ in table(OFFICE_PAGES) if "/seat/" in path}
    # The collection page has its rows in tests/test_permissions_collect.py.
    from tests.test_permissions_collect import PAGES as COLLECT_PAGES

    covered |= {resolve(m.format(path)).route for path, _, _ in table(COLLECT_PAGES)}
    assert _project_routes() - covered == set()


def test_tables_name_every_action() -> None:
    from assignments.views import ACTIONS
    from chamber.commands import SLUGS as VIEW_ACTIONS

    assert {row for row, _, _ in table(CONTROL_ACTIONS)} == set(VIEW_ACTIONS)
    assert {row for row, _, _ in table(ASSIGNMENT_ACTIONS)} == set(ACTIONS)
    for text in (PAGES, CONTROL_ACTIONS, ASSIGNMENT_ACTIONS, FORMS, INTERNAL, WINDOW_BALLOTS):
        assert [column for _, column, _ in table(text)][: len(ROLES)] == ROLES
