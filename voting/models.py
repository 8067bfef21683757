"""Check-in, satisfaction polls (满意度测评) and ballots.

A secret poll (无记名, the default) stores no ballots at all: each ballot adds one to its
choice's count in the poll's single SecretTally row, in the transaction that writes the
deputy's "has voted" row (VoteRecord). The VoteRecord enforces one ballot per deputy and keeps
only a keyed hash of the ballot UUID, so a tablet's resend is recognised without any row, id,
timestamp or order saying what the deputy chose (docs/voting.md). A named poll (记名) stores
one Ballot row per deputy.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import limits

DEFAULT_CHOICES = ["满意", "基本满意", "不满意"]
DEFAULT_SATISFIED = ["满意", "基本满意"]
# The choices that count towards 满意率 unless a poll says otherwise (of the choices it offers):
# the 3-level scale's 满意 / 基本满意, a 5-level scale's 非常满意 / 满意 / 比较满意 / 基本满意.
SATISFIED_NAMES = ("非常满意", "满意", "比较满意", "基本满意")


def default_choices() -> list[str]:
    return list(DEFAULT_CHOICES)


def default_satisfied() -> list[str]:
    return list(DEFAULT_SATISFIED)


class Attendance(models.Model):
    """A deputy checked in (签到) for a hearing: only they may vote."""

    hearing = models.ForeignKey("hearings.Hearing", on_delete=models.CASCADE, related_name="attendance")
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendance")
    checked_in_at = models.DateTimeField(auto_now_add=True)
    # A moderator who checked the deputy in on their behalf (代签); null when the deputy did.
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        constraints = [models.UniqueConstraint(fields=["hearing", "deputy"], name="attendance_once")]

    def __str__(self) -> str:
        return f"{self.deputy_id}@{self.hearing_id}"


class Poll(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("待开启")  # prepared by the office: rows or candidates, not yet open
        OPEN = "open", _("投票中")
        CLOSED = "closed", _("已结束")
        PUBLISHED = "published", _("已公布")

    class Kind(models.TextChoices):
        SATISFACTION = "satisfaction", _("满意度测评")
        SHEET = "sheet", _("测评表")  # rows (departments, or department × aspect) × choices
        SELECT = "select", _("票选")  # candidates (e.g. 民生实事 projects): pick min…max of them

    hearing = models.ForeignKey("hearings.Hearing", on_delete=models.CASCADE, related_name="polls")
    item = models.ForeignKey(
        "hearings.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="polls"
    )
    department = models.ForeignKey(
        "hearings.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="polls"
    )
    title = models.CharField(_("标题"), max_length=limits.POLL_TITLE)
    kind = models.CharField(
        _("类型"), max_length=12, choices=Kind.choices, default=Kind.SATISFACTION, db_default=Kind.SATISFACTION
    )
    choices = models.JSONField(_("选项"), default=default_choices)
    satisfied = models.JSONField(_("计入满意率的选项"), default=default_satisfied)
    # select only: each ballot picks from min_picks to max_picks candidates; the `choose` most
    # picked are chosen (null elsewhere).
    min_picks = models.PositiveIntegerField(null=True, blank=True)
    max_picks = models.PositiveIntegerField(null=True, blank=True)
    choose = models.PositiveIntegerField(null=True, blank=True)
    weights = models.JSONField(_("分值"), null=True, blank=True)  # {choice: number} for a score, or null
    secret = models.BooleanField(_("无记名"), default=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # Fixed when the poll closes, so close and publish always report the same counts.
    eligible = models.PositiveIntegerField(null=True, blank=True)
    cast = models.PositiveIntegerField(null=True, blank=True)
    results = models.JSONField(null=True, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)  # a draft's: set again when it opens
    # A window poll (现场或事后: after the hearing, or an annual 评议 round with no live hearing)
    # takes ballots from opens_at until closes_at, from the hearing's deputies on their own
    # devices, with no check-in, and closes by itself; a live poll has neither.
    opens_at = models.DateTimeField(_("开始投票时间"), null=True, blank=True)
    closes_at = models.DateTimeField(_("截止投票时间"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = pgettext_lazy("one poll", "满意度测评")
        verbose_name_plural = _("满意度测评")
        constraints = [
            # One live poll open at a time in the chamber; window polls may run side by side.
            models.UniqueConstraint(
                fields=["hearing"], condition=Q(status="open", closes_at__isnull=True), name="poll_one_open_per_hearing"
            ),
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True) | Q(closes_at__gt=models.F("opens_at")), name="poll_window_in_order"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_window(self) -> bool:
        return self.closes_at is not None


class PollOption(models.Model):
    """A row of a sheet poll (a department, or department × aspect) or a candidate of a select
    poll (e.g. a 民生实事 project). Its pk is its id on the wire."""

    class Kind(models.TextChoices):
        ROW = "row", _("测评项")
        CANDIDATE = "candidate", _("候选项")

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveIntegerField()
    label = models.CharField(_("名称"), max_length=limits.POLL_OPTION_LABEL)
    department = models.ForeignKey(
        "hearings.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="poll_options"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A candidate's budget in 万元 and a line on what it is (民生实事 projects), where given.
    budget = models.DecimalField(_("预算（万元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("说明"), max_length=limits.POLL_OPTION_NOTE, blank=True, default="", db_default="")

    class Meta:
        ordering = ["poll", "position"]
        constraints = [models.UniqueConstraint(fields=["poll", "position"], name="poll_option_position")]

    def __str__(self) -> str:
        return self.label


class VoteRecord(models.Model):
    """That a deputy has voted in a poll: one per deputy per poll, by database constraint."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="vote_records")
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vote_records")
    ballot_key = models.CharField(max_length=64)  # HMAC of the ballot UUID: recognises a resend

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "deputy"], name="vote_once_per_deputy")]

    def __str__(self) -> str:
        return f"{self.deputy_id} voted in {self.poll_id}"


