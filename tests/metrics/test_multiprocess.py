"""Several app processes (the production stack): with PROMETHEUS_MULTIPROC_DIR each keeps its
figures in files there and one scrape adds them up; a process that is gone stops counting its
open sockets (found at the scrape, or told by the stack when it stops one), its counts stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.stack import Config, forget_metrics
from tests.metrics.helpers import Scrape

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(90)

WRITER = """
import os
import sys
from core import metrics
sockets = int(sys.argv[1])
metrics.SOCKETS_OPEN.labels(endpoint="public").inc(sockets)
metrics.EVENTS_PUBLISHED.labels(type="agenda.current").inc()
metrics.FANOUT_SECONDS.labels(stream="public").observe(0.002)
metrics.BATCHED.labels(kind="likes").inc(sockets * 10)
print(os.getpid(), flush=True)
sys.stdin.read()  # serving until told to stop
"""

READER = """
import sys
import django
django.setup()
from config import metrics
sys.stdout.write(metrics.exposition([metrics.process_registry()]).decode())
"""


def environment(directory: Path) -> dict[str, str]:
    return {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "config.settings"}


def read(directory: Path) -> Scrape:
    result = subprocess.run(
        [sys.executable, "-c", READER], cwd=ROOT, env=environment(directory), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return Scrape(result.stdout)


class Writer:
    """An app process that opened `sockets` sockets, published an event, batched likes."""

    def __init__(self, directory: Path, sockets: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(sockets)],
            cwd=ROOT,
            env=environment(directory),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.pid = int(self.proc.stdout.readline())  # its figures are written

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def writers() -> Iterator[list[Writer]]:
    started: list[Writer] = []
    yield started
    for writer in started:
        writer.stop()


def stack_config(tmp_path: Path) -> Config:
    return Config(
        dir=str(tmp_path),
        port=8080,
        app_ports=[8101, 8102],
        server="uvicorn",
        database_url="postgres://postgres@127.0.0.1:5432/wenzheng_stack",
        redis_url="redis://127.0.0.1:6379/0",
        redis_prefix="wenzheng-stack",
        tls=False,
        seed=False,
        migrate=False,
    )


def test_the_stack_gives_its_processes_a_directory_in_its_run_dir(tmp_path: Path) -> None:
    config = stack_config(tmp_path)
    directory = Path(config.app_env()["PROMETHEUS_MULTIPROC_DIR"])
    assert directory == config.run / "metrics" and directory.is_dir()


def test_two_processes_figures_are_added_up(tmp_path: Path, writers: list[Writer]) -> None:
    config = stack_config(tmp_path)
    directory = Path(config.app_env()["PROMETHEUS_MULTIPROC_DIR"])
    writers += [Writer(directory, 2), Writer(directory, 3)]
    first, second = writers
    both = read(directory)
    assert both.value("wenzheng_sockets_open", endpoint="public") == 5
    assert both.value("wenzheng_events_published_total", type="agenda.current") == 2
    assert both.value("wenzheng_fanout_seconds_count", stream="public") == 2
    assert both.value("wenzheng_batched_actions_total", kind="likes") == 50
    assert both.labels("wenzheng_sockets_open", "pid") == set()  # added up, not a series each

    first.stop()  # gone without a word (a crash, a restart): its sockets no longer count
    left = read(directory)
    assert left.value("wenzheng_sockets_open", endpoint="public") == 3
    assert left.value("wenzheng_events_published_total", type="agenda.current") == 2  # what it did stays
    assert left.value("wenzheng_batched_actions_total", kind="likes") == 50
    assert not list(directory.glob(f"gauge_live*_{first.pid}.db"))
    assert list(directory.glob(f"gauge_live*_{second.pid}.db"))


def test_a_process_ended_but_not_yet_reaped_is_gone(tmp_path: Path, writers: list[Writer]) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    writers += [Writer(directory, 2), Writer(directory, 3)]
    ended = writers[0]
    assert ended.proc.stdin is not None
    ended.proc.stdin.close()  # it exits; nobody waits for it yet: a zombie
    stat = Path(f"/proc/{ended.pid}/stat")
    deadline = time.monotonic() + 10
    while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the writer did not end"
        time.sleep(0.01)
    assert read(directory).value("wenzheng_sockets_open", endpoint="public") == 3


def test_the_stack_forgets_a_process_it_stopped(tmp_path: Path, writers: list[Writer]) -> None:
    config = stack_config(tmp_path)
    directory = Path(config.app_env()["PROMETHEUS_MULTIPROC_DIR"])
    writers.append(Writer(directory, 4))
    writers[0].stop()
    assert list(directory.glob(f"gauge_live*_{writers[0].pid}.db"))
    forget_metrics(config, writers[0].pid)
    assert not list(directory.glob(f"gauge_live*_{writers[0].pid}.db"))
    assert list(directory.glob(f"counter_{writers[0].pid}.db"))  # its counts stay counted
    forget_metrics(config, None)  # no pid file: nothing to do


def test_without_the_directory_the_process_serves_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import REGISTRY

    from config import metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert metrics.process_registry() is REGISTRY
