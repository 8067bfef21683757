"""Timeline notes and notices the system worded become a code and its parameters (assignments/notes.py),
shown in the reader's language.

Existing rows held finished Chinese sentences. Each known shape is parsed into its code and
parameters; a timeline note that matches none stays as it is (text a person typed, or a legacy
sentence), and so does a notice, as code "legacy" with its text. What a person typed inside a
sentence (a return reason, a comment) stays in the entry's public_note. Backwards, the sentences
are worded again in Chinese, as before.

The shapes and sentences here are copies, frozen with this migration: the app's may change later.
"""

import re
from collections.abc import Callable
from typing import Any

from django.db import migrations, models

DATE = r"(?P<due>\d{4}-\d{2}-\d{2})"
VERDICTS = "满意|基本满意|不满意"
OUTCOMES = {"整改成效巩固": "held", "问题出现反弹": "relapsed"}
OUTCOME_LABELS = {value: label for label, value in OUTCOMES.items()}

Parsed = tuple[str, dict[str, Any], str]  # code, params, the typed text left in public_note


def _m(pattern: str, text: str) -> re.Match[str] | None:
    return re.fullmatch(pattern, text, flags=re.DOTALL)


def parse_entry(action: str, note: str) -> Parsed | None:
    """The code, parameters and typed text of a timeline note the services worded, or None."""
    if action == "created" and (m := _m(r"交办(?P<department>.+)办理，期限" + DATE, note)):
        return "created", {"department": m["department"], "due": m["due"]}, ""
    if action == "reassigned" and (m := _m(r"重新交办(?P<department>.+)办理，期限" + DATE, note)):
        return "reassigned", {"department": m["department"], "due": m["due"]}, ""
    if action == "accepted" and note == "承办单位已签收":
        return "accepted", {}, ""
    if action == "returned" and (m := _m(r"退回：(?P<text>.*)", note)):
        return "returned", {}, m["text"]
    if action == "evaluated" and (m := _m(rf"(?P<verdict>{VERDICTS})(。(?P<text>.*))?", note)):
        if m["text"] is None:
            return "verdict", {"verdict": m["verdict"]}, ""
        return "verdict_comment", {"verdict": m["verdict"]}, m["text"]
    if action == "reopened" and (m := _m(r"代表不满意，第(?P<loop>\d+)次重新办理，期限" + DATE, note)):
        return "reopened", {"loop": int(m["loop"]), "due": m["due"]}, ""
    if action == "closed" and (m := _m(r"办结，问题(?P<resolved>已|未)解决(；(?P<review>\d{4}-\d{2}-\d{2})前回头看)?", note)):
        return "closed", {"resolved": m["resolved"] == "已", "review_due": m["review"]}, ""
    if action == "reviewed" and (m := _m(r"回头看：(?P<outcome>{})。(?P<text>.*)".format("|".join(OUTCOMES)), note)):
        return "reviewed", {"outcome": OUTCOMES[m["outcome"]]}, m["text"]
    if action == "extension_requested" and (m := _m(r"申请延期至" + DATE + r"：(?P<text>.*)", note)):
        return "extension_requested", {"due": m["due"]}, m["text"]
    if action == "extension_approved" and (m := _m(r"同意延期至" + DATE, note)):
        return "extension_approved", {"due": m["due"]}, ""
    if action == "extension_refused" and note == "不同意延期":
        return "extension_refused", {}, ""
    return None


NOTICE_SHAPES: list[tuple[str, str]] = [
    ("created", r"新交办件：(?P<title>.*)（期限 " + DATE + "）"),
    ("returned", r"交办件被退回：(?P<title>.*?)（(?P<reason>.*)）"),
    ("replied", r"交办件已答复，请评价：(?P<title>.*)"),
    ("extension_requested", r"延期申请待审核：(?P<title>.*)"),
    ("extension_approved", r"延期申请已同意：(?P<title>.*)"),
    ("extension_refused", r"延期申请未同意：(?P<title>.*)"),
    ("reopened", r"交办件重新办理：(?P<title>.*)"),
    ("evaluated", rf"代表评价「(?P<verdict>{VERDICTS})」：(?P<title>.*)"),
    ("overdue", r"交办件已超期（期限 " + DATE + r"）：(?P<title>.*)"),
    ("due_soon", r"交办件将于 " + DATE + r" 到期（还有 (?P<left>\d+) 个工作日）：(?P<title>.*)"),
]


def parse_notice(text: str) -> tuple[str, dict[str, Any]]:
    for code, pattern in NOTICE_SHAPES:
        if m := _m(pattern, text):
            params: dict[str, Any] = {k: v for k, v in m.groupdict().items() if v is not None}
            if "left" in params:
                params["left"] = int(params["left"])
            return code, params
    return "legacy", {"text": text}


