"""Create (idempotently) the demo: a draft hearing, its departments, moderator, deputies and liaisons;
and two ended hearings with answered questions, published poll results counted from real ballots,
and assignments in several states, overdue ones included (shared/PROTOCOL.md, "Demo data")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from assignments import services
from assignments.models import Assignment, ReviewOutcome
from chamber import services as chamber_services
from hearings import services as hearing_services
from hearings.models import AgendaItem, Department, Hearing, Question
from voting import services as voting_services
from voting.models import Attendance, Poll
from voting.services import BallotRequest

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

        def user(username: str, first_name: str = "") -> Any:
            account, created = users.objects.get_or_create(username=username, defaults={"first_name": first_name})
            if created or not account.check_password(password):
                account.set_password(password)
                account.save()
            return account

        departments = {}
        for name, short in DEPARTMENTS:
            department, _ = Department.objects.get_or_create(short_name=short, defaults={"name": name})
            department.liaisons.add(user(f"liaison-{short}", f"{short}联络员"))
            departments[short] = department

        moderator = user("moderator", "会务主持人")
        admin = user("admin", "系统管理员")
        if not admin.is_superuser:
            admin.is_staff = admin.is_superuser = True
            admin.save()
        deputies = [user(f"deputy{n:03d}", f"代表{n:03d}") for n in range(1, count + 1)]

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
        out(f"  REST API           {base}/api/v1/assignments/  (OpenAPI: {base}/api/v1/openapi.json)")
        out(f"Logins (password {password}):")
        out("  moderator          moderator")
        out("  administrator      admin")
        out(f"  deputies           deputy001 … deputy{count:03d}")
        out(f"  liaisons           {', '.join('liaison-' + short for _, short in DEPARTMENTS)}")


# The ended hearings, oldest first: (title, days ago, agenda, questions). Agenda: (title, department
# short name, minutes it really took, the deputies' votes as shares of 满意 / 基本满意 / 不满意).
# Questions: (agenda index, question, commitment, the state the assignment is left in).
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


def seed_ended_hearings(*, departments: dict[str, Department], moderator: Any, deputies: list[Any]) -> list[Hearing]:
    return [
        seed_ended_hearing(spec, departments=departments, moderator=moderator, deputies=deputies)
        for spec in PAST_HEARINGS
    ]


def _choices(votes: tuple[int, int, int], voters: int) -> list[str]:
    """`voters` ballots split as the shares in `votes` (满意, 基本满意, 不满意), rounded."""
    total = sum(votes)
    satisfied = round(voters * votes[0] / total)
    basically = min(voters - satisfied, round(voters * votes[1] / total))
    return ["满意"] * satisfied + ["基本满意"] * basically + ["不满意"] * (voters - satisfied - basically)


def seed_ended_hearing(
    spec: tuple[str, int, list[tuple[str, str, int, tuple[int, int, int]]], list[tuple[int, str, str, str]]],
    *,
    departments: dict[str, Department],
    moderator: Any,
    deputies: list[Any],
) -> Hearing:
    """An ended hearing, once, played through the services as in the chamber: check-in, agenda,
    deputies' questions answered with commitments, a secret poll per department with real ballots
    (one deputy absent), published; then assignments moved through the services (so the
    timelines are real) into several states. The session's times are then set to when it took
    place, keeping the length each agenda item really took in the spec."""
    title, days_ago, agenda, questions = spec
    existing = Hearing.objects.filter(title=title, status=Hearing.Status.ENDED).first()
    if existing is not None:
        existing.moderators.add(moderator)
        return existing
    started = (timezone.localtime() - timedelta(days=days_ago)).replace(hour=9, minute=0, second=0, microsecond=0)
    hearing = Hearing.objects.create(
        title=title, theme="优化营商环境", venue="县人大常委会机关一楼会议室", starts_at=started
    )
    hearing.moderators.add(moderator)
    hearing.deputies.add(*deputies)
    items = [
        AgendaItem.objects.create(
            hearing=hearing, position=position, title=item_title, department=departments[short], planned_minutes=20
        )
        for position, (item_title, short, _, _) in enumerate(agenda, start=1)
    ]
    hearing_services.hearing_start(hearing_id=hearing.pk, by=moderator)
    present = deputies[:-1] if len(deputies) > 1 else deputies
    for deputy in present:
        voting_services.checkin(hearing_id=hearing.pk, deputy=deputy)
    asked: list[tuple[Question, str, Any]] = []
    for index, (item, (_, _, _, votes)) in enumerate(zip(items, agenda, strict=True)):
        hearing_services.agenda_start(hearing_id=hearing.pk, item_id=item.pk, by=moderator)
        for n, (asked_at, text, commitment, state) in enumerate(questions):
            if asked_at != index:
                continue
            deputy = deputies[n % len(deputies)]
            question = hearing_services.question_submit(
                hearing_id=hearing.pk, text=text, source=Question.Source.DEPUTY, asker=deputy, item_id=item.pk
            )
            hearing_services.question_stage(hearing_id=hearing.pk, question_id=question.pk, by=moderator)
            hearing_services.question_answered(
                hearing_id=hearing.pk, question_id=question.pk, by=moderator, commitment=commitment
            )
            asked.append((question, state, deputy))
        poll = voting_services.poll_open(hearing_id=hearing.pk, item_id=item.pk, by=moderator)
        ballots = [
            BallotRequest(deputy.pk, choice, uuid4())
            for deputy, choice in zip(present, _choices(votes, len(present)), strict=True)
        ]
        voting_services.ballots_cast(hearing_id=hearing.pk, poll_id=poll.pk, requests=ballots)
        voting_services.poll_close(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
        voting_services.poll_publish(hearing_id=hearing.pk, poll_id=poll.pk, by=moderator)
    chamber_services.hearing_end(hearing_id=hearing.pk, by=moderator)

    # When it took place: the items back to back from 9:00, each as long as it really took.
    at = started
    Attendance.objects.filter(hearing=hearing).update(checked_in_at=started - timedelta(minutes=10))
    for item, (_, _, minutes, _) in zip(items, agenda, strict=True):
        end = at + timedelta(minutes=minutes)
        AgendaItem.objects.filter(pk=item.pk).update(started_at=at, ended_at=end)
        Question.objects.filter(hearing=hearing, item=item).update(
            created_at=at + timedelta(minutes=2),
            approved_at=at + timedelta(minutes=2),
            staged_at=at + timedelta(minutes=3),
            answered_at=at + timedelta(minutes=minutes - 6),
        )
        Poll.objects.filter(hearing=hearing, item=item).update(
            opened_at=end - timedelta(minutes=5),
            closed_at=end - timedelta(minutes=2),
            published_at=end - timedelta(minutes=1),
        )
        at = end
    Hearing.objects.filter(pk=hearing.pk).update(started_at=started, ended_at=at + timedelta(minutes=5), likes=16_384)
    for n, (question, _, _) in enumerate(asked):
        Question.objects.filter(pk=question.pk).update(likes=100 + 37 * n)

    for question, state, deputy in asked:
        lead = question.item.department if question.item else None
        assert lead is not None
        liaison = lead.liaisons.first()
        a = services.assignment_create(
            hearing_id=hearing.pk,
            question_ids=[question.pk],
            lead_department_id=lead.pk,
            working_days=20,
            by=moderator,
        )
        pk = a.pk
        if state == "returned":
            services.assignment_return(assignment_id=pk, by=liaison, reason="道路养护属县住房和城乡建设局职责")
            continue
        if state == "assigned_overdue":
            Assignment.objects.filter(pk=pk).update(due_date=timezone.localdate() - timedelta(days=3))
            continue
        services.assignment_accept(assignment_id=pk, by=liaison, note="已签收，专人办理")
        if state == "accepted":
            continue
        services.assignment_progress(assignment_id=pk, by=liaison, note="已走访相关企业，正在制定方案")
        if state in ("in_progress_overdue", "closed_late"):
            Assignment.objects.filter(pk=pk).update(due_date=timezone.localdate() - timedelta(days=5))
        if state == "in_progress_overdue":
            continue
        services.assignment_reply(
            assignment_id=pk, by=liaison, text=f"关于“{question.text[:20]}…”的办理情况：{question.commitment}，已落实。"
        )
        if state == "replied":
            continue
        if state == "reopened":
            services.assignment_evaluate(
                assignment_id=pk, by=deputy, verdict="不满意", comment="企业仍需提交纸质材料，未真正免申"
            )
            services.assignment_reopen(assignment_id=pk, by=moderator, working_days=15)
            continue
        verdict = "基本满意" if state == "closed_late" else "满意"
        services.assignment_evaluate(assignment_id=pk, by=deputy, verdict=verdict, comment="已落实")
        services.assignment_close(assignment_id=pk, by=moderator)
        if state == "closed_held":
            services.assignment_review(
                assignment_id=pk, by=moderator, outcome=ReviewOutcome.HELD, note="回访企业，整改成效稳定"
            )
        elif state == "closed_relapsed":
            services.assignment_review(
                assignment_id=pk, by=moderator, outcome=ReviewOutcome.RELAPSED, note="用能指标再度紧张，需持续跟踪"
            )
    hearing.refresh_from_db()
    return hearing
