// Moderator control panel (会务控制台).
//
// The sections are server-rendered fragments (templates/hearings/_control_*.html); every
// action is an htmx post whose answer (result or error) lands in #action-result. The
// control socket says when something changed, and the sections it concerns are fetched
// again: the panel follows the live socket, never a timer. Counters (online, likes,
// "N of M voted", 签到 N / M and the quorum, who has checked in) are patched in place from the
// socket's counter frames.
//
// Each list of questions shows one page (CONTROL_PAGE_SIZE cards) and the count of all. A
// new pending question is added on its own: its card is fetched and appended when it falls
// on the page shown, else only the count rises; the queue is fetched again (one page) only
// when a question on it changed or left.

import { connect } from "./live.js";
import {
  applyCounter,
  applyEvent,
  clock,
  clockSkew,
  CONNECTION,
  el,
  fmt,
  fromSnapshot,
  num,
  progressText,
} from "./state.js";

const root = document.getElementById("control");
const $ = (id) => document.getElementById(id);
const skew = clockSkew(root.dataset.now);
const renderedSeq = Number(root.dataset.seq);
const ALL = ["hearing", "agenda", "queue", "questions", "polls", "checkin"];
const PARTS_OF = {
  "hearing.status": ALL,
  "agenda.current": ["agenda", "polls", "questions"],
  // Question cards name their item, and the poll form lists the items: all show an edited agenda.
  "agenda.updated": ["agenda", "polls", "queue", "questions"],
  "question.stage": ["questions"],
  "poll.opened": ["polls"],
  "poll.closed": ["polls"],
  "poll.published": ["polls"],
  "poll.prepared": ["polls"],
  "poll.discarded": ["polls"],
};
const QUESTION_EVENTS = new Set(["question.new", "question.updated", "question.removed"]);
const PUBLIC = new Set(["approved", "on_stage", "answered"]);

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
    if (QUESTION_EVENTS.has(type)) {
      const id = type === "question.removed" ? data.question : data.question.id;
      const before = state.questions.find((q) => q.id === id)?.status;
      applyEvent(state, type, data, "control");
      questionChanged(type, id, before, data.question?.status);
      return;
    }
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

// Which parts a question event concerns. `before` is its status as this page last knew it
// (undefined: not known), `after` its new one (undefined: it left every list, merged away).
function questionChanged(type, id, before, after) {
  if (type === "question.new") {
    if (after === "pending") addPending(id);
    else refresh("questions");
    return;
  }
  // A card of the page shown changed or left, or a pending question left the queue (approved
  // here or in another moderator's panel): fetch the page again, which pulls in the next card
  // and has the true count.
  const leftQueue = after !== "pending" && (before === "pending" || before === undefined);
  if (queueCard(id) !== null || leftQueue) refresh("queue");
  if (PUBLIC.has(after) || PUBLIC.has(before) || before === undefined) refresh("questions");
}

function queueSection() {
  return document.querySelector('[data-part="queue"]');
}

function queueCard(id) {
  return queueSection()?.querySelector(`#queue-list > #question-${id}`) ?? null;
}

