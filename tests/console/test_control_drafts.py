"""Polls the office prepared (drafts) on the control panel: listed in the polls part with an
"open" button, opened through the panel's action or the control socket's `poll.open` with
`draft`; published sheet and select polls show their rows and ranking on the panel."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from hearings.models import Person
from tests.conftest import Published
from tests.factories import World, make_user
from voting import selectors, services
from voting.models import Poll

pytestmark = pytest.mark.django_db


def staff() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务", role=Person.Role.STAFF)
    return user


def polls_part(client: Client, world: World) -> str:
    response = client.get(f"/hearings/{world.hearing.pk}/control/part/polls/", secure=True)
    assert response.status_code == 200
    return str(response.content.decode())


def prepare_sheet(world: World, **kwargs: Any) -> Poll:
    rows = [services.OptionSpec(d.name, d.pk) for d in world.departments]
    return services.poll_prepare(hearing_id=world.hearing.pk, by=staff(), kind="sheet", rows=rows, **kwargs)


def test_the_panel_lists_a_prepared_sheet_and_opens_it(client: Client, live_world: World, published: Published):
    w = live_world
    draft = prepare_sheet(w, item_id=w.items[1].pk, title="各部门满意度测评表")
    assert published.types() == ["poll.prepared"]
    assert published.last()[2] is None  # control only: the public is not told
    client.force_login(w.moderator)
    html = polls_part(client, w)
    assert f'id="poll-draft-{draft.pk}"' in html and "各部门满意度测评表" in html and "测评表 · 3 项" in html

    response = client.post(
        f"/hearings/{w.hearing.pk}/control/do/poll-open/",
        {"draft": draft.pk},
        secure=True,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'class="action-result ok"' in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Poll.Status.OPEN and draft.item_id == w.items[1].pk
    html = polls_part(client, w)
    assert f'id="poll-draft-{draft.pk}"' not in html and f'id="poll-{draft.pk}"' in html


def test_a_deputy_cannot_open_a_draft_from_the_panel(client: Client, live_world: World):
    w = live_world
    draft = prepare_sheet(w, item_id=w.items[1].pk)
    client.force_login(w.deputies[0])
    response = client.post(
        f"/hearings/{w.hearing.pk}/control/do/poll-open/",
        {"draft": draft.pk},
        secure=True,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == Poll.Status.DRAFT


def test_published_sheet_and_select_show_rows_and_ranking_on_the_panel(client: Client, live_world: World):
    w = live_world
    for deputy in w.deputies:
        services.checkin(hearing_id=w.hearing.pk, deputy=deputy)
    sheet = services.poll_open(
        hearing_id=w.hearing.pk,
        item_id=w.items[1].pk,
        by=w.moderator,
        kind="sheet",
        rows=[services.OptionSpec(d.name, d.pk) for d in w.departments],
        secret=False,
    )
    rows = [str(pk) for pk in selectors.option_ids(sheet)]
    services.ballot_cast(
        hearing_id=w.hearing.pk,
        poll_id=sheet.pk,
        deputy=w.deputies[0],
        choices={rows[0]: "满意", rows[1]: "不满意", rows[2]: "基本满意"},
        ballot_id=uuid.uuid4(),
    )
    services.poll_close(hearing_id=w.hearing.pk, poll_id=sheet.pk, by=w.moderator)
    services.poll_publish(hearing_id=w.hearing.pk, poll_id=sheet.pk, by=w.moderator)
    select = services.poll_open(
        hearing_id=w.hearing.pk,
        item_id=w.items[1].pk,
        by=w.moderator,
        kind="select",
        candidates=[services.OptionSpec("甲项目"), services.OptionSpec("乙项目"), services.OptionSpec("丙项目")],
        max_picks=1,
    )
    candidates = selectors.option_ids(select)
    services.ballot_cast(
        hearing_id=w.hearing.pk, poll_id=select.pk, deputy=w.deputies[0], picks=[candidates[1]], ballot_id=uuid.uuid4()
    )
    services.poll_close(hearing_id=w.hearing.pk, poll_id=select.pk, by=w.moderator)
    services.poll_publish(hearing_id=w.hearing.pk, poll_id=select.pk, by=w.moderator)

    client.force_login(w.moderator)
    html = polls_part(client, w)
    rows_table = html[html.index(f'id="poll-{sheet.pk}-rows"') :]
    assert f'<td>{w.departments[1].name}</td><td class="num">0.0%</td>' in rows_table
    assert f'<td>{w.departments[0].name}</td><td class="num">100.0%</td>' in rows_table
    assert "记名投票：1 人" in html
    ranking = html[html.index(f'id="poll-{select.pk}-ranking"') :]
    assert ranking.index("乙项目") < ranking.index("甲项目") and 'class="chosen">乙项目' in ranking
