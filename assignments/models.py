"""Assignments (交办件): a question, or a group of questions, handed to departments after a hearing.

Rules live in services.py. Overdue is derived from the due date and the status, never stored.
The timeline is append-only: every transition writes one entry and no entry is ever changed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core import limits


class Status(models.TextChoices):
    ASSIGNED = "assigned", _("已交办")
    ACCEPTED = "accepted", _("已签收")
    IN_PROGRESS = "in_progress", _("办理中")
    REPLIED = "replied", _("已答复")
    EVALUATED = "evaluated", _("已评价")
    CLOSED = "closed", _("已办结")
    RETURNED = "returned", _("已退回")
    REOPENED = "reopened", _("重新办理")


# A department is working on these: the due date runs, so they can be overdue.
OPEN_STATUSES = (Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS, Status.REOPENED)


class Origin(models.TextChoices):
    """How the question was answered at the hearing: on site (现场答复), or not before the end and
    so handed over for a written reply (书面答复)."""

    ON_SITE = "on_site", _("现场答复")
    WRITTEN = "written", _("书面答复")


class Verdict(models.TextChoices):
    SATISFIED = "满意", _("满意")
    BASICALLY_SATISFIED = "基本满意", _("基本满意")
    UNSATISFIED = "不满意", _("不满意")


class ReviewOutcome(models.TextChoices):
    HELD = "held", _("整改成效巩固")
    RELAPSED = "relapsed", _("问题出现反弹")


class Rating(models.IntegerChoices):
    """双向评议: the lead department's rating of a question or suggestion, for its 科学性
    (science) and 可行性 (feasibility): 5 (很高) to 1 (很低)."""

    VERY_HIGH = 5, _("很高")
    HIGH = 4, _("较高")
    FAIR = 3, _("一般")
    LOW = 2, _("较低")
    VERY_LOW = 1, _("很低")


class Assignment(models.Model):
    hearing = models.ForeignKey(
        "hearings.Hearing", on_delete=models.PROTECT, related_name="assignments", verbose_name=_("问政会")
    )
    questions = models.ManyToManyField("hearings.Question", related_name="assignments", verbose_name=_("问题"))
    title = models.CharField(_("标题"), max_length=limits.ASSIGNMENT_TITLE)
    lead_department = models.ForeignKey(
        "hearings.Department", on_delete=models.PROTECT, related_name="led_assignments", verbose_name=_("主办单位")
    )
    co_departments = models.ManyToManyField(
        "hearings.Department", blank=True, related_name="co_assignments", verbose_name=_("协办单位")
    )
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.ASSIGNED)
    origin = models.CharField(
        _("答复方式"), max_length=8, choices=Origin.choices, default=Origin.ON_SITE, db_default=Origin.ON_SITE
    )
    due_date = models.DateField(_("办理期限"))
    working_days = models.PositiveIntegerField(_("办理时限 (工作日)"), null=True, blank=True)
    loop = models.PositiveIntegerField(_("重新办理次数"), default=0)
    commitment = models.TextField(_("现场承诺"), blank=True)
    reply = models.TextField(_("答复"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(_("代表评价"), max_length=8, choices=Verdict.choices, blank=True)
    verdict_comment = models.TextField(_("评价意见"), blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    # None until closed; then True (resolved) or False (closed but unresolved).
    resolved = models.BooleanField(_("问题已解决"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(_("退回理由"), blank=True)
    # A pending extension request (延期申请), decided by a moderator.
    extension_due_date = models.DateField(_("申请延期至"), null=True, blank=True)
    extension_reason = models.TextField(_("延期理由"), blank=True)
    # 回头看: scheduled when the assignment closes.
    review_due = models.DateField(_("回头看日期"), null=True, blank=True)
    review_outcome = models.CharField(_("回头看结果"), max_length=10, choices=ReviewOutcome.choices, blank=True)
    review_note = models.TextField(_("回头看情况"), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # 回头看 this many months after closing; set per assignment (None: no 回头看).
    review_months = models.PositiveSmallIntegerField(
        _("回头看间隔 (月)"), null=True, blank=True, default=6, db_default=6
    )
    # 双向评议: the lead department rates the question or suggestion when it replies (1 to 5).
    department_science = models.PositiveSmallIntegerField(_("科学性"), null=True, blank=True)
    department_feasibility = models.PositiveSmallIntegerField(_("可行性"), null=True, blank=True)
    department_comment = models.TextField(_("承办单位意见"), blank=True, default="", db_default="")
    department_rated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("交办件")
        verbose_name_plural = _("交办件")
        indexes = [models.Index(fields=["status", "due_date"]), models.Index(fields=["lead_department", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(resolved__isnull=True) | Q(status="closed"), name="assignment_resolved_only_when_closed"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TimelineEntry(models.Model):
    """One transition: who, when, what, the status and due date after it, a public and an
    internal note. The due date in force is kept so "replied on time" is read off the entry."""

    class Action(models.TextChoices):
        CREATED = "created", _("交办")
        ACCEPTED = "accepted", _("签收")
        RETURNED = "returned", _("退回")
        REASSIGNED = "reassigned", _("重新交办")
        PROGRESS = "progress", _("办理进展")
        REPLIED = "replied", _("答复")
        EVALUATED = "evaluated", _("代表评价")
        REOPENED = "reopened", _("重新办理")
        CLOSED = "closed", _("办结")
        EXTENSION_REQUESTED = "extension_requested", _("申请延期")
        EXTENSION_APPROVED = "extension_approved", _("同意延期")
        EXTENSION_REFUSED = "extension_refused", _("不同意延期")
        REVIEWED = "reviewed", _("回头看")
        # The due date counted again from the same start after the holidays changed (staff).
        DUE_RECOMPUTED = "due_recomputed", _("期限重算")

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=24, choices=Action.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    due_date = models.DateField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Shown to the public: "县发改局", "主持人", "代表评价", "系统"; never a person's login.
    actor_label = models.CharField(max_length=100)
    # The public note: what a person typed (a reply, a reason, a comment), and/or a sentence the
    # system words, kept as a code and its parameters (assignments/notes.py) and shown in the
    # reader's language. With a code, public_note is the typed part the sentence quotes (or "").
    public_note = models.TextField(blank=True)
    note_code = models.CharField(max_length=24, blank=True)
    note_params = models.JSONField(default=dict, blank=True)
    internal_note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Append-only: an entry is written once, never edited.
        if self.pk is not None:
            raise ValueError("timeline entries are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("timeline entries are immutable")


class AttachmentStorage(FileSystemStorage):
    """MEDIA_ROOT when set, else <project>/media; tests point MEDIA_ROOT at a temporary folder."""

    @cached_property
    def base_location(self) -> str:
        return str(settings.MEDIA_ROOT or settings.BASE_DIR / "media")


attachment_storage = AttachmentStorage()


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"assignments/{instance.assignment_id}/{filename}"


class Attachment(models.Model):
    """A file sent with a reply; public like the reply it belongs to."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="attachments")
    entry = models.ForeignKey(TimelineEntry, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, storage=attachment_storage, max_length=300)
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A department's token for the REST API. Only a SHA-256 of it is stored."""

    department = models.ForeignKey("hearings.Department", on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.department_id})"


