"""Department scorecards (/scorecards/): every figure on a card and on the page is checked
against counts made here from the stored ballots (tally or Ballot rows) and TimelineEntry rows. Data is made through
the real services on a hand-moved clock."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import tinyhtml5  # type: ignore[import-untyped]  # WeasyPrint's HTML5 parser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments import services as assignment_services
from assignments.models import Assignment, TimelineEntry
from hearings import services as hearing_services
from hearings.models import AgendaItem, Department, Hearing, Question
from reports import charts
from reports.scorecards import DepartmentScorecard, department_scorecards, scorecard_summary
from reports.templatetags.reports_tags import percent
from tests.factories import make_department, make_user
from tests.voting.helpers import stored_counts
from voting import services as voting_services
from voting.models import Ballot, Poll

SHANGHAI = ZoneInfo("Asia/Shanghai")
XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
REPLIED = ("replied", "evaluated", "closed")
OPEN = ("assigned", "accepted", "in_progress", "reopened")

pytestmark = pytest.mark.django_db


# ----------------------------------------------------------------------------- the clock and the data


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def set(self, year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
        self.now = datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    c = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))
    with mock.patch("django.utils.timezone.now", side_effect=lambda: c.now):
        yield c


_texts = itertools.count(1)


@dataclass
class Stage:
    hearing: Hearing
    moderator: Any
    deputies: list[Any]
    items: dict[int, AgendaItem] = field(default_factory=dict)


def liaison(department: Department) -> Any:
    user = department.liaisons.first()
    if user is None:
        user = make_user()
        department.liaisons.add(user)
    return user


def stage(
    departments: list[Department],
    *,
    deputies: int = 5,
    title: str = "优化营商环境问政会",
    starts_at: datetime | None = None,
) -> Stage:
    """A live hearing questioning `departments`, its deputies checked in."""
    hearing = Hearing.objects.create(title=title, starts_at=starts_at or timezone.now())
    moderator = make_user()
    hearing.moderators.add(moderator)
    deps = [make_user() for _ in range(deputies)]
    hearing.deputies.add(*deps)
    s = Stage(hearing, moderator, deps)
    for position, department in enumerate(departments, start=1):
        s.items[department.pk] = AgendaItem.objects.create(
            hearing=hearing, position=position, title=f"问政{department.name}", department=department
        )
    hearing_services.hearing_start(hearing_id=hearing.pk, by=moderator)
    for deputy in deps:
        voting_services.checkin(hearing_id=hearing.pk, deputy=deputy)
    return s


def run_poll(s: Stage, department: Department, votes: list[str], *, secret: bool = True, publish: bool = True) -> Poll:
    """Open the department's poll, the deputies vote `votes` in turn, close and (by default) publish."""
    poll = voting_services.poll_open(
        hearing_id=s.hearing.pk, item_id=s.items[department.pk].pk, by=s.moderator, secret=secret
    )
    for deputy, choice in zip(s.deputies, votes, strict=False):
        voting_services.ballot_cast(
            hearing_id=s.hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=uuid4()
        )
    voting_services.poll_close(hearing_id=s.hearing.pk, poll_id=poll.pk, by=s.moderator)
    if publish:
        voting_services.poll_publish(hearing_id=s.hearing.pk, poll_id=poll.pk, by=s.moderator)
    poll.refresh_from_db()
    return poll


def assign(s: Stage, department: Department, *, due: date, co: tuple[Department, ...] = ()) -> Assignment:
    """A moderator's question, answered and assigned to `department` (lead) by `due`."""
    item = s.items.get(department.pk)
    question = hearing_services.question_submit(
        hearing_id=s.hearing.pk,
        text=f"第{next(_texts)}个问题",
        source=Question.Source.MODERATOR,
        asker=s.moderator,
        item_id=item.pk if item else None,
    )
    hearing_services.question_answered(hearing_id=s.hearing.pk, question_id=question.pk, by=s.moderator, note="答复")
    return assignment_services.assignment_create(
        hearing_id=s.hearing.pk,
        question_ids=[question.pk],
        lead_department_id=department.pk,
        co_department_ids=[c.pk for c in co],
        due_date=due,
        by=s.moderator,
    )


def reply(a: Assignment) -> Assignment:
    """The lead department accepts (when it must) and replies, now."""
    by = liaison(a.lead_department)
    a.refresh_from_db()
    if a.status in ("assigned", "reopened"):
        assignment_services.assignment_accept(assignment_id=a.pk, by=by)
    return assignment_services.assignment_reply(assignment_id=a.pk, by=by, text="已办理完毕")


