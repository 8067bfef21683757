"""Create (idempotently) the demo: a draft hearing, its departments, moderator, deputies and liaisons;
and two ended hearings with answered questions, published poll results counted from real ballots,
and assignments in several states, overdue ones included (shared/PROTOCOL.md, "Demo data"). The
ended hearings are played through the services on a controlled clock (demo/clock.py), in time
order: every time, due date and note is the one the services gave at that moment."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from assignments import services
from assignments.models import ReviewOutcome
from assignments.workdays import add_working_days, is_workday
from audience.models import Audience, Sample, Viewer
from chamber import services as chamber_services
from core.errors import DomainError
from demo.clock import Script, Stage, controlled_clock
from hearings import services as hearing_services
from hearings.models import AgendaItem, Department, Hearing, Like, Person, Question
from hearings.services import LikeRequest
from projects import services as project_services
from projects.models import Project
from voting import selectors as voting_selectors
from voting import services as voting_services
from voting.models import Poll
from voting.services import BallotRequest, OptionSpec

DEFAULT_PASSWORD = "wenzheng-demo-2026"
DEMO_TITLE = "“助企纾困 优化营商环境 助推高质量发展”代表问政会"

DEPARTMENTS = [
    ("县发展和改革局", "发改局"),
    ("县市场监督管理局", "市场监管局"),
    ("县人力资源和社会保障局", "人社局"),
    ("县自然资源局", "自然资源局"),
    ("县住房和城乡建设局", "住建局"),
    ("县税务局", "税务局"),
]

# The deputies' delegations (代表团), in turn.
DELEGATIONS = ["城关镇代表团", "东岗镇代表团", "西河乡代表团", "南山乡代表团", "北塬镇代表团"]

# (title, kind, department short name or None, planned minutes)
AGENDA = [
    ("主持人开场，介绍问政会议程", "opening", None, 5),
    ("问政县发展和改革局：惠企政策落实与项目审批", "questioning", "发改局", 20),
    ("问政县市场监督管理局：市场准入与涉企检查", "questioning", "市场监管局", 20),
    ("问政县人力资源和社会保障局：企业用工与稳岗", "questioning", "人社局", 20),
    ("问政县自然资源局：工业用地保障", "questioning", "自然资源局", 15),
    ("代表现场满意度测评", "evaluation", None, 10),
    ("县政府主要负责同志表态发言，闭幕", "closing", None, 10),
]


class Command(BaseCommand):
    help = "Create the demo hearing and its users (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deputies", type=int, default=30, help="number of deputies (default 30)")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password for every demo user")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="printed in the URLs")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["deputies"]
        password: str = options["password"]
        if count < 1 or count > 999:
            self.stderr.write("--deputies takes 1 to 999")
            raise SystemExit(2)
        users = get_user_model()

        def user(username: str, first_name: str = "", role: str = "", **person: str) -> Any:
            account, created = users.objects.get_or_create(username=username, defaults={"first_name": first_name})
            if created or not account.check_password(password):
                account.set_password(password)
                account.save()
            if role:
                Person.objects.update_or_create(user=account, defaults={"name": first_name, "role": role, **person})
            return account

        departments = {}
        for name, short in DEPARTMENTS:
            department, _ = Department.objects.get_or_create(short_name=short, defaults={"name": name})
            department.liaisons.add(user(f"liaison-{short}", f"{short}联络员", Person.Role.LIAISON))
            departments[short] = department

        moderator = user("moderator", "会务主持人", Person.Role.MODERATOR)
        user("staff", "会务工作人员", Person.Role.STAFF)
        admin = user("admin", "系统管理员")
        if not admin.is_superuser:
            admin.is_staff = admin.is_superuser = True
            admin.save()
        deputies = [
            user(
                f"deputy{n:03d}",
                f"代表{n:03d}",
                Person.Role.DEPUTY,
                delegation=DELEGATIONS[(n - 1) % len(DELEGATIONS)],
                seat=f"{(n - 1) // 10 + 1}排{(n - 1) % 10 + 1}号",
            )
            for n in range(1, count + 1)
        ]

        hearing = Hearing.objects.filter(title=DEMO_TITLE, status=Hearing.Status.DRAFT).first()
        if hearing is None:
            hearing = Hearing.objects.create(
                title=DEMO_TITLE,
                theme="助企纾困 优化营商环境 助推高质量发展",
                venue="县人大常委会机关一楼会议室",
                starts_at=(timezone.localtime() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0),
            )
            for position, (title, kind, dept, minutes) in enumerate(AGENDA, start=1):
                AgendaItem.objects.create(
                    hearing=hearing,
                    position=position,
                    title=title,
                    kind=kind,
                    department=departments[dept] if dept else None,
                    planned_minutes=minutes,
                )
        hearing.moderators.add(moderator)
        hearing.deputies.add(*deputies)
        past = seed_ended_hearings(departments=departments, moderator=moderator, deputies=deputies)[-1]
        # Now, after the history (the audit chain stays in time order).
        staff = users.objects.get(username="staff")
        prepare_closing_sheet(hearing, staff=staff)
        open_window_poll(past, staff=staff)

        base = options["base_url"].rstrip("/")
        out = self.stdout.write
        out(f"Demo hearing id: {hearing.pk}")
        out(f"  public live page   {base}/hearings/{hearing.pk}/")
        out(f"  big screen         {base}/hearings/{hearing.pk}/screen/")
        out(f"  deputy tablet      {base}/hearings/{hearing.pk}/tablet/")
        out(f"  control panel      {base}/hearings/{hearing.pk}/control/")
        out(f"  admin              {base}/admin/")
        out(f"Ended hearing id: {past.pk} (assignments in several states)")
        out(f"  session report     {base}/hearings/{past.pk}/report/")
        out(f"  assignments        {base}/assignments/?hearing={past.pk}")
        out(f"  scorecards         {base}/scorecards/")
        out(f"  department inbox   {base}/inbox/")
        out(f"  民生实事 projects   {base}/projects/")
        out(f"  deputies' polls    {base}/polls/  (a window poll open now: 事后测评)")
        out(f"  REST API           {base}/api/v1/assignments/  (OpenAPI: {base}/api/v1/openapi.json)")
        out(f"Logins (password {password}):")
        out("  moderator          moderator")
        out(f"  office staff       staff        ({base}/manage/)")
        out("  administrator      admin")
        out(f"  deputies           deputy001 … deputy{count:03d}")
        out(f"  liaisons           {', '.join('liaison-' + short for _, short in DEPARTMENTS)}")


# The aspects a closing sheet rates each questioned department on (测评表: department × aspect).
ASPECTS = ["应询态度", "回答质量", "整改措施"]
SHEET_TITLE = "对应询部门的满意度测评表"
WINDOW_TITLE = "会后测评：对应询部门整改情况的满意度"


def prepare_closing_sheet(hearing: Hearing, *, staff: Any) -> None:
    """The office's prepared sheet for the draft hearing's evaluation item: every questioned
    department × ASPECTS, for the moderator to open from the panel (once)."""
    if Poll.objects.filter(hearing=hearing, title=SHEET_TITLE).exists():
        return
    item = AgendaItem.objects.filter(hearing=hearing, kind=AgendaItem.Kind.EVALUATION).first()
    questioned = (
        AgendaItem.objects.filter(hearing=hearing, department__isnull=False)
        .order_by("position")
        .values_list("department_id", "department__name")
    )
    voting_services.poll_prepare(
        hearing_id=hearing.pk,
        by=staff,
        kind=Poll.Kind.SHEET,
        title=SHEET_TITLE,
        item_id=item.pk if item else None,
        rows=[OptionSpec(f"{name}·{aspect}", pk) for pk, name in questioned for aspect in ASPECTS],
    )


def open_window_poll(hearing: Hearing, *, staff: Any) -> None:
    """A window poll on an ended hearing (事后测评): the deputies rate on their own devices how
    the questioned departments carried out their commitments, open from yesterday for two
    weeks (made again once an earlier one has closed)."""
    if Poll.objects.filter(hearing=hearing, title=WINDOW_TITLE, status=Poll.Status.OPEN).exists():
        return
    departments = (
        AgendaItem.objects.filter(hearing=hearing, department__isnull=False)
        .order_by("position")
        .values_list("department_id", "department__name")
    )
    now = timezone.now()
    voting_services.poll_prepare(
        hearing_id=hearing.pk,
        by=staff,
        kind=Poll.Kind.SHEET,
        title=WINDOW_TITLE,
        rows=[OptionSpec(name, pk) for pk, name in departments],
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=14),
    )


# 民生实事 candidates the deputies choose from at the end of the latest ended hearing
# (群众提、代表定、政府办、人大评): (title, department short name, budget in 万元, note).
MINSHENG = [
    ("城区老旧小区改造（第二批）", "住建局", "3200", "改造 12 个小区的管网、屋面和电梯"),
    ("工业园区员工公寓建设", "发改局", "4800", "新建公寓 600 套，缓解园区企业招工难"),
    ("零工市场和就业驿站建设", "人社局", "380", "县城 1 个零工市场、乡镇 8 个就业驿站"),
    ("个体工商户“一件事”集成服务", "市场监管局", "150", "开办、变更、注销一窗通办"),
    ("工业用地“标准地”出让改革", "自然资源局", "260", "新出让工业用地全部按标准地供应"),
    ("办税服务厅智能化改造", "税务局", "120", "自助办税终端覆盖所有乡镇"),
]
MINSHENG_CHOSEN = 3
# Who picks which candidates: deputy n picks these three (indices into MINSHENG), in turn.
MINSHENG_PICKS = [(0, 1, 2), (0, 2, 3), (1, 0, 4), (0, 1, 5), (2, 1, 0)]
# What becomes of each chosen project: milestones the office plans (title, working days after the
# vote), and the department's reports (working day, percent, text, the milestone it completes or None).
PROJECT_PLAN = [("完成设计和招标", 10), ("开工建设", 20), ("完工验收", 120)]
PROJECT_REPORTS = [
    (6, 15, "完成可行性研究和初步设计", None),
    (12, 30, "完成招标，确定施工单位", 0),
    (22, 45, "已开工，完成工程量约四成", 1),
]


# The ended hearings, oldest first: (title, days ago, agenda, questions). Agenda: (title, department
# short name, minutes it really took, the deputies' votes as shares of 满意 / 基本满意 / 不满意).
# Questions: (agenda index, question, commitment, the state the assignment is left in, see STORIES).
PAST_HEARINGS: list[
    tuple[str, int, list[tuple[str, str, int, tuple[int, int, int]]], list[tuple[int, str, str, str]]]
] = [
    (
        "“营商环境”专题询问会（上半年）",
        200,
        [
            ("问政县住房和城乡建设局：工程建设项目审批", "住建局", 24, (4, 4, 2)),
            ("问政县税务局：办税缴费便利化", "税务局", 18, (7, 2, 1)),
            ("问政县发展和改革局：重点项目推进", "发改局", 21, (5, 3, 2)),
        ],
        [
            (0, "施工许可审批仍需跑多个窗口，何时实现一窗受理？", "三个月内实现一窗受理", "closed_held"),
            (0, "老旧小区改造进度滞后，居民意见大，如何加快？", "年底前完成首批改造", "closed_late"),
            (1, "小规模纳税人退税到账慢，能否提速？", "退税平均时限压缩到5个工作日", "closed_held"),
            (2, "重点项目用能指标不足，发改部门如何协调？", "积极向上争取指标", "closed_relapsed"),
        ],
    ),
    (
        "“优化营商环境”专题询问会（第一场）",
        40,
        [
            ("问政县发展和改革局：惠企资金兑现", "发改局", 22, (5, 3, 2)),
            ("问政县市场监督管理局：涉企检查", "市场监管局", 26, (6, 3, 1)),
            ("问政县人力资源和社会保障局：稳岗返还", "人社局", 19, (3, 4, 3)),
        ],
        [
            (0, "去年承诺的技改补贴，部分企业至今未到账，原因是什么？", "一个月内全部兑现到位", "closed"),
            (0, "项目审批“多头跑”问题何时解决？", "年内实现并联审批", "in_progress_overdue"),
            (1, "同一企业一个月内被不同部门检查多次，如何统筹？", "推行“综合查一次”", "replied"),
            (1, "个体户反映年报系统操作复杂，能否简化？", "两周内上线简化版", "assigned_overdue"),
            (2, "稳岗返还资金申请材料繁琐，能否免申即享？", "下季度实现免申即享", "reopened"),
            (2, "园区企业招工难，人社部门有哪些具体措施？", "每月举办一场专场招聘会", "accepted"),
            (2, "工业园区道路维修久拖不决，请问由谁负责？", "", "returned"),
        ],
    ),
]
PAST_TITLE = PAST_HEARINGS[-1][0]

# What becomes of an assignment after its hearing, by the state it is left in: the working days
# it is given, and its steps, each on the given working day after the hearing. 40 days hold at
# least some 22 working days whatever the holidays, 200 days some 128: the 40-day-old hearing's
# last step (working day 12) and the 200-day-old one's (120) happened before today (the clock
# refuses a step after the real time), its overdue ones' due dates (working days 11 and 16) are
# past, and the one left accepted has till working day 41.
STORIES: dict[str, tuple[int, list[tuple[int, str]]]] = {
    "closed_held": (
        20,
        [(1, "create"), (2, "accept"), (6, "progress"), (15, "reply"), (17, "满意"), (18, "close"), (120, "held")],
    ),
    "closed_late": (
        20,
        [(1, "create"), (2, "accept"), (8, "progress"), (26, "reply"), (28, "基本满意"), (29, "close")],
    ),
    "closed_relapsed": (
        20,
        [(1, "create"), (3, "accept"), (7, "progress"), (14, "reply"), (16, "满意"), (17, "close"), (118, "relapsed")],
    ),
    "closed": (20, [(1, "create"), (2, "accept"), (4, "progress"), (9, "reply"), (11, "满意"), (12, "close")]),
    "in_progress_overdue": (15, [(1, "create"), (2, "accept"), (5, "progress")]),
    "replied": (20, [(1, "create"), (2, "accept"), (3, "progress"), (10, "reply")]),
    "assigned_overdue": (10, [(1, "create")]),
    "reopened": (
        20,
        [(1, "create"), (2, "accept"), (3, "progress"), (8, "reply"), (9, "不满意"), (10, "reopen")],
    ),
    "accepted": (40, [(1, "create"), (3, "accept")]),
    "returned": (20, [(1, "create"), (2, "return")]),
}
REOPEN_WORKING_DAYS = 15
# The time of day each kind of step happens at.
STEP_TIMES = {
    "create": time(10, 0),
    "accept": time(9, 30),
    "return": time(11, 0),
    "progress": time(15, 0),
    "reply": time(16, 0),
    "满意": time(10, 30),
    "基本满意": time(10, 30),
    "不满意": time(10, 30),
    "reopen": time(14, 30),
    "close": time(14, 30),
    "held": time(10, 0),
    "relapsed": time(10, 0),
}
EVALUATION_COMMENTS = {"满意": "已落实", "基本满意": "已落实", "不满意": "企业仍需提交纸质材料，未真正免申"}
# Likes from the public: the hearing's, spread over its items, and each question's while it is answered.
HEARING_LIKES = 15_000  # with its questions', the latest hearing has 16,477 likes: 点赞1.6万余人次


def question_likes(n: int) -> int:
    return 100 + 37 * n


def seed_ended_hearings(*, departments: dict[str, Department], moderator: Any, deputies: list[Any]) -> list[Hearing]:
    """The ended hearings of PAST_HEARINGS that do not exist yet, played through the services
    together on a controlled clock, in time order (shared/PROTOCOL.md, "Demo data")."""
    found: dict[str, Hearing] = {}
    plays: list[PastHearing] = []
    today = timezone.localdate()
    for spec in PAST_HEARINGS:
        existing = Hearing.objects.filter(title=spec[0], status=Hearing.Status.ENDED).first()
        if existing is not None:
            existing.moderators.add(moderator)
            found[spec[0]] = existing
        else:
            plays.append(
                PastHearing(spec, today=today, departments=departments, moderator=moderator, deputies=deputies)
            )
    if plays:
        with controlled_clock(min(play.prepared for play in plays)) as clock:
            stage = Stage(clock)
            for play in plays:
                stage.add(play.script(stage))
            stage.run()
        for play in plays:
            assert play.hearing is not None
            found[play.spec[0]] = play.hearing
    return [found[title] for title, _, _, _ in PAST_HEARINGS]


# An ended hearing's audience (issue 19): page views, unique viewers, peak online; the latest
# (flagship) hearing's like the reference press release's 6.5万余人次. Unique viewers include every
# demo viewer who liked (vdemo000000 …), and the peak stays below them.
AUDIENCE = {True: (65_432, 21_608, 9_876), False: (41_250, 17_020, 6_150)}


def seed_audience(hearing: Hearing, *, starts: datetime, ends: datetime, reach: tuple[int, int, int]) -> None:
    """The hearing's counters and a sample a minute from its start to its end: the online count
    rising to its peak mid-session and falling off; page views and unique viewers growing to
    90 % of their totals by the end (the rest watched before it began or the replay after);
    likes counted from the stored likes up to each minute."""
    views, unique, peak = reach
    Audience.objects.create(hearing=hearing, page_views=views)
    # Tens of thousands of rows: one statement run many times, not a model instance each (seconds).
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {Viewer._meta.db_table} (hearing_id, viewer, first_seen) VALUES (%s, %s, %s)",
            [(hearing.pk, _viewer(v), starts) for v in range(unique)],
        )
    liked = sorted(Like.objects.filter(hearing=hearing).values_list("created_at", flat=True))
    minutes = int((ends - starts).total_seconds() // 60) + 1
    samples = []
    for m in range(minutes):
        at = starts + timedelta(minutes=m)
        x = (m + 1) / (minutes + 1)
        grown = 0.3 + 0.6 * x  # of the totals, by this minute
        samples.append(
            Sample(
                hearing=hearing,
                at=at,
                online=round(peak * math.sin(math.pi * x) ** 0.8 * (0.97 + 0.03 * math.cos(m * 1.7))),
                page_views=round(views * grown),
                unique_viewers=round(unique * grown),
                likes=bisect.bisect_right(liked, at),  # the likes given by then
            )
        )
    top = max(range(minutes), key=lambda m: samples[m].online)
    samples[top].online = peak  # the figure quoted, at its minute
    Sample.objects.bulk_create(samples)


def _choices(votes: tuple[int, int, int], voters: int) -> list[str]:
    """`voters` ballots split as the shares in `votes` (满意, 基本满意, 不满意), rounded."""
    total = sum(votes)
    satisfied = round(voters * votes[0] / total)
    basically = min(voters - satisfied, round(voters * votes[1] / total))
    return ["满意"] * satisfied + ["基本满意"] * basically + ["不满意"] * (voters - satisfied - basically)


# What a department says of a question when it rates it (双向评议).
RATING_COMMENTS = ("问题反映准确，建议具体可行", "问题属实，涉及多部门，需统筹推进", "")


def _local(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _workday(day: date, n: int) -> date:
    """The n-th working day after `day` (n = 0: the day itself)."""
    return add_working_days(day, n) if n else day


def _done(results: Sequence[object]) -> None:
    """A batch service's results: raise the first refusal."""
    for result in results:
        if isinstance(result, DomainError):
            raise result


