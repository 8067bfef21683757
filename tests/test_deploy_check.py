"""`manage.py check --deploy` with production settings (docs/deploy.md, "Settings").

Behind TLS (HTTPS=1, nginx saying so in X-Forwarded-Proto) the check is clean. The loopback
stack of scripts/stack serves plain http (HTTPS=0), and gets exactly the four warnings
docs/deploy.md explains (no HSTS, no redirect, cookies not Secure); nothing else.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.stack import Config

ROOT = Path(__file__).resolve().parents[1]
PLAIN_HTTP_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


def check_deploy(env: dict[str, str]) -> tuple[int, set[str], str]:
    """Run the check in a fresh process with only `env` (and PATH/HOME): (exit code, check ids, output)."""
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    return result.returncode, set(re.findall(r"\(([a-z_]+\.[A-Z]\d+)\)", output)), output


def production_env(**overrides: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "wenzheng.example.gov.cn",
        "CSRF_TRUSTED_ORIGINS": "https://wenzheng.example.gov.cn",
        "HTTPS": "1",
        "DATABASE_URL": "postgres://wenzheng@127.0.0.1:5432/wenzheng",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "WEBHOOK_ALLOWED_HOSTS": "platform.example.gov.cn,127.0.0.1:9000",
        **overrides,
    }


def test_production_settings_behind_tls_pass_check_deploy() -> None:
    code, ids, output = check_deploy(production_env())
    assert (code, ids) == (0, set()), output
    assert "no issues" in output


def test_plain_http_behind_a_loopback_proxy_has_only_the_documented_warnings() -> None:
    code, ids, output = check_deploy(production_env(HTTPS="0", CSRF_TRUSTED_ORIGINS="http://127.0.0.1:8080"))
    assert ids == PLAIN_HTTP_WARNINGS, output
    assert code == 1  # warnings are reported, not silenced
    docs = (ROOT / "docs" / "deploy.md").read_text()
    assert all(check.split(".")[1] in docs for check in PLAIN_HTTP_WARNINGS)


@pytest.mark.parametrize("tls", [False, True])
def test_the_stacks_own_settings(tmp_path: Path, tls: bool) -> None:
    """What scripts/stack gives its app processes: clean with TLS, the four warnings without."""
    config = Config(
        dir=str(tmp_path),
        port=8080,
        app_ports=[8101, 8102],
        server="uvicorn",
        database_url="postgres://postgres@127.0.0.1:5432/wenzheng_stack",
        redis_url="redis://127.0.0.1:6379/0",
        redis_prefix="wenzheng-stack",
        tls=tls,
        seed=False,
        migrate=False,
    )
    env = config.app_env()
    assert env["DEBUG"] == "0" and len(env["SECRET_KEY"]) >= 50
    _code, ids, output = check_deploy(env)
    # The stack sets no webhook allowlist: anyone running it for real sets WEBHOOK_ALLOWED_HOSTS.
    assert ids == (set() if tls else PLAIN_HTTP_WARNINGS) | {"outbound.W001"}, output


@pytest.mark.parametrize(
    ("override", "flagged"),
    [
        ({"DEBUG": "1"}, "security.W018"),
        ({"SECRET_KEY": "short"}, "security.W009"),
        ({"WEBHOOK_ALLOWED_HOSTS": ""}, "outbound.W001"),
    ],
)
def test_the_check_does_flag_a_bad_setting(override: dict[str, str], flagged: str) -> None:
    code, ids, output = check_deploy(production_env(**override))
    assert code == 1 and flagged in ids, output