def evaluate(s: Stage, a: Assignment, verdict: str) -> Assignment:
    # A moderator's question has no deputy asker: the moderator records the verdict.
    return assignment_services.assignment_evaluate(
        assignment_id=a.pk, by=s.moderator, verdict=verdict, comment="仍未解决" if verdict == "不满意" else ""
    )


# ----------------------------------------------------------------------------- independent counts


def ballots(poll: Poll) -> Counter[str]:
    return stored_counts(poll)


def rate_of(counts: Counter[str], poll: Poll) -> float | None:
    valid = sum(counts[c] for c in poll.choices)
    return sum(counts[c] for c in poll.satisfied) / valid if valid else None


def outcome_of(a: Assignment, today: date) -> str:
    """The rule, read straight off the rows: the latest 'replied' entry against its due date."""
    a.refresh_from_db()
    if a.status in REPLIED:
        last = TimelineEntry.objects.filter(assignment=a, action="replied").order_by("at", "id").last()
        assert last is not None and last.due_date is not None
        return "on_time" if timezone.localdate(last.at) <= last.due_date else "late"
    if a.status in OPEN:
        return "overdue" if a.due_date < today else "pending"
    return "pending"


def expected_outcomes(department: Department, today: date) -> dict[str, int]:
    led = list(Assignment.objects.filter(lead_department=department))
    counted = Counter(outcome_of(a, today) for a in led)
    return {
        "total": len(led),
        "on_time": counted["on_time"],
        "late": counted["late"],
        "overdue": counted["overdue"],
        "pending": counted["pending"],
        "reopened": TimelineEntry.objects.filter(assignment__in=led, action="reopened")
        .values("assignment")
        .distinct()
        .count(),
    }


def card_outcomes(card: DepartmentScorecard) -> dict[str, int]:
    a = card.assignments
    return {
        "total": a.total,
        "on_time": a.on_time,
        "late": a.late,
        "overdue": a.overdue,
        "pending": a.pending,
        "reopened": a.reopened,
    }


def card_for(cards: list[DepartmentScorecard], department: Department) -> DepartmentScorecard:
    [card] = [c for c in cards if c.department_id == department.pk]
    return card


# ----------------------------------------------------------------------------- reading the page


def text(el: ET.Element) -> str:
    return "".join(el.itertext()).strip()


def page(client: Client, query: str = "") -> ET.Element:
    response = client.get("/scorecards/" + query)
    assert response.status_code == 200
    return tinyhtml5.parse(response.content.decode())


def by_id(root: ET.Element, element_id: str) -> ET.Element | None:
    return root.find(f".//*[@id='{element_id}']")


def figures(el: ET.Element) -> dict[str, list[str]]:
    """The texts of the data-figure elements inside `el`, by figure."""
    found: dict[str, list[str]] = {}
    for node in el.iter():
        name = node.get("data-figure")
        if name:
            found.setdefault(name, []).append(text(node))
    return found


def page_card(root: ET.Element, department: Department) -> dict[str, list[str]]:
    card = by_id(root, f"department-{department.pk}")
    assert card is not None, f"no card for {department.name}"
    return figures(card)


def poll_row(root: ET.Element, poll: Poll) -> dict[str, list[str]]:
    row = by_id(root, f"poll-{poll.pk}")
    assert row is not None
    return figures(row)


def department_ids_in_order(root: ET.Element) -> list[int]:
    return [
        int(el.get("id", "").removeprefix("department-"))
        for el in root.iter(f"{XHTML}li")
        if el.get("id", "").startswith("department-")
    ]


# ----------------------------------------------------------------------------- polls


