"""deploy/systemd/: the units, the nginx site, the settings file and the rolling-restart script a
county's administrator installs are the stack's own definitions (deploy/units.py makes them from
deploy/stack.py and deploy/nginx.conf.template) and are valid for systemd and nginx."""

from __future__ import annotations

import configparser
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

from deploy import stack, units
from realtime import consumers
from tests.test_deploy_check import check_deploy

ROOT = Path(__file__).resolve().parents[1]
SYSTEMD = ROOT / "deploy" / "systemd"
SCRIPT = SYSTEMD / "rolling-restart.sh"
SELF_SIGNED = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test"]


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
            pairs[key] = value
    return pairs


def test_the_files_are_what_deploy_units_makes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.units", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr + "\n(run `python -m deploy.units` and commit the result)"


def test_app_unit_runs_the_stacks_uvicorn_command_on_the_instance_port() -> None:
    service = unit(SYSTEMD / "wenzheng-app@.service")["Service"]
    command = shlex.split(service["ExecStart"])
    assert command[0] == f"{units.VENV_BIN}/uvicorn"
    config = stack.Config.from_env(Path("/nonexistent"))
    assert command[1:] == stack.uvicorn_args("%i")
    assert config.app_command(8101)[1:] == stack.uvicorn_args(8101)  # the stack runs the same
    # The entry point is real, and a stop drains within systemd's patience.
    module, _, attribute = command[1].partition(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).read_text().count(f"\n{attribute} = ") == 1
    graceful = int(command[command.index("--timeout-graceful-shutdown") + 1])
    assert consumers.SETTLE_SECONDS < graceful < int(service["TimeoutStopSec"])
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "always"
    assert service["EnvironmentFile"] == units.ENV_FILE
    assert graceful < stack.APP_STOP_SECONDS  # scripts/stack restart waits as long before SIGKILL


