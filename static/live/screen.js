// Big screen (大屏), 16:9, read from the back of the chamber: the current item and its
// countdown, the question on stage, "N / M deputies voted" while a poll is open, the
// results and 满意率 once published (a sheet poll: a chart per row; a select poll: the ranking
// with the chosen ones marked, both over the question's area), 签到 N / M and the quorum,
// online count and likes.
// The QR code is server-rendered.

import { connect } from "./live.js";
import {
  applyCounter,
  applyEvent,
  clock,
  clockSkew,
  CONNECTION,
  currentItem,
  el,
  featuredPoll,
  fmt,
  fromSnapshot,
  HEARING_STATUS,
  label,
  num,
  onStage,
  percent,
  POLL_STATUS,
  renderOnChange,
  resultBars,
  secondsLeft,
  renderHearingTitle,
} from "./state.js";

const root = document.getElementById("live-view");
const $ = (id) => document.getElementById(id);
const skew = clockSkew(root.dataset.now);
// The poll card's label for each kind of poll.
const POLL_LABEL = {
  satisfaction: pgettext("one poll", "满意度测评"),
  sheet: gettext("满意度测评表"),
  select: gettext("票选"),
};
let state = null;

connect({
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
    renderCounters();
    if (type === "poll.progress") renderProgress();
  },
  onStatus(status) {
    const node = $("conn");
    node.dataset.state = status;
    node.title = CONNECTION[status];
  },
});

function renderCounters() {
  $("online").textContent = num(state.counters.online);
  $("likes").textContent = num(state.counters.likes);
  renderAttendance();
}

// 签到 N / M and whether the quorum (法定人数, K) is reached; hidden for a hearing without deputies.
function renderAttendance() {
  const a = state.attendance;
  $("attendance").hidden = !a || a.deputies === 0;
  if (!a) return;
  $("attendance-checked-in").textContent = num(a.checked_in);
  $("attendance-deputies").textContent = num(a.deputies);
  const quorum = $("attendance-quorum");
  quorum.textContent = fmt(a.quorum ? gettext("法定人数 %(needed)s · 已达到") : gettext("法定人数 %(needed)s · 未达到"), {
    needed: num(a.needed),
  });
  quorum.classList.toggle("quorum-yes", a.quorum);
  quorum.classList.toggle("quorum-no", !a.quorum);
}

function render() {
  if (!state) return;
  renderHearingTitle(state);
  const status = state.hearing.status;
  const badge = $("hearing-status");
  badge.textContent = HEARING_STATUS[status];
  badge.className = `badge status-${status}`;
  renderCounters();

  const item = currentItem(state);
  renderOnChange($("current-item"), [item, status], () => {
    if (!item) {
      const text = {
        draft: gettext("问政会即将开始"),
        live: gettext("议程间歇"),
        ended: gettext("问政会已结束，感谢关注"),
      }[status];
      return el("p", { class: "item-title idle" }, text);
    }
    return el(
      "div",
      { class: "item-row" },
      el(
        "div",
        { class: "item-text" },
        el("p", { class: "item-title" }, item.title),
        item.department
          ? el("p", { class: "item-dept" }, fmt(gettext("应询部门：%(name)s"), { name: item.department.name }))
          : null,
      ),
      el(
        "div",
        { class: "countdown-box" },
        el("p", { class: "countdown-label", id: "countdown-label" }, gettext("剩余时间")),
        el("p", { class: "countdown", id: "countdown", role: "timer" }, "--:--"),
        el("p", { class: "countdown-plan" }, fmt(gettext("计划 %(minutes)s 分钟"), { minutes: item.planned_minutes })),
      ),
    );
  });
  tick();
  renderNext(item, status);

  const q = onStage(state);
  $("screen-stage").classList.toggle("idle", !q);
  renderOnChange($("on-stage"), q && [q.id, q.text, q.asker, q.parent], () => {
    if (!q) return el("p", { class: "stage-idle" }, gettext("等待提问"));
    // Long questions get a smaller type so they still fit the screen.
    const size = q.text.length > 300 ? "xl" : q.text.length > 160 ? "l" : q.text.length > 80 ? "m" : "s";
    return [
      el("p", { class: `stage-text len-${size}` }, q.text),
      el(
        "p",
        { class: "stage-asker" },
        q.parent !== null ? el("span", { class: "badge" }, gettext("追问")) : null,
        fmt(gettext("提问：%(asker)s"), { asker: label(q.asker) }),
      ),
    ];
  });

  renderPoll();
}

