// Applying the protocol's events to a snapshot-shaped state, the same way on every page.
// A snapshot replaces the state; each state event and counter frame patches it.

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

function upsert(list, item) {
  const i = list.findIndex((x) => x.id === item.id);
  if (i === -1) list.push(item);
  else list[i] = item;
}

// `audience` is "public" (public and deputy sockets) or "control".
export function applyEvent(state, type, data, audience = "public") {
  switch (type) {
    case "hearing.status":
      state.hearing.status = data.status;
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

export const HEARING_STATUS = { draft: "筹备中", live: "直播中", ended: "已结束" };
export const ITEM_STATUS = { pending: "未开始", current: "进行中", done: "已结束" };
export const QUESTION_STATUS = {
  pending: "待审核",
  approved: "已公开",
  on_stage: "正在回答",
  answered: "已回答",
  rejected: "未通过",
};
export const POLL_STATUS = { open: "投票中", closed: "已结束", published: "已公布" };
export const CONNECTION = {
  connecting: "连接中…",
  open: "已连接",
  reconnecting: "已断开，重连中…",
  stopped: "无法连接",
};

export function currentItem(state) {
  return state.agenda.find((i) => i.id === state.current_item) ?? null;
}

export function onStage(state) {
  return state.questions.find((q) => q.id === state.on_stage) ?? null;
}

export function percent(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`;
}
