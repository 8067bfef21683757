"""Sheet (测评表) and select (票选) polls in the hearing report, its XLSX and the scorecards:
per-row figures equal the ballots cast (secret and named), a department's results pool its
satisfaction polls and the sheet rows naming it, the select's ranking and chosen candidates,
and threshold rules flagging exactly the departments beyond the line."""

from __future__ import annotations

import io
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook  # type: ignore[import-untyped]

from hearings.models import Department, Hearing
from reports.report import HearingReport, hearing_report, row_score
from reports.scorecards import department_scorecards
from reports.tallies import option_tallies
from tests.factories import World, make_world
from voting import selectors, services
from voting.models import Poll, PollOption, Threshold

pytestmark = pytest.mark.django_db

CHOICES = ["满意", "基本满意", "不满意"]
WEIGHTS: dict[str, float] = {"满意": 100, "基本满意": 80, "不满意": 0}


@dataclass
class Kinds:
    world: World
    sheet: Poll
    rows: list[PollOption]  # 0: A·应询态度, 1: A·回答质量, 2: B·应询态度, 3: 整改措施 (no department)
    ballots: list[dict[str, str]]  # what each deputy chose, by row id
    satisfaction: Poll  # on department A
    satisfaction_ballots: list[str]
    select: Poll
    candidates: list[PollOption]
    picks: list[list[int]]

    @property
    def a(self) -> Department:
        return self.world.departments[0]

    @property
    def b(self) -> Department:
        return self.world.departments[1]


def _cast(world: World, poll: Poll, deputy: Any, **ballot: Any) -> None:
    services.ballot_cast(hearing_id=world.hearing.pk, poll_id=poll.pk, deputy=deputy, ballot_id=uuid.uuid4(), **ballot)


def _finish(world: World, poll: Poll, *, publish: bool = True) -> Poll:
    services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    if publish:
        services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    poll.refresh_from_db()
    return poll


def play(*, secret: bool, deputies: int = 6, publish: bool = True) -> Kinds:
    world = make_world(deputies=deputies, status=Hearing.Status.LIVE)
    for deputy in world.deputies:
        services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
    a, b = world.departments[0], world.departments[1]
    sheet = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[1].pk,
        by=world.moderator,
        kind="sheet",
        secret=secret,
        weights=WEIGHTS,
        rows=[
            services.OptionSpec(f"{a.name}·应询态度", a.pk),
            services.OptionSpec(f"{a.name}·回答质量", a.pk),
            services.OptionSpec(f"{b.name}·应询态度", b.pk),
            services.OptionSpec("整改措施"),
        ],
    )
    rows = list(PollOption.objects.filter(poll=sheet).order_by("position"))
    # Deputy i gives row j the choice (i + j) % 3, so every row has its own counts.
    ballots = [{str(row.pk): CHOICES[(i + j) % 3] for j, row in enumerate(rows)} for i in range(deputies)]
    for deputy, choices in zip(world.deputies, ballots, strict=True):
        _cast(world, sheet, deputy, choices=choices)
    sheet = _finish(world, sheet, publish=publish)

    satisfaction = services.poll_open(
        hearing_id=world.hearing.pk, item_id=world.items[1].pk, by=world.moderator, secret=secret
    )
    satisfaction_ballots = ["满意", "满意", "不满意", "不满意"]
    for deputy, choice in zip(world.deputies, satisfaction_ballots, strict=False):
        _cast(world, satisfaction, deputy, choice=choice)
    satisfaction = _finish(world, satisfaction, publish=publish)

    select = services.poll_open(
        hearing_id=world.hearing.pk,
        item_id=world.items[2].pk,
        by=world.moderator,
        kind="select",
        secret=secret,
        candidates=[
            services.OptionSpec("老旧小区改造", a.pk),
            services.OptionSpec("城区停车场", b.pk),
            services.OptionSpec("乡村公交"),
            services.OptionSpec("学校食堂"),
        ],
        min_picks=1,
        max_picks=2,
        choose=2,
    )
    candidates = list(PollOption.objects.filter(poll=select).order_by("position"))
    for candidate, budget in zip(candidates, ["1200", "800.5", None, "300"], strict=True):
        candidate.budget = Decimal(budget) if budget else None
        candidate.note = f"{candidate.label}说明"
        candidate.save(update_fields=["budget", "note"])
    c = [candidate.pk for candidate in candidates]
    # picks: 乡村公交 4, 城区停车场 3, 学校食堂 3 (a tie: the earlier candidate ranks first), 老旧小区改造 1
    picks = [[c[2], c[1]], [c[2], c[3]], [c[2], c[1]], [c[2], c[3]], [c[1], c[3]], [c[0]]][:deputies]
    for deputy, chosen in zip(world.deputies, picks, strict=True):
        _cast(world, select, deputy, picks=chosen)
    select = _finish(world, select, publish=publish)
    return Kinds(world, sheet, rows, ballots, satisfaction, satisfaction_ballots, select, candidates, picks)