def test_poll_figures_are_counted_from_the_ballots_on_the_card_and_the_page(clock: Clock, client: Client) -> None:
    dev, housing = make_department("县发展和改革局"), make_department("县住房和城乡建设局")
    first = stage([dev, housing], deputies=6)
    p1 = run_poll(first, dev, ["满意", "满意", "基本满意", "不满意", "满意"])  # 5 of 6 vote
    p2 = run_poll(first, housing, ["不满意", "不满意", "基本满意"], secret=False)
    clock.set(2026, 4, 8)
    second = stage([dev], deputies=4, title="第二场问政会")
    p3 = run_poll(second, dev, ["不满意", "满意", "不满意", "不满意"])
    # The stored results are not trusted: the figures come from the stored ballots.
    Poll.objects.filter(pk=p1.pk).update(results={"满意": 99, "基本满意": 0, "不满意": 0})

    cards = department_scorecards()
    card = card_for(cards, dev)
    assert [p.poll_id for p in card.polls] == [p1.pk, p3.pk]  # by hearing date
    for score, poll in zip(card.polls, [p1, p3], strict=True):
        counted = ballots(poll)
        assert {c.choice: c.count for c in score.counts} == {c: counted[c] for c in poll.choices}
        assert [c.choice for c in score.counts] == poll.choices
        assert score.eligible == poll.eligible and score.cast == poll.cast == sum(counted.values())
        assert score.rate == pytest.approx(rate_of(counted, poll), abs=1e-4)
        assert score.hearing_title == poll.hearing.title
    c1, c3 = ballots(p1), ballots(p3)
    pooled = (c1["满意"] + c1["基本满意"] + c3["满意"] + c3["基本满意"]) / (sum(c1.values()) + sum(c3.values()))
    assert card.satisfied == 5 and card.valid == 9
    assert card.rate == pytest.approx(pooled)

    root = page(client)
    shown = page_card(root, dev)
    assert shown["overall_rate"] == [percent(pooled)]
    for poll, counted in ((p1, c1), (p3, c3)):
        row = poll_row(root, poll)
        assert row["eligible"] == [str(poll.eligible)] and row["cast"] == [str(sum(counted.values()))]
        assert row["choice"] == [str(counted[c]) for c in poll.choices]
        assert row["poll_rate"] == [percent(rate_of(counted, poll))]
    housing_row = poll_row(root, p2)
    assert housing_row["choice"] == ["0", "1", "2"]
    assert housing_row["poll_rate"] == [percent(1 / 3)] == ["33.3%"]
    assert page_card(root, housing)["overall_rate"] == ["33.3%"]


def test_a_secret_polls_ballots_are_counted(clock: Clock) -> None:
    dept = make_department()
    s = stage([dept], deputies=4)
    poll = run_poll(s, dept, ["满意", "不满意", "满意", "基本满意"], secret=True)
    assert not Ballot.objects.filter(poll=poll).exists()  # counts only: no link to the deputy

    [card] = department_scorecards()
    assert {c.choice: c.count for c in card.polls[0].counts} == {"满意": 2, "基本满意": 1, "不满意": 1}
    assert card.valid == sum(ballots(poll).values()) == 4
    assert card.rate == pytest.approx(0.75)


def test_a_poll_with_its_own_choices_gets_its_own_columns(clock: Clock, client: Client) -> None:
    dept = make_department()
    s = stage([dept], deputies=4)
    poll = voting_services.poll_open(
        hearing_id=s.hearing.pk,
        item_id=s.items[dept.pk].pk,
        by=s.moderator,
        choices=["很满意", "满意", "不满意"],
        satisfied=["很满意", "满意"],
    )
    for deputy, choice in zip(s.deputies, ["很满意", "很满意", "不满意", "满意"], strict=True):
        voting_services.ballot_cast(
            hearing_id=s.hearing.pk, poll_id=poll.pk, deputy=deputy, choice=choice, ballot_id=uuid4()
        )
    voting_services.poll_close(hearing_id=s.hearing.pk, poll_id=poll.pk, by=s.moderator)
    voting_services.poll_publish(hearing_id=s.hearing.pk, poll_id=poll.pk, by=s.moderator)

    [card] = department_scorecards()
    counted = ballots(poll)
    assert card.choices == ("满意", "基本满意", "不满意", "很满意")
    assert card.poll_rows[0].cells == (counted["满意"], None, counted["不满意"], counted["很满意"]) == (1, None, 1, 2)
    assert card.rate == pytest.approx(0.75)
    row = poll_row(page(client), poll)
    assert row["choice"] == ["1", "—", "1", "2"]
    assert row["poll_rate"] == ["75.0%"]