def test_worker_unit_runs_the_stacks_task_worker() -> None:
    service = unit(SYSTEMD / "wenzheng-worker.service")["Service"]
    command = shlex.split(service["ExecStart"])
    assert command == [f"{units.VENV_BIN}/python", *stack.WORKER_ARGS]
    assert command[1] == "manage.py" and command[2] in get_commands()
    assert service["WorkingDirectory"] == units.APP_DIR and (ROOT / "manage.py").exists()


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires systemd-analyze")
        pytest.skip("systemd-analyze is not installed")
    # Installed here instead of /srv/wenzheng/app (verify checks that the programs exist).
    venv = str(Path(sys.executable).parent)
    for name in ("wenzheng-app@.service", "wenzheng-worker.service"):
        text = (SYSTEMD / name).read_text().replace(units.VENV_BIN, venv).replace(units.APP_DIR, str(ROOT))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "wenzheng-app@8101.service"), str(tmp_path / "wenzheng-worker.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_nginx_accepts_the_site_inside_a_debian_like_http_block(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [*SELF_SIGNED, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    site = (SYSTEMD / "wenzheng.nginx.conf").read_text()
    site = site.replace(units.CERTIFICATE, str(cert)).replace(units.CERTIFICATE_KEY, str(key))
    site = site.replace("/var/log/nginx", str(tmp_path))
    (tmp_path / "site.conf").write_text(site)
    main_lines = [line.removeprefix("#   ") for line in site.splitlines() if line.startswith("#   worker_")]
    events = [line for line in main_lines if line.startswith("worker_connections")]
    main = [line for line in main_lines if line not in events]
    assert any(line.startswith("worker_shutdown_timeout") for line in main)
    # What Debian's /etc/nginx/nginx.conf has in `http`: the site must not repeat any of it.
    (tmp_path / "nginx.conf").write_text(
        "\n".join(main)
        + f"\npid {tmp_path}/nginx.pid;\nevents {{ {' '.join(events)} }}\n"
        + "http {\n sendfile on;\n tcp_nopush on;\n types_hash_max_size 2048;\n include /etc/nginx/mime.types;\n"
        + f" default_type application/octet-stream;\n access_log {tmp_path}/access.log;\n gzip on;\n"
        + f" include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    for port in units.PORTS:
        assert stack.upstream_line(port) in site


def test_settings_file_names_every_setting_the_stack_gives_its_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in stack.PASS_THROUGH:  # optional settings, passed through only when the caller sets them
        monkeypatch.delenv(name, raising=False)
    example = env_file(SYSTEMD / "app.env.example")
    given = set(stack.Config.from_env(tmp_path).app_env()) - set(stack.SYSTEM_ENV)
    assert given - set(example) == set(), "add them to deploy/systemd/app.env.example"
    settings_source = (ROOT / "config" / "settings.py").read_text()
    # Read by Python, and by prometheus-client at import (docs/metrics.md), not by a setting.
    for name in set(example) - {"DJANGO_SETTINGS_MODULE", "PYTHONUNBUFFERED", "PROMETHEUS_MULTIPROC_DIR"}:
        assert f'"{name}"' in settings_source, f"{name} is read by no setting"


def test_the_settings_file_with_a_real_key_passes_check_deploy(tmp_path: Path) -> None:
    # The units create /run/wenzheng-metrics at boot; here a directory of the test stands in.
    env = env_file(SYSTEMD / "app.env.example") | {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    code, ids, output = check_deploy(env)
    assert (code, ids) == (0, set()), output


# --------------------------------------------------------------------------- the rolling-restart script


def test_rolling_restart_script_marks_exactly_one_server_line(tmp_path: Path) -> None:
    site = tmp_path / "site.conf"
    original = (SYSTEMD / "wenzheng.nginx.conf").read_text()
    site.write_text(original)
    port = units.PORTS[0]

    def mark(state: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f'. "{SCRIPT}"; upstream {port} {state}'],
            env={**os.environ, "SITE": str(site)},
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert mark("down").returncode == 0
    down = site.read_text()
    assert down == original.replace(stack.upstream_line(port), stack.upstream_line(port, down=True))
    assert mark("up").returncode == 0 and site.read_text() == original
    site.write_text(original.replace(f"127.0.0.1:{port}", "127.0.0.1:9"))  # no such line: refused
    refused = mark("down")
    assert refused.returncode == 1 and "no 'server 127.0.0.1:8101' line" in refused.stderr


def test_rolling_restart_script_takes_each_instance_out_before_restarting_it(tmp_path: Path) -> None:
    """The script against stand-ins for systemctl, nginx, curl and pgrep that log what they
    are asked and what the site's upstream said at that moment."""
    bin_dir, log, site = tmp_path / "bin", tmp_path / "log", tmp_path / "site.conf"
    bin_dir.mkdir()
    site.write_text((SYSTEMD / "wenzheng.nginx.conf").read_text())
    (tmp_path / "nginx.pid").write_text("1\n")
    (tmp_path / "generation").write_text("0")
    state = f"grep -o 'server 127.0.0.1:[0-9]* [a-z_]*' {site} | tr '\\n' ' '"
    stubs = {
        # Each reload makes a new generation of workers.
        "systemctl": f"""echo "systemctl $* | $({state})" >> {log}
if [ "$1" = reload ]; then echo $(( $(cat {tmp_path}/generation) + 1 )) > {tmp_path}/generation; fi""",
        "pgrep": f"echo $(( 100 + $(cat {tmp_path}/generation) ))",
        "nginx": f'echo "nginx $*" >> {log}',
        "curl": f'echo "curl $*" >> {log}',
    }
    for name, body in stubs.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    result = subprocess.run(
        ["bash", str(SCRIPT)],
        env={
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "SITE": str(site),
            "NGINX_PID": str(tmp_path / "nginx.pid"),
            "PORTS": "8101 8102",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    steps = [line.strip() for line in log.read_text().splitlines()]
    up, down = "max_fails", "down"
    assert steps == [
        "nginx -t -q",
        f"systemctl reload nginx | server 127.0.0.1:8101 {down} server 127.0.0.1:8102 {up}",
        f"systemctl restart wenzheng-app@8101.service | server 127.0.0.1:8101 {down} server 127.0.0.1:8102 {up}",
        "curl -fsS -o /dev/null http://127.0.0.1:8101/readyz",
        "nginx -t -q",
        f"systemctl reload nginx | server 127.0.0.1:8101 {up} server 127.0.0.1:8102 {down}",
        f"systemctl restart wenzheng-app@8102.service | server 127.0.0.1:8101 {up} server 127.0.0.1:8102 {down}",
        "curl -fsS -o /dev/null http://127.0.0.1:8102/readyz",
        "nginx -t -q",
        f"systemctl reload nginx | server 127.0.0.1:8101 {up} server 127.0.0.1:8102 {up}",
        f"systemctl restart wenzheng-worker.service | server 127.0.0.1:8101 {up} server 127.0.0.1:8102 {up}",
    ]


def test_both_units_keep_the_metrics_directory_the_settings_file_names() -> None:
    """Every process writes its figures where PROMETHEUS_MULTIPROC_DIR says; one unit's restart
    must not empty it under the others (docs/metrics.md)."""
    directory = env_file(SYSTEMD / "app.env.example")["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("wenzheng-app@.service", "wenzheng-worker.service"):
        service = unit(SYSTEMD / name)["Service"]
        assert f"/run/{service['RuntimeDirectory']}" == directory, name
        assert service["RuntimeDirectoryPreserve"] == "yes", name
