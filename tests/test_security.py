"""Hardening: login attempts limited (django-axes), CSRF on every form, HTTPS-only cookies
and HSTS in production settings."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from types import ModuleType
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from assignments import services as assignment_services
from tests.factories import PASSWORD, make_user
from tests.test_permissions import (
    ASSIGNMENT_ACTIONS,
    CONTROL_ACTIONS,
    Matrix,
    fingerprint,
    form_request,
    make_matrix,
    prepare,
    prepare_assignment,
    table,
)

ORIGIN = "https://testserver"


@pytest.fixture(autouse=True)
def _tmp_media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


# ------------------------------------------------------------------------------- login attempts


def login(
    client: Client, username: str, password: str, *, ip: str = "203.0.113.7", path: str = "/accounts/login/"
) -> Any:
    return client.post(path, {"username": username, "password": password}, secure=True, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_normal_login_works_and_forgets_earlier_failures() -> None:
    user = make_user("deputy-login")
    client = Client()
    for _ in range(4):
        assert login(client, "deputy-login", "wrong").status_code == 200  # the form again, with its error
    response = login(client, "deputy-login", PASSWORD)
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not AccessAttempt.objects.filter(username="deputy-login").exists()  # reset on success


@pytest.mark.django_db
def test_the_sixth_attempt_after_five_wrong_passwords_is_refused_even_with_the_right_one() -> None:
    make_user("moderator-login")
    client = Client()
    for _ in range(4):
        assert login(client, "moderator-login", "wrong").status_code == 200
    assert login(client, "moderator-login", "wrong").status_code == 429  # the fifth locks
    response = login(client, "moderator-login", PASSWORD)
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert not logged_in(client)
    # The Django admin's login is the same gate.
    assert login(client, "moderator-login", PASSWORD, path="/admin/login/").status_code == 429
    assert not logged_in(client)


@pytest.mark.django_db
def test_the_lockout_is_for_that_username_from_that_address_and_lifts_after_the_cool_off() -> None:
    make_user("liaison-login")
    make_user("neighbour")
    for _ in range(5):
        login(Client(), "liaison-login", "wrong")
    assert login(Client(), "liaison-login", PASSWORD).status_code == 429
    assert login(Client(), "liaison-login", PASSWORD, ip="198.51.100.9").status_code == 302  # another address
    assert login(Client(), "neighbour", PASSWORD).status_code == 302  # another user, same address
    cool_off = django_settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=15)
    AccessAttempt.objects.filter(username="liaison-login").update(
        attempt_time=timezone.now() - cool_off - timedelta(seconds=1)
    )
    assert login(Client(), "liaison-login", PASSWORD).status_code == 302


# ------------------------------------------------------------------------------- CSRF


def _csrf_cases() -> list[Any]:
    cases = [
        pytest.param("login", "anon", id="accounts-login"),
        pytest.param("admin-login", "anon", id="admin-login"),
        pytest.param("admin-add-hearing", "admin", id="admin-change-form"),
        pytest.param("logout", "deputy", id="accounts-logout"),
        pytest.param("set-language", "anon", id="set-language"),
        pytest.param("assignment-new", "mod", id="assignment-new"),
        pytest.param("notices-read", "liaison", id="notices-read"),
        pytest.param("review-plan", "mod", id="review-plan"),
    ]
    cases += [
        pytest.param(f"control:{action}", "mod", id=f"control-{action}") for action, _, _ in table(CONTROL_ACTIONS)
    ]
    allowed = {action: role for action, role, outcome in table(ASSIGNMENT_ACTIONS) if outcome == "ok"}
    cases += [pytest.param(f"assignment:{action}", role, id=f"assignment-{action}") for action, role in allowed.items()]
    return cases


def csrf_request(m: Matrix, form: str) -> tuple[str, dict[str, Any]]:
    """(path, data) of a form post that the role would otherwise be allowed to make."""
    kind, _, name = form.partition(":")
    if kind == "control":
        return f"/hearings/{m.hearing.pk}/control/do/{name}/", prepare(m, name)
    if kind == "assignment":
        return f"/assignments/{m.assignment.pk}/do/{name}/", prepare_assignment(m, name)
    if form in ("login", "admin-login"):
        user = m.users["deputy"].get_username()
        return ("/accounts/login/" if form == "login" else "/admin/login/"), {"username": user, "password": PASSWORD}
    if form == "admin-add-hearing":
        return "/admin/hearings/hearing/add/", {"title": "CSRF", "starts_at_0": "2026-01-01", "starts_at_1": "09:00"}
    path, data, _ = form_request(m, form)
    return path, data


@pytest.mark.django_db
@pytest.mark.parametrize(("form", "role"), _csrf_cases())
def test_every_form_refuses_a_post_without_the_csrf_token(form: str, role: str) -> None:
    m = make_matrix()
    client = Client(enforce_csrf_checks=True)
    if m.users.get(role) is not None:
        client.force_login(m.users[role])
    client.get("/accounts/login/", secure=True)  # sets the CSRF cookie, as a browser would have it
    token = client.cookies[django_settings.CSRF_COOKIE_NAME].value
    path, data = csrf_request(m, form)
    before = fingerprint()

    refused = client.post(path, data, secure=True, HTTP_ORIGIN=ORIGIN)
    assert refused.status_code == 403
    assert b"CSRF" in refused.content
    assert fingerprint() == before

    accepted = client.post(path, {**data, "csrfmiddlewaretoken": token}, secure=True, HTTP_ORIGIN=ORIGIN)
    assert accepted.status_code in (200, 302), accepted.status_code


@pytest.mark.django_db
def test_the_api_needs_no_csrf_token_because_no_cookie_authorizes_it() -> None:
    m = make_matrix()
    token = assignment_services.api_token_issue(department=m.lead)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/assignments/{m.assignment.pk}/transitions/",
        json.dumps({"action": "accept"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
        secure=True,
    )
    assert (response.status_code, response.json()["status"]) == (200, "accepted")


# ------------------------------------------------------------------------------- HTTPS settings


def load_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """config/settings.py evaluated afresh under `env` (the running settings stay as they are)."""
    for name in ("DEBUG", "HTTPS", "SECURE_SSL_REDIRECT", "LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "settings_under_test", django_settings.BASE_DIR / "config/settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "settings_under_test", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        pytest.param({"HTTPS": "1"}, True, id="HTTPS=1"),
        pytest.param({}, True, id="production-default"),
        pytest.param({"DEBUG": "0", "HTTPS": "1"}, True, id="DEBUG=0-HTTPS=1"),
        pytest.param({"HTTPS": "0"}, False, id="HTTPS=0"),
        pytest.param({"DEBUG": "1"}, False, id="DEBUG=1"),
    ],
)
def test_production_settings_make_cookies_https_only_and_send_hsts(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], secure: bool
) -> None:
    s = load_settings(monkeypatch, **env)
    assert s.SESSION_COOKIE_SECURE is secure
    assert s.CSRF_COOKIE_SECURE is secure
    assert s.SECURE_SSL_REDIRECT is secure
    assert (s.SECURE_HSTS_SECONDS >= 31536000) is secure
    assert s.SECURE_HSTS_INCLUDE_SUBDOMAINS is secure


def test_settings_limit_login_attempts_and_keep_the_audit_log(monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(monkeypatch)
    assert s.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert s.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert "axes" in s.INSTALLED_APPS and "audit" in s.INSTALLED_APPS
    assert s.AXES_FAILURE_LIMIT == 5
    assert s.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert s.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"], ["ip_address"]]
    assert s.LOGIN_ADDRESS_FAILURE_LIMIT == 30 and s.TRUSTED_PROXIES == []
    assert s.AXES_CLIENT_IP_CALLABLE == "core.clientaddr.axes_client_ip"
    tuned = load_settings(
        monkeypatch,
        LOGIN_FAILURE_LIMIT="10",
        LOGIN_COOLOFF_MINUTES="60",
        LOGIN_ADDRESS_FAILURE_LIMIT="100",
        TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8",
    )
    assert tuned.AXES_FAILURE_LIMIT == 10
    assert tuned.LOGIN_ADDRESS_FAILURE_LIMIT == 100 and tuned.TRUSTED_PROXIES == ["127.0.0.1", "10.0.0.0/8"]
    assert tuned.AXES_COOLOFF_TIME.total_seconds() == 60 * 60


@pytest.mark.django_db
def test_over_https_cookies_are_secure_and_hsts_is_sent() -> None:
    """The test run's own settings are production's (DEBUG off, so HTTPS on)."""
    make_user("https-user")
    client = Client()
    assert client.get("/", secure=False).status_code == 301  # plain http goes to https
    response = login(client, "https-user", PASSWORD)
    assert response.status_code == 302
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"]
    page = client.get("/accounts/login/", secure=True)
    assert page.cookies[django_settings.CSRF_COOKIE_NAME]["secure"]
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


# ------------------------------------------------------------ Content-Security-Policy, Permissions-Policy


def csp_of(response: Any) -> dict[str, list[str]]:
    directives = [part.split() for part in response["Content-Security-Policy"].split(";")]
    return {name: sources for name, *sources in directives}


@pytest.mark.django_db
def test_every_response_carries_the_content_security_policy_and_permissions_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages, the admin, the API, a 404 and a 500 alike (the browser test in
    tests/e2e/test_csp.py shows the policy breaks no page)."""
    client = Client(raise_request_exception=False)
    answers = {
        "page": client.get("/", secure=True),
        "login": client.get("/accounts/login/", secure=True),
        "admin": client.get("/admin/login/", secure=True),
        "api": client.get("/api/v1/assignments/", secure=True),
        "404": client.get("/no-such-page/", secure=True),
    }

    def broken(user: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("console.views.selectors.hearing_ids_where", broken)
    answers["500"] = client.get("/", secure=True)
    assert [answers[name].status_code for name in ("page", "login", "admin", "api", "404", "500")] == [
        200,
        200,
        200,
        200,
        404,
        500,
    ]
    for name, response in answers.items():
        csp = csp_of(response)
        assert csp["script-src"] == ["'self'"], name
        assert csp["style-src"] == ["'self'"], name
        assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], name
        assert csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'self'"], name
        assert csp["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"], name
        assert "camera=()" in response["Permissions-Policy"], name
        assert "microphone=()" in response["Permissions-Policy"], name
        assert "geolocation=()" in response["Permissions-Policy"], name
    # The standalone 500 page has no <style> of its own (the policy would refuse it).
    assert b"<style" not in answers["500"].content and b"css/error.css" in answers["500"].content


