"""static/live/player.js's rules that need no browser, run in Node: the reconnection backoff
(doubling from 1 s to at most 30 s, jittered ±25 % so that phones that lost the stream together
do not come back together) and the start a replay link asks for (?t= / #t=). (The player itself
plays in Chromium: tests/e2e/test_player.py.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.live.test_verify_action import _node

PLAYER = Path(__file__).resolve().parents[2] / "static" / "live" / "player.js"

SCRIPT = """
const { backoff, parseTime, startTime } = await import(process.argv[1]);
const out = {
  low: [0, 1, 2, 3, 4, 5, 6, 40, 1e9].map((n) => backoff(n, () => 0)),
  high: [0, 1, 2, 3, 4, 5, 6, 40, 1e9].map((n) => backoff(n, () => 0.999999)),
  mid: [0, 5].map((n) => backoff(n, () => 0.5)),
  parsed: ["0", "12", "90.5", "1:30", "1:02:03", " 45 ", "-5", "1:75", "abc", "", "1e3", "12s", "Infinity"]
    .map(parseTime),
  start: [
    { search: "?t=12", hash: "" },
    { search: "", hash: "#t=1:05" },
    { search: "?t=7", hash: "#t=9" },
    { search: "?x=1", hash: "" },
    { search: "?t=-3", hash: "" },
  ].map(startTime),
};
console.log(JSON.stringify(out));
"""


def run() -> Any:
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", SCRIPT, PLAYER.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_backoff_doubles_to_thirty_seconds_with_jitter_and_the_start_a_link_asks_for() -> None:
    out = run()
    assert out["mid"] == [1000, 30000]
    assert out["low"] == [750, 1500, 3000, 6000, 12000, 22500, 22500, 22500, 22500]
    assert out["high"] == [1250, 2500, 5000, 10000, 20000, 37500, 37500, 37500, 37500]
    assert out["parsed"] == [0, 12, 90.5, 90, 3723, 45, None, None, None, None, None, None, None]
    assert out["start"] == [12, 65, 7, None, None]
