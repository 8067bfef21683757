"""Threshold rules (预警线): a department whose pooled results break an active rule is flagged on
the hearing report and the scorecards, with the rule beside the flag.

Two metrics (voting.models.Threshold.Metric):
- `dissatisfied`: the 不满意 share is HIGHER than the percent. The 不满意 share is the ballots
  for 不满意 (and a 5-level scale's 非常不满意) over the valid ballots; on a scale without them
  (a custom one), the ballots for
  its last choice, the worst by convention, unless that choice counts towards 满意率 (then the
  scale has no dissatisfied choice and adds nothing).
- `satisfaction`: 满意率 is LOWER than the percent.

Exactly at the line is not flagged: "高于 30%" flags 30.1 %, not 30 %. Shares are compared as
exact fractions (no float rounding at the boundary), and a department without valid ballots is
never flagged. The actual figure beside a flag is rounded away from the line (up for 高于, down
for 低于) so a flagged figure never reads as the limit itself.

Rules are added and deactivated by office staff only, each change audited; a rule is never
edited or deleted, so what a report once flagged can be traced to the rule that did it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from core.errors import BadRequest, DomainError, NotFound
from hearings import guards
from hearings.services import FieldErrors
from voting.models import Threshold

# The choices whose ballots make the 不满意 share, where a scale offers them: the 3-level scale's
# 不满意, and a 5-level scale's 不满意 and 非常不满意 (both below 基本满意).
DISSATISFIED_NAMES = ("不满意", "非常不满意")

# The limits a rule may set: one that could never flag anybody (不满意 over 100 %, 满意率 under
# 0 %) is refused.
PERCENT_RANGE: dict[str, tuple[int, int]] = {
    Threshold.Metric.DISSATISFIED: (0, 99),
    Threshold.Metric.SATISFACTION: (1, 100),
}


def dissatisfied_choices(choices: Sequence[str], satisfied: Sequence[str]) -> list[str]:
    """The choices whose ballots make the 不满意 share: those of DISSATISFIED_NAMES offered (a
    5-level scale's 不满意 and 非常不满意), else the scale's last (worst) choice unless it counts
    towards 满意率; none when there is none."""
    named = [choice for choice in choices if choice in DISSATISFIED_NAMES and choice not in satisfied]
    if named:
        return named
    if choices and choices[-1] not in satisfied:
        return [choices[-1]]
    return []


@dataclass(frozen=True)
class Figures:
    """Ballots pooled over polls or sheet rows: valid, for 满意率's choices, for the worst choice."""

    valid: int = 0
    satisfied: int = 0
    dissatisfied: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.valid + other.valid, self.satisfied + other.satisfied, self.dissatisfied + other.dissatisfied
        )

    @property
    def rate(self) -> float | None:
        """满意率; None without valid ballots."""
        return self.satisfied / self.valid if self.valid else None

    @property
    def dissatisfied_share(self) -> float | None:
        """不满意率; None without valid ballots."""
        return self.dissatisfied / self.valid if self.valid else None


def figures(choices: Sequence[str], satisfied: Sequence[str], counts: Mapping[str, int]) -> Figures:
    """One poll's (or sheet row's) figures from its counts per choice."""
    return Figures(
        valid=sum(counts.get(choice, 0) for choice in choices),
        satisfied=sum(counts.get(choice, 0) for choice in satisfied if choice in choices),
        dissatisfied=sum(counts.get(choice, 0) for choice in dissatisfied_choices(choices, satisfied)),
    )


def _percent_text(value: Decimal) -> str:
    places = 0 if value == value.to_integral_value() else 1
    return f"{number_format(value, decimal_pos=places)}%"


def rule_text(metric: str, percent: int) -> str:
    """ "不满意率高于 30%" / "满意率低于 60%", in the active language."""
    if metric == Threshold.Metric.DISSATISFIED:
        return _("不满意率高于 %(percent)s%%") % {"percent": percent}
    return _("满意率低于 %(percent)s%%") % {"percent": percent}