def test_only_published_polls_count(clock: Clock, client: Client) -> None:
    shown, hidden = make_department("县市场监督管理局"), make_department("县交通运输局")
    s = stage([shown, hidden])
    published = run_poll(s, shown, ["满意", "满意", "不满意"])
    run_poll(s, shown, ["不满意", "不满意", "不满意"], publish=False)  # closed, results not public
    run_poll(s, hidden, ["满意", "满意"], publish=False)
    voting_services.poll_open(hearing_id=s.hearing.pk, item_id=s.items[hidden.pk].pk, by=s.moderator)  # still open

    cards = department_scorecards()
    assert [c.department_id for c in cards] == [shown.pk]  # the other department has nothing public
    assert [p.poll_id for p in cards[0].polls] == [published.pk]
    assert cards[0].rate == pytest.approx(2 / 3)

    root = page(client)
    assert by_id(root, f"department-{hidden.pk}") is None
    assert page_card(root, shown)["overall_rate"] == ["66.7%"]
    assert [el.get("id") for el in root.iter(f"{XHTML}tr") if (el.get("id") or "").startswith("poll-")] == [
        f"poll-{published.pk}"
    ]


def test_a_department_without_polls_shows_a_dash_and_comes_last(clock: Clock, client: Client) -> None:
    low, high, none_ = make_department("乙局"), make_department("甲局"), make_department("丙局")
    s = stage([low, high, none_])
    run_poll(s, low, ["不满意", "满意"])
    run_poll(s, high, ["满意", "满意"])
    assign(s, none_, due=date(2026, 3, 20))

    cards = department_scorecards()
    assert [c.department_id for c in cards] == [high.pk, low.pk, none_.pk]
    assert cards[-1].rate is None and cards[-1].polls == ()

    root = page(client)
    assert department_ids_in_order(root) == [high.pk, low.pk, none_.pk]
    shown = page_card(root, none_)
    assert shown["overall_rate"] == ["—"]
    assert "choice" not in shown  # no poll table
    overview = by_id(root, f"overview-{none_.pk}")
    assert overview is not None and figures(overview)["rate"] == ["—"]


def test_departments_without_a_rate_are_ordered_by_name(clock: Clock) -> None:
    b, a = make_department("县乙局"), make_department("县甲局")
    s = stage([b, a])
    assign(s, b, due=date(2026, 3, 20))
    assign(s, a, due=date(2026, 3, 20))
    assert [c.name for c in department_scorecards()] == sorted(["县乙局", "县甲局"])


# ----------------------------------------------------------------------------- assignments


def test_a_reply_on_the_due_date_is_on_time_and_a_day_later_late(clock: Clock, client: Client) -> None:
    dept = make_department()
    s = stage([dept])
    due = date(2026, 3, 20)
    on_the_day, next_day, next_morning = (assign(s, dept, due=due) for _ in range(3))

    clock.set(2026, 3, 20, 23, 50)  # the last minutes of the due date, Beijing time
    reply(on_the_day)
    clock.set(2026, 3, 21, 0, 10)
    reply(next_day)
    clock.set(2026, 3, 21, 7, 0)  # still 20 March in UTC: the local date decides
    reply(next_morning)

    today = date(2026, 3, 25)
    card = card_for(department_scorecards(today=today), dept)
    assert card_outcomes(card) == expected_outcomes(dept, today)
    assert (card.assignments.on_time, card.assignments.late) == (1, 2)
    assert card.assignments.on_time_rate == pytest.approx(1 / 3)

    clock.set(2026, 3, 25)
    shown = page_card(page(client), dept)
    assert (shown["on_time"], shown["late"], shown["total"]) == (["1"], ["2"], ["3"])
    assert shown["on_time_rate"] == ["33.3%"]


def test_an_approved_extension_moves_the_due_date(clock: Clock) -> None:
    dept = make_department()
    s = stage([dept])
    extended, not_extended = assign(s, dept, due=date(2026, 3, 20)), assign(s, dept, due=date(2026, 3, 20))
    by = liaison(dept)
    assignment_services.assignment_accept(assignment_id=extended.pk, by=by)
    assignment_services.assignment_request_extension(
        assignment_id=extended.pk, by=by, due_date=date(2026, 4, 10), reason="需要跨部门协调"
    )
    assignment_services.assignment_decide_extension(assignment_id=extended.pk, by=s.moderator, approve=True)

    clock.set(2026, 4, 1)
    reply(extended)
    reply(not_extended)

    today = date(2026, 4, 2)
    card = card_for(department_scorecards(today=today), dept)
    assert card_outcomes(card) == expected_outcomes(dept, today)
    assert (card.assignments.on_time, card.assignments.late) == (1, 1)


