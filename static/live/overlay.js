// The video mixer's overlay (/hearings/<id>/overlay/, console/overlay.py): a browser source for
// OBS or vMix on a transparent page. A lower third with the question on stage (its text, who
// asked, the answering department) and the current agenda item's title; a poll's result as a
// chart for `data-result-seconds` once it is published.
//
// It follows the PUBLIC stream, exactly as the big screen does (live.js: snapshot, events in seq
// order, resume or a fresh snapshot after a gap or a reconnect; state.js's reducer), so nothing
// pending ever reaches it: the public stream carries no pending question at all.
//
// The page's options come from its data attributes, which the server filled from parsed values
// only; text reaches the DOM as text (state.js's el), never as HTML.

import { connect } from "./live.js";
import {
  applyEvent,
  currentItem,
  el,
  fmt,
  fromSnapshot,
  label,
  num,
  onStage,
  percent,
  POLL_STATUS,
  renderOnChange,
  resultBars,
} from "./state.js";

const root = document.getElementById("overlay");
const $ = (id) => document.getElementById(id);
const parts = new Set(root.dataset.parts.split(" "));
const resultMs = 1000 * Number(root.dataset.resultSeconds);
document.documentElement.style.setProperty("--scale", root.dataset.scale);

const POLL_LABEL = {
  satisfaction: pgettext("one poll", "满意度测评"),
  sheet: gettext("满意度测评表"),
  select: gettext("票选"),
};

let state = null;
// The result on air: {poll, until}; null when none is. Only a publication seen while this page
// runs goes on air: a page (re)loaded later does not replay an old result.
let onAir = null;
let offTimer = null;

connect({
  url: root.dataset.ws,
  onSnapshot(data) {
    const before = state;
    state = fromSnapshot(data);
    if (before) {
      // A new snapshot while running (a reconnect, or a gap too long to resume): a poll
      // published meanwhile goes on air now; the one on air keeps its remaining time.
      const was = new Map(before.polls.map((p) => [p.id, p.status]));
      const fresh = state.polls.filter((p) => p.status === "published" && was.get(p.id) !== "published");
      if (fresh.length) showResult(fresh[fresh.length - 1]);
      else if (onAir) {
        const poll = state.polls.find((p) => p.id === onAir.poll.id);
        if (poll?.status === "published") onAir.poll = poll;
        else hideResult();
      }
    }
    render();
  },
  onEvent(type, data) {
    applyEvent(state, type, data);
    if (type === "poll.published") showResult(data.poll);
    else if (onAir && (type === "poll.opened" || type === "poll.closed") && data.poll.id === onAir.poll.id) {
      hideResult(); // reopened: its result no longer stands
    }
    render();
  },
  onStatus(status) {
    root.dataset.state = status;
  },
});

function showResult(poll) {
  if (!parts.has("result")) return;
  onAir = { poll, since: Date.now() };
  clearTimeout(offTimer);
  offTimer = setTimeout(() => {
    hideResult();
    render();
  }, resultMs);
}

function hideResult() {
  clearTimeout(offTimer);
  onAir = null;
}

function render() {
  if (!state) return;
  // On air only while the hearing is live; a result already showing runs out its time.
  const live = state.hearing.status === "live";
  const item = live ? currentItem(state) : null;
  renderAgenda(parts.has("agenda") ? item : null);
  renderQuestion(parts.has("question") && live ? onStage(state) : null, item);
  renderResult();
}

function renderAgenda(item) {
  const node = $("ov-agenda");
  node.hidden = !item;
  renderOnChange(node, item && [item.id, item.title], () =>
    item ? [el("span", { class: "ov-tag" }, gettext("当前议程")), el("span", { class: "ov-item-title" }, item.title)] : [],
  );
}

// The answering department: that of the question's agenda item, else the current item's.
function departmentOf(q, current) {
  const own = state.agenda.find((a) => a.id === q.item);
  return (own ?? current)?.department?.name ?? "";
}

function renderQuestion(q, current) {
  const node = $("ov-question");
  node.hidden = !q;
  const department = q ? departmentOf(q, current) : "";
  renderOnChange(node, q && [q.id, q.text, q.asker, q.parent, department], () => {
    if (!q) return [];
    // A short question in larger type on two lines; a long one smaller, clamped to three.
    const size = q.text.length > 60 ? "long" : "short";
    return [
      el(
        "p",
        { class: "ov-who" },
        q.parent !== null ? el("span", { class: "ov-badge" }, gettext("追问")) : null,
        el("span", { class: "ov-asker" }, fmt(gettext("提问：%(asker)s"), { asker: label(q.asker) })),
        department ? el("span", { class: "ov-dept" }, fmt(gettext("应询部门：%(name)s"), { name: department })) : null,
      ),
      el("p", { class: `ov-text ov-${size}`, "data-question": String(q.id) }, q.text),
    ];
  });
}

function renderResult() {
  const node = $("ov-result");
  const poll = onAir?.poll ?? null;
  node.hidden = !poll;
  if (poll) node.dataset.poll = String(poll.id);
  else delete node.dataset.poll;
  renderOnChange(node, poll && [poll.id, poll.results, poll.satisfaction_rate, poll.cast, poll.eligible, onAir.since], () => {
    if (!poll) return [];
    const turnout = fmt(
      poll.kind === "select"
        ? gettext("%(cast)s / %(eligible)s 位代表参加票选")
        : gettext("%(cast)s / %(eligible)s 位代表参加测评"),
      { cast: num(poll.cast), eligible: num(poll.eligible) },
    );
    return [
      el(
        "p",
        { class: "ov-result-head" },
        el("span", { class: "ov-tag" }, POLL_LABEL[poll.kind] ?? POLL_LABEL.satisfaction),
        el("span", { class: "ov-badge" }, POLL_STATUS.published),
      ),
      poll.title ? el("p", { class: "ov-result-title" }, poll.title) : null,
      typeof poll.satisfaction_rate === "number"
        ? el(
            "p",
            { class: "ov-rate" },
            el("span", { class: "ov-rate-label" }, gettext("满意率")),
            el("strong", { id: `poll-${poll.id}-rate` }, percent(poll.satisfaction_rate)),
          )
        : null,
      resultBars(poll),
      el("p", { class: "ov-turnout", id: `poll-${poll.id}-turnout` }, turnout),
    ];
  });
}