def _report(k: Kinds) -> HearingReport:
    return hearing_report(Hearing.objects.get(pk=k.world.hearing.pk))


def _cast_counts(k: Kinds, row: PollOption) -> Counter[str]:
    """What the deputies chose for the row, from the ballots this test cast."""
    return Counter(ballot[str(row.pk)] for ballot in k.ballots)


# ------------------------------------------------------------------------------- the report


@pytest.mark.parametrize("secret", [True, False])
def test_each_sheet_row_has_the_ballots_cast(secret: bool) -> None:
    k = play(secret=secret)
    (sheet,) = _report(k).sheets
    assert sheet.published and sheet.secret is secret and sheet.cast == 6
    assert [row.id for row in sheet.rows] == [row.pk for row in k.rows]
    for result, row in zip(sheet.rows, k.rows, strict=True):
        cast = _cast_counts(k, row)
        assert {c.choice: c.count for c in result.counts} == {choice: cast[choice] for choice in CHOICES}
        assert result.valid == 6
        assert result.rate == pytest.approx((cast["满意"] + cast["基本满意"]) / 6)
        assert result.score == pytest.approx(round((cast["满意"] * 100 + cast["基本满意"] * 80) / 6, 2))
        assert result.department == (row.department.name if row.department else "")
    # The batched counts are voting.selectors.tally's, row by row.
    tally = selectors.tally(k.sheet)
    batched = option_tallies([k.sheet])
    for row in k.rows:
        assert dict(batched.row(k.sheet.pk, row.pk)) == {c: n for c, n in tally[str(row.pk)].items() if n}


@pytest.mark.parametrize("secret", [True, False])
def test_departments_pool_their_polls_and_sheet_rows(secret: bool) -> None:
    k = play(secret=secret)
    departments = {d.department_id: d for d in _report(k).departments}
    assert set(departments) == {k.a.pk, k.b.pk}  # the row without a department counts for nobody
    a, b = departments[k.a.pk], departments[k.b.pk]
    cast_a = _cast_counts(k, k.rows[0]) + _cast_counts(k, k.rows[1]) + Counter(k.satisfaction_ballots)
    assert (a.polls, a.rows) == (1, 2)
    assert a.figures.valid == 6 + 6 + 4
    assert a.figures.satisfied == cast_a["满意"] + cast_a["基本满意"]
    assert a.figures.dissatisfied == cast_a["不满意"]
    cast_b = _cast_counts(k, k.rows[2])
    assert (b.polls, b.rows, b.figures.valid, b.figures.dissatisfied) == (0, 1, 6, cast_b["不满意"])
    # In agenda order: A is questioned first.
    assert [d.department_id for d in _report(k).departments] == [k.a.pk, k.b.pk]


@pytest.mark.parametrize("secret", [True, False])
def test_select_ranking_picks_and_chosen(secret: bool) -> None:
    k = play(secret=secret)
    (select,) = _report(k).selects
    c = [candidate.pk for candidate in k.candidates]
    picked = Counter(pk for chosen in k.picks for pk in chosen)
    assert [x.id for x in select.candidates] == [c[2], c[1], c[3], c[0]]
    assert [x.picks for x in select.candidates] == [picked[c[2]], picked[c[1]], picked[c[3]], picked[c[0]]]
    assert [x.picks for x in select.candidates] == [4, 3, 3, 1]
    assert [x.rank for x in select.candidates] == [1, 2, 3, 4]
    assert [x.id for x in select.chosen] == [c[2], c[1]]
    assert select.candidates[1].department == k.b.name and select.candidates[1].budget == Decimal("800.5")
    assert select.chosen_budget == Decimal("800.5")  # 乡村公交 has no budget


