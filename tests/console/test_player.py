"""The public page's player card as served (templates/hearings/_player.html): the live stream or
the replay with its chapters, and the page's Content-Security-Policy, which grows for an HLS
source only on that page, only by that source's origin and blob:."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from core.security import allow_sources, content_security_policy, url_origin
from hearings.models import Hearing, Question
from tests.factories import World, make_world

pytestmark = pytest.mark.django_db

STREAM = "https://live.example.cn:8443/hearing/1/index.m3u8"
VOD = "https://vod.example.cn/hearing/1/index.m3u8"


def directives(response: Any) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in header.split("; "))}


def page(client: Client, world: World, query: str = "") -> tuple[str, dict[str, list[str]]]:
    response = client.get(f"/hearings/{world.hearing.pk}/{query}", secure=True)
    assert response.status_code == 200
    return response.content.decode(), directives(response)


def test_a_live_hls_stream_opens_the_policy_to_its_origin_and_blob_on_that_page_only(client: Client) -> None:
    world = make_world(status=Hearing.Status.LIVE, stream_url=STREAM)
    html, policy = page(client, world)
    assert 'data-mode="live"' in html and f'data-src="{STREAM}"' in html and 'data-hls="1"' in html
    assert "/static/vendor/hlsjs/hls.light.min.js" in html  # its address, loaded on play
    assert "<script" not in html.split('id="stream-card"')[1].split("</section>")[0]
    assert policy["connect-src"][:2] == ["'self'", "https://live.example.cn:8443"]
    assert policy["media-src"][-1] == "blob:"
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"]  # hls.js is ours: nothing else to allow
    # Any other page: the site's policy as it was.
    other = directives(client.get("/", secure=True))
    assert "blob:" not in other["media-src"] and "worker-src" not in other
    assert "https://live.example.cn:8443" not in other["connect-src"]


def test_no_stream_no_player_and_the_sites_policy(client: Client) -> None:
    world = make_world(status=Hearing.Status.LIVE)
    html, policy = page(client, world)
    assert 'id="stream-card"' not in html
    assert "worker-src" not in policy and "blob:" not in policy["media-src"]


def test_an_mp4_replay_plays_natively_and_needs_nothing_more(client: Client) -> None:
    world = make_world(status=Hearing.Status.ENDED, stream_url=STREAM, vod_url="https://vod.example.cn/1.mp4")
    html, policy = page(client, world)
    assert 'data-mode="replay"' in html and 'data-src="https://vod.example.cn/1.mp4"' in html
    assert 'data-hls=""' in html
    assert STREAM not in html  # the ended live stream is not offered
    assert "worker-src" not in policy and "blob:" not in policy["media-src"]
    assert "https://live.example.cn:8443" not in policy["connect-src"]


def test_an_ended_hearing_without_a_recording_says_so_and_offers_no_stream(client: Client) -> None:
    world = make_world(status=Hearing.Status.ENDED, stream_url=STREAM)
    html, policy = page(client, world)
    assert 'id="stream-card"' in html and 'data-src=""' in html and 'data-vod=""' in html
    assert STREAM not in html
    assert "worker-src" not in policy


def test_the_replay_lists_public_chapters_as_links_to_their_second(client: Client) -> None:
    start = timezone.now() - timedelta(hours=2)
    world = make_world(status=Hearing.Status.ENDED, vod_url=VOD, started_at=start)

    def ask(text: str, status: str, seconds: int) -> Question:
        return Question.objects.create(
            hearing=world.hearing,
            text=text,
            source="public",
            status=status,
            staged_at=start + timedelta(seconds=seconds),
        )

    shown = ask("<b>停车难</b>怎么办", "answered", 125)
    ask("待审核的问题", "pending", 130)
    ask("未采用的问题", "rejected", 140)
    ask("撤下的问题", "hidden", 150)
    html, policy = page(client, world)
    assert f'<a href="?t=125" data-t="125" id="chapter-{shown.pk}"><time>2:05</time>' in html
    assert "&lt;b&gt;停车难&lt;/b&gt;" in html and "<b>停车难" not in html
    for never in ("待审核的问题", "未采用的问题", "撤下的问题"):
        assert never not in html
    assert policy["connect-src"][:2] == ["'self'", "https://vod.example.cn"]


@pytest.mark.parametrize(
    "url",
    [
        "https://a.cn;script-src *",  # stored past the service (the admin, a migration): still one origin or none
        "https://*.example.cn/x.m3u8",
        "javascript:alert(1)//.m3u8",
        "https://a.cn 'unsafe-inline'/x.m3u8",
    ],
)
def test_a_hostile_stream_address_adds_no_source_to_the_policy(client: Client, url: str) -> None:
    world = make_world(status=Hearing.Status.LIVE)
    Hearing.objects.filter(pk=world.hearing.pk).update(stream_url=url)
    _, policy = page(client, world)
    assert policy["script-src"] == ["'self'"]
    assert all(source in ("'self'",) or source.startswith(("ws://", "wss://")) for source in policy["connect-src"])


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://cdn.example.cn:8443/live/1.m3u8", "https://cdn.example.cn:8443"),
        ("http://127.0.0.1:8080/a.m3u8", "http://127.0.0.1:8080"),
        ("https://user:secret@cdn.example.cn/a.m3u8", "https://cdn.example.cn"),
        ("https://直播.中国/a.m3u8", "https://xn--z6ut02b.xn--fiqs8s"),
        ("https://[2001:db8::1]/a.m3u8", "https://[2001:db8::1]"),
        ("ftp://cdn.example.cn/a.m3u8", ""),
        ("https://cdn.example.cn:99999/a.m3u8", ""),
        ("https:///a.m3u8", ""),
        ("", ""),
    ],
)
def test_url_origin(url: str, origin: str) -> None:
    assert url_origin(url) == origin


def test_allow_sources_adds_to_that_requests_policy_once_and_starts_a_new_directive_from_default_src() -> None:
    request = RequestFactory().get("/")
    allow_sources(request, "media-src", ["blob:", "blob:", ""])
    allow_sources(request, "worker-src", ["blob:"])
    policy = content_security_policy(request)
    assert policy.count("blob:") == 2
    assert "worker-src 'self' blob:" in policy
    assert "blob:" not in content_security_policy(RequestFactory().get("/"))
