// 问政 Live — the one WebSocket client every page uses (see shared/PROTOCOL.md).
//
//   import { connect } from "/static/live/live.js";
//   const live = connect({ url: "/ws/hearings/1/deputy/", onSnapshot, onEvent, onCounter, onStatus });
//   live.send("vote", { poll: 3, choice: "满意", ballot: crypto.randomUUID() }).then(ack => ..., err => ...);
//
// What it guarantees to the page:
// - onSnapshot(data, seq) first after every (re)connect, and whenever the server resets us;
// - onEvent(type, data, seq) for state events strictly in seq order, never one missing:
//   a gap makes it ask the server to `resume` and drop out-of-order frames until the ack;
// - onCounter(type, data) for `likes`, `presence`, `poll.progress`, `attendance` (absolute values,
//   seq unchanged);
// - onStatus(status, detail): "connecting" | "open" | "reconnecting" {delay, code} |
//   "stopped" {code: 4403 | 4404, reason} — after "stopped" it never reconnects, and
//   whatever was waiting rejects with code "connection_refused";
// - send() resolves with the `ack` frame or rejects with the `error` frame ({code, message}).
//   Actions sent while disconnected wait and go out after the next snapshot. One that was in
//   flight when the socket dropped is sent again only if it is safe to repeat (RETRY below,
//   or {retry: true}); otherwise it rejects with code "connection_lost".

const COUNTERS = new Set(["likes", "presence", "poll.progress", "attendance"]);
// Safe to send twice: the server answers a repeat with duplicate:true (a vote repeats its ballot UUID).
const RETRY = new Set(["vote", "checkin", "like", "ping"]);
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const HEARTBEAT_MS = 25000; // ping when the line has been quiet this long...
const HEARTBEAT_TIMEOUT_MS = 10000; // ...and give the socket up if no answer comes
const STOP_CODES = { 4403: "forbidden", 4404: "not_found" };
// The server going away on purpose (1001 going away, 1012 service restart: a rolling restart
// drains one app process while the others serve): come back at once, but spread over this
// window so the drained process's whole crowd does not land on the others in one instant.
const RESTART_CODES = new Set([1001, 1012]);
const RESTART_SPREAD_MS = 2000;

function noop() {}

export class LiveSocket {
  constructor({ url, onSnapshot = noop, onEvent = noop, onCounter = noop, onStatus = noop }) {
    this.url = LiveSocket.absolute(url);
    this.handlers = { onSnapshot, onEvent, onCounter, onStatus };
    this.ws = null;
    this.seq = null; // null until the first snapshot of this connection
    this.resuming = null; // client id of the `resume` in flight
    this.pending = new Map(); // client id -> {frame, retry, sent, resolve, reject}
    this.counter = 0;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.lastFrameAt = 0;
    this.heartbeat = null;
    // The browser knows before we do when the network is back: try at once.
    this.onOnline = () => {
      if (!this.stopped && !this.ws) this.reconnectNow(); // between retries: skip the wait
    };
    window.addEventListener("online", this.onOnline);
  }