// What comes next (接下来): the next two items not yet held, after the current one (or from the
// start before the first). An item the moderator or the office adds shows here at once.
function renderNext(item, status) {
  const after = item ? item.position : 0;
  const next =
    status === "ended"
      ? []
      : state.agenda.filter((a) => a.status === "pending" && a.position > after).slice(0, 2);
  const node = $("next-items");
  node.hidden = next.length === 0;
  renderOnChange(node, next.map((a) => [a.id, a.title]), () => [
    el("span", { class: "next-label" }, gettext("接下来")),
    ...next.map((a) => el("span", { class: "next-item" }, a.title)),
  ]);
}

function renderPoll() {
  const poll = featuredPoll(state);
  root.classList.toggle("has-poll", Boolean(poll));
  // A published sheet or select needs the room of the question's area for its rows.
  const wide = poll?.status === "published" && (poll.kind === "sheet" || poll.kind === "select");
  root.classList.toggle("wide-poll", Boolean(wide));
  $("screen-poll").hidden = !poll;
  if (!poll) return;
  $("poll-label").textContent = POLL_LABEL[poll.kind] ?? POLL_LABEL.satisfaction;
  const { cast, eligible, ...shape } = poll;
  renderOnChange($("poll"), shape, () => [
    el(
      "p",
      { class: "poll-head" },
      el("span", { class: `badge poll-${poll.status}` }, POLL_STATUS[poll.status]),
      " ",
      el("span", { class: "poll-title" }, poll.title),
    ),
    wide
      ? [
          ...(poll.kind === "sheet" ? sheetChart(poll) : [rankingChart(poll)]),
          el("p", { class: "voted-line", id: `poll-${poll.id}-progress` }),
        ]
      : poll.status === "published"
      ? [
          el(
            "p",
            { class: "rate-big" },
            el("span", { class: "rate-label" }, gettext("满意率")),
            el("strong", { id: `poll-${poll.id}-rate` }, percent(poll.satisfaction_rate)),
          ),
          resultBars(poll),
          el("p", { class: "voted-line", id: `poll-${poll.id}-progress` }),
        ]
      : [
          el(
            "p",
            { class: "vote-count" },
            el("strong", { id: `poll-${poll.id}-progress` }),
            el("span", {}, gettext("位代表已投票")),
          ),
          el("div", { class: "meter" }, el("span", { id: `poll-${poll.id}-meter` })),
          poll.status === "closed" ? el("p", { class: "poll-note" }, gettext("投票已结束，等待公布结果")) : null,
        ],
  ]);
  renderProgress();
}

// How many rows a chart has decides its type size and columns: up to 10 rows in one column in
// large type, up to 30 in two columns, more (a sheet has at most 60) in three, in smaller type.
function density(n) {
  if (n <= 5) return "rows-few";
  if (n <= 10) return "rows-some";
  if (n <= 20) return "rows-many";
  return n <= 30 ? "rows-lots" : "rows-huge";
}

// Each choice's colour on the chart, by its place on the scale (best first): three choices (the
// default 满意 / 基本满意 / 不满意) in the colours of the bars elsewhere, other scales from green
// to red.
const THREE_COLOURS = ["#1e7b45", "#2f6db3", "#a61b1b"];
function choiceColour(index, count) {
  if (count === 3) return THREE_COLOURS[index];
  const hue = count > 1 ? Math.round(140 - (140 * index) / (count - 1)) : 140;
  return `hsl(${hue}, 55%, 38%)`;
}