def test_the_page_shows_rows_candidates_and_departments() -> None:
    k = play(secret=True)
    page = Client().get(f"/hearings/{k.world.hearing.pk}/report/").content.decode()
    row = page.split(f'id="sheet-row-{k.rows[0].pk}"')[1].split("</tr>")[0]
    cast = _cast_counts(k, k.rows[0])
    assert [int(n) for n in _counts(row)] == [cast[c] for c in CHOICES]
    assert f"{round((cast['满意'] * 100 + cast['基本满意'] * 80) / 6, 2):.2f}" in row
    chosen = page.split(f'id="candidate-{k.candidates[1].pk}"')[1].split("</tr>")[0]
    assert "入选" in chosen and k.b.name in chosen and "800.5" in chosen
    loser = page.split(f'id="candidate-{k.candidates[0].pk}"')[1].split("</tr>")[0]
    assert "入选" not in loser
    assert f'id="department-{k.a.pk}"' in page and "未设置预警线" in page


def _counts(html: str) -> list[str]:
    return re.findall(r'<span class="count">(\d+)</span>', html)


def test_unpublished_sheets_and_selects_show_no_results() -> None:
    k = play(secret=True, publish=False)
    report = _report(k)
    (sheet,) = report.sheets
    (select,) = report.selects
    assert not sheet.published and all(row.counts == [] and row.score is None for row in sheet.rows)
    assert all(row.valid == 0 for row in sheet.rows)
    assert not select.published and all(c.picks == 0 and c.rank is None and not c.chosen for c in select.candidates)
    assert report.departments == []
    page = Client().get(f"/hearings/{k.world.hearing.pk}/report/").content.decode()
    assert "结果未公布" in page and 'class="count"' not in page and "入选 2 项" in page
    book = load_workbook(io.BytesIO(Client().get(f"/hearings/{k.world.hearing.pk}/report.xlsx").content))
    rows = list(book["测评表"].iter_rows(values_only=True))[1:]
    assert [r[2] for r in rows] == [row.label for row in k.rows]
    assert all(value is None for r in rows for value in r[4:])
    candidates = list(book["票选"].iter_rows(values_only=True))[1:]
    assert all(r[6:] == (None, None, None) for r in candidates)


def test_queries_do_not_grow_with_sheets_and_selects() -> None:
    small = play(secret=True, deputies=6)
    large = play(secret=False, deputies=6)
    hearing, item = large.world.hearing.pk, large.world.items[1].pk
    for _ in range(2):  # more of each kind in the large hearing
        sheet = services.poll_open(
            hearing_id=hearing, item_id=item, by=None, kind="sheet", rows=[services.OptionSpec("甲", large.a.pk)]
        )
        _finish(large.world, sheet)
        pick = [services.OptionSpec("甲"), services.OptionSpec("乙")]
        select = services.poll_open(hearing_id=hearing, item_id=item, by=None, kind="select", candidates=pick)
        _finish(large.world, select)
    counts = []
    for k in (small, large):
        with CaptureQueriesContext(connection) as queries:
            _report(k)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# ------------------------------------------------------------------------------- the XLSX


