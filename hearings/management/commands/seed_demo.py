"""Create (idempotently) the demo: a draft hearing, its departments, moderator, deputies and liaisons;
and an ended hearing with answered questions, published poll results and assignments in several
states, overdue ones included (shared/PROTOCOL.md, "Demo data")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from hearings.models import AgendaItem, Department, Hearing

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
        past = seed_ended_hearing(departments=departments, moderator=moderator, deputies=deputies)

        base = options["base_url"].rstrip("/")
        out = self.stdout.write
        out(f"Demo hearing id: {hearing.pk}")
        out(f"  public live page   {base}/hearings/{hearing.pk}/")
        out(f"  big screen         {base}/hearings/{hearing.pk}/screen/")
        out(f"  deputy tablet      {base}/hearings/{hearing.pk}/tablet/")
        out(f"  control panel      {base}/hearings/{hearing.pk}/control/")
        out(f"  admin              {base}/admin/")
        out(f"Ended hearing id: {past.pk} (assignments in several states)")
        out(f"  assignments        {base}/assignments/?hearing={past.pk}")
        out(f"  department inbox   {base}/inbox/")
        out(f"  REST API           {base}/api/v1/assignments/  (OpenAPI: {base}/api/v1/openapi.json)")
        out(f"Logins (password {password}):")
        out("  moderator          moderator")
        out("  administrator      admin")
        out(f"  deputies           deputy001 … deputy{count:03d}")
        out(f"  liaisons           {', '.join('liaison-' + short for _, short in DEPARTMENTS)}")


PAST_TITLE = "“优化营商环境”专题询问会（第一场）"
PAST_AGENDA = [
    ("问政县发展和改革局：惠企资金兑现", "发改局"),
    ("问政县市场监督管理局：涉企检查", "市场监管局"),
    ("问政县人力资源和社会保障局：稳岗返还", "人社局"),
]
# (agenda index, question, commitment, the state the assignment is left in)
PAST_QUESTIONS = [
    (0, "去年承诺的技改补贴，部分企业至今未到账，原因是什么？", "一个月内全部兑现到位", "closed"),
    (0, "项目审批“多头跑”问题何时解决？", "年内实现并联审批", "in_progress_overdue"),
    (1, "同一企业一个月内被不同部门检查多次，如何统筹？", "推行“综合查一次”", "replied"),
    (1, "个体户反映年报系统操作复杂，能否简化？", "两周内上线简化版", "assigned_overdue"),
    (2, "稳岗返还资金申请材料繁琐，能否免申即享？", "下季度实现免申即享", "reopened"),
    (2, "园区企业招工难，人社部门有哪些具体措施？", "每月举办一场专场招聘会", "accepted"),
    (2, "工业园区道路维修久拖不决，请问由谁负责？", "", "returned"),
]


def seed_ended_hearing(*, departments: dict[str, Department], moderator: Any, deputies: list[Any]) -> Hearing:
    """The ended demo hearing, once: its questions and polls, and assignments moved through the
    services (so the timelines are real) into several states; two are made overdue."""
    existing = Hearing.objects.filter(title=PAST_TITLE, status=Hearing.Status.ENDED).first()
    if existing is not None:
        existing.moderators.add(moderator)
        return existing
    from assignments import services
    from assignments.models import Assignment
    from hearings.models import Question
    from voting.models import Poll

    now = timezone.now()
    started = now - timedelta(days=40)
    hearing = Hearing.objects.create(
        title=PAST_TITLE,
        theme="优化营商环境",
        venue="县人大常委会机关一楼会议室",
        starts_at=started,
        started_at=started,
        ended_at=started + timedelta(hours=2),
        status=Hearing.Status.ENDED,
        likes=16_384,
    )
    hearing.moderators.add(moderator)
    hearing.deputies.add(*deputies)
    items = []
    for position, (title, short) in enumerate(PAST_AGENDA, start=1):
        item = AgendaItem.objects.create(
            hearing=hearing,
            position=position,
            title=title,
            department=departments[short],
            status=AgendaItem.Status.DONE,
            started_at=started,
            ended_at=started + timedelta(minutes=30),
        )
        items.append(item)
        voters = len(deputies)
        satisfied, basically = voters * 5 // 10, voters * 3 // 10
        Poll.objects.create(
            hearing=hearing,
            item=item,
            department=item.department,
            title=f"对{departments[short].name}的满意度测评",
            status=Poll.Status.PUBLISHED,
            eligible=voters,
            cast=voters,
            results={"满意": satisfied, "基本满意": basically, "不满意": voters - satisfied - basically},
            closed_at=started + timedelta(minutes=35),
            published_at=started + timedelta(minutes=36),
        )
    for n, (index, text, commitment, state) in enumerate(PAST_QUESTIONS):
        deputy = deputies[n % len(deputies)]
        question = Question.objects.create(
            hearing=hearing,
            item=items[index],
            text=text,
            source=Question.Source.DEPUTY,
            asker=deputy,
            status=Question.Status.ANSWERED,
            likes=100 + 37 * n,
            commitment=commitment,
            approved_at=started,
            answered_at=started + timedelta(minutes=10),
        )
        lead = items[index].department
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
        if state == "in_progress_overdue":
            Assignment.objects.filter(pk=pk).update(due_date=timezone.localdate() - timedelta(days=5))
            continue
        services.assignment_reply(
            assignment_id=pk, by=liaison, text=f"关于“{text[:20]}…”的办理情况：{commitment}，已落实。"
        )
        if state == "replied":
            continue
        if state == "reopened":
            services.assignment_evaluate(
                assignment_id=pk, by=deputy, verdict="不满意", comment="企业仍需提交纸质材料，未真正免申"
            )
            services.assignment_reopen(assignment_id=pk, by=moderator, working_days=15)
            continue
        services.assignment_evaluate(assignment_id=pk, by=deputy, verdict="满意", comment="资金已全部到账")
        services.assignment_close(assignment_id=pk, by=moderator)
    return hearing
