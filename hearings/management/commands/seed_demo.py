"""Create (idempotently) the demo: a draft hearing, its departments, moderator, deputies and liaisons."""

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

        base = options["base_url"].rstrip("/")
        out = self.stdout.write
        out(f"Demo hearing id: {hearing.pk}")
        out(f"  public live page   {base}/hearings/{hearing.pk}/")
        out(f"  big screen         {base}/hearings/{hearing.pk}/screen/")
        out(f"  deputy tablet      {base}/hearings/{hearing.pk}/tablet/")
        out(f"  control panel      {base}/hearings/{hearing.pk}/control/")
        out(f"  admin              {base}/admin/")
        out(f"Logins (password {password}):")
        out("  moderator          moderator")
        out("  administrator      admin")
        out(f"  deputies           deputy001 … deputy{count:03d}")
        out(f"  liaisons           {', '.join('liaison-' + short for _, short in DEPARTMENTS)}")