class Reminder(models.Model):
    """A reminder sent, so the daily run sends each one once per due date."""

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", _("即将到期")
        OVERDUE = "overdue", _("已超期")
        REVIEW_DUE = "review_due", _("回头看到期")

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_date = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "kind", "due_date"], name="reminder_once_per_due_date")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.kind} {self.due_date}"


class Notice(models.Model):
    """An in-app notice (站内提醒) for one user: a code and its parameters (assignments/notes.py),
    shown in the reader's language."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignment_notices")
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="notices")
    code = models.CharField(max_length=24)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("站内提醒")
        verbose_name_plural = _("站内提醒")

    def __str__(self) -> str:
        return f"{self.user_id} {self.code}"


class Follower(models.Model):
    """A member of the public following an assignment by e-mail, no account needed: confirmed by
    the link e-mailed to the address (double opt-in), stopped by the one-click unsubscribe link.
    The token is random and only ever e-mailed to that address."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="followers")
    email = models.EmailField(_("电子邮箱"))
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("关注者")
        verbose_name_plural = _("关注者")
        constraints = [models.UniqueConstraint(fields=["assignment", "email"], name="follower_once_per_assignment")]

    def __str__(self) -> str:
        return f"{self.assignment_id} {self.email}"


class Preference(models.Model):
    """How one person wants one kind of notice: in the app, by e-mail, both or neither. No row:
    the kind's default (assignments/notify.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences")
    kind = models.CharField(max_length=32)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("提醒设置")
        verbose_name_plural = _("提醒设置")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class WorkdayOverride(models.Model):
    """A holiday or make-up working day (调休上班) staff add over the calendar library's
    (`manage.py workdays`), e.g. for a year the library does not know yet."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("放假")
        WORKDAY = "workday", _("调休上班")

    day = models.DateField(_("日期"), unique=True)
    kind = models.CharField(_("类别"), max_length=8, choices=Kind.choices)

    class Meta:
        ordering = ["day"]
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")

    def __str__(self) -> str:
        return f"{self.day} {self.kind}"
