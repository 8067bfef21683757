"""Several app processes (the production stack): with PROMETHEUS_MULTIPROC_DIR each keeps its
figures in files there and one scrape adds them up; a stopped process's open sockets stop
counting once the stack forgets it, its counts stay counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.stack import Config, forget_metrics
from tests.metrics.helpers import Scrape

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(90)

WRITER = """
import sys
from core import metrics
sockets = int(sys.argv[1])
metrics.SOCKETS_OPEN.labels(endpoint="public").inc(sockets)
metrics.EVENTS_PUBLISHED.labels(type="agenda.current").inc()
metrics.FANOUT_SECONDS.labels(stream="public").observe(0.002)
metrics.BATCHED.labels(kind="likes").inc(sockets * 10)
import os
print(os.getpid())
"""

READER = """
import sys
import django
django.setup()
from config import metrics
sys.stdout.write(metrics.exposition([metrics.process_registry()]).decode())
"""


def run(code: str, directory: Path, *args: str) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


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


def test_two_processes_figures_are_added_up(tmp_path: Path) -> None:
    config = stack_config(tmp_path)
    directory = Path(config.app_env()["PROMETHEUS_MULTIPROC_DIR"])
    first = int(run(WRITER, directory, "2"))
    second = int(run(WRITER, directory, "3"))
    assert first != second
    both = Scrape(run(READER, directory))
    assert both.value("wenzheng_sockets_open", endpoint="public") == 5
    assert both.value("wenzheng_events_published_total", type="agenda.current") == 2
    assert both.value("wenzheng_fanout_seconds_count", stream="public") == 2
    assert both.value("wenzheng_batched_actions_total", kind="likes") == 50
    assert "pid" not in both.labels("wenzheng_sockets_open", "pid")  # added up, not one series each

    forget_metrics(config, first)  # the stack stopped the first process
    left = Scrape(run(READER, directory))
    assert left.value("wenzheng_sockets_open", endpoint="public") == 3  # its sockets are gone
    assert left.value("wenzheng_events_published_total", type="agenda.current") == 2  # what it did stays
    assert left.value("wenzheng_batched_actions_total", kind="likes") == 50


def test_without_the_directory_the_process_serves_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import REGISTRY

    from config import metrics

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert metrics.process_registry() is REGISTRY