// A new pending question: +1 on the count; its card joins the page shown only if the page is
// the last one and has room (the queue is oldest first, so a new question comes last).
function addPending(id) {
  const section = queueSection();
  if (!section) return;
  if (inflight.has("queue")) {
    // The page being fetched may predate this question: fetch it once more when it is done.
    again.add("queue");
    return;
  }
  const list = $("queue-list");
  const total = Number(section.dataset.total) + 1;
  const incoming = incomingTo(section);
  const shown = list.children.length + incoming.size; // with the cards on their way
  const fits = Number(section.dataset.offset) + shown === total - 1 && shown < Number(section.dataset.size);
  section.dataset.total = String(total);
  renderQueueCount(section);
  if (!fits) return;
  incoming.add(id);
  fetch(section.dataset.cardSrc.replace(/0\/$/, `${id}/`), { headers: { "HX-Request": "true" } })
    .then((response) => (response.ok ? response.text() : ""))
    .then((html) => {
      // A page fetched meanwhile started after this question arrived: it has the truth.
      if (!html || queueSection() !== section || queueCard(id) || leaving.has(String(id))) return;
      const card = document.createRange().createContextualFragment(html).firstElementChild;
      if (!card?.classList.contains("status-pending")) return; // moderated meanwhile
      // In id order (the queue's), whichever card's answer came first.
      const later = [...list.children].find((other) => Number(other.dataset.question) > id) ?? null;
      list.insertBefore(card, later);
      htmx.process(queueCard(id));
      renderQueueCount(section);
      markSelected();
      renderCounters();
    })
    .catch(() => refresh("queue"))
    .finally(() => incoming.delete(id));
}
// Per queue section (a new one has the truth): ids of new pending questions whose card is on its way.
const incomingCards = new WeakMap();
function incomingTo(section) {
  if (!incomingCards.has(section)) incomingCards.set(section, new Set());
  return incomingCards.get(section);
}

function renderQueueCount(section) {
  const total = Number(section.dataset.total);
  const offset = Number(section.dataset.offset);
  $("queue-count").textContent = num(total);
  const list = $("queue-list");
  section.querySelector(".empty").hidden = list.children.length > 0;
  const pager = section.querySelector(".pager");
  const shown = list.querySelectorAll(":scope > .q-card:not([hidden])").length;
  pager.querySelector(".pager-range").textContent = fmt(gettext("第 %(first)s–%(last)s 条，共 %(total)s 条"), {
    first: num(shown ? offset + 1 : 0),
    last: num(offset + shown),
    total: num(total),
  });
  const more = offset + Number(section.dataset.size) < total;
  pager.querySelector("[data-pager-next]").disabled = !more;
  if (more) pager.hidden = false;
}

// The pager's buttons: the part is fetched again at that page, and stays on it.
root.addEventListener("click", (ev) => {
  const button = ev.target.closest("[data-page-url]");
  if (!button || button.disabled) return;
  const section = button.closest("[data-part]");
  section.dataset.src = button.dataset.pageUrl;
  refresh(section.dataset.part);
});

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
  // Two actions on their way at once both aimed at the result shown when they were sent: the
  // later answer replaces whichever result shows now.
  if (ev.detail.target?.id === "action-result" && !ev.detail.target.isConnected) {
    ev.detail.target = $("action-result");
  }
  const target = ev.detail.target;
  if (!target?.dataset?.part) return;
  const fields = [];
  for (const field of target.querySelectorAll("input[id], textarea[id], select[id]")) {
    const changed =
      field.type === "checkbox" || field.type === "radio"
        ? field.checked !== field.defaultChecked
        : field.tagName === "SELECT"
          ? field.selectedIndex !== Math.max(0, [...field.options].findIndex((o) => o.defaultSelected))
          : field.value !== field.defaultValue;
    const box = field.type === "checkbox" || field.type === "radio";
    if (changed) fields.push([field.id, box ? field.checked : field.value]);
  }
  const active = document.activeElement;
  const focus =
    active && target.contains(active) && active.id
      ? { id: active.id, start: active.selectionStart ?? null, end: active.selectionEnd ?? null }
      : null;
  kept = { fields, focus };
});

document.body.addEventListener("htmx:afterSwap", (ev) => {
  if (ev.detail.target?.dataset?.part === "queue") hideLeaving();
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
      if (field.type === "checkbox" || field.type === "radio") field.checked = value;
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
  // The choice in a merge tool's matches survives a new search that still lists it.
  if (ev.detail.target?.classList?.contains("merge-matches")) {
    const chosen = mergeChoice.get(ev.detail.target.id);
    const radio = chosen ? ev.detail.target.querySelector(`input[value="${chosen}"]`) : null;
    if (radio) radio.checked = true;
  }
  markSelected();
  renderCounters();
  tick();
});