def _viewer(n: int) -> str:
    return f"vdemo{n:06d}"


class PastHearing:
    """One ended hearing of PAST_HEARINGS, played as in the chamber: prepared a week ahead,
    check-in, the agenda items back to back from 9:00 (each as long as the spec says), deputies'
    questions staged and answered with commitments while the public likes them, a secret poll
    per department with real ballots (the last deputy absent) published; then an assignment per
    question, each moved through its STORIES steps over the following working days."""

    def __init__(
        self,
        spec: tuple[str, int, list[tuple[str, str, int, tuple[int, int, int]]], list[tuple[int, str, str, str]]],
        *,
        today: date,
        departments: dict[str, Department],
        moderator: Any,
        deputies: list[Any],
    ) -> None:
        self.spec = spec
        self.departments = departments
        self.moderator = moderator
        self.deputies = deputies
        day = today - timedelta(days=spec[1])
        while not is_workday(day):
            day -= timedelta(days=1)
        self.day = day
        self.starts = _local(day, time(9, 0))
        self.prepared = self.starts - timedelta(days=7)
        self.hearing: Hearing | None = None

    def script(self, stage: Stage) -> Script:
        title, _, agenda, questions = self.spec
        moderator, deputies = self.moderator, self.deputies
        yield self.prepared
        hearing = Hearing.objects.create(
            title=title, theme="优化营商环境", venue="县人大常委会机关一楼会议室", starts_at=self.starts
        )
        hearing.moderators.add(moderator)
        hearing.deputies.add(*deputies)
        items = [
            AgendaItem.objects.create(
                hearing=hearing,
                position=position,
                title=item_title,
                department=self.departments[short],
                planned_minutes=20,
            )
            for position, (item_title, short, _, _) in enumerate(agenda, start=1)
        ]
        present = deputies[:-1] if len(deputies) > 1 else deputies
        for n, deputy in enumerate(present):
            yield self.starts - timedelta(minutes=15) + n * timedelta(minutes=10) / len(present)
            voting_services.checkin(hearing_id=hearing.pk, deputy=deputy)
        yield self.starts
        hearing_services.hearing_start(hearing_id=hearing.pk, by=moderator)
        asked: list[tuple[int, Question, str, Any]] = []
        viewers = 0
        at = self.starts
        for index, (item, (_, _, minutes, votes)) in enumerate(zip(items, agenda, strict=True)):
            end = at + timedelta(minutes=minutes)
            yield at
            hearing_services.agenda_start(hearing_id=hearing.pk, item_id=item.pk, by=moderator)
            mine = [(n, question) for n, question in enumerate(questions) if question[0] == index]
            # The questions share the item's time from its first minute to 6 minutes before its end.
            slot = (end - at - timedelta(minutes=7)) / max(1, len(mine))
            for k, (n, (_, text, commitment, state)) in enumerate(mine):
                asked_at = at + timedelta(minutes=1) + k * slot
                deputy = deputies[n % len(deputies)]
                yield asked_at
                question = hearing_services.question_submit(
                    hearing_id=hearing.pk, text=text, source=Question.Source.DEPUTY, asker=deputy, item_id=item.pk
                )
                yield asked_at + timedelta(seconds=30)
                hearing_services.question_stage(hearing_id=hearing.pk, question_id=question.pk, by=moderator)
                yield asked_at + slot / 2
                _done(
                    hearing_services.like_add_many(
                        requests=[LikeRequest(hearing.pk, _viewer(v), question.pk) for v in range(question_likes(n))]
                    )
                )
                yield asked_at + slot - timedelta(seconds=30)
                question = hearing_services.question_answered(
                    hearing_id=hearing.pk, question_id=question.pk, by=moderator, commitment=commitment
                )
                asked.append((n, question, state, deputy))
            yield end - timedelta(minutes=6)
            share = HEARING_LIKES // len(items) + (index < HEARING_LIKES % len(items))
            _done(
                hearing_services.like_add_many(
                    requests=[LikeRequest(hearing.pk, _viewer(v), None) for v in range(viewers, viewers + share)]
                )
            )
            viewers += share
            if self.spec is PAST_HEARINGS[-1] and index == len(items) - 1:
                # The year's 民生实事 票选 closes the latest hearing, before its last department's poll.
                chosen = yield from self.minsheng_vote(hearing, item, present, end - timedelta(minutes=6))
                for n, project in enumerate(chosen):
                    stage.add(self.project_script(n, project))
            yield end - timedelta(minutes=5)
            poll = voting_services.poll_open(hearing_id=hearing.pk, item_id=item.pk, by=moderator)
            yield end - timedelta(minutes=4)
            ballots = [
                BallotRequest(deputy.pk, choice, uuid4())
                for deputy, choice in zip(present, _choices(votes, len(present)), strict=True)
            ]
            _done(voting_services.ballots_cast(hearing_id=hearing.pk, poll_id=poll.pk, requests=ballots))
            yield end - timedelta(minutes=2)
            voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
            yield end - timedelta(minutes=1)
            voting_services.poll_publish(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
            at = end
        yield at
        self.hearing = chamber_services.hearing_end(hearing_id=hearing.pk, by=moderator)
        seed_audience(hearing, starts=self.starts, ends=at, reach=AUDIENCE[self.spec is PAST_HEARINGS[-1]])
        for n, question, state, deputy in asked:
            lead = self.departments[agenda[questions[n][0]][1]]
            stage.add(self.assignment_script(n, question, state, lead=lead, deputy=deputy))

    def minsheng_vote(self, hearing: Hearing, item: AgendaItem, present: list[Any], at: datetime) -> Any:
        """The 民生实事 票选 (within a minute from `at`): each deputy present picks three of the
        candidates; the moderator closes and publishes, and the chosen become projects."""
        yield at + timedelta(seconds=5)
        poll = voting_services.poll_open(
            hearing_id=hearing.pk,
            item_id=item.pk,
            by=self.moderator,
            kind=Poll.Kind.SELECT,
            title=f"{timezone.localtime(self.starts).year}年度民生实事项目票决",
            candidates=[
                OptionSpec(title, self.departments[short].pk, Decimal(budget), note)
                for title, short, budget, note in MINSHENG
            ],
            min_picks=1,
            max_picks=MINSHENG_CHOSEN,
            choose=MINSHENG_CHOSEN,
        )
        yield at + timedelta(seconds=20)
        ids = voting_selectors.option_ids(poll)
        ballots = [
            BallotRequest(
                deputy.pk, None, uuid4(), picks=tuple(ids[k] for k in MINSHENG_PICKS[n % len(MINSHENG_PICKS)])
            )
            for n, deputy in enumerate(present)
        ]
        _done(voting_services.ballots_cast(hearing_id=hearing.pk, poll_id=poll.pk, requests=ballots))
        yield at + timedelta(seconds=35)
        voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll.pk, by=self.moderator)
        yield at + timedelta(seconds=45)
        chamber_services.poll_publish(hearing_id=hearing.pk, poll_id=poll.pk, by=self.moderator)
        return list(Project.objects.filter(poll=poll).order_by("pk"))

    def project_script(self, n: int, project: Project) -> Script:
        """A chosen project's first weeks: the office plans its milestones, the department reports."""
        assert project.department is not None
        liaison = project.department.liaisons.first()
        yield _local(_workday(self.day, 2), time(10, 0)) + timedelta(minutes=5 * n)
        milestones = [
            project_services.milestone_add(
                project_id=project.pk, by=None, title=title, due_date=_workday(self.day, days).isoformat()
            )
            for title, days in PROJECT_PLAN
        ]
        for day, percent, text, done in PROJECT_REPORTS:
            yield _local(_workday(self.day, day), time(16, 0)) + timedelta(minutes=5 * n)
            if done is not None:
                project_services.milestone_complete(project_id=project.pk, milestone_id=milestones[done].pk, by=liaison)
            project_services.progress_report(project_id=project.pk, by=liaison, progress=percent - 5 * n, text=text)

    def assignment_script(self, n: int, question: Question, state: str, *, lead: Department, deputy: Any) -> Script:
        """The assignment of the n-th question, through its STORIES steps."""
        assert self.hearing is not None
        hearing, moderator = self.hearing, self.moderator
        liaison = lead.liaisons.first()
        working_days, steps = STORIES[state]
        pk = 0
        for offset, step in steps:
            # A few minutes apart, so the hearing's assignments do not all move at the same instant.
            yield _local(_workday(self.day, offset), STEP_TIMES[step]) + timedelta(minutes=3 * n)
            if step == "create":
                pk = services.assignment_create(
                    hearing_id=hearing.pk,
                    question_ids=[question.pk],
                    lead_department_id=lead.pk,
                    working_days=working_days,
                    by=moderator,
                ).pk
            elif step == "accept":
                services.assignment_accept(assignment_id=pk, by=liaison, note="已签收，专人办理")
            elif step == "return":
                services.assignment_return(assignment_id=pk, by=liaison, reason="道路养护属县住房和城乡建设局职责")
            elif step == "progress":
                services.assignment_progress(assignment_id=pk, by=liaison, note="已走访相关企业，正在制定方案")
            elif step == "reply":
                # 双向评议: the department rates the question as it replies.
                services.assignment_reply(
                    assignment_id=pk,
                    by=liaison,
                    text=f"关于“{question.text[:20]}…”的办理情况：{question.commitment}，已落实。",
                    science=5 - n % 3,
                    feasibility=4 - n % 2,
                    comment=RATING_COMMENTS[n % len(RATING_COMMENTS)],
                )
            elif step in EVALUATION_COMMENTS:
                services.assignment_evaluate(
                    assignment_id=pk, by=deputy, verdict=step, comment=EVALUATION_COMMENTS[step]
                )
            elif step == "reopen":
                services.assignment_reopen(assignment_id=pk, by=moderator, working_days=REOPEN_WORKING_DAYS)
            elif step == "close":
                services.assignment_close(assignment_id=pk, by=moderator)
            elif step == "held":
                services.assignment_review(
                    assignment_id=pk, by=moderator, outcome=ReviewOutcome.HELD, note="回访企业，整改成效稳定"
                )
            elif step == "relapsed":
                services.assignment_review(
                    assignment_id=pk, by=moderator, outcome=ReviewOutcome.RELAPSED, note="用能指标再度紧张，需持续跟踪"
                )
            else:
                raise ValueError(f"unknown step {step}")
