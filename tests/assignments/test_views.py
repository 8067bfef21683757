"""Pages: public progress, inbox, forms that call the services, the assigning page, exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook  # type: ignore[import-untyped]

from assignments.models import Assignment, Status
from tests.assignments.helpers import Case, advance, create, make_overdue
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def login(client: Client, user: object) -> Client:
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_public_list_filters_by_status_and_overdue(client: Client, case: Case) -> None:
    late = create(case)
    make_overdue(late)
    accepted = advance(case, create(case, questions=[case.questions[1]]), "accepted")
    page = client.get("/assignments/").content.decode()
    assert f'id="assignment-{late.pk}"' in page and f'id="assignment-{accepted.pk}"' in page
    assert "已超期" in page
    page = client.get("/assignments/?overdue=1").content.decode()
    assert f'id="assignment-{late.pk}"' in page and f'id="assignment-{accepted.pk}"' not in page
    url = f"/assignments/?status=accepted&department={case.lead.pk}&hearing={case.hearing.pk}"
    page = client.get(url).content.decode()
    assert f'id="assignment-{accepted.pk}"' in page
    assert f'id="assignment-{late.pk}"' not in page
    assert client.get("/assignments/?hearing=abc&status=nope&department=99999999999999999999").status_code == 200


def test_department_filter_takes_co_departments_unless_lead_only(client: Client, case: Case) -> None:
    led = create(case)
    helped = create(
        case, questions=[case.questions[1]], lead_department_id=case.other.pk, co_department_ids=[case.lead.pk]
    )
    page = client.get(f"/assignments/?department={case.lead.pk}").content.decode()
    assert f'id="assignment-{led.pk}"' in page and f'id="assignment-{helped.pk}"' in page
    page = client.get(f"/assignments/?department={case.lead.pk}&lead=1").content.decode()
    assert f'id="assignment-{led.pk}"' in page and f'id="assignment-{helped.pk}"' not in page
    assert 'name="lead" value="1" checked' in page
    api = client.get(f"/api/v1/assignments/?department={case.lead.pk}&lead=true").json()
    assert [item["id"] for item in api["results"]] == [led.pk]


def test_public_detail_shows_question_commitment_timeline_reply_verdict_but_no_internal_note(
    client: Client, case: Case
) -> None:
    a = advance(case, create(case), "accepted")
    from assignments import services

    services.assignment_progress(assignment_id=a.pk, by=case.liaison, note="已排查", internal_note="仅内部可见")
    services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="整改完毕")
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="基本满意", comment="继续跟进")
    page = client.get(f"/assignments/{a.pk}/").content.decode()
    for text in (case.questions[0].text, "承诺1", "已排查", "整改完毕", "基本满意", "继续跟进"):
        assert text in page
    assert "仅内部可见" not in page
    assert "仅内部可见" in login(client, case.liaison).get(f"/assignments/{a.pk}/").content.decode()
    assert client.get("/assignments/999999/").status_code == 404


def test_inbox_shows_only_the_liaisons_department(client: Client, case: Case) -> None:
    mine = create(case)
    theirs = create(case, questions=[case.questions[1]], lead_department_id=case.other.pk)
    page = login(client, case.liaison).get("/inbox/").content.decode()
    assert f'id="assignment-{mine.pk}"' in page
    assert f'id="assignment-{theirs.pk}"' not in page
    assert "新交办件" in page  # the in-app notice


def test_inbox_for_a_deputy_and_refused_for_a_stranger(client: Client, case: Case) -> None:
    a = create(case)
    page = login(client, case.deputy).get("/inbox/").content.decode()
    assert 'id="inbox-asked"' in page and f'id="assignment-{a.pk}"' in page
    assert login(Client(), make_user()).get("/inbox/").status_code == 403
    assert Client().get("/inbox/").status_code == 302  # to the login page


def test_liaison_accepts_and_replies_with_an_attachment_through_the_forms(client: Client, case: Case) -> None:
    a = create(case)
    login(client, case.liaison)
    assert client.post(f"/assignments/{a.pk}/do/accept/", {"note": "收到"}).status_code == 302
    upload = SimpleUploadedFile("回复函.pdf", b"%PDF reply", content_type="application/pdf")
    client.post(
        f"/assignments/{a.pk}/do/reply/", {"text": "已答复", "files": [upload], "science": "5", "feasibility": "4"}
    )
    a.refresh_from_db()
    assert a.status == Status.REPLIED
    attachment = a.attachments.get()
    download = Client().get(f"/assignments/{a.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF reply"  # type: ignore[attr-defined]


def test_wrong_state_comes_back_as_a_message_and_wrong_role_as_403(client: Client, case: Case) -> None:
    a = create(case)
    login(client, case.liaison)
    response = client.post(f"/assignments/{a.pk}/do/reply/", {"text": "太早"}, follow=True)
    assert "未能完成" in response.content.decode()
    assert login(Client(), case.other_liaison).post(f"/assignments/{a.pk}/do/accept/").status_code == 403
    assert login(Client(), case.deputy).post(f"/assignments/{a.pk}/do/close/").status_code == 403
    assert client.post(f"/assignments/{a.pk}/do/fly/").status_code == 404
    assert client.post("/assignments/999999/do/accept/").status_code == 404
    assert Assignment.objects.get(pk=a.pk).status == Status.ASSIGNED


def test_deputy_evaluates_and_moderator_reopens_through_the_forms(client: Client, case: Case) -> None:
    a = advance(case, create(case), "replied")
    page = login(client, case.deputy).get(f"/assignments/{a.pk}/").content.decode()
    assert 'id="evaluate-form"' in page
    client.post(f"/assignments/{a.pk}/do/evaluate/", {"verdict": "不满意", "comment": "没落实"})
    moderator = login(Client(), case.moderator)
    moderator.post(f"/assignments/{a.pk}/do/reopen/", {"working_days": "5"})
    a.refresh_from_db()
    assert (a.status, a.loop) == (Status.REOPENED, 1)


def test_moderator_turns_questions_into_assignments(client: Client, case: Case) -> None:
    login(client, case.moderator)
    url = f"/assignments/new/?hearing={case.hearing.pk}"
    page = client.get(url).content.decode()
    assert all(f'id="question-{q.pk}"' in page for q in case.questions)
    client.post(
        url,
        {
            "hearing": case.hearing.pk,
            "questions": [case.questions[0].pk, case.questions[1].pk],
            "lead_department": case.lead.pk,
            "co_departments": [case.other.pk],
            "working_days": "15",
            "mode": "group",
            "title": "合并交办",
        },
    )
    grouped = Assignment.objects.get(title="合并交办")
    assert grouped.questions.count() == 2
    client.post(
        url,
        {"questions": [case.questions[2].pk, case.public_question.pk], "lead_department": case.lead.pk,
         "working_days": "10", "mode": "each"},
    )  # fmt: skip
    assert Assignment.objects.count() == 3
    response = client.post(
        url, {"questions": [case.questions[0].pk], "lead_department": case.lead.pk, "working_days": "5"}
    )
    assert "未能交办" in response.content.decode()
    assert Assignment.objects.count() == 3
    assert login(Client(), case.liaison).get(url).status_code == 403


def test_exports_csv_and_xlsx(client: Client, case: Case) -> None:
    a = create(case, commitment='=HYPERLINK("http://evil")')
    response = client.get("/assignments/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号" and rows[1][0] == str(a.pk)
    assert rows[1][10].startswith("'=")  # no formula injection
    book = load_workbook(io.BytesIO(client.get("/assignments/export.xlsx").content))
    sheet = book.active
    assert sheet.cell(row=2, column=1).value == a.pk
    assert sheet.cell(row=2, column=5).value == case.lead.name
    questions = client.get(f"/hearings/{case.hearing.pk}/questions.csv").content.decode("utf-8-sig")
    assert case.questions[0].text in questions and f"#{a.pk}" in questions
    qbook = load_workbook(io.BytesIO(client.get(f"/hearings/{case.hearing.pk}/questions.xlsx").content))
    assert qbook.active.title == "问题清单"
    assert qbook.active.max_row == 1 + 4
    assert client.get("/hearings/999999/questions.csv").status_code == 404
    assert client.get("/assignments/export.pdf").status_code == 404
