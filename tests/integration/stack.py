"""The production-like stack (scripts/stack) under test: a private Redis, the stack itself,
and a socket client that keeps its stream the way PROTOCOL.md asks a careful client to."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from deploy.stack import Config
from tests.integration.servers import ROOT, free_port, server_env
from tests.waiting import wait_until

COUNTERS = (b'{"type":"likes"', b'{"type":"presence"', b'{"type":"poll.progress"', b'{"type":"attendance"')


def require_binary(name: str) -> str:
    """The program's path; skip without it, except under CI=true where that fails."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        reason = f"{name} is not installed (Debian: apt-get install {name})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI requires it: {reason}")
        pytest.skip(reason)
    return path


# --------------------------------------------------------------------------- private Redis


class PrivateRedis:
    """A redis-server of our own on a free port, with no persistence: stop() loses everything,
    as a restarted cache-only Redis does."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, *args, "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server on {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


# --------------------------------------------------------------------------- the stack


class Stack:
    """scripts/stack pointed at the test database and a private Redis, on free ports."""

    def __init__(self, directory: Path, redis_url: str, *, apps: int = 2, tls: bool = False) -> None:
        self.directory = directory
        self.redis_url = redis_url
        env = {k: v for k, v in os.environ.items() if not k.startswith("STACK_")}
        app = server_env()
        env.update(
            STACK_DIR=str(directory),
            STACK_PORT=str(free_port()),
            STACK_APP_PORTS=",".join(str(free_port()) for _ in range(apps)),
            STACK_DATABASE_URL=app["DATABASE_URL"],  # the test database (already migrated)
            STACK_REDIS_URL=redis_url,
            STACK_SECRET_KEY=app["SECRET_KEY"],  # session cookies made by the test are valid there
            STACK_TLS="1" if tls else "0",
            STACK_MIGRATE="0",
            STACK_SEED="0",
            DB_CONN_MAX_AGE="0",  # the test database is flushed between tests
            LOG_LEVEL="INFO",
        )
        self.env = env
        self.config: Config | None = None

    def command(self, name: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "deploy.stack", name, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode not in (0, 3):
            raise RuntimeError(f"scripts/stack {name} failed:\n{result.stdout}\n{result.stderr}")
        self.config = Config.load(self.directory)
        return result.stdout

    def up(self) -> str:
        return self.command("up")

    def down(self) -> str:
        return self.command("down")

    @property
    def cfg(self) -> Config:
        assert self.config is not None
        return self.config

    @property
    def url(self) -> str:
        return self.cfg.url

    def ws_url(self, path: str) -> str:
        return self.url.replace("http", "ws", 1) + path

    def app_pid(self, n: int) -> int:
        return int(self.cfg.app_pidfile(n).read_text())

    def kill_app(self, n: int) -> int:
        """SIGKILL app process `n` (no goodbye to its sockets) and wait until it is gone."""
        pid = self.app_pid(n)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            stat = Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else ""
            if ") Z " in stat:
                break  # a zombie: gone, only not reaped (its parent was the `up` that exited)
            time.sleep(0.05)
        return pid

    def presence(self, hearing_id: int) -> dict[str, float]:
        """Each process's last presence report for the hearing: process id → time of the report.
        A process reports on every tick of a room it holds, and once more (0) when it drops it."""
        return {k: stamp for k, (_, stamp) in self.presence_reports(hearing_id).items()}

    def presence_reports(self, hearing_id: int) -> dict[str, tuple[int, float]]:
        """Each process's last presence report: process id → (its count, time of the report)."""
        import redis

        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        entries: dict[str, str] = client.hgetall(f"{self.cfg.redis_prefix}:presence:{hearing_id}")  # type: ignore[assignment]
        reports = {}
        for k, v in entries.items():
            count, _, stamp = v.partition(":")
            reports[k] = (int(count), float(stamp))
        return reports

    # ---------------------------------------------------------------- logs

    def log_paths(self) -> list[Path]:
        return [self.cfg.app_log(n) for n in range(len(self.cfg.app_ports))]

    def offsets(self) -> dict[Path, int]:
        paths = [*self.log_paths(), self.cfg.logs / "nginx-access.log", self.cfg.logs / "nginx-error.log"]
        return {p: p.stat().st_size if p.exists() else 0 for p in paths}

    def app_log_since(self, offsets: Mapping[Path, int]) -> str:
        return "".join(_read_from(p, offsets.get(p, 0)) for p in self.log_paths())

    def nginx_errors_since(self, offsets: Mapping[Path, int]) -> str:
        path = self.cfg.logs / "nginx-error.log"
        return _read_from(path, offsets.get(path, 0))

    def access_since(self, offsets: Mapping[Path, int]) -> list[dict[str, Any]]:
        path = self.cfg.logs / "nginx-access.log"
        return [json.loads(line) for line in _read_from(path, offsets.get(path, 0)).splitlines() if line.strip()]

    # ---------------------------------------------------------------- HTTP

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return http(self.url + path, headers=headers)


