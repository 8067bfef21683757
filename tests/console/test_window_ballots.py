"""/polls/ and /polls/<id>/ (console/ballots.py): a deputy votes in a window poll on their own
device, after logging in, between its opening and closing times. A resend of the same ballot is
a duplicate, not a second vote; before and after the window the page says why it takes no
ballot; a secret poll's page shows no choice once voted; only the hearing's deputies get in.
Time is a clock the test controls: `timezone.now` patched."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from hearings.models import Hearing, Person
from tests.factories import World, make_user, make_world
from voting import selectors, services
from voting.models import Ballot, Poll, SecretTally, VoteRecord

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEFORE = datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
OPENS = datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI)
DURING = OPENS + timedelta(days=1)
CLOSES = OPENS + timedelta(days=7)
AFTER = CLOSES + timedelta(minutes=1)
SCALE = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=at):
        yield


def staff_user() -> Any:
    user = make_user()
    Person.objects.create(user=user, name="会务工作人员", role=Person.Role.STAFF)
    return user


def prepare(world: World, *, kind: str = "sheet", secret: bool = True, **fields: Any) -> Poll:
    if kind == "sheet":
        fields.setdefault("rows", [services.OptionSpec(d.name, d.pk) for d in world.departments])
        fields.setdefault("choices", SCALE)
    if kind == "select":
        fields.setdefault("candidates", [services.OptionSpec(f"项目{n}") for n in range(1, 5)])
        fields |= {"min_picks": 1, "max_picks": 2}
    with clock(BEFORE):
        return services.poll_prepare(
            hearing_id=world.hearing.pk,
            by=staff_user(),
            kind=kind,
            title="年度部门满意度测评",
            secret=secret,
            opens_at=OPENS,
            closes_at=CLOSES,
            **fields,
        )


@pytest.fixture
def world(db: Any) -> World:
    return make_world(status=Hearing.Status.ENDED)


def deputy_client(world: World, n: int = 0) -> Client:
    client = Client()
    client.force_login(world.deputies[n])
    return client


def url(poll: Poll) -> str:
    return reverse("ballot_page", args=[poll.pk])


def rendered_ballot(client: Client, poll: Poll) -> str:
    body = client.get(url(poll), secure=True).content.decode()
    marker = 'name="ballot" value="'
    assert marker in body, body[:2000]
    return body.split(marker, 1)[1].split('"', 1)[0]


def sheet_post(poll: Poll, ballot: str, choice: str = "满意") -> dict[str, str]:
    return {"ballot": ballot, **{f"row-{pk}": choice for pk in selectors.option_ids(poll)}}


def test_the_urls_are_the_agreed_ones() -> None:
    assert reverse("ballot_list") == "/polls/"
    assert reverse("ballot_page", args=[5]) == "/polls/5/"


def test_a_deputy_votes_a_sheet_in_the_window_and_a_resend_is_a_duplicate(world: World) -> None:
    poll = prepare(world)
    client = deputy_client(world)
    with clock(DURING):
        body = client.get(url(poll), secure=True).content.decode()
        for option in selectors.poll_options(poll):
            assert f'name="row-{option.pk}"' in body and option.label in body
        assert body.count('type="radio"') == 3 * len(SCALE)
        ballot = rendered_ballot(client, poll)
        data = sheet_post(poll, ballot, "非常满意")
        response = client.post(url(poll), data, secure=True)
        assert response.status_code == 303 and response["Location"] == url(poll)
        again = client.post(url(poll), data, secure=True)  # a double tap, a resend
        assert again.status_code == 303
        # another ballot from the same deputy (another device): refused, said on the page
        other = client.post(url(poll), sheet_post(poll, str(uuid.uuid4())), secure=True, follow=True)
        assert "您已在本次测评中投过票" in other.content.decode()
    assert VoteRecord.objects.filter(poll=poll).count() == 1
    counts = SecretTally.objects.get(poll=poll).counts
    assert all(row == {"非常满意": 1} for row in counts.values()) and len(counts) == 3


def test_the_list_shows_open_upcoming_and_closed_polls_with_published_results(world: World) -> None:
    sheet = prepare(world)
    with clock(BEFORE):
        later = services.poll_prepare(
            hearing_id=world.hearing.pk,
            by=staff_user(),
            kind="satisfaction",
            title="下月测评",
            opens_at=CLOSES,
            closes_at=CLOSES + timedelta(days=3),
        )
    client = deputy_client(world)
    with clock(DURING):
        body = client.get("/polls/", secure=True).content.decode()
        assert body.index(f'id="ballot-card-{sheet.pk}"') < body.index('id="ballots-upcoming"')
        assert f'id="ballot-card-{later.pk}"' in body and "去投票" in body
        ballot = rendered_ballot(client, sheet)
        client.post(url(sheet), sheet_post(poll=sheet, ballot=ballot), secure=True)
        assert "已投票" in client.get("/polls/", secure=True).content.decode()
    with clock(AFTER):
        body = client.get("/polls/", secure=True).content.decode()  # closes by itself on the way
        sheet.refresh_from_db()
        assert sheet.status == Poll.Status.CLOSED
        assert "结果待公布" in body and "满意率" not in body
        services.poll_publish(hearing_id=world.hearing.pk, poll_id=sheet.pk, by=staff_user())
        body = client.get("/polls/", secure=True).content.decode()
    assert f'id="poll-{sheet.pk}-results"' in body and "满意率" in body and "100.0%" in body


def test_the_hearing_list_reminds_a_deputy_of_an_open_ballot(world: World) -> None:
    poll = prepare(world)
    client = deputy_client(world)
    with clock(DURING):
        body = client.get("/", secure=True).content.decode()
        assert 'id="ballot-reminder"' in body and 'href="/polls/"' in body
        client.post(url(poll), sheet_post(poll, rendered_ballot(client, poll)), secure=True)
        assert 'id="ballot-reminder"' not in client.get("/", secure=True).content.decode()
    other = Client()
    other.force_login(make_user())
    with clock(DURING):
        assert 'id="ballot-reminder"' not in other.get("/", secure=True).content.decode()


@pytest.mark.parametrize(
    ("at", "message", "status"),
    [(BEFORE, "投票还没有开始", 409), (AFTER, "测评已结束", 409)],
    ids=["before", "after"],
)
def test_before_and_after_the_window_no_ballot_and_a_clear_message(
    world: World, at: datetime, message: str, status: int
) -> None:
    poll = prepare(world)
    client = deputy_client(world)
    with clock(DURING):
        ballot = rendered_ballot(client, poll)
    with clock(at):
        page = client.get(url(poll), secure=True).content.decode()
        assert 'id="ballot-form"' not in page
        assert ("投票将于" in page) if at == BEFORE else ("投票已结束" in page)
        response = client.post(url(poll), sheet_post(poll, ballot), secure=True)
    assert response.status_code == status
    assert message in response.content.decode()
    assert VoteRecord.objects.count() == 0


def test_an_incomplete_or_bad_ballot_is_refused_with_the_choices_kept(world: World) -> None:
    poll = prepare(world)
    client = deputy_client(world)
    rows = selectors.option_ids(poll)
    with clock(DURING):
        ballot = rendered_ballot(client, poll)
        partial = {"ballot": ballot, f"row-{rows[0]}": "不满意"}
        response = client.post(url(poll), partial, secure=True)
        body = response.content.decode()
        assert response.status_code == 400 and "请为测评表的每一项各选一项" in body
        assert f'name="row-{rows[0]}" value="不满意" checked' in body
        assert f'value="{ballot}"' in body  # the same ballot, so a retry is still one vote
        bad_choice = client.post(url(poll), sheet_post(poll, ballot, "还行"), secure=True)
        assert bad_choice.status_code == 400 and "请从测评选项中选择一项" in bad_choice.content.decode()
        no_uuid = client.post(url(poll), sheet_post(poll, "not-a-uuid"), secure=True)
        assert no_uuid.status_code == 400 and "投票页面已失效" in no_uuid.content.decode()
    assert VoteRecord.objects.count() == 0


def test_a_select_ballot_with_min_and_max(world: World) -> None:
    poll = prepare(world, kind="select", secret=False)
    client = deputy_client(world)
    candidates = selectors.option_ids(poll)
    with clock(DURING):
        body = client.get(url(poll), secure=True).content.decode()
        assert "请选 1 到 2 项" in body and body.count('type="checkbox"') == 4
        ballot = rendered_ballot(client, poll)
        too_many = client.post(url(poll), {"ballot": ballot, "pick": candidates[:3]}, secure=True)
        assert too_many.status_code == 400 and "请选择 1 到 2 项" in too_many.content.decode()
        assert client.post(url(poll), {"ballot": ballot, "pick": ["x"]}, secure=True).status_code == 400
        ok = client.post(url(poll), {"ballot": ballot, "pick": candidates[1:3]}, secure=True)
    assert ok.status_code == 303
    assert Ballot.objects.get(poll=poll).picks == candidates[1:3]


def test_a_satisfaction_window_poll(world: World) -> None:
    poll = prepare(world, kind="satisfaction")
    client = deputy_client(world)
    with clock(DURING):
        ballot = rendered_ballot(client, poll)
        assert client.post(url(poll), {"ballot": ballot, "choice": "基本满意"}, secure=True).status_code == 303
    assert SecretTally.objects.get(poll=poll).counts == {"基本满意": 1}


def test_a_secret_polls_page_after_voting_shows_no_choice_and_is_not_stored(world: World) -> None:
    poll = prepare(world)
    client = deputy_client(world)
    with clock(DURING):
        ballot = rendered_ballot(client, poll)
        rows = selectors.option_ids(poll)
        data = {"ballot": ballot, f"row-{rows[0]}": "非常不满意", f"row-{rows[1]}": "满意", f"row-{rows[2]}": "满意"}
        response = client.post(url(poll), data, secure=True)
        assert response.status_code == 303 and not response.content
        after = client.get(url(poll), secure=True)
        resend = client.post(url(poll), data, secure=True, follow=True)  # the browser resubmits
    for page in (after, resend):
        body = page.content.decode()
        assert "已投票" in body
        assert "非常不满意" not in body and "checked" not in body and 'name="ballot"' not in body
        assert 'id="ballot-form"' not in body
    assert "no-store" in after["Cache-Control"]
    assert VoteRecord.objects.count() == 1


def test_only_the_hearings_deputies_and_logged_in(world: World) -> None:
    poll = prepare(world)
    anonymous = Client()
    with clock(DURING):
        for path in ("/polls/", url(poll)):
            response = anonymous.get(path, secure=True)
            assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
        assert anonymous.post(url(poll), sheet_post(poll, str(uuid.uuid4())), secure=True).status_code == 302
        for outsider in (world.moderator, make_user(), staff_user()):
            client = Client()
            client.force_login(outsider)
            assert client.get(url(poll), secure=True).status_code == 403
            assert client.post(url(poll), sheet_post(poll, str(uuid.uuid4())), secure=True).status_code == 403
            assert f"ballot-card-{poll.pk}" not in client.get("/polls/", secure=True).content.decode()
    assert VoteRecord.objects.count() == 0


def test_a_draft_or_a_live_poll_is_not_a_window_ballot() -> None:
    planned = make_world(status=Hearing.Status.DRAFT)
    draft = services.poll_prepare(hearing_id=planned.hearing.pk, by=staff_user(), kind="satisfaction")
    assert deputy_client(planned).get(url(draft), secure=True).status_code == 404
    live = make_world(status=Hearing.Status.LIVE)
    services.checkin(hearing_id=live.hearing.pk, deputy=live.deputies[0])
    live_poll = services.poll_open(hearing_id=live.hearing.pk, item_id=live.items[1].pk, by=live.moderator)
    client = deputy_client(live)
    assert client.get(url(live_poll), secure=True).status_code == 404
    assert client.post(url(live_poll), {"ballot": str(uuid.uuid4()), "choice": "满意"}, secure=True).status_code == 404
    assert VoteRecord.objects.count() == 0
