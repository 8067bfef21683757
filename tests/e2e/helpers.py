"""Helpers for the browser tests: logging in, calling services as a moderator would, and a
WebSocket proxy that plays a bad network."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connection
from playwright.sync_api import expect

from tests.factories import PASSWORD

T = TypeVar("T")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1920, "height": 1080}


def login(page: Any, base: str, user: Any, next_path: str) -> None:
    """Through Django's login form, as a deputy would."""
    page.goto(base + next_path)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + next_path)


def call(service: Callable[..., T], **kwargs: Any) -> T:
    """Run a service the way a moderator's request would: in its own thread. (This thread
    runs Playwright's event loop, where publish() could not hand its frames to the layer.)"""

    def run() -> T:
        try:
            return service(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class SocketProxy:
    """Routes the page's WebSockets through Playwright so a test can see every frame, hold
    or drop the server's answers, and cut the connection as a bad network would."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.blocked = False  # refuse new connections (the network is down)
        self.sent: list[dict[str, Any]] = []  # page → server, parsed
        self.received: list[dict[str, Any]] = []  # server → page, parsed, as delivered
        self.hold: Callable[[dict[str, Any]], bool] | None = None  # server frames to hold back
        self.held: list[tuple[Any, str]] = []
        self.drop_and_cut: Callable[[dict[str, Any]], bool] | None = None
        self.routes: list[tuple[Any, Any]] = []
        page.route_web_socket(re.compile(r"/ws/"), self._route)

    def _route(self, page_side: Any) -> None:
        if self.blocked:
            page_side.close(code=4000, reason="network down")
            return
        server_side = page_side.connect_to_server()
        self.routes.append((page_side, server_side))

        def from_page(message: str | bytes) -> None:
            self.sent.append(json.loads(message))
            server_side.send(message)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if self.drop_and_cut is not None and self.drop_and_cut(frame):
                self.drop_and_cut = None
                self.cut()
                return
            if self.hold is not None and self.hold(frame):
                self.held.append((page_side, str(message)))
                return
            self.received.append(frame)
            page_side.send(message)

        page_side.on_message(from_page)
        server_side.on_message(from_server)

    def cut(self) -> None:
        """Drop every open connection, both sides."""
        routes, self.routes = self.routes, []
        for page_side, server_side in routes:
            page_side.close(code=4000, reason="connection lost")
            server_side.close(code=1000)

    def release(self) -> None:
        held, self.held = self.held, []
        self.hold = None
        for page_side, message in held:
            self.received.append(json.loads(message))
            page_side.send(message)

    def sent_of(self, action: str) -> list[dict[str, Any]]:
        return [frame for frame in self.sent if frame.get("action") == action]


def wait_until(page: Any, check: Callable[[], Any], *, timeout: float = 10, message: str = "condition") -> Any:
    """Poll `check` (e.g. a database count) until it is truthy. Waits through the page, not
    time.sleep: Playwright's sync API only runs the socket routes while it is called."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        page.wait_for_timeout(50)


def wider_than_viewport(page: Any) -> list[str]:
    """The elements that make the page scroll sideways (empty when the page fits the viewport):
    tag, class and right edge in CSS pixels. Content inside a scrolling box (a wide table in its
    own horizontal scroller) does not count."""
    result: list[str] = page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const scrolls = (el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
          const clipped = (el) => {
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
              if (scrolls(p)) return true;
            }
            return false;
          };
          const out = [];
          if (document.documentElement.scrollWidth <= width) return out;
          for (const el of document.body.querySelectorAll('*')) {
            if (clipped(el)) continue;
            const box = el.getBoundingClientRect();
            if (box.right > width + 0.5 && box.width > 0) {
              out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(box.right)}`);
            }
          }
          return out.slice(0, 10);
        }"""
    )
    return result
