"""The video mixer's overlay, server side (console/overlay.py): who may open it, its options and
their refusals, what the page carries (and what it must not). The browser side is
tests/e2e/test_overlay.py."""

from __future__ import annotations

import re

import pytest
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from console.overlay import OverlayOptions, overlay_options
from core.errors import BadRequest
from hearings import services
from hearings.models import Hearing, Person
from live.viewer import COOKIE
from tests.factories import World, make_user, make_world

pytestmark = pytest.mark.django_db

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def world() -> World:
    return make_world()


def url(world: World, query: str = "") -> str:
    return f"/hearings/{world.hearing.pk}/overlay/{query}"


def test_an_unknown_hearing_is_404(client: Client) -> None:
    assert client.get(f"/hearings/{10**9}/overlay/", secure=True).status_code == 404


def test_an_unknown_hearing_is_404_before_the_options_are_read(client: Client) -> None:
    assert client.get(f"/hearings/{10**9}/overlay/?theme=nope", secure=True).status_code == 404


@pytest.mark.parametrize("status", [Hearing.Status.DRAFT, Hearing.Status.LIVE, Hearing.Status.ENDED])
def test_the_page_serves_every_status_to_anyone_and_follows_the_public_stream(client: Client, status: str) -> None:
    world = make_world(status=status)
    response = client.get(url(world), secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ws="/ws/hearings/{world.hearing.pk}/public/"' in html
    assert "/control/" not in html and "/deputy/" not in html
    assert 'src="/static/live/overlay.js"' in html and 'href="/static/css/overlay.css"' in html


def test_the_page_has_no_chrome_no_forms_and_sets_no_viewer_cookie(client: Client, world: World) -> None:
    """Nothing but the overlay: no top bar, no language switch, no htmx, no form, no color-scheme
    (which would paint the canvas); a mixer is not an audience, so no viewer cookie either."""
    response = client.get(url(world), secure=True)
    html = response.content.decode()
    for absent in ("topbar", "lang-switch", "set_language", "<form", "htmx", "csrf", "color-scheme", "app.css"):
        assert absent not in html, absent
    assert COOKIE not in response.cookies
    assert "csrftoken" not in response.cookies


def test_it_is_a_top_level_page_and_keeps_the_frame_and_script_policy(client: Client, world: World) -> None:
    """OBS and vMix open a browser source as a top-level page: the page needs no framing, so
    it keeps the site's refusal to be framed and its script policy (no inline script)."""
    response = client.get(url(world), secure=True)
    assert response["X-Frame-Options"] == "DENY"
    csp = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    html = response.content.decode()
    # Every script is a file or a JSON data block: nothing the policy would refuse.
    tags = re.findall(r"<script[^>]*>", html)
    assert tags and all(" src=" in tag or 'type="application/json"' in tag for tag in tags), tags


def test_the_defaults(client: Client, world: World) -> None:
    html = client.get(url(world), secure=True).content.decode()
    assert 'data-parts="question agenda result"' in html
    assert 'data-result-seconds="20"' in html
    assert 'data-scale="1"' in html
    assert 'class="overlay theme-red at-bottom"' in html


def test_the_options_reach_the_page_as_parsed_values(client: Client, world: World) -> None:
    query = "?parts=result,%20agenda&position=top&theme=dark&result=5&scale=1.50&v=2"
    html = client.get(url(world, query), secure=True).content.decode()
    assert 'data-parts="agenda result"' in html
    assert 'data-result-seconds="5"' in html
    assert 'data-scale="1.5"' in html
    assert 'class="overlay theme-dark at-top"' in html


@pytest.mark.parametrize(
    "query",
    [
        "?parts=question,ticker",
        "?parts=",
        "?parts=,",
        "?position=left",
        "?theme=blue",
        "?theme=Dark",
        "?result=0",
        "?result=601",
        "?result=-5",
        "?result=2.5",
        "?result=%EF%BC%95",  # a full-width ５
        "?scale=0.4",
        "?scale=2.01",
        "?scale=NaN",
        "?scale=Infinity",
        "?scale=1e1",
        "?scale=abc",
        "?theme=dark&theme=light",
    ],
)
def test_a_value_an_option_does_not_know_is_a_400_naming_the_option(client: Client, world: World, query: str) -> None:
    response = client.get(url(world, query), secure=True)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    name = query[1:].split("=")[0]
    assert name in response.content.decode()


@pytest.mark.parametrize("name", ["parts", "position", "theme", "result", "scale"])
def test_a_hostile_value_is_refused_and_never_echoed(client: Client, world: World, name: str) -> None:
    response = client.get(url(world), {name: HOSTILE}, secure=True)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "<" not in body and "alert" not in body


def test_other_parameters_are_ignored_and_never_echoed(client: Client, world: World) -> None:
    """A cache-buster (?v=2) is fine; whatever else comes in the query never reaches the page."""
    response = client.get(url(world), {"v": "2", "x": HOSTILE, "theme": "light"}, secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "alert" not in html and "onerror" not in html and "<img" not in html
    assert 'class="overlay theme-light at-bottom"' in html


def test_the_hearing_title_is_escaped(client: Client) -> None:
    world = make_world(title=HOSTILE)
    html = client.get(url(world), secure=True).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html


def test_the_refusal_reads_in_the_requests_language(client: Client, world: World) -> None:
    response = client.get(url(world, "?position=left"), secure=True, headers={"accept-language": "en"})
    assert response.status_code == 400
    assert "position" in response.content.decode()
    assert "bottom, top" in response.content.decode()


def test_options_parse() -> None:
    assert overlay_options(QueryDict("")) == OverlayOptions()
    options = overlay_options(QueryDict("parts=result,question,result&scale=0.5&result=600"))
    assert options.parts == ("question", "result")  # the page's order, each once
    assert options.scale == "0.5" and options.result_seconds == 600
    assert overlay_options(QueryDict("scale=2.0")).scale == "2"
    with pytest.raises(BadRequest):
        overlay_options(QueryDict("result=1&result=2"))


def test_a_pending_question_is_not_in_the_page(client: Client, world: World) -> None:
    """The page renders no question at all (they come over the public stream)."""
    services.hearing_start(hearing_id=world.hearing.pk, by=None)
    services.question_submit(hearing_id=world.hearing.pk, text="还在审核的问题", source="public")
    assert "还在审核的问题" not in client.get(url(world), secure=True).content.decode()


def test_the_offices_hearing_page_links_the_overlay_for_the_broadcast_team(client: Client, world: World) -> None:
    staff = make_user()
    Person.objects.create(user=staff, name="会务", role=Person.Role.STAFF)
    client.force_login(staff)
    html = client.get(reverse("manage_hearing", args=[world.hearing.pk]), secure=True).content.decode()
    assert 'id="hearing-overlay-link"' in html
    assert f'href="/hearings/{world.hearing.pk}/overlay/"' in html
