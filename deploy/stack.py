"""A production-like 问政 Live on loopback: what `scripts/stack up|down|status` runs.

PostgreSQL and Redis are the running ones (a dedicated database, a dedicated key prefix);
N app processes (uvicorn, or daphne) serve config.asgi:application on their own ports; nginx,
rendered from deploy/nginx.conf.template, proxies HTTP and WebSockets to them and serves the
collected static files; one task worker (`manage.py db_worker`) delivers webhooks, e-mail and
reminders and runs the periodic jobs. Everything runs as the current user from one directory (STACK_DIR):
configuration, pid files, logs, static files, nginx's temp files. See docs/deploy.md.

Configuration comes from the environment on the first `up`; it is then kept in
STACK_DIR/stack.json, so `status`, `down` and a later `up` (which restarts whatever died) act on
the same stack.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import resource
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"

# Settings the app processes inherit from the caller when set (everything else is explicit).
PASS_THROUGH = (
    "LOG_LEVEL",
    "DB_CONN_MAX_AGE",
    "DB_CONN_HEALTH_CHECKS",
    "LIVE_HISTORY",
    "LIVE_TICK_MS",
    "LIVE_ASK_PER_MINUTE",
    "LIVE_LIKES_PER_SECOND",
    "LIVE_ADDRESS_VIEWERS_PER_MINUTE",
    "LIVE_ADDRESS_LIKES_PER_SECOND",
    "LIVE_ADDRESS_ASK_PER_MINUTE",
    "COLLECT_PER_MINUTE",
    "COLLECT_ADDRESS_PER_MINUTE",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_ADDRESS_FAILURE_LIMIT",
    "LOGIN_COOLOFF_MINUTES",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "DEFAULT_FROM_EMAIL",
    "WEBHOOK_ALLOWED_HOSTS",
    "OUTBOUND_RETRY_SECONDS",
    "REMINDERS_AT",
    "HOUSEKEEPING_AT",
    "TASK_RESULTS_KEEP_DAYS",
    "TASK_STALE_MINUTES",
    "DUTY_RECORD_PUBLIC",
    "AUDIENCE_SAMPLE_SECONDS",
    "AUDIENCE_FLUSH_SECONDS",
    "METRICS_TOKEN",
)
WORKER_MARKER = "db_worker"
GRACEFUL_SHUTDOWN_SECONDS = 5
SYSTEM_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


class StackError(Exception):
    pass


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "")
    return default if value == "" else value.strip().lower() in {"1", "true", "yes", "on"}


def default_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"wenzheng-stack-{pwd.getpwuid(os.getuid()).pw_name}"


def uvicorn_args(port: int | str) -> list[str]:
    """uvicorn's arguments for one app process: the stack's and the systemd unit's
    (deploy/units.py renders deploy/systemd/wenzheng-app@.service from them, port `%i`)."""
    return [
        "config.asgi:application",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--ws",
        "websockets-sansio",
        "--loop",
        "uvloop",
        "--ws-per-message-deflate",
        "false",
        "--ws-max-size",
        str(1024 * 1024),  # frames over 16 KiB get `too_large`; past 1 MiB the server closes
        "--lifespan",
        "off",
        "--proxy-headers",
        "--forwarded-allow-ips",
        LOOPBACK,
        "--backlog",
        "4096",
        # On SIGTERM: sockets closed with 1012, then this long for requests and for the sockets'
        # queued likes and ballots (realtime/consumers.py SETTLE_SECONDS is below it).
        "--timeout-graceful-shutdown",
        str(GRACEFUL_SHUTDOWN_SECONDS),
        "--no-access-log",  # nginx logs every request
    ]


# The task worker's arguments to `python` (run from the project directory).
WORKER_ARGS = ["manage.py", WORKER_MARKER, "--no-reload", "--interval", "1"]


@dataclass
class Config:
    dir: str
    port: int
    app_ports: list[int]
    server: str  # "uvicorn" (default) or "daphne"
    database_url: str
    redis_url: str
    redis_prefix: str
    tls: bool
    seed: bool
    migrate: bool
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, directory: Path) -> Config:
        count = int(_env("STACK_APPS", "2"))
        ports_text = os.environ.get("STACK_APP_PORTS", "")
        if ports_text:
            app_ports = [int(p) for p in ports_text.split(",") if p.strip()]
        else:
            base = int(_env("STACK_APP_BASE_PORT", "8101"))
            app_ports = [base + n for n in range(count)]
        server = _env("STACK_SERVER", "uvicorn")
        if server not in ("uvicorn", "daphne"):
            raise StackError(f"STACK_SERVER is uvicorn or daphne, not {server!r}")
        if not app_ports:
            raise StackError("at least one app process")
        return cls(
            dir=str(directory),
            port=int(_env("STACK_PORT", "8080")),
            app_ports=app_ports,
            server=server,
            database_url=_env("STACK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wenzheng_stack"),
            redis_url=_env("STACK_REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix=_env("STACK_REDIS_PREFIX", "wenzheng-stack"),
            tls=_flag("STACK_TLS", False),
            seed=_flag("STACK_SEED", True),
            migrate=_flag("STACK_MIGRATE", True),
            extra_env={name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)},
        )

    # ------------------------------------------------------------------ paths

    @property
    def path(self) -> Path:
        return Path(self.dir)

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def run(self) -> Path:
        return self.path / "run"

    @property
    def static_root(self) -> Path:
        return self.path / "static"

    @property
    def metrics_dir(self) -> Path:
        """Where the app processes keep their metrics for /metrics to add up (docs/metrics.md)."""
        return self.run / "metrics"

    @property
    def nginx_conf(self) -> Path:
        return self.run / "nginx.conf"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.port}"

    def app_pidfile(self, n: int) -> Path:
        return self.run / f"app-{n}.pid"

    def app_log(self, n: int) -> Path:
        return self.logs / f"app-{n}.log"

    @property
    def worker_pidfile(self) -> Path:
        return self.run / "worker.pid"

    @property
    def worker_log(self) -> Path:
        return self.logs / "worker.log"

    # ------------------------------------------------------------------ app processes

    def secret_key(self) -> str:
        """STACK_SECRET_KEY, else a key made once for this stack (50 random bytes, like Django's)."""
        given = os.environ.get("STACK_SECRET_KEY")
        path = self.path / "secret_key"
        if given:
            path.write_text(given)
        elif not path.exists():
            path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
        return path.read_text().strip()

    def app_env(self) -> dict[str, str]:
        """The production settings every app process (and every manage.py call) gets."""
        origins = [f"{self.scheme}://{host}:{self.port}" for host in (LOOPBACK, "localhost")]
        env = {name: os.environ[name] for name in SYSTEM_ENV if name in os.environ}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "PYTHONUNBUFFERED": "1",
                "DEBUG": "0",
                "SECRET_KEY": self.secret_key(),
                "ALLOWED_HOSTS": f"{LOOPBACK},localhost",
                "CSRF_TRUSTED_ORIGINS": ",".join(origins),
                # With TLS, nginx ends it and says so in X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER);
                # without, the loopback stack is plain http: no secure-only cookies, no redirect.
                "HTTPS": "1" if self.tls else "0",
                # nginx (on loopback) appends the client's address to X-Forwarded-For; the app
                # believes that header from it alone (login limits, per-address limits).
                "TRUSTED_PROXIES": LOOPBACK,
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "REDIS_PREFIX": self.redis_prefix,
                "STATIC_ROOT": str(self.static_root),
                "MEDIA_ROOT": str(self.path / "media"),
                # Links in e-mail (reminders, followers' confirmations) point at the stack.
                "SITE_URL": self.url,
                # Several processes: each keeps its metrics in files here, /metrics adds them up.
                "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            }
        )
        env.update(self.extra_env)
        self.metrics_dir.mkdir(parents=True, exist_ok=True)  # prometheus-client writes there on import
        return env

    def app_command(self, port: int) -> list[str]:
        if self.server == "daphne":
            return [
                str(VENV_BIN / "daphne"),
                "-b",
                LOOPBACK,
                "-p",
                str(port),
                # No --proxy-headers: daphne would take the client's address from the leftmost
                # X-Forwarded-For entry, which the client writes itself; the app reads the header
                # (TRUSTED_PROXIES, core/clientaddr.py).
                "--ping-interval",
                "20",
                "--ping-timeout",
                "30",
                "config.asgi:application",
            ]
        return [str(VENV_BIN / "uvicorn"), *uvicorn_args(port)]

    def save(self) -> None:
        (self.path / "stack.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: Path) -> Config | None:
        path = directory / "stack.json"
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


# --------------------------------------------------------------------------- processes


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None, marker: str) -> bool:
    """Is `pid` running and is it ours (its command line has `marker`)? Guards against pid reuse."""
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return marker in cmdline and status != "Z"


