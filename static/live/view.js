// The simple live views: public page, big screen and control panel share this renderer.
// (Each gets its full design later; this one shows the snapshot state, kept current by
// the socket, plus the few actions each audience has.)

import { connect } from "./live.js";
import {
  applyCounter,
  applyEvent,
  CONNECTION,
  currentItem,
  el,
  fromSnapshot,
  HEARING_STATUS,
  ITEM_STATUS,
  onStage,
  percent,
  POLL_STATUS,
  QUESTION_STATUS,
  renderOnChange,
} from "./state.js";

const root = document.getElementById("live-view");
const role = root.dataset.role; // "public" | "screen" | "control"
const audience = role === "control" ? "control" : "public";
const $ = (id) => document.getElementById(id);
let state = null;
let connection = "connecting";

const live = connect({
  url: root.dataset.ws,
  onSnapshot(data) {
    state = fromSnapshot(data);
    render();
  },
  onEvent(type, data) {
    applyEvent(state, type, data, audience);
    render();
  },
  onCounter(type, data) {
    applyCounter(state, type, data);
    render();
  },
  onStatus(status) {
    connection = status;
    renderConnection();
  },
});

// An action button: disabled while its answer is awaited; an error is shown in #flash.
function action(label, name, fields = {}, cls = "button small") {
  return el(
    "button",
    {
      type: "button",
      class: cls,
      onclick: (ev) => {
        const button = ev.currentTarget;
        button.disabled = true;
        live.send(name, fields).then(
          () => {
            button.disabled = false;
            flash("");
          },
          (err) => {
            button.disabled = false;
            flash(`${label}失败：${err.message}`);
          },
        );
      },
    },
    label,
  );
}

function flash(text) {
  const node = $("flash");
  if (node) node.textContent = text;
}

function renderConnection() {
  const node = $("conn");
  node.dataset.state = connection;
  node.textContent = CONNECTION[connection];
}

function render() {
  renderConnection();
  if (!state) return;
  const status = state.hearing.status;
  $("hearing-status").textContent = HEARING_STATUS[status];
  $("hearing-status").className = `badge status-${status}`;
  $("online").textContent = state.counters.online;
  $("likes").textContent = state.counters.likes;

  const item = currentItem(state);
  renderOnChange($("current-item"), item, () =>
    item
      ? el("p", { class: "item-title" }, item.title, item.department ? ` · ${item.department.name}` : "")
      : el("p", { class: "muted" }, status === "ended" ? "问政会已结束" : "尚未开始"),
  );

  const q = onStage(state);
  renderOnChange($("on-stage"), q, () =>
    q
      ? el("blockquote", { class: "stage" }, el("p", {}, q.text), el("footer", {}, `提问：${q.asker}`))
      : el("p", { class: "muted" }, "暂无"),
  );

  const openPoll = state.polls.some((p) => p.status === "open");
  // Progress changes with every ballot: update its text, rebuild the polls only on real changes.
  renderOnChange(
    $("polls"),
    state.polls.map(({ cast, eligible, ...rest }) => rest),
    () => state.polls.map(renderPoll),
  );
  for (const poll of state.polls) {
    const node = $(`poll-${poll.id}-progress`);
    if (node) node.textContent = `已投 ${poll.cast} / 应投 ${poll.eligible}`;
  }
  $("polls-empty").hidden = state.polls.length > 0;

  if ($("agenda")) {
    renderOnChange($("agenda"), [state.agenda, status, openPoll], () => state.agenda.map(renderItem));
  }
  if ($("questions")) {
    const list = role === "control" ? state.questions : state.questions.filter((x) => x.status !== "rejected");
    renderOnChange($("questions"), list, () => list.map(renderQuestion));
    $("questions-empty").hidden = list.length > 0;
  }
  if ($("hearing-actions")) {
    renderOnChange($("hearing-actions"), status, () => [
      status === "draft" ? action("开始问政会", "hearing.start", {}, "button primary") : null,
      status === "live" ? action("结束问政会", "hearing.end", {}, "button danger") : null,
    ]);
  }
}

