"""The files in deploy/systemd/ for a production server, made from the stack's own definitions.

    python -m deploy.units           # (re)write deploy/systemd/ from deploy/stack.py and the nginx template
    python -m deploy.units --check   # exit 1 when a file there differs from what this makes

The app processes run the same uvicorn command as scripts/stack (deploy/stack.py uvicorn_args),
the task worker the same `manage.py db_worker`, and nginx the site part of
deploy/nginx.conf.template; so the stack tried on one machine and the units are one definition.
The layout they assume (edit here and regenerate, or adapt the installed copies):
the checkout in /srv/wenzheng/app with its virtualenv in .venv, the settings in
/etc/wenzheng/app.env (deploy/systemd/app.env.example), a system user `wenzheng`.
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from deploy.stack import (
    GRACEFUL_SHUTDOWN_SECONDS,
    ROOT,
    TEMPLATE,
    WORKER_ARGS,
    fill,
    upstream_line,
    uvicorn_args,
)

SYSTEMD = ROOT / "deploy" / "systemd"
APP_DIR = "/srv/wenzheng/app"
VENV_BIN = f"{APP_DIR}/.venv/bin"
ENV_FILE = "/etc/wenzheng/app.env"
USER = "wenzheng"
PORTS = (8101, 8102)  # one app process per CPU core: wenzheng-app@8101, wenzheng-app@8102, …
SERVER_NAME = "wenzheng.example.gov.cn"
STATIC_ROOT = "/srv/wenzheng/static"
CERTIFICATE = "/etc/ssl/wenzheng/fullchain.pem"
CERTIFICATE_KEY = "/etc/ssl/wenzheng/privkey.pem"
# systemd's wait after SIGTERM before SIGKILL: uvicorn's graceful shutdown and some margin.
APP_STOP_SECONDS = GRACEFUL_SHUTDOWN_SECONDS + 10
WORKER_STOP_SECONDS = 60  # the running task finishes (a webhook's timeout, an e-mail)

GENERATED = "# Made by `python -m deploy.units` (deploy/units.py); edit that, or the installed copy.\n"

APP_UNIT = """{generated}# One app process per port:  systemctl enable --now wenzheng-app@8101 wenzheng-app@8102
# (one per CPU core; each port is a `server` line of the nginx site's upstream).
# Stopping one (SIGTERM) drains it: uvicorn stops listening, closes every socket with 1012
# ("service restart": clients reconnect at once to the other processes and resume), stores
# what those sockets had queued (likes, ballots) and exits within {graceful} s.
# Rolling restart, one instance at a time out of nginx's upstream: docs/deploy.md.
[Unit]
Description=问政 Live app process (port %i)
After=network-online.target postgresql.service redis-server.service
Wants=network-online.target

[Service]
Type=exec
User={user}
Group={user}
WorkingDirectory={app_dir}
EnvironmentFile={env_file}
ExecStart={exec_start}
# /run/wenzheng-metrics: PROMETHEUS_MULTIPROC_DIR (app.env), shared by every app process and the
# worker, kept when one of them restarts, emptied at boot (docs/metrics.md).
RuntimeDirectory=wenzheng-metrics
RuntimeDirectoryPreserve=yes
KillSignal=SIGTERM
TimeoutStopSec={stop}
Restart=always
RestartSec=2
LimitNOFILE=65536
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectHome=yes

[Install]
WantedBy=multi-user.target
"""

WORKER_UNIT = """{generated}# The task worker: webhooks, e-mail, reminders and the periodic jobs (docs/deploy.md).
# Tasks wait in the database while it is down. SIGTERM lets the running task finish.
[Unit]
Description=问政 Live task worker
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=exec
User={user}
Group={user}
WorkingDirectory={app_dir}
EnvironmentFile={env_file}
ExecStart={exec_start}
RuntimeDirectory=wenzheng-metrics
RuntimeDirectoryPreserve=yes
KillSignal=SIGTERM
TimeoutStopSec={stop}
Restart=always
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=full
ProtectHome=yes

[Install]
WantedBy=multi-user.target
"""

SITE_HEAD = """{generated}# The site for the system nginx: /etc/nginx/sites-available/wenzheng.conf, linked from
# sites-enabled/. It is the `http` part of deploy/nginx.conf.template (what scripts/stack runs),
# with the production names. One `server` line per app process (wenzheng-app@PORT).
# Set in /etc/nginx/nginx.conf, outside `http` (main and `events`), as the template does:
{main}
#
"""

SITE_TAIL = """
    # http -> https (Django would redirect too; this saves a hop).
    server {
        listen 80;
        server_name {server_name};
        return 301 https://$host$request_uri;
    }
"""


def app_unit() -> str:
    exec_start = shlex.join([f"{VENV_BIN}/uvicorn", *uvicorn_args("%i")])
    return APP_UNIT.format(
        generated=GENERATED,
        graceful=GRACEFUL_SHUTDOWN_SECONDS,
        user=USER,
        app_dir=APP_DIR,
        env_file=ENV_FILE,
        exec_start=exec_start,
        stop=APP_STOP_SECONDS,
    )


def worker_unit() -> str:
    return WORKER_UNIT.format(
        generated=GENERATED,
        user=USER,
        app_dir=APP_DIR,
        env_file=ENV_FILE,
        exec_start=shlex.join([f"{VENV_BIN}/python", *WORKER_ARGS]),
        stop=WORKER_STOP_SECONDS,
    )


def site() -> str:
    """The template's site part, filled with the production names, TLS on 443."""
    template = TEMPLATE.read_text()
    match = re.search(r"\n( *# ---- site: begin.*?\n)(.*?)( *# ---- site: end\n)", template, re.S)
    if match is None:
        raise ValueError("deploy/nginx.conf.template lacks its site: begin / site: end markers")
    body = match.group(2)
    tls = "\n".join(
        f"        {line}"
        for line in (
            f"ssl_certificate {CERTIFICATE};",
            f"ssl_certificate_key {CERTIFICATE_KEY};",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_session_cache shared:TLS:10m;",
        )
    )
    values = {
        "LOGS": "/var/log/nginx",
        "UPSTREAMS": "\n".join(upstream_line(port) for port in PORTS),
        "LISTEN": "443",
        "SSL": " ssl",
        "SERVER_NAME": SERVER_NAME,
        "TLS": tls,
        "STATIC_ROOT": STATIC_ROOT,
    }
    main = [
        line.strip()
        for line in template.splitlines()
        if line.strip().startswith(("worker_rlimit_nofile", "worker_shutdown_timeout", "worker_connections"))
    ]
    main_values = {"NOFILE": "20000", "CONNECTIONS": "8192"}
    head = SITE_HEAD.format(generated=GENERATED, main="\n".join(f"#   {fill(line, main_values)}" for line in main))
    return head + fill(body, values) + SITE_TAIL.replace("{server_name}", SERVER_NAME)


def files() -> dict[Path, str]:
    return {
        SYSTEMD / "wenzheng-app@.service": app_unit(),
        SYSTEMD / "wenzheng-worker.service": worker_unit(),
        SYSTEMD / "wenzheng.nginx.conf": site(),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    stale = [path for path, text in files().items() if not path.exists() or path.read_text() != text]
    if "--check" in args:
        for path in stale:
            print(f"{path.relative_to(ROOT)} differs from `python -m deploy.units`", file=sys.stderr)
        return 1 if stale else 0
    SYSTEMD.mkdir(exist_ok=True)
    for path, text in files().items():
        path.write_text(text)
    print("\n".join(f"wrote {path.relative_to(ROOT)}" for path in stale) or "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
