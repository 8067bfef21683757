"""A published 民生实事 select poll and its chosen projects, for the projects tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chamber import services as chamber_services
from hearings.models import Person
from tests.factories import World, make_user
from voting import services as voting_services
from voting.models import Poll, PollOption

DEPARTMENT_OF = {2: 0, 0: 1, 1: 2}  # candidate index → world.departments index
CANDIDATES = ["城区老旧小区改造", "农村饮水安全提升", "中小学食堂改造", "乡镇养老服务中心建设", "背街小巷路灯安装"]


def select_poll(world: World, *, choose: int = 2, secret: bool = True) -> tuple[Poll, list[PollOption]]:
    """An open select poll of five candidates, each with a budget and a note; candidates 2, 0
    and 1 have departments 0, 1 and 2, the others none."""
    hid = world.hearing.pk
    poll = voting_services.poll_open(
        hearing_id=hid,
        item_id=world.items[-1].pk,
        by=None,
        title="2027 年民生实事项目票决",
        kind=Poll.Kind.SELECT,
        secret=secret,
        candidates=[
            voting_services.OptionSpec(label, world.departments[DEPARTMENT_OF[n]].pk if n in DEPARTMENT_OF else None)
            for n, label in enumerate(CANDIDATES)
        ],
        min_picks=1,
        max_picks=3,
        choose=choose,
    )
    options = list(poll.options.order_by("position"))
    for n, option in enumerate(options):
        option.budget = Decimal("1200.50") + n
        option.note = f"说明{n}"
        option.save(update_fields=["budget", "note"])
    return poll, options


def vote(world: World, poll: Poll, picks: list[list[int]]) -> None:
    """One ballot per deputy: picks by candidate index."""
    options = list(poll.options.order_by("position"))
    for deputy, chosen in zip(world.deputies, picks, strict=False):
        voting_services.checkin(hearing_id=world.hearing.pk, deputy=deputy)
        voting_services.ballot_cast(
            hearing_id=world.hearing.pk,
            poll_id=poll.pk,
            deputy=deputy,
            ballot_id=uuid.uuid4(),
            picks=[options[i].pk for i in chosen],
        )


# Deputies' picks: candidate 2 three times, candidate 4 twice, candidate 0 once, so the ranking
# is 2, 4, 0, 1, 3 (ties by position) and the two chosen are 2 and 4.
PICKS = [[2, 4, 0], [2, 4], [2]]


def published_select(world: World, *, choose: int = 2) -> tuple[Poll, list[PollOption]]:
    poll, options = select_poll(world, choose=choose)
    vote(world, poll, PICKS)
    voting_services.poll_close(hearing_id=world.hearing.pk, poll_id=poll.pk, by=None)
    poll = chamber_services.poll_publish(hearing_id=world.hearing.pk, poll_id=poll.pk, by=world.moderator)
    return poll, options


@dataclass
class People:
    staff: Any
    liaison: Any  # of world.departments[0]
    liaison2: Any  # of world.departments[1]


def people(world: World) -> People:
    staff = make_user("office-staff")
    Person.objects.create(user=staff, name="会务工作人员", role=Person.Role.STAFF)
    liaison, liaison2 = make_user("liaison-a"), make_user("liaison-b")
    for user, department in ((liaison, world.departments[0]), (liaison2, world.departments[1])):
        Person.objects.create(user=user, name=f"{department.name}联络员", role=Person.Role.LIAISON)
        department.liaisons.add(user)
    return People(staff, liaison, liaison2)