@pytest.mark.parametrize("secret", [True, False])
def test_xlsx_has_a_row_per_sheet_row_and_candidate(secret: bool) -> None:
    k = play(secret=secret)
    book = load_workbook(io.BytesIO(Client().get(f"/hearings/{k.world.hearing.pk}/report.xlsx").content))
    rows = list(book["测评表"].iter_rows(values_only=True))
    assert rows[0] == ("测评", "状态", "测评项", "部门", "满意", "基本满意", "不满意", "有效票", "满意率", "得分")
    for row, line in zip(k.rows, rows[1:], strict=True):
        cast = _cast_counts(k, row)
        assert line[0] == k.sheet.title and line[2] == row.label
        assert line[3] == (row.department.name if row.department else None)
        assert line[4:8] == (cast["满意"], cast["基本满意"], cast["不满意"], 6)
        assert line[8] == pytest.approx((cast["满意"] + cast["基本满意"]) / 6, abs=1e-4)
        assert line[9] == pytest.approx(row_score(WEIGHTS, CHOICES, cast))
    candidates = list(book["票选"].iter_rows(values_only=True))
    assert candidates[0] == ("票选", "状态", "候选项", "部门", "预算（万元）", "说明", "得票", "名次", "入选")
    c = {candidate.pk: candidate for candidate in k.candidates}
    order = [k.candidates[2], k.candidates[1], k.candidates[3], k.candidates[0]]
    assert [line[2] for line in candidates[1:]] == [x.label for x in order]
    assert [line[6:] for line in candidates[1:]] == [(4, 1, "是"), (3, 2, "是"), (3, 3, "否"), (1, 4, "否")]
    assert candidates[2][3] == k.b.name and candidates[2][4] == 800.5 and candidates[2][5] == "城区停车场说明"
    assert len(c) == 4
    departments = list(book["部门汇总"].iter_rows(values_only=True))
    assert [line[0] for line in departments[1:]] == [k.a.name, k.b.name]
    assert departments[1][1:4] == (1, 2, 16)


def test_score_is_the_mean_weight() -> None:
    assert row_score({"满意": 100, "基本满意": 80}, CHOICES, {"满意": 1, "基本满意": 1, "不满意": 1}) == 60
    assert row_score(None, CHOICES, {"满意": 1}) is None
    assert row_score({"满意": 1}, CHOICES, {}) is None


# ------------------------------------------------------------------------------- thresholds


def _flags_on_page(k: Kinds) -> dict[int, list[str]]:
    page = Client().get(f"/hearings/{k.world.hearing.pk}/report/").content.decode()
    found = {}
    for department in (k.a, k.b):
        block = page.split(f'id="department-{department.pk}"')[1].split("</tr>")[0]
        found[department.pk] = [part.split("</span>")[0] for part in block.split('<span class="flag"')[1:]]
    return found


def test_rules_flag_exactly_the_departments_beyond_the_line() -> None:
    k = play(secret=True)
    report = {d.department_id: d for d in _report(k).departments}
    a, b = report[k.a.pk].figures, report[k.b.pk].figures
    # A: 16 valid, 6 不满意 (37.5 %); B: 6 valid, 2 不满意 (33.3 %), 满意率 66.7 %.
    assert (a.valid, a.dissatisfied, b.valid, b.dissatisfied, b.satisfied) == (16, 6, 6, 2, 4)
    Threshold.objects.create(metric="dissatisfied", percent=35)  # A only
    Threshold.objects.create(metric="satisfaction", percent=62, active=False)  # inactive: would flag A
    Threshold.objects.create(metric="satisfaction", percent=60)  # neither: A is 62.5 %, B 66.7 %
    report = {d.department_id: d for d in _report(k).departments}
    assert [x.text for x in report[k.a.pk].breaches] == ["不满意率高于 35%：实际 37.5%"]
    assert report[k.b.pk].breaches == []
    flags = _flags_on_page(k)
    assert len(flags[k.a.pk]) == 1 and "不满意率高于 35%：实际 37.5%" in flags[k.a.pk][0]
    assert flags[k.b.pk] == []


def _flagged(k: Kinds) -> tuple[set[int], set[int]]:
    """The departments flagged on the report, and on the scorecards."""
    report = {d.department_id for d in _report(k).departments if d.breaches}
    cards = {card.department_id for card in department_scorecards() if card.breaches}
    return report, cards