def test_a_reopened_assignment_is_judged_by_its_latest_reply(clock: Clock, client: Client) -> None:
    dept = make_department()
    s = stage([dept])
    a = assign(s, dept, due=date(2026, 3, 10))
    clock.set(2026, 3, 12)
    reply(a)  # late
    evaluate(s, a, "不满意")
    assignment_services.assignment_reopen(assignment_id=a.pk, by=s.moderator, due_date=date(2026, 3, 31))

    today = date(2026, 3, 15)
    card = card_for(department_scorecards(today=today), dept)
    # Back with the department and not yet due: the first, late reply no longer decides.
    assert card_outcomes(card) == expected_outcomes(dept, today)
    assert card_outcomes(card) == {"total": 1, "on_time": 0, "late": 0, "overdue": 0, "pending": 1, "reopened": 1}
    assert card.verdicts_total == 0  # the verdict was cleared by the reopening

    clock.set(2026, 3, 30)
    reply(a)  # on time against the new due date
    evaluate(s, a, "基本满意")
    today = date(2026, 4, 20)
    card = card_for(department_scorecards(today=today), dept)
    assert card_outcomes(card) == expected_outcomes(dept, today)
    assert (card.assignments.on_time, card.assignments.late, card.assignments.reopened) == (1, 0, 1)
    assert {v.verdict: v.count for v in card.verdicts} == {"满意": 0, "基本满意": 1, "不满意": 0}

    clock.set(2026, 4, 20)
    shown = page_card(page(client), dept)
    assert (shown["on_time"], shown["late"], shown["reopened"]) == (["1"], ["0"], ["1"])
    assert shown["verdict"] == ["0", "1", "0"]


def test_overdue_pending_and_returned(clock: Clock) -> None:
    dept, other = make_department(), make_department()
    s = stage([dept, other])
    overdue = assign(s, dept, due=date(2026, 3, 10))
    assign(s, dept, due=date(2026, 3, 31))  # not yet due
    due_today = assign(s, dept, due=date(2026, 3, 20))
    returned = assign(s, dept, due=date(2026, 3, 5))
    assignment_services.assignment_accept(assignment_id=overdue.pk, by=liaison(dept))
    assignment_services.assignment_return(assignment_id=returned.pk, by=liaison(dept), reason="不属本单位职责")

    today = date(2026, 3, 20)
    card = card_for(department_scorecards(today=today), dept)
    assert card_outcomes(card) == expected_outcomes(dept, today)
    assert (card.assignments.overdue, card.assignments.pending) == (1, 3)
    assert card.assignments.on_time_rate is None
    assert due_today.due_date == today  # due today is not overdue yet
    # A day later the one due today is overdue too; the returned one never is.
    later = card_for(department_scorecards(today=date(2026, 3, 21)), dept)
    assert (later.assignments.overdue, later.assignments.pending) == (2, 2)


def test_verdicts_and_reviews(clock: Clock, client: Client) -> None:
    dept = make_department()
    s = stage([dept])
    made = [assign(s, dept, due=date(2026, 3, 31)) for _ in range(5)]
    clock.set(2026, 3, 20)
    for a, verdict in zip(made, ["满意", "满意", "基本满意", "不满意", "满意"], strict=True):
        reply(a)
        evaluate(s, a, verdict)
    for a in made[:4]:
        assignment_services.assignment_close(assignment_id=a.pk, by=s.moderator)
    clock.set(2026, 9, 25)
    assignment_services.assignment_review(assignment_id=made[0].pk, by=s.moderator, outcome="held", note="未反弹")
    assignment_services.assignment_review(assignment_id=made[1].pk, by=s.moderator, outcome="relapsed", note="又出现")

    card = card_for(department_scorecards(), dept)
    rows = Assignment.objects.filter(lead_department=dept)
    verdicts = Counter(rows.exclude(verdict="").values_list("verdict", flat=True))
    assert {v.verdict: v.count for v in card.verdicts} == {v: verdicts[v] for v in ("满意", "基本满意", "不满意")}
    reviews = (card.reviews.held, card.reviews.relapsed, card.reviews.due)
    assert reviews == (
        rows.filter(review_outcome="held").count(),
        rows.filter(review_outcome="relapsed").count(),
        rows.filter(review_due__isnull=False, reviewed_at__isnull=True).count(),
    )
    assert reviews == (1, 1, 2)

    shown = page_card(page(client), dept)
    # The relapse reopened made[1]: its verdict is cleared until the deputy evaluates again.
    assert Assignment.objects.get(pk=made[1].pk).status == "reopened"
    assert shown["verdict"] == ["2", "1", "1"]
    assert (shown["held"], shown["relapsed"], shown["review_due"]) == (["1"], ["1"], ["2"])