function renderItem(item) {
  const isLive = state.hearing.status === "live";
  const hasOpenPoll = state.polls.some((p) => p.status === "open");
  return el(
    "li",
    { id: `item-${item.id}`, class: `agenda-item status-${item.status}` },
    el("span", { class: `badge item-${item.status}` }, ITEM_STATUS[item.status]),
    el("span", { class: "item-title" }, item.title),
    item.department ? el("span", { class: "muted" }, item.department.name) : null,
    isLive && item.status !== "current" ? action("开始", "agenda.start", { item: item.id }) : null,
    isLive && !hasOpenPoll && item.department ? action("开启测评", "poll.open", { item: item.id }) : null,
  );
}

function renderQuestion(q) {
  const control = role === "control";
  return el(
    "li",
    { id: `question-${q.id}`, class: `question status-${q.status}` },
    el(
      "div",
      { class: "q-meta" },
      el("span", { class: `badge q-${q.status}` }, QUESTION_STATUS[q.status]),
      q.parent ? el("span", { class: "badge" }, "追问") : null,
      el("span", { class: "muted" }, q.asker),
      el("span", { class: "muted likes" }, `赞 ${q.likes}`),
    ),
    el("p", { class: "q-text" }, q.text),
    role === "public" && q.status !== "answered" ? action("点赞", "like", { question: q.id }) : null,
    control && q.status === "pending" ? action("通过", "question.approve", { question: q.id }) : null,
    control && q.status === "pending" ? action("不通过", "question.reject", { question: q.id }) : null,
    control && q.status === "approved" ? action("上台", "question.stage", { question: q.id }) : null,
    control && ["approved", "on_stage"].includes(q.status)
      ? action("已回答", "question.answered", { question: q.id })
      : null,
  );
}

function renderPoll(poll) {
  const control = role === "control";
  return el(
    "div",
    { id: `poll-${poll.id}`, class: `poll status-${poll.status}` },
    el(
      "p",
      {},
      el("span", { class: `badge poll-${poll.status}` }, POLL_STATUS[poll.status]),
      " ",
      el("strong", {}, poll.title),
    ),
    el("p", { class: "progress", id: `poll-${poll.id}-progress` }),
    poll.results
      ? el(
          "ul",
          { class: "results" },
          poll.choices.map((c) => el("li", {}, el("span", {}, c), el("strong", {}, String(poll.results[c] ?? 0)))),
        )
      : null,
    poll.results ? el("p", { class: "rate" }, `满意率 ${percent(poll.satisfaction_rate)}`) : null,
    control && poll.status === "open" ? action("结束投票", "poll.close", { poll: poll.id }) : null,
    control && poll.status === "closed" ? action("公布结果", "poll.publish", { poll: poll.id }) : null,
  );
}

// Public: like the hearing, ask a question (it waits for moderation before anyone sees it).
$("like-hearing")?.addEventListener("click", () => {
  live.send("like", { hearing: true }).then(
    () => {},
    (err) => flash(err.message),
  );
});

// The form only works through the socket: it is enabled once this script runs.
if ($("ask-submit")) $("ask-submit").disabled = false;
$("ask-form")?.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("ask-text").value.trim();
  const name = $("ask-name").value.trim();
  if (!text) return;
  const fields = { text };
  if (name) fields.name = name;
  $("ask-state").textContent = "正在提交…";
  live.send("ask", fields).then(
    () => {
      $("ask-text").value = "";
      $("ask-state").textContent = "已提交，主持人审核后公开。";
    },
    (err) => {
      $("ask-state").textContent =
        err.code === "rate_limited" ? "提交太频繁，请稍后再试。" : `提交失败：${err.message}`;
    },
  );
});

render();