ENTRY_SENTENCES: dict[str, Callable[[dict[str, Any], str], str]] = {
    "created": lambda p, t: f"交办{p['department']}办理，期限{p['due']}",
    "reassigned": lambda p, t: f"重新交办{p['department']}办理，期限{p['due']}",
    "accepted": lambda p, t: "承办单位已签收",
    "returned": lambda p, t: f"退回：{t}",
    "verdict": lambda p, t: p["verdict"],
    "verdict_comment": lambda p, t: f"{p['verdict']}。{t}",
    "reopened": lambda p, t: f"代表不满意，第{p['loop']}次重新办理，期限{p['due']}",
    "closed": lambda p, t: ("办结，问题已解决" if p["resolved"] else "办结，问题未解决")
    + (f"；{p['review_due']}前回头看" if p.get("review_due") else ""),
    "reviewed": lambda p, t: f"回头看：{OUTCOME_LABELS.get(p['outcome'], p['outcome'])}。{t}",
    "extension_requested": lambda p, t: f"申请延期至{p['due']}：{t}",
    "extension_approved": lambda p, t: f"同意延期至{p['due']}",
    "extension_refused": lambda p, t: "不同意延期",
}

NOTICE_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    "created": lambda p: f"新交办件：{p['title']}（期限 {p['due']}）",
    "reassigned": lambda p: f"新交办件：{p['title']}（期限 {p['due']}）",
    "returned": lambda p: f"交办件被退回：{p['title']}（{p['reason']}）",
    "replied": lambda p: f"交办件已答复，请评价：{p['title']}",
    "extension_requested": lambda p: f"延期申请待审核：{p['title']}",
    "extension_approved": lambda p: f"延期申请已同意：{p['title']}",
    "extension_refused": lambda p: f"延期申请未同意：{p['title']}",
    "reopened": lambda p: f"交办件重新办理：{p['title']}",
    "evaluated": lambda p: f"代表评价「{p['verdict']}」：{p['title']}",
    "overdue": lambda p: f"交办件已超期（期限 {p['due']}）：{p['title']}",
    "due_soon": lambda p: f"交办件将于 {p['due']} 到期（还有 {p['left']} 个工作日）：{p['title']}",
    "legacy": lambda p: str(p.get("text", "")),
}


def forwards(apps: Any, schema_editor: Any) -> None:
    TimelineEntry = apps.get_model("assignments", "TimelineEntry")
    Notice = apps.get_model("assignments", "Notice")
    # update(), not save(): entries are append-only for the app, this rewrites their storage.
    for pk, action, note in TimelineEntry.objects.filter(note_code="").values_list("pk", "action", "public_note"):
        parsed = parse_entry(action, note)
        if parsed is not None:
            code, params, text = parsed
            TimelineEntry.objects.filter(pk=pk).update(note_code=code, note_params=params, public_note=text)
    for pk, text in Notice.objects.values_list("pk", "text"):
        code, params = parse_notice(text)
        Notice.objects.filter(pk=pk).update(code=code, params=params)


def backwards(apps: Any, schema_editor: Any) -> None:
    TimelineEntry = apps.get_model("assignments", "TimelineEntry")
    Notice = apps.get_model("assignments", "Notice")
    entries = TimelineEntry.objects.exclude(note_code="").values_list("pk", "note_code", "note_params", "public_note")
    for pk, code, params, text in entries:
        word = ENTRY_SENTENCES.get(code)
        if word is not None:
            TimelineEntry.objects.filter(pk=pk).update(public_note=word(params, text))
    for pk, code, params in Notice.objects.values_list("pk", "code", "params"):
        word_notice = NOTICE_SENTENCES.get(code, NOTICE_SENTENCES["legacy"])
        Notice.objects.filter(pk=pk).update(text=word_notice(params)[:300])


class Migration(migrations.Migration):
    dependencies = [("assignments", "0002_timelineentry_due_date")]

    operations = [
        migrations.AddField(
            model_name="timelineentry",
            name="note_code",
            field=models.CharField(blank=True, max_length=24),
        ),
        migrations.AddField(
            model_name="timelineentry",
            name="note_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="notice",
            name="code",
            field=models.CharField(default="legacy", max_length=24),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="notice",
            name="params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(forwards, backwards),
        # A default, so that migrating backwards can add the column again before filling it.
        migrations.AlterField(model_name="notice", name="text", field=models.CharField(default="", max_length=300)),
        migrations.RemoveField(model_name="notice", name="text"),
    ]