def test_how_the_department_rated_the_questions_is_shown_to_staff(clock: Clock, client: Client) -> None:
    """双向评议: the card carries the mean 科学性 and 可行性 the department gave the questions it
    answered, and how many it rated; the page shows it to moderators and office staff only."""
    dept = make_department()
    s = stage([dept])
    made = [assign(s, dept, due=date(2026, 3, 31)) for _ in range(3)]
    clock.set(2026, 3, 20)
    by = liaison(dept)
    for a, (science, feasibility) in zip(made, [(5, 2), (4, 3), (None, None)], strict=True):
        assignment_services.assignment_accept(assignment_id=a.pk, by=by)
        assignment_services.assignment_reply(
            assignment_id=a.pk, by=by, text="已办理", science=science, feasibility=feasibility
        )
    rows = Assignment.objects.filter(lead_department=dept, department_science__isnull=False)
    card = card_for(department_scorecards(), dept)
    assert card.ratings.rated == rows.count() == 2
    assert card.ratings.science == sum(r.department_science or 0 for r in rows) / 2 == 4.5
    assert card.ratings.feasibility == 2.5
    assert "science" not in page_card(page(client), dept)  # the public page does not show it
    client.force_login(s.moderator)
    shown = page_card(page(client), dept)
    assert (shown["science"], shown["feasibility"], shown["rated"]) == (["4.5"], ["2.5"], ["2"])


def test_co_departments_are_not_counted(clock: Clock, client: Client) -> None:
    lead, helper, helper_with_poll = make_department(), make_department(), make_department()
    s = stage([lead, helper, helper_with_poll])
    run_poll(s, helper_with_poll, ["满意"])
    assign(s, lead, due=date(2026, 3, 10), co=(helper, helper_with_poll))

    today = date(2026, 3, 20)
    cards = department_scorecards(today=today)
    assert {c.department_id for c in cards} == {lead.pk, helper_with_poll.pk}  # helper has nothing of its own
    assert card_for(cards, lead).assignments.overdue == 1
    assert card_outcomes(card_for(cards, helper_with_poll)) == expected_outcomes(helper_with_poll, today)
    assert card_for(cards, helper_with_poll).assignments.total == 0

    root = page(client)
    assert by_id(root, f"department-{helper.pk}") is None
    assert "total" not in page_card(root, helper_with_poll)
    link = by_id(root, f"department-{lead.pk}")
    assert link is not None
    hrefs = [a.get("href") for a in link.iter(f"{XHTML}a")]
    href = f"/assignments/?department={lead.pk}&lead=1"
    assert href in hrefs
    # The total links to the list of exactly the assignments it counts (led, not helped with).
    listed = client.get(href).content.decode().count('<tr id="assignment-')
    assert listed == card_for(cards, lead).assignments.total == 1
    helped = client.get(f"/assignments/?department={helper_with_poll.pk}&lead=1").content.decode()
    assert '<tr id="assignment-' not in helped


# ----------------------------------------------------------------------------- the year filter


def test_the_year_filter(clock: Clock, client: Client) -> None:
    old, new = make_department("县教育局"), make_department("县卫生健康局")
    s2025 = stage([old, new], starts_at=datetime(2025, 6, 1, 9, 0, tzinfo=SHANGHAI), title="2025年问政会")
    run_poll(s2025, old, ["满意", "不满意"])
    assign(s2025, new, due=date(2026, 3, 20))
    # 00:30 on New Year's Day in Beijing is still 2025 in UTC: the hearing is of 2026.
    s2026 = stage([new], starts_at=datetime(2026, 1, 1, 0, 30, tzinfo=SHANGHAI), title="2026年问政会")
    p2026 = run_poll(s2026, new, ["满意", "满意", "基本满意"])

    in_2025 = department_scorecards(year=2025)
    assert [c.department_id for c in in_2025] == [old.pk, new.pk]
    assert card_for(in_2025, new).polls == () and card_for(in_2025, new).assignments.total == 1
    in_2026 = department_scorecards(year=2026)
    assert [c.department_id for c in in_2026] == [new.pk]
    assert [p.poll_id for p in in_2026[0].polls] == [p2026.pk]
    assert in_2026[0].assignments.total == 0
    assert scorecard_summary(in_2026).hearings == 1
    assert scorecard_summary(department_scorecards()).hearings == 2
    assert department_scorecards(year=2024) == []

    root = page(client, "?year=2026")
    assert department_ids_in_order(root) == [new.pk]
    select = by_id(root, "sc-year")
    assert select is not None
    options = {o.get("value"): o.get("selected") is not None for o in select.iter(f"{XHTML}option")}
    assert options == {"": False, "2026": True, "2025": False}
    summary = by_id(root, "scorecard-summary")
    assert summary is not None and figures(summary)["hearings"] == ["1"]
    empty = page(client, "?year=2024")
    assert department_ids_in_order(empty) == []
    assert department_ids_in_order(page(client, "?year=")) == [new.pk, old.pk]  # "" is every year


