// Applying the protocol's events to a snapshot-shaped state, the same way on every page.
// A snapshot replaces the state; each state event and counter frame patches it.
// Also the small DOM and formatting helpers the live pages share.

// Django's JavaScript catalog (/jsi18n/) defines gettext, ngettext and interpolate; without it
// the (Chinese) source strings show as they are.
globalThis.gettext ??= (text) => text;
globalThis.ngettext ??= (singular, plural, count) => (count === 1 ? singular : plural);
globalThis.pgettext ??= (context, text) => text;
globalThis.interpolate ??= (format, values) =>
  format.replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));

// `format` with %(name)s placeholders filled in.
export function fmt(format, values) {
  return interpolate(format, values, true);
}

// ------------------------------------------------------------------ the page's language

// Numbers and times as the page's language writes them (<html lang>: "zh-hans" or "en").
const LANG = document.documentElement.lang || undefined;
const NUMBER = new Intl.NumberFormat(LANG);
const PERCENT = new Intl.NumberFormat(LANG, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });

// 65000 → "65,000".
export function num(n) {
  return typeof n === "number" ? NUMBER.format(n) : String(n ?? "");
}

// An ISO time as hours and minutes in `timeZone` (the hearing's, not this device's).
export function timeOfDay(iso, timeZone) {
  const at = typeof iso === "string" ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) return "";
  try {
    return new Intl.DateTimeFormat(LANG, { hour: "numeric", minute: "2-digit", timeZone }).format(at);
  } catch {
    return new Intl.DateTimeFormat(LANG, { hour: "numeric", minute: "2-digit" }).format(at);
  }
}

// Values the server itself stores in Chinese (default poll choices, the name of a question
// nobody signed) in the page's language: the page's #data-labels (hearings/labels.py).
const LABELS = (() => {
  try {
    return JSON.parse(document.getElementById("data-labels")?.textContent ?? "{}");
  } catch {
    return {};
  }
})();
export function label(value) {
  return LABELS[value] ?? value;
}

// The server's limits (core/limits.py: QUESTION_TEXT, ASKER_NAME …): the page's #data-limits.
// Never a number of its own here: a page without them is a bug the tests catch.
export const LIMITS = (() => {
  try {
    return JSON.parse(document.getElementById("data-limits")?.textContent ?? "{}");
  } catch {
    return {};
  }
})();

// What a person reads for a refused action: one line per protocol code (the frame's
// `message`, the refusal in the socket's language, is not shown here).
const ERRORS = {
  bad_request: gettext("输入有误"),
  unknown_action: gettext("页面版本过旧，请刷新后再试"),
  forbidden: gettext("无权进行此操作"),
  not_found: gettext("找不到要操作的对象"),
  invalid_state: gettext("当前状态下不能这样做"),
  poll_closed: gettext("测评已结束"),
  already_voted: gettext("已经投过票"),
  not_eligible: gettext("请先签到"),
  rate_limited: gettext("操作太频繁，请稍后再试"),
  too_large: gettext("内容太长"),
  connection_lost: gettext("网络中断"),
  connection_refused: gettext("连接被拒绝，请重新登录"),
  closed: gettext("未连接"),
};
export function errorText(err) {
  return ERRORS[err?.code] ?? gettext("操作失败");
}

const PUBLIC_STATUSES = new Set(["approved", "on_stage", "answered"]);

// The snapshot object is fresh from JSON.parse, so it becomes the state as it is.
export function fromSnapshot(data) {
  const state = data;
  for (const q of state.questions) {
    const likes = state.question_likes?.[q.id];
    if (likes !== undefined) q.likes = likes;
  }
  return state;
}

// Replace the entry with the same id, else insert `item` in id order: the order a snapshot
// lists questions and polls in (an older question approved late goes before newer ones).
function upsert(list, item) {
  const i = list.findIndex((x) => x.id === item.id);
  if (i !== -1) {
    list[i] = item;
    return;
  }
  const after = list.findIndex((x) => x.id > item.id);
  if (after === -1) list.push(item);
  else list.splice(after, 0, item);
}

