"""The order of `scripts/stack restart --rolling` (deploy/stack.py restart), with its process and
nginx steps recorded instead of run: never two app processes out of the upstream, each drained
only once out, put back only once ready; a failed start puts every process back and stops.
tests/integration/test_rolling_restart.py runs the real thing under a crowd."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from deploy import stack


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[stack.Config, list[Any]]:
    monkeypatch.setenv("STACK_APP_PORTS", "9101,9102,9103")
    config = stack.Config.from_env(tmp_path)
    log: list[Any] = []
    monkeypatch.setattr(stack, "nginx_pid", lambda config: 1)
    monkeypatch.setattr(stack, "app_pid", lambda config, n: 100 + n)
    monkeypatch.setattr(
        stack, "reload_nginx", lambda config, down=frozenset(): log.append(("upstream down", set(down)))
    )

    def drain(config: stack.Config, n: int) -> float:
        log.append(("drain", n))
        return 0.1

    def worker(config: stack.Config) -> str:
        log.append("worker")
        return "worker restarted"

    monkeypatch.setattr(stack, "_drain_app", drain)
    monkeypatch.setattr(stack, "_start_ready", lambda config, ns: log.append(("start and wait for /readyz", ns)))
    monkeypatch.setattr(stack, "_restart_worker", worker)
    monkeypatch.setattr(stack, "_wait", lambda *args, **kwargs: None)
    monkeypatch.setattr(stack, "status_lines", lambda config: [])
    monkeypatch.setattr(os, "kill", lambda pid, sig: log.append(("signal", pid, sig)))  # pids are made up
    return config, log


def test_rolling_restart_takes_one_process_out_at_a_time(steps: tuple[stack.Config, list[Any]]) -> None:
    config, log = steps
    out = stack.restart(config, rolling=True)
    assert log == [
        ("upstream down", {0}),
        ("drain", 0),
        ("start and wait for /readyz", [0]),
        ("upstream down", {1}),  # one reload: 0 back, 1 out
        ("drain", 1),
        ("start and wait for /readyz", [1]),
        ("upstream down", {2}),
        ("drain", 2),
        ("start and wait for /readyz", [2]),
        ("upstream down", set()),
        "worker",
    ]
    assert sum("drained in" in line for line in out) == 3


def test_a_process_that_does_not_come_back_stops_the_restart_with_every_process_in_the_upstream(
    steps: tuple[stack.Config, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, log = steps

    def start(config: stack.Config, ns: list[int]) -> None:
        log.append(("start and wait for /readyz", ns))
        if ns == [1]:
            raise stack.StackError("app 1 did not come up")

    monkeypatch.setattr(stack, "_start_ready", start)
    with pytest.raises(stack.StackError, match="app 1 did not come up"):
        stack.restart(config, rolling=True)
    assert log[-3:] == [("drain", 1), ("start and wait for /readyz", [1]), ("upstream down", set())]
    assert ("drain", 2) not in log and "worker" not in log


def test_plain_restart_stops_them_all_then_starts_them_all(steps: tuple[stack.Config, list[Any]]) -> None:
    config, log = steps
    stack.restart(config, rolling=False)
    assert log == [
        *[("signal", 100 + n, signal.SIGTERM) for n in range(3)],  # all at once
        *[("drain", n) for n in range(3)],
        ("start and wait for /readyz", [0, 1, 2]),
        "worker",
    ]


def test_rolling_goes_with_restart_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        stack.main(["up", "--rolling"])
    assert "--rolling goes with restart" in capsys.readouterr().err