@pytest.mark.parametrize(
    "year", ["abc", "2026.0", "20260", "226", "1999", "2101", "-2026", "+2026", " 2026", "２０２６", "2_026"]
)
def test_a_bad_year_is_a_400(client: Client, year: str) -> None:
    response = client.get("/scorecards/", {"year": year})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "2000" in response.content.decode() and "2100" in response.content.decode()


def test_the_page_is_public_and_get_only(client: Client) -> None:
    assert client.get("/scorecards/").status_code == 200
    assert client.post("/scorecards/").status_code == 405


def test_the_selector_refuses_an_out_of_range_year() -> None:
    with pytest.raises(ValueError, match="year"):
        department_scorecards(year=1999)


# ----------------------------------------------------------------------------- summary, escaping, languages


def test_the_summary(clock: Clock, client: Client) -> None:
    a, b = make_department(), make_department()
    s = stage([a, b])
    run_poll(s, a, ["满意", "不满意", "不满意", "满意"])
    run_poll(s, b, ["基本满意", "满意"])
    assign(s, b, due=date(2026, 3, 20))

    summary = scorecard_summary(department_scorecards())
    all_ballots = sum((ballots(poll) for poll in Poll.objects.all()), Counter[str]())
    assert (summary.departments, summary.hearings, summary.polls, summary.assignments) == (2, 1, 2, 1)
    assert summary.valid == sum(all_ballots.values())
    assert summary.rate == pytest.approx((all_ballots["满意"] + all_ballots["基本满意"]) / sum(all_ballots.values()))

    root = page(client)
    shown = by_id(root, "scorecard-summary")
    assert shown is not None
    assert figures(shown) == {
        "departments": ["2"],
        "hearings": ["1"],
        "rate": [percent(summary.rate)],
        "assignments": ["1"],
    }


