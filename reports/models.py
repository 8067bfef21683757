"""The duty record's points rules (履职积分规则): what each kind of duty counted on a deputy's
record (reports/duty.py) is worth. Staff set them at /manage/duty-rules/.

The kinds and their default points are defined here once (`Kind`, `DEFAULT_POINTS`); a kind
without a row counts with its default, so a fresh database needs no seeding."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import limits


class DutyKind(models.TextChoices):
    """What a deputy's record counts, in the order the record shows it."""

    ATTENDANCE = "attendance", _("出席签到")
    QUESTION = "question", _("提问")
    FOLLOW_UP = "follow_up", _("追问")
    NAMED_VOTE = "named_vote", _("记名表决")
    VERDICT = "verdict", _("评价办理结果")
    REVIEW = "review", _("回头看")


# The example: attendance 2, question 3, follow-up 1; the rest 1.
DEFAULT_POINTS: dict[str, int] = {
    DutyKind.ATTENDANCE: 2,
    DutyKind.QUESTION: 3,
    DutyKind.FOLLOW_UP: 1,
    DutyKind.NAMED_VOTE: 1,
    DutyKind.VERDICT: 1,
    DutyKind.REVIEW: 1,
}


class DutyRule(models.Model):
    """Points for one kind of duty: each counted event earns `points` while the rule is active."""

    kind = models.CharField(_("履职事项"), max_length=16, choices=DutyKind.choices, unique=True)
    points = models.PositiveSmallIntegerField(_("每次积分"))
    active = models.BooleanField(_("计分"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("履职积分规则")
        verbose_name_plural = _("履职积分规则")
        constraints = [
            models.CheckConstraint(condition=Q(points__lte=limits.DUTY_POINTS), name="duty_rule_points_le_max")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points}"