// `audience` is "public" (public and deputy sockets) or "control".
export function applyEvent(state, type, data, audience = "public") {
  switch (type) {
    case "hearing.status":
      state.hearing.status = data.status;
      break;
    case "hearing.updated":
      state.hearing = data.hearing;
      break;
    case "agenda.current":
      state.agenda = data.agenda;
      state.current_item = data.item;
      break;
    case "agenda.updated":
      state.agenda = data.agenda;
      state.current_item = data.agenda.find((i) => i.status === "current")?.id ?? null;
      break;
    case "question.new":
    case "question.updated": {
      const q = data.question;
      if (audience === "public" && !PUBLIC_STATUSES.has(q.status)) {
        state.questions = state.questions.filter((x) => x.id !== q.id);
      } else {
        upsert(state.questions, q);
      }
      break;
    }
    case "question.stage":
      // The stage moved: `question` is on stage, `previous` (if still marked so) is back to approved.
      for (const q of state.questions) {
        if (q.id === data.question) q.status = "on_stage";
        else if (q.id === data.previous && q.status === "on_stage") q.status = "approved";
      }
      state.on_stage = data.question;
      break;
    case "question.removed":
      state.questions = state.questions.filter((x) => x.id !== data.question);
      break;
    case "poll.opened":
    case "poll.closed":
    case "poll.published":
      upsert(state.polls, data.poll);
      break;
    default:
      // A newer server may send event types this page does not know; they change nothing here.
      break;
  }
  return state;
}

export function applyCounter(state, type, data) {
  if (type === "presence") {
    state.counters.online = data.online;
  } else if (type === "likes") {
    state.counters.likes = data.hearing;
    for (const q of state.questions) {
      const n = data.questions[String(q.id)];
      if (n !== undefined) q.likes = n;
    }
  } else if (type === "poll.progress") {
    const poll = state.polls.find((p) => p.id === data.poll);
    if (poll) {
      poll.cast = data.cast;
      poll.eligible = data.eligible;
    }
  } else if (type === "attendance") {
    // 签到 N / M and the quorum; the control view's also lists who (`present`).
    state.attendance = data;
    // A deputy's tablet: `me.eligible` is the number checked in (who may vote).
    if (state.me) state.me.eligible = data.checked_in;
  }
  return state;
}

// Small DOM helper: text only, never HTML, so user text cannot become markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Rebuild `node`'s children only when `key` (any JSON-able value) changed since last time,
// so a counter frame never swaps a button out from under a finger.
const lastKeys = new WeakMap();
export function renderOnChange(node, key, build) {
  const text = JSON.stringify(key);
  if (lastKeys.get(node) === text) return;
  lastKeys.set(node, text);
  node.replaceChildren(...[build()].flat(2).filter(Boolean));
}

export const HEARING_STATUS = { draft: gettext("筹备中"), live: gettext("直播中"), ended: gettext("已结束") };
export const ITEM_STATUS = { pending: gettext("未开始"), current: gettext("进行中"), done: gettext("已结束") };
export const QUESTION_STATUS = {
  pending: gettext("待审核"),
  approved: gettext("已公开"),
  on_stage: gettext("正在回答"),
  answered: gettext("已回答"),
  rejected: gettext("未通过"),
};
export const POLL_STATUS = { open: gettext("投票中"), closed: gettext("投票已结束"), published: gettext("已公布") };
export const CONNECTION = {
  connecting: gettext("连接中…"),
  open: gettext("已连接"),
  reconnecting: gettext("已断开，重连中…"),
  stopped: gettext("无法连接"),
};
// The hearing's title where a page shows it (`.hearing-title`): the office may rename a live
// hearing (`hearing.updated`).
export function renderHearingTitle(state) {
  for (const node of document.querySelectorAll(".hearing-title")) {
    if (node.textContent !== state.hearing.title) node.textContent = state.hearing.title;
  }
}

