"""static/live/live.js against a scripted server: seq order, resume on a gap, counters,
acks and errors, the offline queue, reconnects and the close codes that stop it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START = """async () => {
  const { connect } = await import("/static/live/live.js");
  window.log = [];
  window.results = {};
  window.live = connect({
    url: "/ws/scripted/",
    onSnapshot: (data, seq) => log.push(["snapshot", seq, data.n]),
    onEvent: (type, data, seq) => log.push(["event", seq, data.n]),
    onCounter: (type, data) => log.push(["counter", type, data.online]),
    onStatus: (status, detail) => log.push(["status", status, detail.code ?? null]),
  });
  window.track = (name, promise) =>
    promise.then((ack) => (results[name] = ["ack", ack]), (err) => (results[name] = ["error", err]));
}"""


class ScriptedServer:
    """Plays the server's side of the protocol (no real server behind the socket)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.sockets: list[Any] = []
        self.inbox: list[dict[str, Any]] = []
        page.route_web_socket("**/ws/scripted/", self._accept)

    def _accept(self, ws: Any) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda message: self.inbox.append(json.loads(message)))

    def send(self, type_: str, seq: int | None = None, **data: Any) -> None:
        self.sockets[-1].send(json.dumps({"type": type_, "seq": seq, "data": data}))

    def answer(self, frame: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps(frame))

    def log(self) -> list[list[Any]]:
        return self.page.evaluate("window.log")

    def events(self) -> list[int]:
        return [entry[1] for entry in self.log() if entry[0] == "event"]

    def results(self) -> dict[str, Any]:
        return self.page.evaluate("window.results")


@pytest.fixture
def scripted(browser: Any, asgi_server: str) -> Any:
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    server = ScriptedServer(page)
    page.goto(asgi_server + "/")
    page.evaluate(START)
    wait_until(page, lambda: server.sockets, message="the client to connect")
    yield server
    page.context.close()
    assert not errors, errors


def test_gap_is_resumed_and_events_apply_strictly_in_order(scripted: ScriptedServer) -> None:
    page = scripted.page
    scripted.send("snapshot", 5, n="s")
    scripted.send("hearing.status", 6, n=6)
    scripted.send("hearing.status", 6, n="again")  # a duplicate changes nothing
    scripted.send("hearing.status", 8, n=8)  # 7 went missing
    wait_until(page, lambda: [f for f in scripted.inbox if f["action"] == "resume"], message="resume")
    resume = scripted.inbox[-1]
    assert resume["seq"] == 6
    scripted.send("hearing.status", 9, n=9)  # still out of order: dropped, no second resume
    scripted.send("presence", 6, online=42)  # counters apply whatever their seq
    # The server replays what was missed, in order, then acks.
    for seq in (7, 8, 9):
        scripted.send("hearing.status", seq, n=seq)
    scripted.answer({"type": "ack", "id": resume["id"], "seq": 9})
    scripted.send("hearing.status", 10, n=10)
    wait_until(page, lambda: 10 in scripted.events(), message="event 10")
    assert scripted.events() == [6, 7, 8, 9, 10]
    assert ["counter", "presence", 42] in scripted.log()
    assert [f["action"] for f in scripted.inbox] == ["resume"]

    # The server may reset the client at any time with a new snapshot.
    scripted.send("snapshot", 20, n="reset")
    scripted.send("hearing.status", 21, n=21)
    wait_until(page, lambda: 21 in scripted.events(), message="event 21")
    assert ["snapshot", 20, "reset"] in scripted.log()


