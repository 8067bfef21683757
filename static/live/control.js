// Moderator control panel (会务控制台).
//
// The sections are server-rendered fragments (templates/hearings/_control_*.html); every
// action is an htmx post whose answer (result or error) lands in #action-result. The
// control socket says when something changed, and the sections it concerns are fetched
// again: the panel follows the live socket, never a timer. Counters (online, likes,
// "N of M voted") are patched in place from the socket's counter frames.

import { connect } from "./live.js";
import { applyCounter, applyEvent, clock, clockSkew, CONNECTION, fromSnapshot, num, progressText } from "./state.js";

const root = document.getElementById("control");
const $ = (id) => document.getElementById(id);
const skew = clockSkew(root.dataset.now);
const renderedSeq = Number(root.dataset.seq);
const ALL = ["hearing", "agenda", "queue", "questions", "polls"];
const PARTS_OF = {
  "hearing.status": ALL,
  "agenda.current": ["agenda", "polls", "questions"],
  "agenda.updated": ["agenda", "polls"],
  "question.new": ["queue", "questions"],
  "question.updated": ["queue", "questions"],
  "question.stage": ["questions"],
  "question.removed": ["queue", "questions"],
  "poll.opened": ["polls"],
  "poll.closed": ["polls"],
  "poll.published": ["polls"],
};

let state = null;
let selected = null; // id of the question card picked for A / S

connect({
  url: root.dataset.ws,
  onSnapshot(data, seq) {
    const first = state === null;
    state = fromSnapshot(data);
    // The page was rendered at renderedSeq: only a later snapshot has news for it.
    if (!first || seq > renderedSeq) ALL.forEach(refresh);
    renderCounters();
  },
  onEvent(type, data) {
    applyEvent(state, type, data, "control");
    (PARTS_OF[type] ?? ALL).forEach(refresh);
  },
  onCounter(type, data) {
    applyCounter(state, type, data);
    renderCounters();
  },
  onStatus(status) {
    const node = $("conn");
    node.dataset.state = status;
    node.textContent = CONNECTION[status];
  },
});

// ---------------------------------------------------------------- refreshing sections

const inflight = new Set();
const again = new Set();
const openDetails = new Map(); // <details> id → open, as the moderator left it

// Fetch a section again and swap it in. One request per section at a time; changes that
// arrive meanwhile make one more request when it is done, so the last state always shows.
function refresh(part) {
  const section = document.querySelector(`[data-part="${part}"]`);
  if (!section) return;
  if (inflight.has(part)) {
    again.add(part);
    return;
  }
  inflight.add(part);
  // `source` is the section itself: htmx runs one request per source element at a time.
  htmx
    .ajax("GET", section.dataset.src, { source: section, target: section, swap: "outerHTML" })
    .catch(() => {})
    .finally(() => {
      inflight.delete(part);
      if (again.delete(part)) refresh(part);
    });
}

// What the moderator is in the middle of survives a swap: text typed into a form, the
// choice in a select, which tools are open, and where the cursor is.
let kept = null;
document.body.addEventListener("htmx:beforeSwap", (ev) => {
  const target = ev.detail.target;
  if (!target?.dataset?.part) return;
  const fields = [];
  for (const field of target.querySelectorAll("input[id], textarea[id], select[id]")) {
    const changed =
      field.type === "checkbox"
        ? field.checked !== field.defaultChecked
        : field.tagName === "SELECT"
          ? field.selectedIndex !== Math.max(0, [...field.options].findIndex((o) => o.defaultSelected))
          : field.value !== field.defaultValue;
    if (changed) fields.push([field.id, field.type === "checkbox" ? field.checked : field.value]);
  }
  const active = document.activeElement;
  const focus =
    active && target.contains(active) && active.id
      ? { id: active.id, start: active.selectionStart ?? null, end: active.selectionEnd ?? null }
      : null;
  kept = { fields, focus };
});

document.body.addEventListener("htmx:afterSwap", () => {
  // Tools first: a field in a closed <details> cannot take the focus back.
  for (const [id, open] of openDetails) {
    const details = $(id);
    if (details) details.open = open;
    else openDetails.delete(id);
  }
  if (kept) {
    for (const [id, value] of kept.fields) {
      const field = $(id);
      if (!field) continue;
      if (field.type === "checkbox") field.checked = value;
      else field.value = value;
    }
    if (kept.focus) {
      const field = $(kept.focus.id);
      if (field) {
        field.focus();
        if (kept.focus.start !== null && "setSelectionRange" in field) {
          try {
            field.setSelectionRange(kept.focus.start, kept.focus.end);
          } catch {
            // not a text field
          }
        }
      }
    }
    kept = null;
  }
  markSelected();
  renderCounters();
  tick();
});

