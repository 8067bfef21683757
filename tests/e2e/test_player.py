"""The public page's player in Chromium: a short local HLS stream (made here with ffmpeg) plays
through the vendored hls.js (and natively) with its playback time advancing; its states (not
started, the signal not up yet and then playing, ended); an ended hearing's replay seeks to a
question's chapter, by a click or by ?t=.

The stream: H.264 + AAC in MPEG-TS segments (ffmpeg's `hls` muxer), 2 s each, 20 s long, served
by a small HTTP server on loopback on another port (a CDN's cross-origin setting: CORS for
hls.js's requests, Range for the MP4 replay). Debian's Chromium decodes H.264 and AAC through
MediaSource (checked: MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"') is true),
and it plays HLS natively too (canPlayType says "maybe"), so the hls.js tests hide that native
support the way a browser without it would be."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from hearings import services as hearing_services
from hearings.models import Hearing, Question
from tests.e2e.helpers import DESKTOP, PHONE, call, wait_until
from tests.factories import World, make_world

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECONDS = 20
# No native HLS (Firefox, older desktop Chrome): hls.js's path. MediaSource stays.
NO_NATIVE_HLS = """
(() => {
  const own = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : own.call(this, type);
  };
})();
"""
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""
HLS_SCRIPT = re.compile(r"/static/vendor/hlsjs/hls\.light\.min\.js")


def _require_ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    reason = "ffmpeg is missing (it makes the test stream): apt-get install ffmpeg"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI runs the player tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 s test picture with a tone: `stream.m3u8` (HLS, 2 s MPEG-TS segments) and `replay.mp4`."""
    ffmpeg = _require_ffmpeg()
    folder = tmp_path_factory.mktemp("media")
    source = [
        *("-f", "lavfi", "-i", "testsrc=size=320x180:rate=25"),
        *("-f", "lavfi", "-i", "sine=frequency=440"),
        *("-t", str(SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"),
        *("-c:a", "aac", "-ac", "1"),
    ]
    hls = ["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", str(folder / "stream.m3u8")]
    mp4 = ["-movflags", "+faststart", str(folder / "replay.mp4")]
    for output in (hls, mp4):
        subprocess.run([ffmpeg, "-v", "error", "-y", *source, *output], check=True, timeout=120)
    return folder


@dataclass
class StreamServer:
    """A CDN on loopback: serves `media` with CORS and Range; `down` answers 503 to everything."""

    url: str
    down: threading.Event


@pytest.fixture
def cdn(media: Path) -> Iterator[StreamServer]:
    down = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(media), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Accept-Ranges", "bytes")
            super().end_headers()

        def do_GET(self) -> None:
            if down.is_set():
                self.send_error(503)
                return
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            path = Path(self.translate_path(self.path))
            if not match or not path.is_file():
                super().do_GET()
                return
            data = path.read_bytes()
            first = int(match[1])
            last = min(int(match[2]) if match[2] else len(data) - 1, len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
            self.send_header("Content-Length", str(last - first + 1))
            self.end_headers()
            self.wfile.write(data[first : last + 1])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StreamServer(url=f"http://127.0.0.1:{server.server_address[1]}", down=down)
    finally:
        server.shutdown()
        server.server_close()


class Viewer:
    """One browser page on the public page, watched for policy violations and JavaScript errors,
    with the requests for hls.js counted."""

    def __init__(self, browser: Any, *, native: bool, viewport: dict[str, int] = PHONE) -> None:
        self.context = browser.new_context(viewport=viewport, locale="zh-CN")
        self.context.add_init_script(WATCH)
        if not native:
            self.context.add_init_script(NO_NATIVE_HLS)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.hls_requests: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("request", self._request)

    def _request(self, request: Any) -> None:
        if HLS_SCRIPT.search(request.url):
            self.hls_requests.append(request.url)

    def open(self, url: str) -> str:
        """Open the page; its Content-Security-Policy."""
        response = self.page.goto(url)
        assert response is not None and response.status == 200
        expect(self.page.locator("#conn")).to_have_attribute("data-state", "open")
        return str(response.headers["content-security-policy"])

    def state(self, value: str) -> None:
        expect(self.page.locator("#stream-card")).to_have_attribute("data-state", value)

    def time(self) -> float:
        return float(self.page.evaluate("document.getElementById('stream-video').currentTime"))

    def at(self, seconds: float, *, within: float = 1.5) -> None:
        """Wait until playback time is `seconds` ± `within`."""
        wait_until(self.page, lambda: abs(self.time() - seconds) < within, timeout=15, message=f"time {seconds}")

    def advancing(self, past: float = 0.0) -> float:
        """Wait until playback time is past `past` + 1 s, then until it moves on again."""
        wait_until(self.page, lambda: self.time() > past + 1, timeout=20, message=f"playback past {past + 1} s")
        first = self.time()
        wait_until(self.page, lambda: self.time() > first + 0.3, timeout=10, message="playback time advancing")
        return self.time()

    def close(self) -> None:
        violations = self.page.evaluate("window.__violations")
        self.context.close()
        assert not violations, violations
        assert not self.errors, self.errors


@pytest.fixture
def viewers(browser: Any) -> Iterator[Any]:
    opened: list[Viewer] = []

    def new(*, native: bool, viewport: dict[str, int] = PHONE) -> Viewer:
        viewer = Viewer(browser, native=native, viewport=viewport)
        opened.append(viewer)
        return viewer

    yield new
    for viewer in opened:
        viewer.close()


def _world(**fields: Any) -> World:
    return call(make_world, deputies=1, **fields)


def test_hls_js_plays_the_stream_from_not_started_to_ended(asgi_server: str, cdn: StreamServer, viewers: Any) -> None:
    world = _world(stream_url=f"{cdn.url}/stream.m3u8")
    hearing = world.hearing
    viewer = viewers(native=False, viewport=DESKTOP)
    page = viewer.page
    csp = viewer.open(f"{asgi_server}/hearings/{hearing.pk}/")

    # A draft: not started; nothing of hls.js downloaded.
    viewer.state("not-started")
    expect(page.locator("#player-state")).to_have_text("直播尚未开始，开始后可在此观看。")
    expect(page.locator("#player-start")).to_be_hidden()
    assert f"connect-src 'self' {cdn.url}" in csp
    assert "blob:" in csp.split("media-src")[1].split(";")[0]
    assert "worker-src 'self' blob:" in csp

    # It starts (the socket says so): press play, hls.js comes, the picture runs.
    call(hearing_services.hearing_start, hearing_id=hearing.pk, by=world.moderator)
    viewer.state("ready")
    expect(page.locator("#player-start")).to_be_visible()
    assert viewer.hls_requests == [], "hls.js loads only when the viewer presses play"
    page.click("#player-start")
    viewer.state("playing")
    viewer.advancing()
    assert page.evaluate("typeof window.Hls") == "function"
    assert page.evaluate("document.getElementById('stream-card').dataset.engine") == "hlsjs"
    assert page.evaluate("document.getElementById('stream-video').src").startswith("blob:")
    assert len(viewer.hls_requests) == 1

    # Paused when the hearing ends: ended, and the video lets go of the stream.
    page.evaluate("document.getElementById('stream-video').pause()")
    call(hearing_services.hearing_end, hearing_id=hearing.pk, by=world.moderator)
    viewer.state("ended")
    expect(page.locator("#player-state")).to_have_text("直播已结束，回放上线后将在本页提供。")
    assert page.evaluate("document.getElementById('stream-video').getAttribute('src')") is None


def test_the_signal_not_up_yet_is_retried_until_it_plays(asgi_server: str, cdn: StreamServer, viewers: Any) -> None:
    world = _world(stream_url=f"{cdn.url}/stream.m3u8", status=Hearing.Status.LIVE)
    viewer = viewers(native=False)
    page = viewer.page
    cdn.down.set()
    viewer.open(f"{asgi_server}/hearings/{world.hearing.pk}/")
    page.click("#player-start")
    viewer.state("not-started")
    expect(page.locator("#player-state")).to_have_text("直播信号尚未接通，稍后自动重试…")
    cdn.down.clear()
    viewer.state("playing")
    viewer.advancing()
    expect(page.locator("#player-state")).to_be_hidden()


def test_native_hls_plays_without_hls_js(asgi_server: str, cdn: StreamServer, viewers: Any) -> None:
    world = _world(stream_url=f"{cdn.url}/stream.m3u8", status=Hearing.Status.LIVE)
    viewer = viewers(native=True)
    page = viewer.page
    viewer.open(f"{asgi_server}/hearings/{world.hearing.pk}/")
    viewer.state("ready")
    expect(page.locator("#stream-video")).to_have_attribute("src", f"{cdn.url}/stream.m3u8")
    expect(page.locator("#player-start")).to_be_hidden()  # the video's own controls
    page.evaluate("document.getElementById('stream-video').play()")
    viewer.advancing()
    assert page.evaluate("document.getElementById('stream-card').dataset.engine") == "native"
    assert viewer.hls_requests == [] and page.evaluate("typeof window.Hls") == "undefined"


def _replay(vod_url: str) -> tuple[World, dict[str, int]]:
    """An ended hearing whose recording began at `start`: questions on stage at 5 s and 12 s,
    one at 40 s (past the recording's end), and two never public (a chapter neither)."""
    start = timezone.now() - timedelta(hours=1)
    world = _world(status=Hearing.Status.ENDED, vod_url=vod_url, vod_started_at=start, started_at=start)
    hid = world.hearing.pk

    def asked(text: str, status: str, seconds: int) -> Question:
        at = start + timedelta(seconds=seconds)
        return Question.objects.create(
            hearing_id=hid, text=text, source="public", status=status, staged_at=at, answered_at=at
        )

    found = {
        "first": call(asked, text="第一个问题：停车难", status="answered", seconds=5).pk,
        "second": call(asked, text="第二个问题：学校扩班", status="answered", seconds=12).pk,
        "late": call(asked, text="录像之后的问题", status="answered", seconds=40).pk,
        "rejected": call(asked, text="未采用的问题", status="rejected", seconds=8).pk,
        "hidden": call(asked, text="撤下的问题", status="hidden", seconds=9).pk,
    }
    return world, found


@pytest.mark.parametrize("kind", ["hls.js", "mp4"])
def test_the_replay_seeks_to_a_questions_chapter(
    asgi_server: str, cdn: StreamServer, viewers: Any, kind: str, screenshot: Any
) -> None:
    vod = f"{cdn.url}/stream.m3u8" if kind == "hls.js" else f"{cdn.url}/replay.mp4"
    world, q = _replay(vod)
    viewer = viewers(native=False, viewport=DESKTOP)
    page = viewer.page
    viewer.open(f"{asgi_server}/hearings/{world.hearing.pk}/")

    chapters = page.locator("#chapters li")
    expect(chapters).to_have_count(3)  # never the rejected or the withdrawn question
    expect(page.locator("#chapters")).not_to_contain_text("未采用")
    expect(page.locator("#chapters")).not_to_contain_text("撤下")
    expect(page.locator(f"#chapter-{q['second']}")).to_have_attribute("href", "?t=12")
    expect(page.locator(f"#chapter-{q['second']} time")).to_have_text("0:12")

    page.click(f"#chapter-{q['second']}")
    viewer.state("playing")
    viewer.at(12)
    viewer.advancing(past=12)
    expect(page).to_have_url(re.compile(r"\?t=12$"))
    expect(page.locator(f"#chapter-{q['second']}")).to_have_attribute("aria-current", "true")
    # The chapter past the recording's end is dropped once the video knows its length.
    expect(page.locator(f"#chapter-{q['late']}")).to_be_hidden()

    if kind == "hls.js":
        page.evaluate("document.getElementById('stream-video').pause()")
        screenshot(page, "replay-chapters", full_page=False)
    page.click(f"#chapter-{q['first']}")
    viewer.at(5)
    expect(page.locator(f"#chapter-{q['first']}")).to_have_attribute("aria-current", "true")
    engine = "hlsjs" if kind == "hls.js" else "native"
    assert page.evaluate("document.getElementById('stream-card').dataset.engine") == engine


def test_a_replay_link_with_t_starts_at_that_moment(asgi_server: str, cdn: StreamServer, viewers: Any) -> None:
    world, _ = _replay(f"{cdn.url}/stream.m3u8")
    viewer = viewers(native=False)
    page = viewer.page
    viewer.open(f"{asgi_server}/hearings/{world.hearing.pk}/#t=12")
    expect(page.locator("#player-start")).to_contain_text("从 0:12 开始播放")
    page.click("#player-start")
    viewer.at(12, within=0.5)
    assert viewer.advancing(past=11) < 16
