"""Threshold rules (voting/thresholds.py): what 不满意 share means, the line itself is not
flagged, inactive rules are ignored, and the staff services refuse bad input storing nothing."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from django.utils import translation

from audit.models import AuditEntry
from core.errors import BadRequest, Forbidden, NotFound
from hearings.models import Person
from tests.factories import make_user
from tests.hearings.people_helpers import make_person, make_staff
from voting import thresholds
from voting.models import Threshold
from voting.thresholds import Figures, breaches, dissatisfied_choices, figures

THREE = ["满意", "基本满意", "不满意"]


def rule(metric: str, percent: int, *, active: bool = True, pk: int = 1) -> Threshold:
    return Threshold(pk=pk, metric=metric, percent=percent, active=active)


# ------------------------------------------------------------------------------- what is counted


def test_the_dissatisfied_choices_are_buzhiyi_else_the_worst_of_a_custom_scale() -> None:
    assert dissatisfied_choices(THREE, ["满意", "基本满意"]) == ["不满意"]
    # 不满意 wherever it stands on the scale
    assert dissatisfied_choices(["不满意", "满意"], ["满意"]) == ["不满意"]
    # a 5-level scale: 不满意 and 非常不满意 both
    five = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    assert dissatisfied_choices(five, ["非常满意", "满意", "基本满意"]) == ["不满意", "非常不满意"]
    # a custom scale without 不满意: its last choice
    assert dissatisfied_choices(["很好", "好", "一般", "差"], ["很好", "好"]) == ["差"]
    # unless that counts towards 满意率: then nothing is dissatisfied
    assert dissatisfied_choices(["差", "好"], ["好"]) == []
    assert dissatisfied_choices([], []) == []


def test_figures_of_one_poll() -> None:
    counted = {"满意": 5, "基本满意": 2, "不满意": 3, "废票": 9}  # a choice not offered is not valid
    assert figures(THREE, ["满意", "基本满意"], counted) == Figures(valid=10, satisfied=7, dissatisfied=3)
    assert figures(["很好", "差"], ["很好"], {"很好": 1, "差": 4}) == Figures(valid=5, satisfied=1, dissatisfied=4)
    pooled = Figures(10, 7, 3) + Figures(5, 1, 4)
    assert pooled == Figures(15, 8, 7)
    assert pooled.rate == pytest.approx(8 / 15) and pooled.dissatisfied_share == pytest.approx(7 / 15)
    assert Figures().rate is None and Figures().dissatisfied_share is None


# ------------------------------------------------------------------------------- the line


@pytest.mark.parametrize(
    ("dissatisfied", "valid", "flagged"),
    [(3, 10, False), (30, 100, False), (301, 1000, True), (4, 10, True), (0, 10, False), (29, 100, False)],
)
def test_dissatisfied_over_the_line_is_flagged_and_at_the_line_is_not(
    dissatisfied: int, valid: int, flagged: bool
) -> None:
    found = breaches(Figures(valid=valid, satisfied=0, dissatisfied=dissatisfied), [rule("dissatisfied", 30)])
    assert bool(found) is flagged
    if flagged:
        assert found[0].actual == Fraction(dissatisfied, valid)


@pytest.mark.parametrize(
    ("satisfied", "valid", "flagged"),
    [(6, 10, False), (60, 100, False), (599, 1000, True), (5, 10, True), (10, 10, False), (3, 5, False)],
)
def test_satisfaction_under_the_line_is_flagged_and_at_the_line_is_not(
    satisfied: int, valid: int, flagged: bool
) -> None:
    found = breaches(Figures(valid=valid, satisfied=satisfied, dissatisfied=0), [rule("satisfaction", 60)])
    assert bool(found) is flagged


def test_no_ballots_never_flags_and_inactive_rules_are_ignored() -> None:
    rules = [rule("satisfaction", 100), rule("dissatisfied", 0, pk=2)]
    assert breaches(Figures(), rules) == []
    bad = Figures(valid=10, satisfied=1, dissatisfied=9)
    assert [b.rule_id for b in breaches(bad, rules)] == [1, 2]
    inactive = [rule("satisfaction", 100, active=False), rule("dissatisfied", 0, pk=2, active=False)]
    assert breaches(bad, inactive) == []


def test_the_flag_shows_the_rule_and_the_actual_figure_rounded_away_from_the_line() -> None:
    with translation.override("zh-hans"):
        high = breaches(Figures(valid=12, satisfied=0, dissatisfied=5), [rule("dissatisfied", 30)])[0]
        assert high.text == "不满意率高于 30%：实际 41.7%"
        whole = breaches(Figures(valid=50, satisfied=0, dissatisfied=21), [rule("dissatisfied", 30)])[0]
        assert whole.text == "不满意率高于 30%：实际 42%"
        # 30.01 %: never shown as "30%" beside "高于 30%"
        close = breaches(Figures(valid=10000, satisfied=0, dissatisfied=3001), [rule("dissatisfied", 30)])[0]
        assert close.actual_text == "30.1%"
        low = breaches(Figures(valid=10000, satisfied=5999, dissatisfied=0), [rule("satisfaction", 60)])[0]
        assert low.text == "满意率低于 60%：实际 59.9%"


# ------------------------------------------------------------------------------- the services


def _stored() -> tuple[list[Any], int]:
    rows = list(Threshold.objects.order_by("pk").values_list("pk", "metric", "percent", "active"))
    return rows, AuditEntry.objects.filter(action__startswith="threshold.").count()


@pytest.mark.django_db
def test_staff_add_and_deactivate_a_rule_audited() -> None:
    staff = make_staff()
    added = thresholds.threshold_add(metric="dissatisfied", percent="30", by=staff)
    assert (added.metric, added.percent, added.active) == ("dissatisfied", 30, True)
    assert thresholds.active_rules() == [added]
    entry = AuditEntry.objects.get(action="threshold.add")
    assert entry.payload == {"metric": "dissatisfied", "percent": 30} and entry.actor_id == staff.pk
    thresholds.threshold_deactivate(threshold_id=added.pk, by=staff)
    assert thresholds.active_rules() == [] and not Threshold.objects.get(pk=added.pk).active
    assert AuditEntry.objects.filter(action="threshold.deactivate").count() == 1
    # Again: nothing more written.
    thresholds.threshold_deactivate(threshold_id=added.pk, by=staff)
    assert AuditEntry.objects.filter(action="threshold.deactivate").count() == 1
    # The same rule may be added again once the old one is inactive.
    assert thresholds.threshold_add(metric="dissatisfied", percent=30, by=staff).active


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("metric", "percent", "field"),
    [
        ("", "30", "metric"),
        ("unhappy", "30", "metric"),
        (None, "30", "metric"),
        ("dissatisfied", "", "percent"),
        ("dissatisfied", "abc", "percent"),
        ("dissatisfied", "-1", "percent"),
        ("dissatisfied", "30.5", "percent"),
        ("dissatisfied", "３０", "percent"),  # full-width digits
        ("dissatisfied", "100", "percent"),  # could never flag
        ("satisfaction", "0", "percent"),  # could never flag
        ("satisfaction", "101", "percent"),
        ("satisfaction", "1000", "percent"),
        ("satisfaction", True, "percent"),
        ("satisfaction", None, "percent"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(metric: Any, percent: Any, field: str) -> None:
    staff = make_staff()
    before = _stored()
    with pytest.raises(BadRequest) as refused:
        thresholds.threshold_add(metric=metric, percent=percent, by=staff)
    assert field in refused.value.errors  # type: ignore[attr-defined]
    assert refused.value.message
    assert _stored() == before


@pytest.mark.django_db
def test_the_same_active_rule_twice_is_refused() -> None:
    staff = make_staff()
    thresholds.threshold_add(metric="satisfaction", percent=60, by=staff)
    before = _stored()
    with pytest.raises(BadRequest, match="已有相同的预警线"):
        thresholds.threshold_add(metric="satisfaction", percent="60", by=staff)
    assert _stored() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Person.Role.DEPUTY, Person.Role.MODERATOR, Person.Role.LIAISON, None])
def test_only_office_staff_may_change_rules(role: str | None) -> None:
    existing = Threshold.objects.create(metric="satisfaction", percent=60)
    someone = make_person(role) if role else make_user()
    before = _stored()
    with pytest.raises(Forbidden):
        thresholds.threshold_add(metric="dissatisfied", percent=30, by=someone)
    with pytest.raises(Forbidden):
        thresholds.threshold_deactivate(threshold_id=existing.pk, by=someone)
    assert _stored() == before


@pytest.mark.django_db
def test_deactivating_an_unknown_rule_is_not_found() -> None:
    with pytest.raises(NotFound):
        thresholds.threshold_deactivate(threshold_id=999999, by=make_staff())