export function currentItem(state) {
  return state.agenda.find((i) => i.id === state.current_item) ?? null;
}

export function onStage(state) {
  return state.questions.find((q) => q.id === state.on_stage) ?? null;
}

// 0.853 → "85.3%"; no rate yet → "—".
export function percent(rate) {
  // A sheet poll's rates are per row (an object): no single figure.
  return typeof rate !== "number" ? "—" : PERCENT.format(rate);
}

// ------------------------------------------------------------------ keyed lists

// Keep `container`'s children in step with `items`. A child is rebuilt only when its
// signature changed and moved only when out of place, so a node (and the button under a
// finger) survives frames that do not concern it. `build(item)` returns an element.
export function reconcile(container, items, { key, signature, build }) {
  const old = new Map();
  for (const node of container.children) old.set(node.dataset.key, node);
  const wanted = items.map((item) => {
    const k = String(key(item));
    const sig = JSON.stringify(signature(item));
    let node = old.get(k);
    old.delete(k);
    if (!node || node.dataset.sig !== sig) {
      const fresh = build(item);
      fresh.dataset.key = k;
      fresh.dataset.sig = sig;
      if (node) node.replaceWith(fresh);
      node = fresh;
    }
    return node;
  });
  for (const node of old.values()) node.remove();
  wanted.forEach((node, i) => {
    const here = container.children[i];
    if (here !== node) container.insertBefore(node, here ?? null);
  });
}

// ------------------------------------------------------------------ time

// Milliseconds to add to this device's clock to get the server's (pages render data-now).
export function clockSkew(serverNowMs) {
  const server = Number(serverNowMs);
  return Number.isFinite(server) && server > 0 ? server - Date.now() : 0;
}