def app_pid(config: Config, n: int) -> int | None:
    pid = _read_pid(config.app_pidfile(n))
    return pid if _alive(pid, "config.asgi:application") else None


def worker_pid(config: Config) -> int | None:
    pid = _read_pid(config.worker_pidfile)
    return pid if _alive(pid, WORKER_MARKER) else None


def nginx_pid(config: Config) -> int | None:
    pid = _read_pid(config.run / "nginx.pid")
    return pid if _alive(pid, "nginx") else None


def _http_ok(url: str, timeout: float = 2) -> tuple[bool, str]:
    import ssl

    context = ssl._create_unverified_context()  # our own self-signed loopback certificate
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
            return response.status == 200, str(response.status)
    except urllib.error.HTTPError as exc:
        return False, str(exc.code)
    except OSError as exc:
        return False, type(exc).__name__


def _app_healthy(port: int) -> bool:
    return _http_ok(f"http://{LOOPBACK}:{port}/healthz")[0]


def _app_ready(port: int) -> bool:
    """The process answers and reaches the database and Redis: fit to take viewers."""
    return _http_ok(f"http://{LOOPBACK}:{port}/readyz")[0]


def _wait(what: str, check: Callable[[], bool], seconds: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            tail = ""
            if log is not None and log.exists():
                tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise StackError(f"{what} did not come up within {seconds:.0f} s{tail}")
        time.sleep(0.2)


def _manage(config: Config, *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=config.app_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise StackError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def start_app(config: Config, n: int) -> int:
    port = config.app_ports[n]
    log = config.app_log(n).open("ab")
    proc = subprocess.Popen(
        config.app_command(port),
        cwd=ROOT,
        env=config.app_env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the shell that ran `up`; stopped by `down`
    )
    log.close()
    config.app_pidfile(n).write_text(str(proc.pid))
    return proc.pid


def start_worker(config: Config) -> int:
    """The task worker: webhooks, e-mail, reminders and the periodic jobs (docs/deploy.md)."""
    log = config.worker_log.open("ab")
    proc = subprocess.Popen(
        [str(VENV_BIN / "python"), *WORKER_ARGS],
        cwd=ROOT,
        env=config.app_env(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    config.worker_pidfile.write_text(str(proc.pid))
    return proc.pid


def forget_metrics(config: Config, pid: int | None) -> None:
    """A stopped (or dead) app process's sockets no longer count: its live gauges go."""
    if pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, str(config.metrics_dir))  # type: ignore[no-untyped-call]


def _stop(pid: int, marker: str, sig: signal.Signals, grace: float) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while _alive(pid, marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid, marker):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- preparation


def ensure_database(url: str) -> bool:
    """Create the stack's database on the running server if it is missing; True if created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise StackError(f"no database name in {url}")
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.OperationalError as exc:
        raise StackError(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} unreachable: {exc}") from None


def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        raise StackError(f"Redis at {url} unreachable: {exc}") from None


def make_certificate(config: Config) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (loopback TLS only)."""
    cert, key = config.run / "tls.crt", config.run / "tls.key"
    if not cert.exists():
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        key.chmod(0o600)
    return cert, key


def render_nginx(config: Config, down: frozenset[int] = frozenset()) -> str:
    """nginx.conf for the stack; the app processes numbered in `down` are marked `down` in the
    upstream (no new requests or sockets go to them: a rolling restart's drain)."""
    user = pwd.getpwuid(os.getuid()).pw_name
    tls = "        # plain http on loopback: TLS ends elsewhere (docs/deploy.md)"
    if config.tls:
        cert, key = make_certificate(config)
        tls = "\n".join(
            f"        {line}"
            for line in (
                f"ssl_certificate {cert};",
                f"ssl_certificate_key {key};",
                "ssl_protocols TLSv1.2 TLSv1.3;",
                "ssl_session_cache shared:TLS:10m;",
            )
        )
    values = {
        # As root, nginx's workers would become `nobody` and could not read the stack's files.
        "USER": f"user {user};" if os.getuid() == 0 else "# runs as the current user",
        "WORKERS": "auto",
        "NOFILE": "20000",
        "CONNECTIONS": "8192",
        "RUN": str(config.run),
        "LOGS": str(config.logs),
        "MIME_TYPES": "/etc/nginx/mime.types",
        "UPSTREAMS": "\n".join(upstream_line(port, down=n in down) for n, port in enumerate(config.app_ports)),
        "LISTEN": f"{LOOPBACK}:{config.port}",
        "SSL": " ssl" if config.tls else "",
        "SERVER_NAME": f"{LOOPBACK} localhost",
        "TLS": tls,
        "STATIC_ROOT": str(config.static_root),
    }
    return fill(TEMPLATE.read_text(), values)


def fill(text: str, values: dict[str, str]) -> str:
    """The template with its placeholders (names in double braces) filled; all must be."""
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise StackError("nginx template has an unfilled placeholder")
    return text


def upstream_line(port: int, *, down: bool = False) -> str:
    """One app process in nginx's upstream; `down`: no new requests or sockets go to it."""
    if down:
        return f"        server {LOOPBACK}:{port} down;"
    return f"        server {LOOPBACK}:{port} max_fails=1 fail_timeout=5s;"


def _nginx_args(config: Config) -> list[str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise StackError("nginx is not installed (Debian: apt-get install nginx)")
    return [nginx, "-p", str(config.run), "-c", str(config.nginx_conf), "-e", str(config.logs / "nginx-error.log")]


def _run_nginx(config: Config, *extra: str) -> None:
    result = subprocess.run([*_nginx_args(config), *extra], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise StackError(f"nginx {' '.join(extra)} failed:\n{result.stderr}")


def _nginx_workers(master: int) -> set[int]:
    """nginx's workers that take new connections: the master's children other than the ones
    finishing their connections after a reload ("worker process is shutting down")."""
    workers = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == master and "worker process" in title and "shutting down" not in title:
            workers.add(int(entry.name))
    return workers


def reload_nginx(config: Config, down: frozenset[int] = frozenset()) -> None:
    """Render nginx.conf (with `down` marked), test it, reload, and wait until only new workers
    take connections: from then on nothing new reaches a process marked down. The old workers
    keep serving the sockets they hold until those close (worker_shutdown_timeout at most)."""
    config.nginx_conf.write_text(render_nginx(config, down))
    _run_nginx(config, "-t", "-q")
    master = nginx_pid(config)
    if master is None:
        raise StackError("nginx is not running (scripts/stack up)")
    before = _nginx_workers(master)
    _run_nginx(config, "-s", "reload")

    def renewed() -> bool:
        workers = _nginx_workers(master)
        return bool(workers) and not workers & before

    _wait("nginx's reloaded workers", renewed, 20, config.logs / "nginx-error.log")


def write_env_file(config: Config) -> Path:
    """The app's environment as a shell file, to run manage.py against the stack by hand."""
    path = config.path / "app.env"
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in sorted(config.app_env().items())))
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- commands


def up(config: Config) -> list[str]:
    """Bring the stack up, or start whatever of it is not running. Returns lines to print."""
    out: list[str] = []
    for directory in (config.path, config.logs, config.run, config.run / "tmp", config.static_root):
        directory.mkdir(parents=True, exist_ok=True)
    config.path.chmod(0o700)
    config.save()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit: one fd per viewer

    if worker_pid(config) is None and all(app_pid(config, n) is None for n in range(len(config.app_ports))):
        # Nothing of the stack runs: its metrics start from zero (counters of a previous run gone).
        shutil.rmtree(config.metrics_dir, ignore_errors=True)
    config.metrics_dir.mkdir(exist_ok=True)

    check_redis(config.redis_url)
    if ensure_database(config.database_url):
        out.append(f"created database {urlsplit(config.database_url).path.lstrip('/')}")
    if config.migrate:
        _manage(config, "migrate", "--noinput", "-v", "0")
    _manage(config, "collectstatic", "--noinput", "--clear", "-v", "0")
    report = _manage(config, "check", "--deploy")
    out.extend(f"check --deploy: {line}" for line in report.strip().splitlines() if "(security." in line)
    if config.seed:
        out.append(_manage(config, "seed_demo", "--base-url", config.url).rstrip())
    env_file = write_env_file(config)

    started = [n for n in range(len(config.app_ports)) if app_pid(config, n) is None]
    for n in started:
        forget_metrics(config, _read_pid(config.app_pidfile(n)))  # one that died: its sockets are gone
        start_app(config, n)
    for n in started:
        port = config.app_ports[n]
        _wait(
            f"app {n} on port {port}",
            partial(_app_healthy, port),
            60,
            config.app_log(n),
        )

    if worker_pid(config) is None:
        start_worker(config)
        out.append("started the task worker")
    _wait("the task worker", lambda: worker_pid(config) is not None, 10, config.worker_log)

    config.nginx_conf.write_text(render_nginx(config))
    _run_nginx(config, "-t", "-q")
    if nginx_pid(config) is None:
        _run_nginx(config)
    else:
        _run_nginx(config, "-s", "reload")
    _wait("nginx", lambda: nginx_pid(config) is not None, 10, config.logs / "nginx-error.log")
    _wait("the stack's /readyz", lambda: _http_ok(f"{config.url}/readyz")[0], 30, config.logs / "nginx-error.log")
    out.append(f"started app processes {started}" if started else "app processes already running")
    out.extend(status_lines(config))
    out.append(f"environment for manage.py: set -a; . {env_file}; set +a")
    return out


def status_lines(config: Config) -> list[str]:
    lines = [f"{config.url}/  ({config.server} x{len(config.app_ports)} behind nginx; files in {config.dir})"]
    for n, port in enumerate(config.app_ports):
        pid = app_pid(config, n)
        health = _http_ok(f"http://{LOOPBACK}:{port}/healthz")[1] if pid else "-"
        lines.append(f"  app {n}: port {port}  pid {pid or 'down'}  /healthz {health}  log {config.app_log(n)}")
    ready = _http_ok(f"{config.url}/readyz")[1] if nginx_pid(config) else "-"
    lines.append(f"  nginx: port {config.port}  pid {nginx_pid(config) or 'down'}  /readyz {ready}")
    lines.append(f"  worker: pid {worker_pid(config) or 'down'}  log {config.worker_log}")
    return lines


def healthy(config: Config) -> bool:
    apps = all(app_pid(config, n) is not None for n in range(len(config.app_ports)))
    worker = worker_pid(config) is not None
    return apps and worker and nginx_pid(config) is not None and _http_ok(f"{config.url}/readyz")[0]


def down(config: Config) -> list[str]:
    out = []
    pid = nginx_pid(config)
    if pid is not None:
        _stop(pid, "nginx", signal.SIGTERM, 10)  # fast stop: open sockets close, clients reconnect
        out.append(f"stopped nginx ({pid})")
    for n in range(len(config.app_ports)):
        pid = app_pid(config, n)
        if pid is not None:
            _stop(pid, "config.asgi:application", signal.SIGTERM, 10)
            forget_metrics(config, pid)
            out.append(f"stopped app {n} ({pid})")
        config.app_pidfile(n).unlink(missing_ok=True)
    pid = worker_pid(config)
    if pid is not None:
        _stop(pid, WORKER_MARKER, signal.SIGTERM, 30)  # lets the running task finish
        out.append(f"stopped the task worker ({pid})")
    config.worker_pidfile.unlink(missing_ok=True)
    out.append(f"logs kept in {config.logs}")
    return out


# SIGTERM to an app process: uvicorn stops listening, closes every socket with 1012 (service
# restart: clients reconnect at once, to another process), waits up to its
# --timeout-graceful-shutdown for requests and for each socket's queued likes and ballots to be
# stored (realtime/consumers.py, settle), and exits. Past this, SIGKILL.
APP_STOP_SECONDS = 15


def _drain_app(config: Config, n: int) -> float:
    """Stop app process `n` gracefully; the seconds it took (0 when it was not running)."""
    pid = app_pid(config, n)
    started = time.monotonic()
    if pid is not None:
        _stop(pid, "config.asgi:application", signal.SIGTERM, APP_STOP_SECONDS)
    config.app_pidfile(n).unlink(missing_ok=True)
    return time.monotonic() - started if pid is not None else 0.0


def _start_ready(config: Config, ns: list[int]) -> None:
    for n in ns:
        start_app(config, n)
    for n in ns:
        port = config.app_ports[n]
        _wait(f"app {n} on port {port} (/readyz)", partial(_app_ready, port), 60, config.app_log(n))


def _restart_worker(config: Config) -> str:
    pid = worker_pid(config)
    started = time.monotonic()
    if pid is not None:
        _stop(pid, WORKER_MARKER, signal.SIGTERM, 30)  # lets the running task finish
    stopped = time.monotonic() - started
    new = start_worker(config)
    _wait("the task worker", lambda: worker_pid(config) is not None, 10, config.worker_log)
    return f"task worker restarted (pid {pid or '-'} -> {new}), stopped in {stopped:.1f} s"


def restart(config: Config, *, rolling: bool) -> list[str]:
    """New app processes (and a new task worker) for the running stack, e.g. after a deploy.

    Rolling: one app process at a time, while the others serve. Each is taken out of nginx's
    upstream (marked `down`, reload), drained (SIGTERM: its sockets are told to reconnect
    elsewhere and its queued actions are stored), started again, waited for (/readyz) and put
    back (reload) before the next. Viewers and tablets notice a reconnect, nothing more.
    Plain: every app process at once (requests fail meanwhile; sockets reconnect when back)."""
    if nginx_pid(config) is None:
        raise StackError("the stack is not running (scripts/stack up)")
    out: list[str] = []
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the new processes' sockets
    ns = list(range(len(config.app_ports)))
    if not rolling or len(ns) == 1:
        if rolling:
            out.append("one app process: its clients reconnect once it is back (no other to go to)")
        started = time.monotonic()
        for n in ns:
            pid = app_pid(config, n)
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
        drained = max(_drain_app(config, n) for n in ns)
        _start_ready(config, ns)
        out.append(
            f"app processes restarted: stopped within {drained:.1f} s, back after {time.monotonic() - started:.1f} s"
        )
    else:
        # One reload puts a process back and takes the next one out: each reload leaves the
        # sockets open then in nginx's old workers (until they close, or worker_shutdown_timeout).
        reload_nginx(config, down=frozenset({ns[0]}))
        for n in ns:
            port = config.app_ports[n]
            old = app_pid(config, n)
            started = time.monotonic()
            try:
                drained = _drain_app(config, n)
                _start_ready(config, [n])
            except StackError:
                # Every process back in the upstream (nginx skips one that refuses), then stop
                # here: `scripts/stack status` and the app's log say what went wrong.
                reload_nginx(config)
                raise
            reload_nginx(config, down=frozenset({n + 1}) if n + 1 < len(ns) else frozenset())
            out.append(
                f"app {n} (port {port}): pid {old or '-'} -> {app_pid(config, n)}, drained in {drained:.1f} s, "
                f"back in the upstream after {time.monotonic() - started:.1f} s"
            )
    out.append(_restart_worker(config))
    _wait("the stack's /readyz", lambda: _http_ok(f"{config.url}/readyz")[0], 30, config.logs / "nginx-error.log")
    out.extend(status_lines(config))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "restart"])
    parser.add_argument(
        "--rolling",
        action="store_true",
        help="restart: one app process at a time, out of nginx's upstream while it drains",
    )
    args = parser.parse_args(argv)
    if args.rolling and args.command != "restart":
        parser.error("--rolling goes with restart")
    directory = Path(os.environ.get("STACK_DIR") or default_dir())
    saved = Config.load(directory)
    try:
        if args.command == "up":
            running = saved is not None and (
                nginx_pid(saved) is not None
                or worker_pid(saved) is not None
                or any(app_pid(saved, n) for n in range(len(saved.app_ports)))
            )
            # A running stack keeps its configuration; a stopped one takes the environment's.
            config = saved if running and saved is not None else Config.from_env(directory)
            print("\n".join(up(config)))
            return 0
        if saved is None:
            print(f"no stack in {directory}")
            return 3 if args.command == "status" else 0
        if args.command == "status":
            print("\n".join(status_lines(saved)))
            return 0 if healthy(saved) else 3
        if args.command == "restart":
            print("\n".join(restart(saved, rolling=args.rolling)))
            return 0
        print("\n".join(down(saved)))
        return 0
    except StackError as exc:
        print(f"scripts/stack {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