  // "/ws/..." → "ws://host/ws/..." or "wss://host/ws/..." after the page's own scheme.
  static absolute(url) {
    if (/^wss?:/.test(url)) return url;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${url}`;
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.seq !== null;
  }

  start() {
    if (this.stopped || this.ws) return this;
    this.handlers.onStatus("connecting", {});
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.seq = null;
    this.resuming = null;
    ws.onmessage = (msg) => this.receive(msg.data);
    ws.onclose = (ev) => this.closed(ws, ev.code);
    // onerror is always followed by onclose, where the real work happens.
    return this;
  }

  // Stop for good (page leaving): pending actions reject.
  close() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000);
    this.failAll("closed", "the page closed its connection");
  }

  send(action, fields = {}, { retry = RETRY.has(action) } = {}) {
    const id = `${action}.${++this.counter}.${Date.now().toString(36)}`;
    const frame = JSON.stringify({ ...fields, action, id });
    return new Promise((resolve, reject) => {
      if (this.stopped) {
        reject({ code: "closed", message: "not connected" });
        return;
      }
      this.pending.set(id, { frame, retry, sent: false, resolve, reject });
      if (this.connected) this.transmit(id);
    });
  }

  // ------------------------------------------------------------------ internals

  transmit(id) {
    const entry = this.pending.get(id);
    if (!entry || !this.connected) return;
    entry.sent = true;
    this.ws.send(entry.frame);
  }

  receive(text) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn("live: not JSON", text);
      return;
    }
    const { type, seq, data } = frame;
    if (type === "snapshot") return this.snapshot(seq, data);
    if (type === "ack" || type === "error") return this.answer(frame);
    if (this.seq === null) return; // nothing applies before the snapshot
    if (COUNTERS.has(type)) return this.handlers.onCounter(type, data, seq);
    if (typeof seq !== "number" || seq <= this.seq) return; // already applied
    if (seq === this.seq + 1) {
      this.seq = seq;
      this.handlers.onEvent(type, data, seq);
      return;
    }
    // A gap: we missed something. Ask for it once and drop what comes out of order until
    // the ack; the missed events arrive in order before it (or a snapshot resets us).
    if (this.resuming === null) this.resume();
  }

  snapshot(seq, data) {
    const first = this.seq === null;
    this.seq = seq;
    this.resuming = null;
    this.attempt = 0;
    this.handlers.onSnapshot(data, seq);
    if (first) {
      this.handlers.onStatus("open", {});
      this.startHeartbeat();
      // Everything waiting (queued while offline, or in flight and safe to repeat) goes now.
      for (const [id, entry] of this.pending) if (!entry.sent) this.transmit(id);
    }
  }

  resume() {
    const id = `resume.${++this.counter}`;
    this.resuming = id;
    this.ws.send(JSON.stringify({ action: "resume", id, seq: this.seq }));
  }

  answer(frame) {
    if (frame.id !== null && frame.id === this.resuming) {
      this.resuming = null;
      // The ack says where the server now has us; still behind means ask again.
      if (frame.type === "ack" && typeof frame.seq === "number" && frame.seq > this.seq) this.resume();
      return;
    }
    const entry = this.pending.get(frame.id);
    if (!entry) {
      if (frame.type === "error") console.warn("live: error", frame.code, frame.message);
      return;
    }
    this.pending.delete(frame.id);
    if (frame.type === "ack") entry.resolve(frame);
    else entry.reject({ code: frame.code, message: frame.message });
  }

  closed(ws, code) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.seq = null;
    this.resuming = null;
    clearInterval(this.heartbeat);
    // In flight and not safe to repeat: we cannot know whether it happened, so say so.
    for (const [id, entry] of this.pending) {
      if (entry.sent && !entry.retry) {
        this.pending.delete(id);
        entry.reject({ code: "connection_lost", message: "the connection dropped before an answer came" });
      }
      entry.sent = false;
    }
    if (this.stopped) return;
    if (code in STOP_CODES) {
      this.stopped = true;
      this.handlers.onStatus("stopped", { code, reason: STOP_CODES[code] });
      this.failAll("connection_refused", `the server refused this connection (${STOP_CODES[code]})`);
      return;
    }
    // Exponential backoff with jitter, so a room of tablets does not reconnect in lockstep.
    // A restart's close: the first attempt anywhere in the spread window (another process is up).
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay =
      this.attempt === 0 && RESTART_CODES.has(code)
        ? Math.round(Math.random() * RESTART_SPREAD_MS)
        : Math.round(base / 2 + (Math.random() * base) / 2);
    this.attempt += 1;
    this.handlers.onStatus("reconnecting", { delay, code });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.start(), delay);
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.attempt = 0;
    this.start();
  }

  // A socket can die silently (Wi-Fi handover) and its close event may then take minutes:
  // if the line stays quiet, ping; with no answer in time, give the socket up ourselves.
  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.lastFrameAt = Date.now();
    const ws = this.ws;
    let probing = false;
    this.heartbeat = setInterval(() => {
      if (probing || ws !== this.ws || Date.now() - this.lastFrameAt < HEARTBEAT_MS) return;
      probing = true;
      const timeout = setTimeout(() => {
        this.closed(ws, 4000);
        ws.close(4000, "heartbeat timeout");
      }, HEARTBEAT_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timeout);
        probing = false;
      };
      this.send("ping", {}, { retry: false }).then(done, done);
    }, HEARTBEAT_MS / 5);
  }

  failAll(code, message) {
    for (const entry of this.pending.values()) entry.reject({ code, message });
    this.pending.clear();
  }
}

export function connect(options) {
  return new LiveSocket(options).start();
}