// "mm:ss" (minutes may pass 59) of a whole number of seconds, sign dropped.
export function clock(seconds) {
  const s = Math.abs(Math.trunc(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

// Seconds left of an item's planned time (negative: overrun), or null if it has not started.
export function secondsLeft(item, skew) {
  if (!item?.started_at) return null;
  const started = Date.parse(item.started_at);
  if (Number.isNaN(started)) return null;
  const elapsed = (Date.now() + skew - started) / 1000;
  return Math.round(item.planned_minutes * 60 - elapsed);
}

// ------------------------------------------------------------------ polls

// The poll a screen shows: the open one, else the newest of the current item, else (between
// items, or at the evaluation and closing items) the newest of all.
export function featuredPoll(state) {
  const polls = [...state.polls].reverse();
  const open = polls.find((p) => p.status === "open");
  if (open) return open;
  const ofItem = polls.find((p) => p.item !== null && p.item === state.current_item);
  if (ofItem) return ofItem;
  const item = currentItem(state);
  return !item || item.kind !== "questioning" ? (polls[0] ?? null) : null;
}

// "签到 N / M · 法定人数 K · 已达到" (the snapshot's and the counter's `attendance`).
export function attendanceText(a) {
  const values = { checked_in: num(a.checked_in), deputies: num(a.deputies), needed: num(a.needed) };
  return a.quorum
    ? fmt(gettext("签到 %(checked_in)s / %(deputies)s · 法定人数 %(needed)s · 已达到"), values)
    : fmt(gettext("签到 %(checked_in)s / %(deputies)s · 法定人数 %(needed)s · 未达到"), values);
}

export function progressText(poll) {
  return fmt(gettext("已投 %(cast)s / 应投 %(eligible)s"), { cast: num(poll.cast), eligible: num(poll.eligible) });
}

// A bar: its label, its width (0–100) and the text beside it.
function bar(key, text, share, value) {
  return el(
    "li",
    { class: "bar", "data-choice": key },
    el("span", { class: "bar-label" }, text),
    el("span", { class: "bar-track" }, el("span", { class: "bar-fill", style: `width: ${share.toFixed(1)}%` })),
    el("span", { class: "bar-value" }, value),
  );
}

// A sheet poll's rows with each row's 满意率; a select poll's candidates in ranking order with
// their picks (chosen ones marked).
function kindBars(poll) {
  if (poll.kind === "sheet") {
    return el(
      "ul",
      { class: "bars rows", id: `poll-${poll.id}-tally` },
      (poll.rows ?? []).map((row) => {
        const rate = poll.satisfaction_rate?.[String(row.id)];
        const share = typeof rate === "number" ? 100 * rate : 0;
        return bar(String(row.id), row.label, share, `${gettext("满意率")} ${percent(rate)}`);
      }),
    );
  }
  const byId = new Map((poll.candidates ?? []).map((c) => [c.id, c]));
  const chosen = new Set(poll.chosen ?? []);
  const top = Math.max(1, ...Object.values(poll.results ?? {}));
  return el(
    "ol",
    { class: "bars ranking", id: `poll-${poll.id}-tally` },
    (poll.ranking ?? []).map((id) => {
      const n = poll.results?.[String(id)] ?? 0;
      const text = chosen.has(id) ? `${byId.get(id)?.label ?? id} ✓` : (byId.get(id)?.label ?? String(id));
      return bar(String(id), text, (100 * n) / top, fmt(ngettext("%(n)s 票", "%(n)s 票", n), { n: num(n) }));
    }),
  );
}

// A named poll's published roll call (记名): who chose what, by name; a secret poll has none.
export function rollList(poll) {
  if (!poll.roll?.length) return null;
  const candidates = new Map((poll.candidates ?? []).map((c) => [c.id, c.label]));
  const list = new Intl.ListFormat(document.documentElement.lang || "zh-CN", { style: "narrow", type: "unit" });
  const what = (entry) => {
    if (entry.choices) {
      return list.format(
        (poll.rows ?? []).map((r) =>
          fmt(gettext("%(row)s：%(choice)s"), { row: r.label, choice: label(entry.choices[String(r.id)] ?? "") }),
        ),
      );
    }
    if (entry.picks) return list.format(entry.picks.map((id) => candidates.get(id) ?? String(id)));
    return label(entry.choice ?? "");
  };
  return el(
    "details",
    { class: "roll", id: `poll-${poll.id}-roll` },
    el("summary", {}, fmt(gettext("记名投票结果（%(n)s 人）"), { n: num(poll.roll.length) })),
    el(
      "ul",
      { class: "roll-list" },
      poll.roll.map((entry) => el("li", {}, el("strong", {}, entry.deputy), " ", what(entry))),
    ),
  );
}

// A window poll's voting time (事后测评: deputies vote on their own devices), in local time.
const WHEN = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
  month: "numeric",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

export function windowLine(poll) {
  if (!poll.closes_at) return null;
  return el(
    "p",
    { class: "muted poll-window" },
    fmt(gettext("代表在各自设备上投票：%(from)s 至 %(to)s"), {
      from: WHEN.format(new Date(poll.opens_at)),
      to: WHEN.format(new Date(poll.closes_at)),
    }),
  );
}

// The results as bars (DOM, no chart library) with each choice's share of valid ballots.
export function resultBars(poll) {
  if (poll.kind === "sheet" || poll.kind === "select") return kindBars(poll);
  const valid = poll.choices.reduce((sum, c) => sum + (poll.results?.[c] ?? 0), 0);
  return el(
    "ul",
    { class: "bars", id: `poll-${poll.id}-tally` },
    poll.choices.map((choice) => {
      const n = poll.results?.[choice] ?? 0;
      const share = valid ? (100 * n) / valid : 0;
      return el(
        "li",
        { class: "bar", "data-choice": choice },
        el("span", { class: "bar-label" }, label(choice)),
        el("span", { class: "bar-track" }, el("span", { class: "bar-fill", style: `width: ${share.toFixed(1)}%` })),
        el(
          "span",
          { class: "bar-value" },
          fmt(ngettext("%(n)s 票", "%(n)s 票", n), { n: num(n) }),
          ` · ${percent(share / 100)}`,
        ),
      );
    }),
  );
}