// An open merge tool lost its matches with a swap: search again for what was typed (once
// htmx has set up the new content, after the swap).
document.body.addEventListener("htmx:afterSettle", (ev) => {
  if (!ev.target?.dataset?.part) return;
  for (const search of ev.target.querySelectorAll(".merge-tool[open] input[type=search]")) {
    htmx.trigger(search, "search");
  }
});

document.body.addEventListener(
  "toggle",
  (ev) => {
    if (ev.target.tagName === "DETAILS" && ev.target.id) openDetails.set(ev.target.id, ev.target.open);
  },
  true,
);

const mergeChoice = new Map(); // merge matches' id → the question chosen to merge into
root.addEventListener("change", (ev) => {
  const matches = ev.target.closest(".merge-matches");
  if (matches && ev.target.name === "into") mergeChoice.set(matches.id, ev.target.value);
});
root.addEventListener("keydown", (ev) => {
  // Enter in a merge search searches; it does not submit the merge.
  if (ev.key === "Enter" && ev.target.matches?.(".merge-tool input[type=search]")) {
    ev.preventDefault();
    htmx.trigger(ev.target, "search");
  }
});
// Opening a merge tool puts the cursor in its search (which then lists the latest questions).
root.addEventListener(
  "toggle",
  (ev) => {
    // Only when the moderator opened it (the summary has the focus), not when a swap reopens it.
    const tool = ev.target;
    if (tool.classList?.contains("merge-tool") && tool.open && tool.contains(document.activeElement)) {
      tool.querySelector("input[type=search]")?.focus();
    }
  },
  true,
);

// ---------------------------------------------------------------- cards that leave the queue

// Approving, rejecting or merging a pending card takes it off the queue at once, before the
// answer: the next A or R then goes to the next card, never to this one a second time. It
// comes back if the action is refused; a page fetched before the action took effect cannot
// show it again either.
const leaving = new Set(); // ids (strings) of queue cards whose approve / reject / merge is sent or done
const inflightLeaving = new Set(); // … and whose answer has not come yet

function hideLeaving() {
  let hid = false;
  for (const id of leaving) {
    const card = queueCard(id);
    if (card) card.hidden = hid = true;
  }
  if (hid) renderQueueCount(queueSection());
  // Drop the ids a fresh page no longer lists (done: it left the queue for good).
  for (const id of [...leaving]) {
    if (!queueCard(id) && !inflightLeaving.has(id)) leaving.delete(id);
  }
}

document.body.addEventListener("htmx:beforeRequest", (ev) => {
  const elt = ev.detail.elt;
  if (!elt.matches?.("[data-leaves]")) return;
  const card = elt.closest("#queue-list > .q-card");
  if (!card) return;
  const id = card.dataset.question;
  if (selected === id) {
    const next = visibleSibling(card);
    selected = next ? next.dataset.question : null;
  }
  leaving.add(id);
  inflightLeaving.add(id);
  card.hidden = true;
  markSelected();
  renderQueueCount(queueSection());
});

function visibleSibling(card) {
  for (let next = card.nextElementSibling; next; next = next.nextElementSibling) if (!next.hidden) return next;
  for (let prev = card.previousElementSibling; prev; prev = prev.previousElementSibling) if (!prev.hidden) return prev;
  return null;
}