def test_department_names_are_escaped_on_the_page(clock: Clock, client: Client) -> None:
    evil = make_department('<script>alert("x")</script>局', "恶意局")
    s = stage([evil])
    run_poll(s, evil, ["满意"])
    assign(s, evil, due=date(2026, 3, 20))
    body = client.get("/scorecards/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body
    root = tinyhtml5.parse(body)
    svgs = list(root.iter(f"{SVG}svg"))
    assert len(svgs) == 2 and all(svg.get("role") == "img" and svg.get("aria-label") for svg in svgs)


def test_the_page_in_english(clock: Clock, client: Client) -> None:
    dept = make_department()
    s = stage([dept])
    run_poll(s, dept, ["满意", "不满意"])
    response = client.get("/scorecards/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    root = tinyhtml5.parse(response.content.decode())
    assert root.get("lang") == "en"
    assert page_card(root, dept)["overall_rate"] == ["50.0%"]


# ----------------------------------------------------------------------------- bounded queries


def _build(departments: int, per_department: int) -> None:
    made = [make_department() for _ in range(departments)]
    s = stage(made, deputies=3)
    for n, department in enumerate(made):
        run_poll(s, department, ["满意", "基本满意", "不满意"][: 1 + n % 3], secret=n % 2 == 0)
        for k in range(per_department):
            a = assign(s, department, due=timezone.localdate() + timedelta(days=10))
            if k % 2:
                reply(a)


def test_queries_do_not_grow_with_departments_polls_or_assignments(clock: Clock, client: Client) -> None:
    _build(2, 1)
    with CaptureQueriesContext(connection) as small:
        department_scorecards()
    with CaptureQueriesContext(connection) as small_page:
        client.get("/scorecards/")
    _build(6, 5)
    clock.set(2026, 5, 1)
    _build(3, 4)  # a second hearing, another year's month
    with CaptureQueriesContext(connection) as large:
        cards = department_scorecards()
    with CaptureQueriesContext(connection) as large_page:
        response = client.get("/scorecards/")
    assert len(cards) == 11 and sum(c.assignments.total for c in cards) == 2 + 30 + 12
    assert response.status_code == 200
    # Polls, their counts (secret polls' tallies, named polls' ballots), assignments, threshold rules.
    assert len(large) == len(small) <= 5
    assert len(large_page) == len(small_page) <= 7


# ----------------------------------------------------------------------------- the SVG charts


def parse_svg(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label")
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == root.get("aria-label")
    return root


def rects(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if css_class in (r.get("class") or "").split()]


def test_rate_chart_escapes_names() -> None:
    svg = str(charts.rate_chart([('<script>alert("x")</script>', 0.5)], title="<b>满意率</b>"))
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg
    root = parse_svg(svg)
    assert root.get("aria-label") == "<b>满意率</b>"  # escaped in the markup, the same text when read
    # The full name in the row's tooltip, cut short beside the bar.
    assert [text(t) for t in root.iter(f"{SVG}title")][1] == '<script>alert("x")</script>: 50.0%'
    assert "<script>alert…" in [text(t) for t in root.iter(f"{SVG}text")]


def test_rate_chart_bars_are_proportional_and_none_is_a_dash() -> None:
    root = parse_svg(
        str(charts.rate_chart([("甲", 1.0), ("乙", 0.5), ("丙", 0.25), ("丁", 0.0), ("戊", None)], title="t"))
    )
    tracks = rects(root, "track")
    full = float(tracks[0].get("width") or 0)
    assert full > 100 and {t.get("width") for t in tracks} == {tracks[0].get("width")}
    widths = [float(r.get("width") or 0) for r in rects(root, "bar")]
    assert widths == pytest.approx([full, full / 2, full / 4, 0.0, 0.0], abs=0.1)
    values = [text(t) for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert values == ["100.0%", "50.0%", "25.0%", "0.0%", "—"]


def test_stacked_chart_is_on_one_scale_with_a_legend() -> None:
    segments = charts.outcome_segments()
    rows = [("甲", (3, 1, 0, 0)), ("乙<i>", (1, 0, 1, 0)), ("丙", (0, 0, 0, 0))]
    svg = str(charts.stacked_chart(rows, segments=segments, title="办理情况"))
    assert "<i>" not in svg
    root = parse_svg(svg)
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert legend is not None
    assert [text(t) for t in legend.iter(f"{SVG}text")] == [s.label for s in segments]
    assert [r.get("fill") for r in legend.iter(f"{SVG}rect")] == ["#1e7b45", "#8a5a00", "#b3261e", "#5f6b7a"]
    segs = rects(root, "seg")
    assert [r.get("class") for r in segs] == ["seg seg-on_time", "seg seg-late", "seg seg-on_time", "seg seg-overdue"]
    unit = float(segs[1].get("width") or 0)
    assert unit > 0
    assert [float(r.get("width") or 0) for r in segs] == pytest.approx([3 * unit, unit, unit, unit], abs=0.1)
    # The segments of a row sit side by side.
    assert float(segs[1].get("x") or 0) == pytest.approx(float(segs[0].get("x") or 0) + 3 * unit, abs=0.1)
    totals = [text(t) for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert totals == ["4", "2", "0"]


def test_charts_with_nothing_to_show() -> None:
    assert "暂无数据" in str(charts.rate_chart([], title="t"))
    parse_svg(str(charts.rate_chart([], title="t")))
    all_zero = parse_svg(
        str(charts.stacked_chart([("甲", (0, 0, 0, 0))], segments=charts.outcome_segments(), title="t"))
    )
    assert rects(all_zero, "seg") == []
    parse_svg(str(charts.stacked_chart([], segments=charts.outcome_segments(), title="t")))


def test_percent_filter() -> None:
    assert percent(None) == "—"
    assert percent(0.8333) == "83.3%"
    assert percent(0.0) == "0.0%"
    assert percent(1.0) == "100.0%"
    assert percent(5 / 9) == "55.6%"  # rounded, not cut off
    assert percent(0.6667) == "66.7%"
    assert percent(0.00049) == "0.0%"
