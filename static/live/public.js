// Public live page (公众直播页), phone first: follow the hearing, like, ask.
//
// Everything shown comes from the public socket (snapshot, then events and counters);
// user text only ever becomes text nodes (state.js `el`). A like shows at once: the
// button turns liked and its count rises before the server answers, and goes back only
// if the server refuses. One like per viewer per target is the server's rule (signed
// viewer cookie); this page remembers its own likes so a reload shows them.

import { askBox } from "./ask.js";
import { connect } from "./live.js";
import { createPlayer } from "./player.js";
import {
  applyCounter,
  applyEvent,
  CONNECTION,
  currentItem,
  el,
  errorText,
  fmt,
  fromSnapshot,
  HEARING_STATUS,
  ITEM_STATUS,
  label,
  num,
  onStage,
  percent,
  POLL_STATUS,
  progressText,
  QUESTION_STATUS,
  reconcile,
  renderOnChange,
  resultBars,
  rollList,
  timeOfDay,
  renderHearingTitle,
  windowLine,
} from "./state.js";

const root = document.getElementById("live-view");
const $ = (id) => document.getElementById(id);
const LIKED_KEY = `wenzheng.liked.${root.dataset.hearing}`;
const SORT_KEY = "wenzheng.sort";

let state = null;
let connection = "connecting";
let sort = localStorage.getItem(SORT_KEY) === "time" ? "time" : "likes";
const liked = loadLiked(); // "hearing" and question ids (as strings) this viewer has liked
const optimistic = new Map(); // target → count shown until the server's count catches up

const live = connect({
  url: root.dataset.ws,
  onSnapshot(data) {
    state = fromSnapshot(data);
    render();
  },
  onEvent(type, data) {
    applyEvent(state, type, data);
    render();
  },
  onCounter(type, data) {
    applyCounter(state, type, data);
    if (type === "likes") renderQuestions();
    else if (type === "poll.progress") renderPollProgress();
    renderCounters();
  },
  onStatus(status) {
    connection = status;
    renderConnection();
  },
});

// ---------------------------------------------------------------- likes

function loadLiked() {
  try {
    return new Set(JSON.parse(localStorage.getItem(LIKED_KEY)) ?? []);
  } catch {
    return new Set();
  }
}

function saveLiked() {
  try {
    localStorage.setItem(LIKED_KEY, JSON.stringify([...liked]));
  } catch {
    // Private mode: likes still count, the page just forgets them on reload.
  }
}

function serverLikes(target) {
  if (target === "hearing") return state.counters.likes;
  return state.questions.find((q) => String(q.id) === target)?.likes ?? 0;
}

function shownLikes(target) {
  const server = serverLikes(target);
  const shown = optimistic.get(target);
  if (shown === undefined || server >= shown) {
    optimistic.delete(target);
    return server;
  }
  return shown;
}

function like(target) {
  if (!state || liked.has(target) || state.hearing.status === "ended") return;
  liked.add(target);
  saveLiked();
  optimistic.set(target, serverLikes(target) + 1);
  renderLikes();
  const fields = target === "hearing" ? { hearing: true } : { question: Number(target) };
  live.send("like", fields).then(
    (ack) => {
      // The ack carries the count after this like; a counter frame may not have caught up yet.
      if (typeof ack.likes === "number") {
        if (target === "hearing") state.counters.likes = Math.max(state.counters.likes, ack.likes);
        else {
          const q = state.questions.find((x) => String(x.id) === target);
          if (q) q.likes = Math.max(q.likes, ack.likes);
        }
      }
      optimistic.delete(target);
      renderLikes();
    },
    (err) => {
      optimistic.delete(target);
      liked.delete(target);
      saveLiked();
      renderLikes();
      flash(
        err.code === "rate_limited"
          ? gettext("点得太快了，请稍后再试。")
          : fmt(gettext("点赞没有成功：%(message)s"), { message: errorText(err) }),
      );
    },
  );
}

$("like-hearing").addEventListener("click", () => like("hearing"));

// ---------------------------------------------------------------- asking

const askText = $("ask-text");
askBox({
  live,
  errors: { connection_lost: gettext("网络中断，问题可能没有提交成功，请稍后确认。") },
  fields() {
    const name = $("ask-name").value.trim();
    return name ? { name } : {};
  },
  sent: () => gettext("已提交，等待主持人审核，审核通过后公开。"),
  marked: true,
});