// A form that did its job is emptied and closed (its section may not change at all).
document.body.addEventListener("htmx:afterRequest", (ev) => {
  const leaver = ev.detail.elt.matches?.("[data-leaves]") ? ev.detail.elt.closest(".q-card") : null;
  if (leaver) {
    const id = leaver.dataset.question;
    inflightLeaving.delete(id);
    if (!ev.detail.successful || ev.detail.xhr.status >= 400) {
      // Refused (the error shows in #action-result): the card is back, as the server has it.
      leaving.delete(id);
      leaver.hidden = false;
      refresh("queue");
    } else {
      leaver.remove();
      const section = queueSection();
      if (section) renderQueueCount(section);
    }
  }
  // An action whose part shows more than its counters say (代签 → "已代签"): fetched again.
  const part = ev.detail.elt.dataset?.refresh;
  if (part && ev.detail.successful && ev.detail.xhr.status < 400) refresh(part);
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
  renderAttendance();
  $("online").textContent = num(state.counters.online);
  $("likes").textContent = num(state.counters.likes);
  // Only the cards on the page (a page of each list), not every question of the hearing.
  const likes = new Map(state.questions.map((q) => [String(q.id), q.likes]));
  for (const node of document.querySelectorAll("[data-likes]")) {
    const n = likes.get(node.dataset.likes);
    if (n !== undefined) node.textContent = num(n);
  }
  for (const poll of state.polls) {
    const node = $(`poll-${poll.id}-progress`);
    if (node) node.textContent = progressText(poll);
    const meter = $(`poll-${poll.id}-meter`);
    if (meter) meter.style.width = `${poll.eligible ? Math.min(100, (100 * poll.cast) / poll.eligible) : 0}%`;
  }
}

// The check-in board: the figures, and each deputy's row marked once checked in. A row the
// board lacks (a deputy added to the hearing) or one that is no longer checked in: the board
// is fetched again.
function renderAttendance() {
  const a = state.attendance;
  const section = document.querySelector('[data-part="checkin"]');
  if (!a || !section) return;
  $("attendance-checked-in").textContent = num(a.checked_in);
  $("attendance-deputies").textContent = num(a.deputies);
  $("attendance-needed").textContent = num(a.needed);
  const quorum = $("attendance-quorum");
  quorum.textContent = a.quorum ? quorum.dataset.yes : quorum.dataset.no;
  quorum.classList.toggle("quorum-yes", a.quorum);
  quorum.classList.toggle("quorum-no", !a.quorum);
  const present = new Set(a.present ?? []);
  const rows = section.querySelectorAll("[data-deputy]");
  let stale = Number(section.dataset.deputies) !== a.deputies;
  for (const id of present) if (!$(`deputy-${id}`)) stale = true;
  for (const row of rows) {
    const here = present.has(Number(row.dataset.deputy));
    if (here && !row.classList.contains("checked-in")) {
      row.classList.add("checked-in");
      row.querySelector(".checkin-state").replaceChildren(el("span", { class: "badge checked" }, gettext("已签到")));
    } else if (!here && row.classList.contains("checked-in")) {
      stale = true;
    }
  }
  // Once per state of the figures: a board fetched before the figures moved is fetched again
  // when they do, never in a loop.
  const key = JSON.stringify(a);
  if (stale && key !== staleFor) {
    staleFor = key;
    refresh("checkin");
  }
}
let staleFor = null;

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

// N: next agenda item · A / R: approve / reject the selected (else the first) pending
// question · S: put the selected (else the first) waiting question on stage · J / K: select.
function cards() {
  return [...document.querySelectorAll(".q-card[data-question]:not([hidden])")];
}

function markSelected() {
  for (const card of document.querySelectorAll(".q-card[data-question]")) {
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
  // Never a card that is leaving the queue (hidden): its action is already on its way.
  const on = ".q-card:not([hidden])";
  const chosen = selected ? document.querySelector(`${on}#question-${selected} [data-shortcut="${name}"]`) : null;
  const first = `${on} [data-shortcut="${name}"], [data-shortcut="${name}"]:not(.q-card [data-shortcut])`;
  return chosen ?? document.querySelector(first);
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
  const name = { n: "next-item", a: "approve", r: "reject", s: "stage" }[key];
  if (!name) return;
  ev.preventDefault();
  const button = shortcutButton(name);
  if (button && !button.disabled) button.click();
  else {
    nothingTo(
      {
        "next-item": gettext("没有下一项议程（问政会需在直播中）。"),
        approve: gettext("没有待审核的问题。"),
        reject: gettext("没有待审核的问题。"),
        stage: gettext("没有可上台的问题（问政会需在直播中）。"),
      }[name],
    );
  }
});
