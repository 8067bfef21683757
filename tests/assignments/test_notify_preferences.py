"""Notices by kind: each person gets a notice in the app and/or an e-mail as they chose for its
kind (assignments/notify.py), set on their settings page; the 回头看 reminder, once."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import translation

from assignments import notes, notify, services
from assignments.models import Assignment, Notice, Preference, Reminder, TimelineEntry
from assignments.notify import Choice
from core.errors import InvalidState
from tests.assignments.helpers import Case, advance, create
from tests.delivery import deliver
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def prefer(user: Any, kind: str, *, in_app: bool, email: bool) -> None:
    services.preferences_set(user=user, choices={kind: Choice(in_app=in_app, email=email)})


def fresh_outbox() -> None:
    deliver()
    mail.outbox.clear()


def test_every_notice_code_written_has_a_kind() -> None:
    codes = {a.value for a in TimelineEntry.Action} - {TimelineEntry.Action.ACCEPTED, TimelineEntry.Action.PROGRESS}
    codes -= {TimelineEntry.Action.CLOSED, TimelineEntry.Action.REVIEWED}  # told to no one (workflow.py)
    codes |= {notes.DUE_SOON, notes.OVERDUE, notes.REVIEW_DUE}
    assert codes <= set(notify.KIND_OF_CODE)
    assert len({k.key for k in notify.KINDS}) == len(notify.KINDS)


def test_by_default_a_new_assignment_reaches_the_liaison_in_the_app_and_by_mail(case: Case) -> None:
    a = create(case)
    deliver()
    assert Notice.objects.filter(user=case.liaison, assignment=a, code="created").count() == 1
    assert [m.to for m in mail.outbox] == [["liaison@example.cn"]]
    message = mail.outbox[0]
    assert "新交办件" in message.subject and a.title in message.subject  # the site's language
    assert f"/assignments/{a.pk}/" in message.body and "http" in message.body


def test_mail_is_worded_in_the_site_language_whoever_acted(case: Case) -> None:
    with translation.override("en"):
        create(case)
    deliver()
    assert "新交办件" in mail.outbox[0].subject


def test_in_app_off_means_no_notice_and_email_off_no_mail(case: Case) -> None:
    prefer(case.liaison, "assigned", in_app=False, email=True)
    a = create(case)
    deliver()
    assert not Notice.objects.filter(user=case.liaison, assignment=a).exists()
    assert len(mail.outbox) == 1
    mail.outbox.clear()

    prefer(case.liaison, "assigned", in_app=True, email=False)
    b = create(case, questions=[case.questions[1]])
    deliver()
    assert Notice.objects.filter(user=case.liaison, assignment=b, code="created").exists()
    assert mail.outbox == []

    # Another kind keeps its default.
    services.assignment_accept(assignment_id=b.pk, by=case.liaison)
    services.assignment_return(assignment_id=b.pk, by=case.liaison, reason="误交")
    services.assignment_reassign(assignment_id=b.pk, by=case.moderator, lead_department_id=case.lead.pk)
    deliver()
    assert mail.outbox == []  # reassigned is the same kind: 新交办件


def test_each_recipient_gets_a_message_of_their_own(case: Case) -> None:
    second = make_user(email="second@example.cn")
    case.lead.liaisons.add(second)
    create(case)
    deliver()
    assert sorted(m.to[0] for m in mail.outbox) == ["liaison@example.cn", "second@example.cn"]
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)


def test_deputies_hear_of_a_reply_and_of_an_extension_request(case: Case) -> None:
    case.deputy.email = "deputy@example.cn"
    case.deputy.save()
    a = advance(case, create(case), "in_progress")
    fresh_outbox()
    services.assignment_request_extension(
        assignment_id=a.pk, by=case.liaison, due_date=a.due_date + timedelta(days=10), reason="需要招标"
    )
    deliver()
    assert Notice.objects.filter(user=case.deputy, code="extension_requested").exists()
    assert Notice.objects.filter(user=case.moderator, code="extension_requested").exists()
    assert ["deputy@example.cn"] in [m.to for m in mail.outbox]
    mail.outbox.clear()
    prefer(case.deputy, "replied", in_app=True, email=False)
    services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="已完成")
    deliver()
    assert Notice.objects.filter(user=case.deputy, code="replied").exists()
    assert mail.outbox == []


def test_liaisons_hear_of_the_verdict(case: Case) -> None:
    a = advance(case, create(case), "replied")
    fresh_outbox()
    services.assignment_evaluate(assignment_id=a.pk, by=case.deputy, verdict="基本满意")
    deliver()
    assert Notice.objects.filter(user=case.liaison, code="evaluated").exists()
    assert Notice.objects.filter(user=case.moderator, code="evaluated").exists()
    assert [m.to for m in mail.outbox] == [["liaison@example.cn"]]
    assert "基本满意" in mail.outbox[0].subject


def test_a_refused_action_notifies_no_one(case: Case) -> None:
    a = create(case)
    fresh_outbox()
    before = Notice.objects.count()
    with pytest.raises(InvalidState):
        services.assignment_reply(assignment_id=a.pk, by=case.liaison, text="x")  # not accepted yet
    deliver()
    assert Notice.objects.count() == before and mail.outbox == []


# ------------------------------------------------------------------------------- 回头看 reminders


def closed(case: Case, review_due: date, question: int = 0) -> Assignment:
    a = advance(case, create(case, questions=[case.questions[question]]), "closed")
    Assignment.objects.filter(pk=a.pk).update(review_due=review_due)
    fresh_outbox()
    return a


def test_a_review_due_reminds_liaisons_and_moderators_once(case: Case) -> None:
    case.moderator.email = "moderator@example.cn"
    case.moderator.save()
    a = closed(case, date(2026, 6, 12))  # a Friday
    assert services.reminders_send(today=date(2026, 6, 5)).review_due == 0  # 5 working days before
    report = services.reminders_send(today=date(2026, 6, 9))  # 3 working days before
    assert report.review_due == 1
    deliver()
    for user in (case.liaison, case.moderator):
        notice = Notice.objects.get(user=user, assignment=a, code=notes.REVIEW_DUE)
        assert notice.params == {"title": a.title, "due": "2026-06-12"}
    assert notes.notice_text(notice) == f"回头看于 2026-06-12 到期，请安排：{a.title}"
    with translation.override("en"):
        assert "2026-06-12" in notes.notice_text(notice)
    assert sorted(m.to[0] for m in mail.outbox) == ["liaison@example.cn", "moderator@example.cn"]
    assert all("回头看" in m.subject for m in mail.outbox)
    mail.outbox.clear()
    assert services.reminders_send(today=date(2026, 6, 10)).review_due == 0  # once
    assert services.reminders_send(today=date(2026, 6, 20)).review_due == 0  # past: still once
    deliver()
    assert mail.outbox == []
    assert Reminder.objects.filter(assignment=a, kind="review_due").count() == 1


def test_a_recorded_review_is_not_reminded_and_preferences_hold(case: Case) -> None:
    a = closed(case, date(2026, 6, 12))
    services.assignment_review(assignment_id=a.pk, by=case.moderator, outcome="held", note="已巩固")
    b = closed(case, date(2026, 6, 12), question=1)
    prefer(case.liaison, "review_due", in_app=False, email=False)
    assert services.reminders_send(today=date(2026, 6, 11)).review_due == 1  # b only
    deliver()
    assert not Notice.objects.filter(user=case.liaison, code=notes.REVIEW_DUE).exists()
    assert Notice.objects.filter(user=case.moderator, assignment=b, code=notes.REVIEW_DUE).exists()
    assert mail.outbox == []


# ------------------------------------------------------------------------------- the settings page


def test_the_settings_page_shows_and_stores_two_boxes_per_kind(client: Client, case: Case) -> None:
    client.force_login(case.liaison)
    inbox = client.get("/inbox/").content.decode()
    assert 'href="/inbox/notices/settings/"' in inbox
    page = client.get("/inbox/notices/settings/").content.decode()
    for kind in notify.KINDS:
        assert f'name="{kind.key}.in_app"' in page and f'name="{kind.key}.email"' in page
    form = {f"{k.key}.in_app": "on" for k in notify.KINDS} | {f"{k.key}.email": "on" for k in notify.KINDS}
    del form["assigned.email"], form["overdue.in_app"]
    response = client.post("/inbox/notices/settings/", form)
    assert response.status_code == 302
    stored = {(p.kind, p.in_app, p.email) for p in Preference.objects.filter(user=case.liaison)}
    assert ("assigned", True, False) in stored and ("overdue", False, True) in stored
    assert len(stored) == len(notify.KINDS)
    page = client.get("/inbox/notices/settings/").content.decode()
    assert 'name="assigned.email" aria-label' in page
    assert 'name="assigned.email" aria-label="新交办件：邮件">' in page  # unchecked now


def test_the_settings_page_needs_a_login_and_ignores_unknown_kinds(client: Client, case: Case) -> None:
    assert client.get("/inbox/notices/settings/").status_code == 302  # to the login page
    client.force_login(case.deputy)
    response = client.post("/inbox/notices/settings/", {"nonsense.in_app": "on", "x" * 200: "on"})
    assert response.status_code == 302
    assert not Preference.objects.exclude(kind__in=notify.BY_KEY).exists()
    # Every kind given is stored off (no box ticked): unknown keys store nothing.
    assert set(Preference.objects.filter(user=case.deputy).values_list("kind", flat=True)) == set(notify.BY_KEY)