// ---------------------------------------------------------------- sorting

for (const button of document.querySelectorAll("[data-sort]")) {
  button.addEventListener("click", () => {
    sort = button.dataset.sort;
    try {
      localStorage.setItem(SORT_KEY, sort);
    } catch {
      // not remembered, still sorted
    }
    renderQuestions();
  });
}

// ---------------------------------------------------------------- the livestream

// static/live/player.js: native HLS, else hls.js (loaded on play), else a link; the replay and
// its chapters once the hearing has ended. It follows the hearing's status (render below).
const playerCard = $("stream-card");
const player = playerCard ? createPlayer(playerCard, { status: playerCard.dataset.status }) : null;

// ---------------------------------------------------------------- rendering

let flashTimer = null;
function flash(text) {
  $("flash").textContent = text;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => {
    $("flash").textContent = "";
  }, 6000);
}

function renderConnection() {
  const node = $("conn");
  node.dataset.state = connection;
  node.textContent = CONNECTION[connection];
}

function renderCounters() {
  $("online").textContent = num(state.counters.online);
  renderLikes();
}

function render() {
  renderConnection();
  if (!state) return;
  renderHearingTitle(state);
  const status = state.hearing.status;
  const badge = $("hearing-status");
  badge.textContent = HEARING_STATUS[status];
  badge.className = `badge status-${status}`;
  document.body.dataset.status = status;
  player?.setStatus(status);

  const item = currentItem(state);
  renderOnChange($("current-item"), [item, status], () => {
    if (!item) {
      const text = {
        draft: gettext("问政会尚未开始，敬请关注。"),
        live: gettext("议程间歇，请稍候。"),
        ended: gettext("问政会已结束，感谢关注。"),
      }[status];
      return el("p", { class: "muted" }, text);
    }
    return [
      el("p", { class: "item-title" }, item.title),
      item.department
        ? el("p", { class: "muted" }, fmt(gettext("应询部门：%(name)s"), { name: item.department.name }))
        : null,
    ];
  });

  const q = onStage(state);
  renderOnChange($("on-stage"), q && [q.id, q.text, q.asker], () =>
    q
      ? el(
          "blockquote",
          { class: "stage" },
          el("p", { class: "stage-label" }, gettext("正在回答")),
          el("p", { class: "stage-text" }, q.text),
          el("footer", {}, fmt(gettext("提问：%(asker)s"), { asker: label(q.asker) })),
        )
      : null,
  );

  renderOnChange($("agenda"), state.agenda, () =>
    state.agenda.map((it) =>
      el(
        "li",
        { id: `item-${it.id}`, class: `agenda-item status-${it.status}` },
        el("span", { class: "pos" }, String(it.position)),
        el(
          "span",
          { class: "item-main" },
          el("span", { class: "item-title" }, it.title),
          it.department ? el("span", { class: "item-sub" }, it.department.name) : null,
        ),
        el("span", { class: `badge item-${it.status}` }, ITEM_STATUS[it.status]),
      ),
    ),
  );

  renderPolls();
  renderQuestions();
  renderCounters();

  const ended = status === "ended";
  $("ask-submit").disabled = ended;
  askText.disabled = ended;
  if (ended) $("ask-state").textContent = gettext("问政会已结束，提问已关闭。");
}

function renderPolls() {
  const polls = [...state.polls].reverse();
  $("polls-card").hidden = polls.length === 0;
  renderOnChange(
    $("polls"),
    polls.map(({ cast, eligible, ...rest }) => rest),
    () =>
      polls.map((poll) =>
        el(
          "div",
          { class: `poll status-${poll.status}`, id: `poll-${poll.id}` },
          el(
            "p",
            { class: "poll-head" },
            el("span", { class: `badge poll-${poll.status}` }, POLL_STATUS[poll.status]),
            " ",
            el("strong", { class: "poll-title" }, poll.title),
          ),
          poll.status === "open" ? el("p", { class: "progress", id: `poll-${poll.id}-progress` }) : null,
          poll.status === "closed" ? el("p", { class: "muted" }, gettext("投票已结束，等待公布结果。")) : null,
          poll.status === "open" ? windowLine(poll) : null,
          poll.results ? resultBars(poll) : null,
          poll.results && poll.kind === "satisfaction"
            ? el("p", { class: "rate" }, gettext("满意率"), " ", el("strong", {}, percent(poll.satisfaction_rate)))
            : null,
          poll.results ? rollList(poll) : null,
        ),
      ),
  );
  renderPollProgress();
}