def established(port: int) -> int:
    """Open TCP connections to a local listening port (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            count += 1
    return count


def _read_from(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with path.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def http(
    url: str, *, data: bytes | None = None, headers: Mapping[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) without following redirects; TLS certificates not verified (loopback)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPSHandler(context=ssl._create_unverified_context())
    )
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


async def http_async(url: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    return await asyncio.to_thread(http, url, **kwargs)


# --------------------------------------------------------------------------- client


class LiveClient(WSListener):
    """One socket's view of its stream, kept as PROTOCOL.md asks of a client: state events are
    applied in seq order; a reconnect sends `resume` with the last applied seq and drops
    out-of-order frames until its ack; any other jump in seq is recorded as a gap.

    The same object survives reconnects (it is its own listener factory)."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        counters: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.ssl_context = ssl_context
        origin = url.replace("ws", "http", 1).split("/ws/")[0]
        self.headers = {"Origin": origin, **(headers or {})}
        self.track_counters = counters
        self.transport: WSTransport | None = None
        self.seq = -1  # last applied state seq
        self.snapshot: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.gaps: list[tuple[int, int]] = []
        self.duplicates = 0
        self.dropped = 0  # out-of-order frames dropped while a resume was in flight
        self.resets = 0  # unsolicited snapshots (the server's "start afresh")
        self.resumed_by_snapshot = 0  # resumes answered with a snapshot (the missed events weighed more)
        self.resuming = False
        self.counters: dict[str, Any] = {}
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.connects = 0
        self.n = 0
        self._first: asyncio.Future[dict[str, Any]] | None = None
        self.closed: asyncio.Future[int | None] | None = None

    # ---------------------------------------------------------------- picows callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_exception(ConnectionError("socket closed"))
        self.waiters.clear()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            code = frame.get_close_code()
            if self.closed is not None and not self.closed.done():
                self.closed.set_result(int(code.value))
            transport.send_close(code)
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if payload.startswith(COUNTERS):
            if self.track_counters:
                message = json.loads(payload)
                key = message["type"]
                if key == "poll.progress":
                    key = f"poll.progress:{message['data']['poll']}"
                self.counters[key] = message["data"]
            return
        self.on_message(json.loads(payload))

    def on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in ("ack", "error"):
            waiter = self.waiters.pop(str(message.get("id")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)
            return
        if kind == "snapshot":
            self.snapshot = message
            if self._first is not None and not self._first.done():
                self._first.set_result(message)
                if self.seq < 0:
                    self.seq = message["seq"]
            elif self.resuming:
                self.resumed_by_snapshot += 1
                self.seq = message["seq"]
            else:
                self.resets += 1
                self.seq = message["seq"]
            return
        seq = message["seq"]
        if seq == self.seq + 1:
            self.seq = seq
            self.events.append(message)
        elif seq <= self.seq:
            self.duplicates += 1
        elif self.resuming:
            self.dropped += 1
        else:
            self.gaps.append((self.seq, seq))
            self.seq = seq
            self.events.append(message)

    # ---------------------------------------------------------------- actions

    async def open(self, timeout: float = 30) -> dict[str, Any]:
        """Connect (again); a client that has a seq resumes from it. Returns the snapshot."""
        loop = asyncio.get_running_loop()
        self._first = loop.create_future()
        self.closed = loop.create_future()
        self.resuming = self.seq >= 0
        await ws_connect(
            lambda: self,
            self.url,
            extra_headers=self.headers,
            websocket_handshake_timeout=timeout,
            ssl_context=self.ssl_context,
        )
        self.connects += 1
        snapshot = await asyncio.wait_for(self._first, timeout)
        for _attempt in range(3):
            if not self.resuming:
                break
            ack = await self.call("resume", timeout=timeout, seq=self.seq)
            assert ack["type"] == "ack", ack
            # The replay reached ack["seq"]; live events may already follow it. Only an ack
            # ahead of what arrived means something is still missing: resume again.
            self.resuming = ack["seq"] > self.seq
        assert not self.resuming, "resume did not catch up"
        return snapshot

    def send(self, action: str, client_id: str | None = None, **fields: Any) -> str:
        assert self.transport is not None
        self.n += 1
        client_id = client_id or f"a{self.n}"
        self.transport.send(WSMsgType.TEXT, json.dumps({"action": action, "id": client_id, **fields}).encode())
        return client_id

    async def call(self, action: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Send an action and wait for its ack or error."""
        self.n += 1
        client_id = f"c{self.n}"
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[client_id] = waiter
        self.send(action, client_id, **fields)
        return await asyncio.wait_for(waiter, timeout)

    def drop(self) -> None:
        """Lose the connection without a goodbye (a phone losing its network)."""
        if self.transport is not None:
            self.transport.disconnect(graceful=True)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_disconnected:
            self.transport.send_close()
            self.transport.disconnect()

    @property
    def is_closed(self) -> bool:
        return self.closed is not None and self.closed.done()

    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events]


async def wait_all(clients: list[LiveClient], seq: int, timeout: float = 20) -> float:
    """Until every client has applied `seq` (bounded)."""
    return await wait_until(lambda: all(c.seq >= seq for c in clients), timeout, 0.05, what=f"all at seq {seq}")


async def open_many(clients: Sequence[LiveClient], concurrency: int, attempts: int = 3) -> list[int]:
    """Open every client, `concurrency` handshakes at a time; a failed handshake is retried up to
    `attempts` times. Returns the HTTP statuses of refused handshakes (empty when none)."""
    gate = asyncio.Semaphore(concurrency)
    refused: list[int] = []

    async def one(client: LiveClient) -> None:
        async with gate:
            for attempt in range(attempts):
                try:
                    await client.open()
                    return
                except Exception as exc:
                    response = getattr(exc, "response", None)
                    if response is not None:
                        refused.append(int(response.status))
                    if attempt == attempts - 1:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))

    await asyncio.gather(*(one(c) for c in clients))
    return refused