@dataclass(frozen=True)
class Breach:
    """A department's figure over (or under) an active rule's line."""

    rule_id: int
    metric: str
    percent: int
    actual: Fraction  # the share, 0..1, exact

    @property
    def rule(self) -> str:
        return rule_text(self.metric, self.percent)

    @property
    def actual_text(self) -> str:
        """The share in percent, one decimal at most, rounded away from the line."""
        rounding = ROUND_CEILING if self.metric == Threshold.Metric.DISSATISFIED else ROUND_FLOOR
        value = Decimal(self.actual.numerator * 100) / Decimal(self.actual.denominator)
        return _percent_text(value.quantize(Decimal("0.1"), rounding=rounding))

    @property
    def text(self) -> str:
        """ "不满意率高于 30%：实际 42%"."""
        return _("%(rule)s：实际 %(actual)s") % {"rule": self.rule, "actual": self.actual_text}


def active_rules() -> list[Threshold]:
    """The rules in force, oldest first. One query."""
    return list(Threshold.objects.filter(active=True).order_by("id"))


def breaches(pooled: Figures, rules: Sequence[Threshold]) -> list[Breach]:
    """The rules of `rules` that `pooled` breaks (strictly over / under the line), in their
    order; none without valid ballots. Inactive rules are ignored, whoever passes them."""
    if not pooled.valid:
        return []
    found = []
    for rule in rules:
        if not rule.active:
            continue
        if rule.metric == Threshold.Metric.DISSATISFIED:
            share = Fraction(pooled.dissatisfied, pooled.valid)
            broken = share * 100 > rule.percent
        else:
            share = Fraction(pooled.satisfied, pooled.valid)
            broken = share * 100 < rule.percent
        if broken:
            found.append(Breach(rule_id=rule.pk, metric=rule.metric, percent=rule.percent, actual=share))
    return found


# ------------------------------------------------------------------------------- staff services


def _clean_percent(metric: str, raw: object) -> int:
    text = str(raw).strip() if isinstance(raw, (str, int)) and not isinstance(raw, bool) else ""
    if not re.fullmatch(r"[0-9]{1,3}", text):
        raise BadRequest(gettext_lazy("百分比应为整数。"))
    value = int(text)
    low, high = PERCENT_RANGE[metric]
    if not low <= value <= high:
        raise BadRequest(gettext_lazy("这项指标的百分比应在 %(low)s 到 %(high)s 之间。"), low=low, high=high)
    return value


# PostgreSQL advisory lock space of threshold adds ("rule").
_ADD_LOCK_SPACE = 0x72756C65


def _serialise_adds() -> None:
    """One add at a time until it commits, so two staff members adding the same rule at once
    store it once: a lock of its own, as there may be no rule row yet to lock (PostgreSQL;
    SQLite runs one write transaction at a time anyway)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int4, 0)", [_ADD_LOCK_SPACE])


@transaction.atomic
def threshold_add(*, metric: object, percent: object, by: AbstractBaseUser | None) -> Threshold:
    """A new active rule: `metric` dissatisfied | satisfaction, `percent` a whole number in
    PERCENT_RANGE; the same rule active twice is refused. Office staff only."""
    guards.require_office_staff(by)
    errors: dict[str, DomainError] = {}
    clean_metric = metric if isinstance(metric, str) and metric in Threshold.Metric.values else None
    if clean_metric is None:
        errors["metric"] = BadRequest(gettext_lazy("请选择指标。"))
    clean_percent = 0
    if clean_metric is not None:
        try:
            clean_percent = _clean_percent(clean_metric, percent)
        except BadRequest as exc:
            errors["percent"] = exc
    if errors:
        raise FieldErrors(errors)
    assert clean_metric is not None
    _serialise_adds()
    if Threshold.objects.filter(active=True, metric=clean_metric, percent=clean_percent).exists():
        raise BadRequest(gettext_lazy("已有相同的预警线。"))
    rule = Threshold.objects.create(metric=clean_metric, percent=clean_percent, active=True)
    audit.record(
        action="threshold.add", actor=by, subject=rule, payload={"metric": clean_metric, "percent": clean_percent}
    )
    return rule


@transaction.atomic
def threshold_deactivate(*, threshold_id: int, by: AbstractBaseUser | None) -> Threshold:
    """Stop a rule flagging (it stays listed, inactive). Again: nothing written. Office staff only."""
    guards.require_office_staff(by)
    rule = Threshold.objects.select_for_update().filter(pk=threshold_id).first()
    if rule is None:
        raise NotFound(gettext_lazy("没有这条预警线。"))
    if not rule.active:
        return rule
    rule.active = False
    rule.save(update_fields=["active"])
    audit.record(
        action="threshold.deactivate",
        actor=by,
        subject=rule,
        payload={"metric": rule.metric, "percent": rule.percent},
    )
    return rule