function renderPollProgress() {
  for (const poll of state.polls) {
    const node = $(`poll-${poll.id}-progress`);
    if (node) node.textContent = progressText(poll);
  }
}

// Top-level questions in the chosen order, each followed by its follow-ups (追问).
function orderedQuestions() {
  const ids = new Set(state.questions.map((q) => q.id));
  const children = new Map();
  const top = [];
  for (const q of state.questions) {
    if (q.parent !== null && ids.has(q.parent)) {
      if (!children.has(q.parent)) children.set(q.parent, []);
      children.get(q.parent).push(q);
    } else {
      top.push(q);
    }
  }
  const likesOf = (q) => shownLikes(String(q.id));
  top.sort(sort === "likes" ? (a, b) => likesOf(b) - likesOf(a) || a.id - b.id : (a, b) => b.id - a.id);
  const out = [];
  const walk = (q, depth) => {
    out.push({ q, depth });
    for (const child of (children.get(q.id) ?? []).sort((a, b) => a.id - b.id)) walk(child, depth + 1);
  };
  for (const q of top) walk(q, 0);
  return out;
}

function buildQuestion({ q, depth }) {
  return el(
    "li",
    { id: `question-${q.id}`, class: `question status-${q.status}${depth ? " follow" : ""}` },
    el(
      "div",
      { class: "q-meta" },
      q.status !== "approved" ? el("span", { class: `badge q-${q.status}` }, QUESTION_STATUS[q.status]) : null,
      q.parent !== null ? el("span", { class: "badge" }, gettext("追问")) : null,
      el("span", { class: "asker" }, label(q.asker)),
      // The hearing's local time (the chamber's clock), not this device's.
      el("time", { class: "muted", datetime: q.created_at }, timeOfDay(q.created_at, root.dataset.tz)),
    ),
    el("p", { class: "q-text" }, q.text),
    q.answer_note
      ? el("p", { class: "answer" }, el("span", { class: "answer-label" }, gettext("答复要点")), q.answer_note)
      : null,
    q.commitment
      ? el("p", { class: "answer commitment" }, el("span", { class: "answer-label" }, gettext("承诺")), q.commitment)
      : null,
    el(
      "button",
      {
        type: "button",
        class: "like",
        "data-like": String(q.id),
        "aria-pressed": "false",
        onclick: () => like(String(q.id)),
      },
      el("span", { class: "heart", "aria-hidden": "true" }, "♥"),
      el("span", { class: "like-count" }, "0"),
      el("span", { class: "visually-hidden" }, gettext("点赞")),
    ),
  );
}

function renderQuestions() {
  if (!state) return;
  for (const button of document.querySelectorAll("[data-sort]")) {
    button.setAttribute("aria-pressed", String(button.dataset.sort === sort));
  }
  const list = orderedQuestions();
  reconcile($("questions"), list, {
    key: ({ q }) => q.id,
    signature: ({ q, depth }) => [q.text, q.status, q.asker, q.parent, q.answer_note, q.commitment, depth],
    build: buildQuestion,
  });
  $("questions-empty").hidden = list.length > 0;
  $("questions-count").textContent = list.length ? String(list.length) : "";
  renderLikes();
}

function renderLikes() {
  if (!state) return;
  const ended = state.hearing.status === "ended";
  for (const button of document.querySelectorAll("#questions [data-like]")) {
    const target = button.dataset.like;
    const mine = liked.has(target);
    button.querySelector(".like-count").textContent = num(shownLikes(target));
    button.setAttribute("aria-pressed", String(mine));
    button.classList.toggle("liked", mine);
    button.disabled = ended && !mine;
  }
  $("likes").textContent = num(shownLikes("hearing"));
  const mine = liked.has("hearing");
  const button = $("like-hearing");
  button.setAttribute("aria-pressed", String(mine));
  button.classList.toggle("liked", mine);
  button.disabled = ended && !mine;
  $("like-hearing-label").textContent = mine ? gettext("已点赞") : gettext("为本场点赞");
}

render();