def test_actions_are_answered_queued_offline_and_resent_after_reconnect(scripted: ScriptedServer) -> None:
    page = scripted.page
    scripted.send("snapshot", 1, n="s")
    page.evaluate("""() => {
      track("vote", live.send("vote", {poll: 3, choice: "满意", ballot: "b-1"}));
      track("ask", live.send("ask", {text: "问题"}));
    }""")
    wait_until(page, lambda: len(scripted.inbox) == 2, message="two actions")
    vote, ask = scripted.inbox
    assert (vote["action"], vote["ballot"], ask["action"]) == ("vote", "b-1", "ask")

    # The line drops before any answer: the vote (safe to repeat) waits, the question cannot
    # know whether it arrived and says so.
    scripted.sockets[-1].close(code=4000)
    wait_until(page, lambda: "ask" in scripted.results(), message="the ask to fail")
    assert scripted.results()["ask"][1]["code"] == "connection_lost"
    page.evaluate("""() => { track("checkin", live.send("checkin")); }""")
    wait_until(page, lambda: len(scripted.sockets) == 2, message="a reconnect")
    page.wait_for_timeout(200)
    assert len(scripted.inbox) == 2  # nothing is sent before the snapshot
    assert ["status", "reconnecting", 4000] in scripted.log()

    scripted.send("snapshot", 3, n="again")
    wait_until(page, lambda: len(scripted.inbox) == 4, message="the queue to flush")
    resent, checkin = scripted.inbox[2:]
    assert resent == vote  # the same frame: same client id, same ballot UUID
    assert checkin["action"] == "checkin"
    scripted.answer({"type": "ack", "id": resent["id"], "poll": 3, "duplicate": True})
    scripted.answer({"type": "error", "id": checkin["id"], "code": "invalid_state", "message": "ended"})
    wait_until(page, lambda: len(scripted.results()) == 3, message="all answers")
    results = scripted.results()
    assert results["vote"] == ["ack", {"type": "ack", "id": vote["id"], "poll": 3, "duplicate": True}]
    assert results["checkin"] == ["error", {"code": "invalid_state", "message": "ended"}]
    assert ["status", "open", None] in scripted.log()


@pytest.mark.parametrize("code", [4403, 4404])
def test_refused_connection_stops_for_good(scripted: ScriptedServer, code: int) -> None:
    page = scripted.page
    page.evaluate("""() => { track("vote", live.send("vote", {poll: 1, choice: "满意", ballot: "b"})); }""")
    scripted.sockets[-1].close(code=code)
    wait_until(page, lambda: "vote" in scripted.results(), message="the queued vote to fail")
    assert scripted.results()["vote"][1]["code"] == "connection_refused"
    assert ["status", "stopped", code] in scripted.log()
    page.wait_for_timeout(1500)  # longer than the first backoff
    assert len(scripted.sockets) == 1


def test_a_restart_close_spreads_the_first_reconnect_over_two_seconds(scripted: ScriptedServer) -> None:
    """1012 (a rolling restart drains the process, docs/deploy.md) and 1001: the first reconnect
    comes at a random moment within 2 s, so a drained crowd does not arrive at once; any other
    close, and a restart close that follows a failed attempt, keeps the exponential backoff."""
    delays = scripted.page.evaluate("""async () => {
      const { LiveSocket } = await import("/static/live/live.js");
      const delays = {};
      for (const [code, attempt] of [[1012, 0], [1001, 0], [4000, 0], [1012, 1]]) {
        const seen = [];
        const live = new LiveSocket({
          url: "/ws/none/",
          onStatus: (status, detail) => status === "reconnecting" && seen.push(detail.delay),
        });
        for (let i = 0; i < 200; i++) {
          live.ws = {};
          live.attempt = attempt;
          live.closed(live.ws, code);
        }
        live.close();
        delays[`${code}/${attempt}`] = seen;
      }
      return delays;
    }""")
    for restart in ("1012/0", "1001/0"):
        assert all(0 <= d <= 2000 for d in delays[restart])
        assert min(delays[restart]) < 500 and max(delays[restart]) > 1500  # spread over the window
    assert all(250 <= d <= 500 for d in delays["4000/0"])
    assert all(500 <= d <= 1000 for d in delays["1012/1"])
