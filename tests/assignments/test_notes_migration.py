"""Migration 0003: stored Chinese sentences become codes and parameters, worded again when shown
(and back, when migrated backwards); unrecognised ones are kept."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation

from assignments import notes
from assignments.models import Notice, TimelineEntry
from tests.factories import make_department, make_user

BEFORE = [("assignments", "0002_timelineentry_due_date")]
AFTER = [("assignments", "0003_notes_as_codes")]

ENTRIES = [  # (action, stored note) → (code, params, public_note left)
    ("created", "交办县发改局办理，期限2026-12-28", ("created", {"department": "县发改局", "due": "2026-12-28"}, "")),
    ("accepted", "承办单位已签收", ("accepted", {}, "")),
    ("accepted", "已签收，马上办", ("", {}, "已签收，马上办")),
    ("returned", "退回：属住建局职责", ("returned", {}, "属住建局职责")),
    ("progress", "已约谈企业", ("", {}, "已约谈企业")),
    ("evaluated", "不满意。未落实", ("verdict_comment", {"verdict": "不满意"}, "未落实")),
    ("evaluated", "满意", ("verdict", {"verdict": "满意"}, "")),
    ("reopened", "代表不满意，第2次重新办理，期限2027-01-05", ("reopened", {"loop": 2, "due": "2027-01-05"}, "")),
    ("closed", "办结，问题已解决；2027-06-01前回头看", ("closed", {"resolved": True, "review_due": "2027-06-01"}, "")),
    ("closed", "办结，问题未解决", ("closed", {"resolved": False, "review_due": None}, "")),
    ("reviewed", "回头看：问题出现反弹。又出现了", ("reviewed", {"outcome": "relapsed"}, "又出现了")),
    ("extension_requested", "申请延期至2027-02-01：需招标", ("extension_requested", {"due": "2027-02-01"}, "需招标")),
    ("extension_approved", "同意延期至2027-02-01", ("extension_approved", {"due": "2027-02-01"}, "")),
    ("extension_refused", "不同意延期", ("extension_refused", {}, "")),
    ("extension_refused", "请按期办结", ("", {}, "请按期办结")),
    ("reassigned", "重新交办县住建局办理，期限2027-01-10",
     ("reassigned", {"department": "县住建局", "due": "2027-01-10"}, "")),
]  # fmt: skip
NOTICES = [
    ("新交办件：路灯不亮（期限 2026-12-28）", ("created", {"title": "路灯不亮", "due": "2026-12-28"})),
    ("交办件被退回：路灯不亮（属住建局职责）", ("returned", {"title": "路灯不亮", "reason": "属住建局职责"})),
    ("代表评价「基本满意」：路灯不亮", ("evaluated", {"verdict": "基本满意", "title": "路灯不亮"})),
    ("交办件将于 2026-03-12 到期（还有 3 个工作日）：路灯不亮",
     ("due_soon", {"due": "2026-03-12", "left": 3, "title": "路灯不亮"})),
    ("交办件已超期（期限 2026-03-02）：路灯不亮", ("overdue", {"due": "2026-03-02", "title": "路灯不亮"})),
    ("请尽快处理", ("legacy", {"text": "请尽快处理"})),
]  # fmt: skip


def migrate(target: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema() -> Any:
    """Whatever a test migrated to, the database ends at every app's latest migration: the tests
    that follow (and later migrations of assignments) expect the current schema."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_stored_sentences_become_codes_and_read_the_same() -> None:
    department, user = make_department(), make_user()
    old = migrate(BEFORE)
    hearing = old.get_model("hearings", "Hearing").objects.create(title="问政会", starts_at=timezone.now())
    assignment = old.get_model("assignments", "Assignment").objects.create(
        hearing_id=hearing.pk, title="路灯不亮", lead_department_id=department.pk, due_date=date(2026, 12, 28)
    )
    Entry, OldNotice = old.get_model("assignments", "TimelineEntry"), old.get_model("assignments", "Notice")
    entries = [
        Entry.objects.create(assignment_id=assignment.pk, action=action, status="assigned", public_note=note).pk
        for action, note, _ in ENTRIES
    ]
    notices = [
        OldNotice.objects.create(user_id=user.pk, assignment_id=assignment.pk, text=text).pk for text, _ in NOTICES
    ]
    try:
        migrate(AFTER)
        for pk, (_, note, entry_expected) in zip(entries, ENTRIES, strict=True):
            entry = TimelineEntry.objects.get(pk=pk)
            assert (entry.note_code, entry.note_params, entry.public_note) == entry_expected
            with translation.override("zh-hans"):
                assert notes.entry_note(entry) == note  # reads as it did
        for pk, (text, notice_expected) in zip(notices, NOTICES, strict=True):
            notice = Notice.objects.get(pk=pk)
            assert (notice.code, notice.params) == notice_expected
            with translation.override("zh-hans"):
                assert notes.notice_text(notice) == text
        with translation.override("en"):
            assert notes.entry_note(TimelineEntry.objects.get(pk=entries[0])) == "Assigned to 县发改局, due 2026-12-28"
            assert notes.notice_text(Notice.objects.get(pk=notices[0])) == "New assignment: 路灯不亮 (due 2026-12-28)"
        old = migrate(BEFORE)
        back = old.get_model("assignments", "TimelineEntry").objects.in_bulk(entries)
        assert [back[pk].public_note for pk in entries] == [note for _, note, _ in ENTRIES]
        back_notices = old.get_model("assignments", "Notice").objects.in_bulk(notices)
        assert [back_notices[pk].text for pk in notices] == [text for text, _ in NOTICES]
    finally:
        migrate(AFTER)