class SecretTally(models.Model):
    """A secret poll's counts per choice: the only place its ballots are kept.

    One row for all choices, updated in place under a row lock: a row per choice would carry
    (in PostgreSQL's xmin) the transaction of the last deputy who picked that choice. Counts
    are {choice: n}; a sheet poll's are nested per row ({"<row id>": {choice: n}}), a select
    poll's are per candidate ({"<candidate id>": n})."""

    poll = models.OneToOneField(Poll, primary_key=True, on_delete=models.CASCADE, related_name="secret_tally")
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.counts}"


class Ballot(models.Model):
    """One ballot of a named poll (记名). Secret polls store none (SecretTally instead); rows
    of secret polls stored before that was so hold no deputy, no client UUID, no time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    choice = models.CharField(max_length=limits.POLL_CHOICE, blank=True)  # satisfaction polls
    choices = models.JSONField(null=True, blank=True)  # sheet polls: {"<row id>": choice}
    picks = models.JSONField(null=True, blank=True)  # select polls: [candidate id, …]
    # Named polls only:
    deputy = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="named_ballots"
    )
    client_uuid = models.UUIDField(null=True, blank=True)

    class Meta:
        # Read back in the order of the random id, never in the order of insertion (which
        # SQLite's rowid and PostgreSQL's heap keep, and which matches VoteRecord ids).
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "deputy"], condition=Q(deputy__isnull=False), name="named_ballot_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.poll_id}: {self.choice}"


class Threshold(models.Model):
    """A rule that flags a department on the report and the scorecards (e.g. 不满意 over 30 %,
    or 满意率 under 60 %), set by the office; the rule is shown beside each flag."""

    class Metric(models.TextChoices):
        DISSATISFIED = "dissatisfied", _("不满意率高于")  # share of ballots for 不满意 (or the scale's worst)
        SATISFACTION = "satisfaction", _("满意率低于")  # 满意率 under the limit

    metric = models.CharField(_("指标"), max_length=16, choices=Metric.choices)
    percent = models.PositiveSmallIntegerField(_("百分比"))
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("预警线")
        verbose_name_plural = _("预警线")
        constraints = [models.CheckConstraint(condition=Q(percent__lte=100), name="threshold_percent_le_100")]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.percent}%"
