"""`./scripts/demo`, the README's one command, as a newcomer runs it: it serves the demo and its
task worker runs tasks (the periodic jobs queue some at once)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.servers import ROOT, free_port

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="the demo runs on its embedded SQLite; the first pass runs this"
)


def _wait(check: object, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _tasks_done(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'SUCCESSFUL'")
            return int(row.fetchone()[0])
    except sqlite3.Error:
        return 0


def test_scripts_demo_serves_the_demo_with_its_worker(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "demo.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"PORT": str(port), "SQLITE_PATH": str(database), "MEDIA_ROOT": str(tmp_path / "media")})
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/demo"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait(lambda: _serves(f"http://127.0.0.1:{port}/"), 240, "the demo serving /", proc, log)
        workers = subprocess.run(
            ["pgrep", "-s", str(proc.pid), "-f", "manage.py db_worker"], capture_output=True, text=True
        ).stdout.split()
        assert workers, "no task worker runs beside the server"
        _wait(lambda: _tasks_done(database) > 0, 60, "the worker running a task", proc, log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Stopping the demo stops its worker too: nothing of its session is left.
    deadline = time.monotonic() + 30
    while left := _session(proc.pid):
        assert time.monotonic() < deadline, f"left running: {left}"
        time.sleep(0.2)


def _session(sid: int) -> list[str]:
    found = subprocess.run(["pgrep", "-a", "-s", str(sid)], capture_output=True, text=True).stdout
    return found.splitlines()