// A sheet poll: per row, one bar split into each choice's share of that row's ballots, and the
// row's 满意率 beside it; a legend of the choices above.
function sheetChart(poll) {
  const rows = poll.rows ?? [];
  const colours = poll.choices.map((_, i) => choiceColour(i, poll.choices.length));
  const legend = el(
    "ul",
    { class: "chart-legend" },
    poll.choices.map((c, i) =>
      el("li", {}, el("span", { class: "swatch", style: `background: ${colours[i]}` }), label(c)),
    ),
  );
  const list = el(
    "ol",
    { class: `sheet-chart ${density(rows.length)}`, id: `poll-${poll.id}-tally` },
    rows.map((row) => {
      const counts = poll.results?.[String(row.id)] ?? {};
      const total = poll.choices.reduce((sum, c) => sum + (counts[c] ?? 0), 0);
      const rate = poll.satisfaction_rate?.[String(row.id)];
      return el(
        "li",
        { class: "chart-row", "data-row": String(row.id) },
        el("span", { class: "chart-label" }, row.label),
        el(
          "span",
          { class: "chart-stack" },
          poll.choices.map((c, i) => {
            const n = counts[c] ?? 0;
            const share = total ? (100 * n) / total : 0;
            if (!n) return null;
            return el(
              "span",
              {
                class: "segment",
                "data-choice": c,
                "data-count": String(n),
                style: `width: ${share.toFixed(1)}%; background: ${colours[i]}`,
                title: `${label(c)} ${num(n)}`,
              },
              share >= 12 ? percent(share / 100) : "",
            );
          }),
        ),
        el(
          "span",
          { class: "chart-rate", "data-rate": typeof rate === "number" ? rate.toFixed(4) : "" },
          percent(rate),
        ),
      );
    }),
  );
  return [
    el("div", { class: "chart-head" }, legend, el("span", { class: "chart-rate-head" }, gettext("满意率"))),
    list,
  ];
}

// A select poll: the candidates, most picks first, with their picks; the chosen ones marked 入选.
function rankingChart(poll) {
  const byId = new Map((poll.candidates ?? []).map((c) => [c.id, c]));
  const chosen = new Set(poll.chosen ?? []);
  const ranking = poll.ranking ?? [];
  const top = Math.max(1, ...Object.values(poll.results ?? {}));
  return el(
    "ol",
    { class: `ranking-chart ${density(ranking.length)}`, id: `poll-${poll.id}-tally` },
    ranking.map((id, index) => {
      const n = poll.results?.[String(id)] ?? 0;
      const isChosen = chosen.has(id);
      return el(
        "li",
        { class: `chart-row${isChosen ? " chosen" : ""}`, "data-candidate": String(id), "data-count": String(n) },
        el("span", { class: "chart-rank" }, num(index + 1)),
        el(
          "span",
          { class: "chart-label" },
          byId.get(id)?.label ?? String(id),
          isChosen ? el("span", { class: "chosen-mark" }, gettext("入选")) : null,
        ),
        el("span", { class: "chart-stack" }, el("span", { class: "segment", style: `width: ${((100 * n) / top).toFixed(1)}%` })),
        el("span", { class: "chart-votes" }, fmt(ngettext("%(n)s 票", "%(n)s 票", n), { n: num(n) })),
      );
    }),
  );
}

function renderProgress() {
  const poll = featuredPoll(state);
  if (!poll) return;
  const progress = $(`poll-${poll.id}-progress`);
  if (progress) {
    progress.textContent =
      poll.status === "published"
        ? fmt(
            poll.kind === "select"
              ? gettext("%(cast)s / %(eligible)s 位代表参加票选")
              : gettext("%(cast)s / %(eligible)s 位代表参加测评"),
            { cast: num(poll.cast), eligible: num(poll.eligible) },
          )
        : `${num(poll.cast)} / ${num(poll.eligible)}`;
  }
  const meter = $(`poll-${poll.id}-meter`);
  if (meter) meter.style.width = `${poll.eligible ? Math.min(100, (100 * poll.cast) / poll.eligible) : 0}%`;
}

// The countdown runs on the server's clock (the page's data-now corrects this device's).
function tick() {
  const node = $("countdown");
  if (!state || !node) return;
  const left = secondsLeft(currentItem(state), skew);
  const over = left !== null && left < 0;
  node.textContent = left === null ? "--:--" : `${over ? "+" : ""}${clock(left)}`;
  node.classList.toggle("overrun", over);
  $("countdown-label").textContent = over ? gettext("已超时") : gettext("剩余时间");
}

setInterval(tick, 250);
render();
