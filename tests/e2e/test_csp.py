"""The Content-Security-Policy breaks nothing: every page, in a real browser, loads and works
with no policy violation (Chromium reports each as a `securitypolicyviolation` event and a
console error) and no Permissions-Policy complaint. The public page's socket connects, the
control panel's htmx buttons work, the report prints, the API docs render."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from hearings.models import Hearing
from tests.e2e.helpers import DESKTOP, PHONE, call, login
from tests.factories import PASSWORD, make_user, make_world
from tests.reports.session import Session, play_session

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Registered before any script of the page runs (Playwright injects it; the policy does not apply).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


class Watched:
    """One browser context whose pages report policy violations, console errors and
    JavaScript errors."""

    def __init__(self, browser: Any, viewport: dict[str, int], locale: str = "zh-CN") -> None:
        self.context = browser.new_context(viewport=viewport, locale=locale)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        text = message.text
        if "Content Security Policy" in text or "Permissions-Policy" in text or "Permissions policy" in text:
            self.problems.append(f"console: {text}")

    def visit(self, url: str) -> Any:
        response = self.page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        self.page.wait_for_load_state("networkidle")
        self.check(url)
        return response

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__violations")
        assert not violations, (where, violations)
        assert not self.problems, (where, self.problems)


@pytest.fixture
def session(asgi_server: str) -> Session:
    return call(play_session)


def test_every_page_loads_with_no_policy_violation(browser: Any, asgi_server: str, session: Session) -> None:
    base = asgi_server
    world = call(make_world, deputies=1, status=Hearing.Status.DRAFT)
    hearing = world.hearing
    hearing.stream_url = "https://live.example.org/hearing/index.m3u8"
    call(hearing.save, update_fields=["stream_url"])
    report = session.hearing.pk
    assignment = session.assignments[0]

    # Anyone: the lists, the live page (its socket connects), the big screen, the report
    # (both languages, and its print button), scorecards (SVG charts), assignments, login.
    anon = Watched(browser, PHONE)
    anon.visit(f"{base}/")
    anon.visit(f"{base}/hearings/{hearing.pk}/")
    expect(anon.page.locator("#conn")).to_have_attribute("data-state", "open")
    anon.check("live page, connected")
    anon.visit(f"{base}/hearings/{hearing.pk}/collect/")  # the collection page (its counter script)
    anon.visit(f"{base}/hearings/{report}/report/")
    anon.page.evaluate("window.print = () => { window.__printed = true; }")
    anon.page.click("[data-print]")
    assert anon.page.evaluate("window.__printed") is True  # the button works without onclick
    anon.visit(f"{base}/scorecards/")
    anon.visit(f"{base}/assignments/")
    anon.visit(f"{base}/assignments/{assignment.pk}/")
    anon.visit(f"{base}/accounts/login/")
    anon.visit(f"{base}/api/v1/docs")
    expect(anon.page.locator(".swagger-ui .info .title")).to_contain_text("API")
    anon.check("API docs, rendered")
    english = Watched(browser, DESKTOP, locale="en-US")
    english.visit(f"{base}/hearings/{report}/report/")
    english.page.click(".lang-switch button[value=en]")
    english.page.wait_for_load_state("networkidle")
    english.check("report in English")

    screen = Watched(browser, DESKTOP)
    screen.visit(f"{base}/hearings/{hearing.pk}/screen/")
    expect(screen.page.locator("#conn")).to_have_attribute("data-state", "open")
    screen.check("big screen, connected")

    # The moderator's panel: its htmx buttons still work (no eval, no injected <style>).
    control = Watched(browser, DESKTOP)
    login(control.page, base, world.moderator, f"/hearings/{hearing.pk}/control/")
    control.page.wait_for_load_state("networkidle")
    control.check("control panel")
    control.page.click("#control-hearing button")
    expect(control.page.locator("#hearing-status")).to_have_class("badge big status-live")
    control.check("control panel after an htmx action")

    tablet = Watched(browser, PHONE)
    login(tablet.page, base, world.deputies[0], f"/hearings/{hearing.pk}/tablet/")
    tablet.page.wait_for_load_state("networkidle")
    tablet.check("tablet")

    liaison = Watched(browser, DESKTOP)
    login(liaison.page, base, session.liaisons[0], "/inbox/")
    liaison.check("inbox")
    liaison.visit(f"{base}/assignments/{assignment.pk}/")

    # The Django admin.
    admin = Watched(browser, DESKTOP)
    call(make_user, username="admin-csp", is_staff=True, is_superuser=True)
    admin.page.goto(f"{base}/admin/login/?next=/admin/")
    admin.page.fill("#id_username", "admin-csp")
    admin.page.fill("#id_password", PASSWORD)
    admin.page.click("input[type=submit]")
    expect(admin.page).to_have_url(f"{base}/admin/")
    admin.check("admin index")
    admin.visit(f"{base}/admin/hearings/hearing/")
    admin.visit(f"{base}/admin/hearings/hearing/{hearing.pk}/change/")
    admin.visit(f"{base}/admin/auth/user/add/")