@pytest.mark.parametrize("secret", [True, False])
def test_exactly_at_the_line_is_not_flagged_on_report_and_scorecards(secret: bool) -> None:
    k = play(secret=secret)
    # B gets a satisfaction poll of four 满意: 10 valid, 2 不满意 (exactly 20 %), 满意率 exactly 80 %.
    poll = services.poll_open(hearing_id=k.world.hearing.pk, item_id=k.world.items[2].pk, by=None, secret=secret)
    for deputy in k.world.deputies[:4]:
        _cast(k.world, poll, deputy, choice="满意")
    _finish(k.world, poll)
    b = next(d for d in _report(k).departments if d.department_id == k.b.pk).figures
    assert (b.valid, b.satisfied, b.dissatisfied) == (10, 8, 2)
    # A: 16 valid, 10 satisfied (62.5 %), 6 不满意 (37.5 %).
    cases = [
        ("dissatisfied", 20, {k.a.pk}),  # B at the line
        ("dissatisfied", 19, {k.a.pk, k.b.pk}),
        ("dissatisfied", 37, {k.a.pk}),
        ("dissatisfied", 38, set()),
        ("satisfaction", 80, {k.a.pk}),  # B at the line
        ("satisfaction", 81, {k.a.pk, k.b.pk}),
        ("satisfaction", 62, set()),
        ("satisfaction", 63, {k.a.pk}),
    ]
    for metric, percent, expected in cases:
        Threshold.objects.all().delete()
        Threshold.objects.create(metric=metric, percent=percent)
        assert _flagged(k) == (expected, expected), (metric, percent)
        Threshold.objects.update(active=False)  # inactive: ignored
        assert _flagged(k) == (set(), set()), (metric, percent)


def test_scorecards_pool_sheet_rows_per_aspect_and_flag_with_the_rule() -> None:
    k = play(secret=True)
    cards = {card.department_id: card for card in department_scorecards()}
    a = cards[k.a.pk]
    # A: its satisfaction poll and its two sheet rows.
    assert [(p.poll_id, p.row_id) for p in a.polls] == [
        (k.sheet.pk, k.rows[0].pk),
        (k.sheet.pk, k.rows[1].pk),
        (k.satisfaction.pk, None),
    ]
    assert (a.valid, a.dissatisfied) == (16, 6)
    assert a.rate == pytest.approx(10 / 16)
    assert [(x.aspect, x.rows, x.valid) for x in a.aspects] == [("应询态度", 1, 6), ("回答质量", 1, 6)]
    b = cards[k.b.pk]
    assert [(p.poll_id, p.row_id) for p in b.polls] == [(k.sheet.pk, k.rows[2].pk)]
    assert [(x.aspect, x.valid) for x in b.aspects] == [("应询态度", 6)]
    Threshold.objects.create(metric="satisfaction", percent=65)  # A (62.5 %) only
    page = Client().get("/scorecards/").content.decode()
    card = page.split(f'id="department-{k.a.pk}"')[1].split("</li>\n    ")[0]
    assert "满意率低于 65%：实际 62.5%" in card
    other = page.split(f'id="department-{k.b.pk}"')[1].split("</li>\n    ")[0]
    assert 'class="flag"' not in other
    overview = page.split(f'id="overview-{k.a.pk}"')[1].split("</tr>")[0]
    assert "满意率低于 65%：实际 62.5%" in overview
    assert f'id="row-{k.rows[0].pk}"' in page and f'id="poll-{k.satisfaction.pk}"' in page


def test_unpublished_sheets_do_not_count_on_scorecards() -> None:
    k = play(secret=True, publish=False)
    assert department_scorecards() == []
    assert k.sheet.status == Poll.Status.CLOSED


def test_the_offices_drafts_stay_out_of_the_report() -> None:
    k = play(secret=True)
    draft = services.poll_prepare(
        hearing_id=k.world.hearing.pk,
        by=None,
        kind="select",
        title="尚未开启的票选",
        candidates=[services.OptionSpec("保密的候选项")],
    )
    assert draft.status == Poll.Status.DRAFT
    report = _report(k)
    shown = {p.id for p in report.polls} | {p.id for p in report.sheets} | {p.id for p in report.selects}
    assert draft.pk not in shown
    page = Client().get(f"/hearings/{k.world.hearing.pk}/report/").content.decode()
    assert "尚未开启的票选" not in page and "保密的候选项" not in page
    book = load_workbook(io.BytesIO(Client().get(f"/hearings/{k.world.hearing.pk}/report.xlsx").content))
    assert all("保密的候选项" not in str(cell) for row in book["票选"].iter_rows(values_only=True) for cell in row)
