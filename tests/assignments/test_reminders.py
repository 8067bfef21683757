"""`manage.py send_reminders`: before the due date, on overdue and before a 回头看, by email (queued)
and in-app, once per due date."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import translation

from assignments import notes, services
from assignments.models import Assignment, Notice, Reminder
from tests.assignments.helpers import Case, advance, create
from tests.delivery import deliver
from tests.tasks import queued

pytestmark = pytest.mark.django_db


def run(today: date) -> str:
    out = StringIO()
    call_command("send_reminders", "--today", today.isoformat(), stdout=out)
    deliver()  # the e-mails are queued: the worker sends them
    return out.getvalue()


def set_due(assignment: Assignment, due: date) -> None:
    Assignment.objects.filter(pk=assignment.pk).update(due_date=due)


def test_due_soon_reminds_the_liaisons_once(case: Case) -> None:
    a = create(case)
    deliver()
    mail.outbox.clear()  # the new assignment's notice
    set_due(a, date(2026, 3, 12))  # Thursday
    assert "due soon: 0" in run(date(2026, 3, 6))  # 4 working days before: not yet
    assert "due soon: 1" in run(date(2026, 3, 9))  # 3 working days before
    notice = Notice.objects.get(user=case.liaison, assignment=a, code="due_soon")
    assert notice.params == {"title": a.title, "due": "2026-03-12", "left": 3}
    assert notes.notice_text(notice) == f"交办件将于 2026-03-12 到期（还有 3 个工作日）：{a.title}"
    with translation.override("en"):
        assert notes.notice_text(notice) == f"Assignment due on 2026-03-12 (3 working days left): {a.title}"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["liaison@example.cn"]
    assert "/assignments/" in mail.outbox[0].body
    assert "还有 3 个工作日" in mail.outbox[0].subject  # mail in the site's language
    assert "due soon: 0" in run(date(2026, 3, 10))  # already reminded for this due date
    assert len(mail.outbox) == 1


def test_due_soon_counts_working_days_across_the_national_day_holiday(case: Case) -> None:
    a = create(case)
    set_due(a, date(2026, 10, 9))
    # From 30 Sep, 8 and 9 Oct are the 2nd and 3rd working days after 1–7 Oct: due soon.
    assert "due soon: 1" in run(date(2026, 9, 29))


def test_overdue_reminds_liaisons_and_moderators_once_per_due_date(case: Case) -> None:
    a = create(case)
    set_due(a, date(2026, 3, 2))
    output = run(date(2026, 3, 3))
    assert "overdue: 1" in output
    assert Notice.objects.filter(user=case.liaison, code="overdue").count() == 1
    assert Notice.objects.filter(user=case.moderator, code="overdue").count() == 1
    assert "overdue: 0" in run(date(2026, 3, 4))
    # An approved extension that is missed again reminds again, for the new due date.
    set_due(a, date(2026, 3, 20))
    assert "overdue: 1" in run(date(2026, 3, 23))
    assert Reminder.objects.filter(assignment=a, kind="overdue").count() == 2


def test_replied_and_closed_assignments_get_no_reminders(case: Case) -> None:
    a = advance(case, create(case), "replied")
    set_due(a, date(2026, 3, 2))
    returned = create(case, questions=[case.questions[1]])
    services.assignment_return(assignment_id=returned.pk, by=case.liaison, reason="误交")
    set_due(returned, date(2026, 3, 2))
    assert "due soon: 0, overdue: 0" in run(date(2026, 3, 3))
    assert not Reminder.objects.exists()


def test_a_failing_mail_server_does_not_stop_the_notices(case: Case, settings: object) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # type: ignore[attr-defined]
    settings.EMAIL_PORT = 1  # type: ignore[attr-defined]
    a = create(case)
    set_due(a, date(2026, 3, 2))
    assert "overdue: 1, review due: 0, emails queued: 1" in run(date(2026, 3, 3))
    assert Notice.objects.filter(user=case.liaison, code="overdue").exists()
    # The delivery failed and is tried again later (outbound.retry), not lost.
    assert queued("send_email")


def test_default_today_and_bad_date(case: Case) -> None:
    from django.core.management import CommandError
    from django.utils import timezone

    a = create(case)
    set_due(a, timezone.localdate() - timedelta(days=1))
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert "overdue: 1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("send_reminders", "--today", "tomorrow")