document.body.addEventListener(
  "toggle",
  (ev) => {
    if (ev.target.tagName === "DETAILS" && ev.target.id) openDetails.set(ev.target.id, ev.target.open);
  },
  true,
);

// A form that did its job is emptied and closed (its section may not change at all).
document.body.addEventListener("htmx:afterRequest", (ev) => {
  const form = ev.detail.elt;
  if (!ev.detail.successful || form.tagName !== "FORM") return;
  if (ev.detail.xhr.status >= 400) return;
  form.reset();
  const details = form.closest("details");
  if (details) {
    details.open = false;
    openDetails.delete(details.id);
  }
});

// ---------------------------------------------------------------- counters and the timer

function renderCounters() {
  if (!state) return;
  $("online").textContent = num(state.counters.online);
  $("likes").textContent = num(state.counters.likes);
  for (const q of state.questions) {
    const node = document.querySelector(`[data-likes="${q.id}"]`);
    if (node) node.textContent = num(q.likes);
  }
  for (const poll of state.polls) {
    const node = $(`poll-${poll.id}-progress`);
    if (node) node.textContent = progressText(poll);
    const meter = $(`poll-${poll.id}-meter`);
    if (meter) meter.style.width = `${poll.eligible ? Math.min(100, (100 * poll.cast) / poll.eligible) : 0}%`;
  }
}

// The current item's timer: time used against the planned minutes, red once over.
function tick() {
  for (const node of document.querySelectorAll("[data-timer]")) {
    const started = Date.parse(node.dataset.startedAt);
    if (Number.isNaN(started)) continue;
    const used = Math.max(0, Math.round((Date.now() + skew - started) / 1000));
    const planned = Number(node.dataset.planned) * 60;
    const over = used > planned;
    node.textContent = over ? `${clock(used)}  +${clock(used - planned)}` : clock(used);
    node.classList.toggle("overrun", over);
  }
}
setInterval(tick, 500);
tick();

// ---------------------------------------------------------------- keyboard

// N: next agenda item · A: approve the selected (else the first) pending question ·
// S: put the selected (else the first) waiting question on stage · J / K: select.
function cards() {
  return [...document.querySelectorAll(".q-card[data-question]")];
}

function markSelected() {
  for (const card of cards()) {
    const on = card.dataset.question === selected;
    card.classList.toggle("selected", on);
    card.setAttribute("aria-current", String(on));
  }
}

function select(card) {
  selected = card ? card.dataset.question : null;
  markSelected();
  if (card) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }
}

root.addEventListener("click", (ev) => {
  const card = ev.target.closest(".q-card[data-question]");
  if (card && !ev.target.closest("button, summary, form, a")) select(card);
});

function shortcutButton(name) {
  const chosen = selected ? document.querySelector(`#question-${selected} [data-shortcut="${name}"]`) : null;
  return chosen ?? document.querySelector(`[data-shortcut="${name}"]`);
}

function nothingTo(text) {
  const result = $("action-result");
  result.className = "action-result failed";
  result.replaceChildren(text);
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
  if (ev.target.closest("input, textarea, select, [contenteditable]")) return;
  const key = ev.key.toLowerCase();
  if (key === "j" || key === "k") {
    const all = cards();
    const at = all.findIndex((card) => card.dataset.question === selected);
    const next = key === "j" ? Math.min(all.length - 1, at + 1) : Math.max(0, at - 1);
    if (all.length) select(all[next]);
    ev.preventDefault();
    return;
  }
  const name = { n: "next-item", a: "approve", s: "stage" }[key];
  if (!name) return;
  ev.preventDefault();
  const button = shortcutButton(name);
  if (button && !button.disabled) button.click();
  else {
    nothingTo(
      {
        "next-item": gettext("没有下一项议程（问政会需在直播中）。"),
        approve: gettext("没有待审核的问题。"),
        stage: gettext("没有可上台的问题（问政会需在直播中）。"),
      }[name],
    );
  }
});