def test_a_foreign_host_still_gets_a_policy_without_its_name_in_it() -> None:
    response = Client().get("/", secure=True, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert csp_of(response)["connect-src"] == ["'self'"]


@pytest.mark.parametrize(("https", "sources"), [("1", ["'self'", "https:"]), ("0", ["'self'", "https:", "http:"])])
def test_the_livestream_may_come_from_another_host(
    monkeypatch: pytest.MonkeyPatch, https: str, sources: list[str]
) -> None:
    """A hearing's HLS address is usually a CDN's; plain http only where the site is plain http."""
    s = load_settings(monkeypatch, HTTPS=https)
    assert s.CONTENT_SECURITY_POLICY["media-src"] == sources
    assert "'unsafe-inline'" not in s.CONTENT_SECURITY_POLICY["script-src"]


@pytest.mark.django_db
def test_no_template_has_inline_script_or_style_blocks() -> None:
    """What the policy refuses: <script> with code, <style>, on…= handlers (JSON data blocks
    are not code and stay allowed)."""
    import re

    offenders = []
    for path in sorted((django_settings.BASE_DIR / "templates").rglob("*.html")):
        text = path.read_text()
        if re.search(r"<style\b|\son[a-z]+\s*=|javascript:", text):
            offenders.append(path.name)
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(path.name)
    assert offenders == []


# ------------------------------------------------------------------------------------ API docs


@pytest.mark.django_db
def test_the_api_docs_load_swagger_ui_from_our_own_static_files() -> None:
    import re

    response = Client().get("/api/v1/docs", secure=True)
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", html)
    styles = re.findall(r"<link\b[^>]*\bhref=\"([^\"]+)\"", html)
    assert scripts and all(src.startswith(django_settings.STATIC_URL) for src in scripts), scripts
    assert styles and all(href.startswith(django_settings.STATIC_URL) for href in styles), styles
    assert "cdn" not in html.lower() and "//" not in "".join(scripts + styles)
    for src in scripts:
        assert Client().get(src, secure=True).status_code == 200  # served, not a dead link
    assert Client().get("/api/v1/openapi.json", secure=True).status_code == 200
