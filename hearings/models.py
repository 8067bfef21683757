"""Hearings (问政会), departments, agenda and questions.

Rules live in services.py; these models only hold state and the database
constraints that back the rules (one current item, one question on stage, one
like per viewer per target).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core import limits


class Department(models.Model):
    """A department questioned in hearings (应询部门) and handling assignments (承办单位)."""

    name = models.CharField(_("名称"), max_length=limits.DEPARTMENT_NAME, unique=True)
    short_name = models.CharField(_("简称"), max_length=limits.DEPARTMENT_SHORT_NAME, unique=True)
    liaisons = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="liaison_departments", verbose_name=_("联络员")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """Who a user is to the congress office: the roster's row (代表, 主持人, 联络员, 会务工作人员).

    `role` says what kind of person this is; per-hearing roles are the hearing's own lists
    (deputies, moderators), per-department ones the department's liaisons. Staff (会务工作人员)
    prepare hearings under /manage/ for the whole system (selectors.is_office_staff)."""

    class Role(models.TextChoices):
        DEPUTY = "deputy", _("代表")
        MODERATOR = "moderator", _("主持人")
        LIAISON = "liaison", _("联络员")
        STAFF = "staff", _("会务工作人员")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="person")
    name = models.CharField(_("姓名"), max_length=limits.PERSON_NAME)
    role = models.CharField(_("身份"), max_length=10, choices=Role.choices)
    delegation = models.CharField(_("代表团"), max_length=limits.PERSON_FIELD, blank=True)
    seat = models.CharField(_("座位"), max_length=limits.PERSON_FIELD, blank=True)
    phone = models.CharField(_("电话"), max_length=limits.PERSON_FIELD, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")

    def __str__(self) -> str:
        return self.name


# A JSON list's default in the database too, so rows written by an older model (a data
# migration's historical one) get it.
EMPTY_LIST = models.Value([], output_field=models.JSONField())


class Hearing(models.Model):
    class Kind(models.TextChoices):
        WENZHENG = "wenzheng", _("代表问政")
        INQUIRY = "inquiry", _("专题询问")
        APPRAISAL = "appraisal", _("评议")

    class Status(models.TextChoices):
        DRAFT = "draft", _("筹备中")
        LIVE = "live", _("直播中")
        ENDED = "ended", _("已结束")

    title = models.CharField(_("标题"), max_length=200)
    kind = models.CharField(
        _("会议类型"), max_length=10, choices=Kind.choices, default=Kind.WENZHENG, db_default=Kind.WENZHENG
    )
    theme = models.CharField(_("主题"), max_length=300, blank=True)
    venue = models.CharField(_("地点"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("计划结束时间"), null=True, blank=True)
    stream_url = models.URLField(_("直播地址 (HLS)"), blank=True)
    # Replay: the recording staff set once the hearing ended (HLS or MP4), and the moment its
    # position 0 shows (default: when the hearing started), so a question's chapter is
    # staged_at − vod_started_at into the video.
    vod_url = models.URLField(_("回放地址"), blank=True, default="", db_default="")
    vod_started_at = models.DateTimeField(_("回放起点时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    deputies = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="deputy_hearings", verbose_name=_("代表")
    )
    moderators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="moderated_hearings", verbose_name=_("主持人")
    )
    deputy_questions_need_approval = models.BooleanField(
        _("代表提问需审核"), default=False, help_text=_("默认代表的提问直接公开；群众的提问一律先审核。")
    )
    quorum_percent = models.PositiveSmallIntegerField(
        _("法定人数 (%)"),
        default=limits.QUORUM_PERCENT,
        db_default=limits.QUORUM_PERCENT,
        help_text=_("签到代表须超过本场代表的这一百分比。"),
    )
    likes = models.PositiveIntegerField(_("点赞"), default=0)
    # Question collection before the session (督前征集): its areas, and when /collect/ takes questions.
    categories = models.JSONField(_("问题类别"), default=list, blank=True, db_default=EMPTY_LIST)
    collect_opens_at = models.DateTimeField(_("征集开始时间"), null=True, blank=True)
    collect_closes_at = models.DateTimeField(_("征集截止时间"), null=True, blank=True)
    # Live event sequences (see live/): the public one and the control one.
    public_seq = models.PositiveBigIntegerField(default=0, editable=False)
    control_seq = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("问政会")
        verbose_name_plural = pgettext_lazy("plural", "问政会")

    def __str__(self) -> str:
        return self.title


class AgendaItem(models.Model):
    class Kind(models.TextChoices):
        OPENING = "opening", _("开场")
        QUESTIONING = "questioning", _("问政")
        EVALUATION = "evaluation", _("测评")
        CLOSING = "closing", _("闭幕")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        PENDING = "pending", _("未开始")
        CURRENT = "current", _("进行中")
        DONE = "done", _("已结束")

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="agenda", verbose_name=_("问政会"))
    position = models.PositiveIntegerField(_("顺序"))
    title = models.CharField(_("标题"), max_length=limits.AGENDA_TITLE)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.QUESTIONING)
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="agenda_items",
        verbose_name=_("应询部门"),
    )
    planned_minutes = models.PositiveIntegerField(_("计划时长 (分钟)"), default=15)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hearing", "position", "id"]
        verbose_name = _("议程")
        verbose_name_plural = _("议程")
        constraints = [
            models.UniqueConstraint(fields=["hearing", "position"], name="agenda_position_unique"),
            models.UniqueConstraint(
                fields=["hearing"], condition=Q(status="current"), name="agenda_one_current_per_hearing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class SeatCode(models.Model):
    """A tablet's one-time login (座位码) as one deputy for one hearing (hearings/services/seats.py).

    The code itself is never stored: it is derived from `nonce` with the server's secret key
    (so a seat card can be printed again) and found by its `digest`. It logs a tablet in once;
    it stops working when used, revoked, or when its hearing ends."""

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="seat_codes")
    deputy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seat_codes")
    nonce = models.CharField(max_length=32, unique=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["hearing", "id"]
        verbose_name = _("座位码")
        verbose_name_plural = _("座位码")
        constraints = [
            models.UniqueConstraint(
                fields=["hearing", "deputy"],
                condition=Q(used_at__isnull=True, revoked_at__isnull=True),
                name="seat_code_one_unused_per_deputy",
            )
        ]

    def __str__(self) -> str:
        return f"{self.deputy_id}@{self.hearing_id}"


class Question(models.Model):
    class Source(models.TextChoices):
        DEPUTY = "deputy", _("代表")
        PUBLIC = "public", _("群众")
        MODERATOR = "moderator", _("主持人")
        COLLECTED = "collected", _("征集")  # sent through the collection page before the session

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已通过")
        ON_STAGE = "on_stage", _("正在问答")
        ANSWERED = "answered", pgettext_lazy("question", "已答复")
        REJECTED = "rejected", _("未采用")
        HIDDEN = "hidden", _("已撤下")  # approved, then withdrawn from public view (question.hide)

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="questions")
    item = models.ForeignKey(AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("追问")
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged", verbose_name=_("合并到")
    )
    text = models.TextField(_("内容"), max_length=limits.QUESTION_TEXT)
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    asker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="questions"
    )
    asker_name = models.CharField(_("提问人"), max_length=limits.ASKER_NAME, blank=True)
    category = models.CharField(_("类别"), max_length=limits.QUESTION_CATEGORY, blank=True, default="", db_default="")
    # The department the office means it for (triage); an agenda item's department otherwise.
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="questions", verbose_name=_("部门")
    )
    # A collected question's phone or e-mail: staff only, never public, erased some days after
    # the hearing (QUESTION_CONTACT_DAYS).
    contact = models.CharField(_("联系方式"), max_length=limits.ASKER_CONTACT, blank=True, default="", db_default="")
    # The sensitive words its text or name matched: it waits for a moderator, whoever asked.
    sensitive_words = models.JSONField(default=list, blank=True, db_default=EMPTY_LIST)
    hidden_reason = models.CharField(
        _("撤下理由"), max_length=limits.HIDE_REASON, blank=True, default="", db_default=""
    )
    # The askers of the duplicates merged into it (question_merge), shown after its own asker.
    also_asked = models.JSONField(default=list, blank=True, db_default=EMPTY_LIST)
    # Asked by a blocked viewer: kept out of the queue, on the hidden list.
    dropped = models.BooleanField(default=False, db_default=False)
    viewer = models.CharField(max_length=64, blank=True, help_text="public asker's viewer id")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    likes = models.PositiveIntegerField(_("点赞"), default=0)
    answer_note = models.TextField(_("答复要点"), blank=True)
    commitment = models.TextField(_("承诺"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    staged_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("问题")
        verbose_name_plural = _("问题")
        constraints = [
            models.UniqueConstraint(
                fields=["hearing"], condition=Q(status="on_stage"), name="question_one_on_stage_per_hearing"
            ),
        ]
        indexes = [models.Index(fields=["hearing", "status"])]

    def __str__(self) -> str:
        return self.text[:40]


class SensitiveWord(models.Model):
    """One entry of the sensitive-word list kept by the office (敏感词): a question or name that
    contains it waits for a moderator, flagged, whoever asked."""

    word = models.CharField(_("敏感词"), max_length=limits.SENSITIVE_WORD, unique=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["word"]
        verbose_name = _("敏感词")
        verbose_name_plural = _("敏感词")

    def __str__(self) -> str:
        return self.word


class BlockedViewer(models.Model):
    """A viewer identity (the `viewer` cookie) whose further questions never reach the queue."""

    viewer = models.CharField(max_length=64, unique=True)
    reason = models.CharField(_("理由"), max_length=limits.HIDE_REASON, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("屏蔽的观众")
        verbose_name_plural = _("屏蔽的观众")

    def __str__(self) -> str:
        return self.viewer


class Like(models.Model):
    """One like per viewer per target: the hearing itself (question is null) or a question."""

    hearing = models.ForeignKey(Hearing, on_delete=models.CASCADE, related_name="like_rows")
    question = models.ForeignKey(Question, null=True, blank=True, on_delete=models.CASCADE, related_name="like_rows")
    viewer = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hearing", "viewer"], condition=Q(question__isnull=True), name="like_once_per_hearing"
            ),
            models.UniqueConstraint(
                fields=["question", "viewer"], condition=Q(question__isnull=False), name="like_once_per_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.viewer} → {self.question_id or 'hearing'}"
