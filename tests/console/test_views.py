"""Probes, who may open which page, the live pages' server side, and the control panel's actions."""

from __future__ import annotations

import re
import socket
import uuid
from typing import Any

import pytest
from django.db import OperationalError, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hearings import services
from hearings.models import AgendaItem, Hearing, Question
from tests.conftest import Published
from tests.factories import World, make_user, make_world
from voting import services as voting_services
from voting.models import Poll

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def break_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new cursor fails, as when the database is down."""

    def cursor(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("database is down")

    monkeypatch.setattr(type(connections["default"]), "cursor", cursor)


def test_healthz_answers_200(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_database(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    break_database(monkeypatch)
    assert client.get("/healthz").status_code == 200


def test_readyz_answers_200_when_the_database_answers(client: Client, settings: Any) -> None:
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_answers_503_when_the_database_fails(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    break_database(monkeypatch)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "unavailable"


def test_readyz_answers_503_when_redis_is_unreachable(client: Client, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}


def test_readyz_answers_200_when_redis_answers(client: Client, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    pinged: list[str] = []

    class FakeRedis:
        def ping(self) -> bool:
            pinged.append("ping")
            return True

    monkeypatch.setattr(redis.Redis, "from_url", staticmethod(lambda url, **kwargs: FakeRedis()))
    settings.REDIS_URL = "redis://redis.invalid:6379/0"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert pinged == ["ping"]


# --------------------------------------------------------------------------- access to pages


@pytest.mark.parametrize("page", ["tablet", "control"])
def test_tablet_and_control_need_a_login(client: Client, world: World, page: str) -> None:
    response = client.get(f"/hearings/{world.hearing.pk}/{page}/", secure=True)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("page", "who"),
    [
        ("tablet", "moderator"),
        ("tablet", "plain_user"),
        ("tablet", "deputy_of_another_hearing"),
        ("control", "deputy"),
        ("control", "other_moderator"),
        ("control", "plain_user"),
    ],
)
def test_tablet_and_control_refuse_the_wrong_people(client: Client, world: World, page: str, who: str) -> None:
    user = {
        "moderator": world.moderator,
        "deputy": world.deputies[0],
        "other_moderator": world.other_moderator,
        "plain_user": make_user(),
        "deputy_of_another_hearing": make_world().deputies[0],
    }[who]
    client.force_login(user)
    assert client.get(f"/hearings/{world.hearing.pk}/{page}/", secure=True).status_code == 403


@pytest.mark.parametrize("page", ["", "screen/", "tablet/", "control/"])
def test_pages_of_an_unknown_hearing_are_404(client: Client, world: World, page: str) -> None:
    client.force_login(world.moderator)
    assert client.get(f"/hearings/{10**9}/{page}", secure=True).status_code == 404


# --------------------------------------------------------------------------- the hearing list


def test_list_links_tablet_and_control_only_for_that_hearings_deputies_and_moderators(
    client: Client, world: World
) -> None:
    other = make_world()
    hid, oid = world.hearing.pk, other.hearing.pk

    def links(user: Any) -> set[str]:
        client.logout()
        if user is not None:
            client.force_login(user)
        html = client.get("/", secure=True).content.decode()
        return {
            path
            for path in (f"/hearings/{h}/{page}/" for h in (hid, oid) for page in ("tablet", "control"))
            if f'href="{path}"' in html
        }

    assert links(None) == set()
    assert links(make_user()) == set()
    assert links(world.moderator) == {f"/hearings/{hid}/control/"}
    assert links(world.deputies[0]) == {f"/hearings/{hid}/tablet/"}
    assert links(other.deputies[0]) == {f"/hearings/{oid}/tablet/"}
    # Everyone gets the public page and the big screen of every hearing.
    html = client.get("/", secure=True).content.decode()
    for h in (hid, oid):
        assert f'href="/hearings/{h}/"' in html
        assert f'href="/hearings/{h}/screen/"' in html


def test_nav_links_the_assignment_pages_by_path(client: Client, world: World) -> None:
    html = client.get("/", secure=True).content.decode()
    assert 'href="/assignments/"' in html
    assert 'href="/inbox/"' not in html  # the liaison inbox is for logged-in users
    client.force_login(make_user())
    assert 'href="/inbox/"' in client.get("/", secure=True).content.decode()


def test_pages_speak_chinese_by_default_and_english_on_request(client: Client, world: World) -> None:
    assert "观看直播" in client.get("/", secure=True).content.decode()
    english = client.get("/", secure=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Watch live" in english
    assert 'lang="en"' in english


# --------------------------------------------------------------------------- public page and big screen

XSS = "<img src=x onerror=alert(1)>"


def test_public_page_escapes_hearing_text_and_sets_the_viewer_cookie(client: Client, world: World) -> None:
    world.hearing.title = XSS
    world.hearing.theme = XSS
    world.hearing.save()
    response = client.get(f"/hearings/{world.hearing.pk}/", secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "viewer" in response.cookies
    assert f'data-ws="/ws/hearings/{world.hearing.pk}/public/"' in html


def test_public_page_offers_the_livestream_only_when_the_hearing_has_one(client: Client, world: World) -> None:
    url = f"/hearings/{world.hearing.pk}/"
    assert 'id="stream-video"' not in client.get(url, secure=True).content.decode()
    world.hearing.stream_url = "https://live.example.org/hearing/index.m3u8"
    world.hearing.save()
    html = client.get(url, secure=True).content.decode()
    assert 'data-src="https://live.example.org/hearing/index.m3u8"' in html
    assert 'href="https://live.example.org/hearing/index.m3u8"' in html  # the fallback link
    assert "cdn" not in html.lower()


def test_big_screen_has_an_inline_qr_code_to_the_public_page(client: Client, world: World, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["wenzheng.example.org"]
    response = client.get(f"/hearings/{world.hearing.pk}/screen/", secure=True, HTTP_HOST="wenzheng.example.org")
    html = response.content.decode()
    assert response.status_code == 200
    public_url = f"https://wenzheng.example.org/hearings/{world.hearing.pk}/"
    assert public_url in html
    assert '<svg viewBox="0 0 ' in html
    assert 'class="qr"' in html
    assert 'class="qrline"' in html


# --------------------------------------------------------------------------- control panel: pages and fragments


def control_url(world: World, tail: str = "") -> str:
    return f"/hearings/{world.hearing.pk}/control/{tail}"


def test_control_panel_renders_every_section_and_escapes_question_text(client: Client, live_world: World) -> None:
    world = live_world
    services.question_submit(hearing_id=world.hearing.pk, text=XSS, source="public", asker_name=XSS)
    client.force_login(world.moderator)
    html = client.get(control_url(world), secure=True).content.decode()
    for section in ("control-hearing", "control-agenda", "control-queue", "control-questions", "control-polls"):
        assert f'id="{section}"' in html
    assert 'id="action-result"' in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.parametrize("part", ["hearing", "agenda", "queue", "questions", "polls"])
def test_control_parts_are_fragments_for_moderators_only(client: Client, live_world: World, part: str) -> None:
    world = live_world
    url = control_url(world, f"part/{part}/")
    assert client.get(url, secure=True).status_code == 302  # to the login
    client.force_login(world.other_moderator)
    assert client.get(url, secure=True).status_code == 403
    client.force_login(world.moderator)
    response = client.get(url, secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<")
    assert "<html" not in html
    assert f'data-part="{part}"' in html
    assert client.get(control_url(world, "part/nothing/"), secure=True).status_code == 404


def test_control_queue_lists_pending_questions_and_the_questions_part_the_rest(
    client: Client, live_world: World
) -> None:
    world = live_world
    hid = world.hearing.pk
    pending = services.question_submit(hearing_id=hid, text="还在审核的问题", source="public")
    approved = services.question_submit(hearing_id=hid, text="已公开的问题", source="public")
    services.question_approve(hearing_id=hid, question_id=approved.pk, by=None)
    client.force_login(world.moderator)
    queue = client.get(control_url(world, "part/queue/"), secure=True).content.decode()
    questions = client.get(control_url(world, "part/questions/"), secure=True).content.decode()
    assert f'id="question-{pending.pk}"' in queue
    assert f'id="question-{approved.pk}"' not in queue
    assert f'id="question-{approved.pk}"' in questions
    assert f'id="question-{pending.pk}"' not in questions
    assert 'data-shortcut="approve"' in queue
    assert 'data-shortcut="stage"' in questions


# --------------------------------------------------------------------------- control panel: a flooded queue


def flood(world: World, n: int, **fields: Any) -> list[Question]:
    """`n` pending questions at once, as a swarm of sockets would leave them."""
    Question.objects.bulk_create(
        [
            Question(hearing=world.hearing, text=f"第{i}个问题：路灯什么时候修好？", source="public", **fields)
            for i in range(n)
        ]
    )
    return list(Question.objects.filter(hearing=world.hearing, **fields).order_by("id"))


def queue_cards(html: str) -> list[int]:
    queue = html[html.index('id="control-queue"') :]
    queue = queue[: queue.index("</section>")]
    return [int(n) for n in re.findall(r'<li class="q-card status-pending" id="question-(\d+)"', queue)]


def test_the_control_page_stays_small_with_2000_pending_questions(
    client: Client, live_world: World, settings: Any
) -> None:
    world = live_world
    pending = flood(world, 2000)
    client.force_login(world.moderator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(control_url(world), secure=True)
    html = response.content.decode()
    assert response.status_code == 200
    assert len(response.content) < 1_000_000, len(response.content)
    # The oldest page of the queue, and the count of all.
    assert queue_cards(html) == [q.pk for q in pending[: settings.CONTROL_PAGE_SIZE]]
    assert 'id="queue-count">2,000<' in html
    assert 'data-total="2000"' in html
    assert 'name="into"' not in html  # no list of every question to merge into
    # The page reads a page of each list, whatever the number of questions.
    few_queries = len(queries)
    flood(world, 500)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(control_url(world), secure=True).status_code == 200
    assert len(queries) == few_queries <= 20


def test_the_queue_is_paged_and_a_page_past_the_end_shows_the_last(
    client: Client, live_world: World, settings: Any
) -> None:
    world = live_world
    settings.CONTROL_PAGE_SIZE = 10
    pending = [q.pk for q in flood(world, 25)]
    client.force_login(world.moderator)
    part = control_url(world, "part/queue/")
    assert queue_cards(client.get(part, secure=True).content.decode()) == pending[:10]
    second = client.get(part + "?queue=10", secure=True).content.decode()
    assert queue_cards(second) == pending[10:20]
    assert f'data-src="{part}?queue=10"' in second  # fetched again, it stays on its page
    assert f'data-page-url="{part}?queue=20"' in second
    assert f'data-page-url="{part}"' in second  # back to the first page
    assert "第 11–20 条，共 25 条" in second
    assert queue_cards(client.get(part + "?queue=900", secure=True).content.decode()) == pending[20:]
    assert queue_cards(client.get(part + "?queue=nonsense", secure=True).content.decode()) == pending[:10]


def test_waiting_and_answered_lists_are_paged_too(client: Client, live_world: World, settings: Any) -> None:
    world = live_world
    settings.CONTROL_PAGE_SIZE = 10
    waiting = flood(world, 30, status="approved")
    answered = flood(world, 30, status="answered")
    client.force_login(world.moderator)
    html = client.get(control_url(world, "part/questions/") + "?answered=10", secure=True).content.decode()
    shown = [int(n) for n in re.findall(r'<li class="q-card status-\w+" id="question-(\d+)"', html)]
    assert shown == [q.pk for q in waiting[:10]] + [q.pk for q in reversed(answered)][10:20]
    assert "?waiting=10&amp;answered=10" in html  # the next page of waiting keeps answered's page


def test_a_card_comes_on_its_own_for_a_new_question(client: Client, live_world: World) -> None:
    world = live_world
    hid = world.hearing.pk
    pending = services.question_submit(hearing_id=hid, text="新来的问题", source="public")
    approved = services.question_submit(hearing_id=hid, text="已公开的问题", source="moderator")
    rejected = services.question_submit(hearing_id=hid, text="不采用的问题", source="public")
    services.question_reject(hearing_id=hid, question_id=rejected.pk, by=None)
    url = control_url(world, f"question/{pending.pk}/")
    assert client.get(url, secure=True).status_code == 302
    client.force_login(world.other_moderator)
    assert client.get(url, secure=True).status_code == 403
    client.force_login(world.moderator)
    card = client.get(url, secure=True).content.decode()
    assert card.startswith(f'<li class="q-card status-pending" id="question-{pending.pk}"')
    assert 'data-shortcut="approve"' in card
    card = client.get(control_url(world, f"question/{approved.pk}/"), secure=True).content.decode()
    assert f'id="question-{approved.pk}"' in card
    assert 'data-shortcut="stage"' in card
    for gone in (rejected.pk, 10**9):
        assert client.get(control_url(world, f"question/{gone}/"), secure=True).status_code == 404
    other = make_world(status="live")
    foreign = services.question_submit(hearing_id=other.hearing.pk, text="别场的问题", source="public")
    assert client.get(control_url(world, f"question/{foreign.pk}/"), secure=True).status_code == 404


def test_merge_targets_are_searched_by_text_or_id_and_bounded(client: Client, live_world: World, settings: Any) -> None:
    world = live_world
    hid = world.hearing.pk
    flood(world, 2000)
    public = flood(world, 40, status="approved")
    duplicate = services.question_submit(hearing_id=hid, text="路灯什么时候修好", source="public")
    url = control_url(world, "merge-targets/")
    assert client.get(url, secure=True).status_code == 302
    client.force_login(world.other_moderator)
    assert client.get(url, secure=True).status_code == 403
    client.force_login(world.moderator)

    def matches(**params: Any) -> list[int]:
        response = client.get(url, {"question": duplicate.pk, **params}, secure=True)
        assert response.status_code == 200
        return [int(n) for n in re.findall(r'name="into" value="(\d+)"', response.content.decode())]

    # The latest public questions; never a pending one, never the duplicate itself.
    assert matches() == [q.pk for q in reversed(public)][: settings.CONTROL_MERGE_MATCHES]
    assert matches(q="路灯") == [q.pk for q in reversed(public)][: settings.CONTROL_MERGE_MATCHES]
    assert matches(q="第7个") == [public[7].pk]
    assert matches(q=f"#{public[3].pk}") == [public[3].pk]
    assert matches(q=str(duplicate.pk)) == []
    assert matches(q="没有这句话") == []
    settings.CONTROL_MERGE_MATCHES = 5
    assert len(matches(q="路灯")) == 5
    # The chosen match goes with the merge form: merging by it works.
    response = act(client, world, "question-merge", question=duplicate.pk, into=public[7].pk)
    assert response.status_code == 200
    assert Question.objects.get(pk=duplicate.pk).merged_into_id == public[7].pk


# --------------------------------------------------------------------------- control panel: actions


def act(client: Client, world: World, action: str, **data: Any) -> Any:
    return client.post(control_url(world, f"do/{action}/"), data, secure=True, headers={"HX-Request": "true"})


def test_an_action_calls_its_service_and_answers_with_its_result(
    client: Client, live_world: World, published: Published
) -> None:
    world = live_world
    question = services.question_submit(hearing_id=world.hearing.pk, text="办证要跑几次？", source="public")
    client.force_login(world.moderator)
    response = act(client, world, "question-approve", question=question.pk)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<div id="action-result" class="action-result ok"')
    assert "办证要跑几次？" in html
    # Where it goes is in the answer: the form that sent it may be gone from the page by now.
    assert response["HX-Reswap"] == "outerHTML"
    question.refresh_from_db()
    assert question.status == Question.Status.APPROVED
    assert published.last()[1:3] == ("question.updated", "question.new")


def test_a_refused_action_answers_with_its_error_and_changes_nothing(
    client: Client, live_world: World, published: Published
) -> None:
    world = live_world
    question = services.question_submit(hearing_id=world.hearing.pk, text="问题", source="public")
    services.question_reject(hearing_id=world.hearing.pk, question_id=question.pk, by=None)
    client.force_login(world.moderator)
    before = len(published)
    response = act(client, world, "question-approve", question=question.pk)
    html = response.content.decode()
    assert response.status_code == 409
    assert 'class="action-result failed"' in html
    assert 'data-code="invalid_state"' in html
    # The code's line and the service's reason, in the page's language.
    assert '<span class="text">当前状态下不能这样做</span>' in html
    assert '<span class="detail">这个问题已不在待审核状态。</span>' in html
    assert response["HX-Reswap"] == "outerHTML"
    question.refresh_from_db()
    assert question.status == Question.Status.REJECTED
    assert len(published) == before


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [({}, 400, "bad_request"), ({"question": "x"}, 400, "bad_request"), ({"question": 10**9}, 404, "not_found")],
)
def test_bad_input_is_an_error_message_not_a_crash(
    client: Client, live_world: World, data: dict[str, Any], status: int, code: str
) -> None:
    client.force_login(live_world.moderator)
    response = act(client, live_world, "question-approve", **data)
    assert response.status_code == status
    assert f'data-code="{code}"' in response.content.decode()


def test_only_this_hearings_moderators_act(client: Client, live_world: World) -> None:
    world = live_world
    question = services.question_submit(hearing_id=world.hearing.pk, text="问题", source="public")
    response = act(client, world, "question-approve", question=question.pk)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    for user in (world.other_moderator, world.deputies[0]):
        client.force_login(user)
        response = act(client, world, "question-approve", question=question.pk)
        assert response.status_code == 403
        assert 'data-code="forbidden"' in response.content.decode()
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING


def test_actions_need_post_and_a_known_name(client: Client, live_world: World) -> None:
    client.force_login(live_world.moderator)
    assert client.get(control_url(live_world, "do/hearing-end/"), secure=True).status_code == 405
    assert act(client, live_world, "hearing-vanish").status_code == 404


def test_without_htmx_an_action_redirects_back_with_its_message(client: Client, world: World) -> None:
    client.force_login(world.moderator)
    response = client.post(control_url(world, "do/hearing-start/"), secure=True, follow=True)
    assert response.redirect_chain[-1][0].endswith(control_url(world))
    assert "问政会已开始" in response.content.decode()
    world.hearing.refresh_from_db()
    assert world.hearing.status == Hearing.Status.LIVE


def test_the_control_panel_runs_a_whole_hearing(client: Client, world: World, published: Published) -> None:
    """Every action of the panel, in the order of a session, through the views."""
    hid = world.hearing.pk
    deputy = world.deputies[0]
    client.force_login(world.moderator)

    def ok(action: str, **data: Any) -> str:
        response = act(client, world, action, **data)
        html = response.content.decode()
        assert response.status_code == 200, html
        assert "action-result ok" in html
        return html

    ok("hearing-start")
    ok("agenda-start", item=world.items[1].pk)
    assert AgendaItem.objects.get(pk=world.items[1].pk).status == AgendaItem.Status.CURRENT
    first = services.question_submit(hearing_id=hid, text="企业开办能否一天办结", source="public")
    twin = services.question_submit(hearing_id=hid, text="企业开办一天办结?", source="public")
    ok("question-edit", question=first.pk, text="企业开办能否一天内办结？")
    ok("question-approve", question=first.pk)
    ok("question-merge", question=twin.pk, into=first.pk)
    ok("question-stage", question=first.pk)
    ok("question-answered", question=first.pk, note="年内实现一天办结", commitment="三个月内上线一网通办")
    first.refresh_from_db()
    assert (first.status, first.answer_note, first.commitment) == (
        Question.Status.ANSWERED,
        "年内实现一天办结",
        "三个月内上线一网通办",
    )
    assert Question.objects.get(pk=twin.pk).merged_into_id == first.pk
    html = ok("question-add", parent=first.pk, text="具体哪个月上线？", name="张代表")
    assert "追问" in html
    follow = Question.objects.get(parent=first)
    assert (follow.status, follow.source, follow.asker_name) == (Question.Status.APPROVED, "moderator", "张代表")
    ok("question-stage", question=follow.pk)
    ok("question-stage")  # clears the stage
    assert Question.objects.get(pk=follow.pk).status == Question.Status.APPROVED
    spam = services.question_submit(hearing_id=hid, text="广告", source="public")
    ok("question-reject", question=spam.pk)

    voting_services.checkin(hearing_id=hid, deputy=deputy)
    ok("poll-open", item=world.items[1].pk, secret="1")
    poll = Poll.objects.get(hearing_id=hid)
    assert poll.secret
    voting_services.ballot_cast(hearing_id=hid, poll_id=poll.pk, deputy=deputy, choice="满意", ballot_id=uuid.uuid4())
    assert "已投 1 / 应投 1" in ok("poll-close", poll=poll.pk)
    ok("poll-publish", poll=poll.pk)
    polls = client.get(control_url(world, "part/polls/"), secure=True).content.decode()
    assert "满意率" in polls
    assert "100.0%" in polls
    ok("hearing-end")
    assert Hearing.objects.get(pk=hid).status == Hearing.Status.ENDED
    assert "hearing.status" in published.types()
