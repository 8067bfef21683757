// Deputy tablet (代表平板): check in, follow the session, vote, ask.
//
// A vote is shown as recorded only once the server has acked it. Until then the pending
// ballot (poll, ballot UUID and the answer: `choice` for a satisfaction poll, `choices` for a
// sheet, `picks` for a select) sits in localStorage, so a dropped socket or a reload sends the
// very same ballot again and the server counts it once (a repeat acks duplicate:true).
//
// A sheet (测评表: a choice for every row) or a select (票选: between min and max candidates) is
// filled first (the draft, kept in localStorage too, so a reload does not lose the taps), then
// checked on a summary, then cast as one ballot.

import { askBox } from "./ask.js";
import { connect } from "./live.js";
import {
  applyCounter,
  applyEvent,
  attendanceText,
  CONNECTION,
  currentItem,
  el,
  errorText,
  fmt,
  fromSnapshot,
  HEARING_STATUS,
  label,
  num,
  onStage,
  percent,
  progressText,
  QUESTION_STATUS,
  renderOnChange,
  renderHearingTitle,
  resultBars,
} from "./state.js";

const root = document.getElementById("tablet");
const $ = (id) => document.getElementById(id);
const KEY = `wenzheng.vote.${root.dataset.hearing}.${root.dataset.user}`;
const DRAFT_KEY = `${KEY}.draft`;

// Answers after which a ballot is settled: sending it again cannot change anything.
const VOTE_ERRORS = {
  already_voted: gettext("您已在本次测评中投过票，以第一次提交的为准。"),
  not_eligible: gettext("请先签到，签到后才能投票。"),
  poll_closed: gettext("测评已结束，这一票没有计入。"),
  not_found: gettext("找不到这项测评，这一票没有计入。"),
  forbidden: gettext("您不是本场问政会的代表，不能投票。"),
  bad_request: gettext("选项无效，请重新选择。"),
};
// The card's heading for each kind of poll.
const POLL_HEADING = {
  satisfaction: pgettext("one poll", "满意度测评"),
  sheet: gettext("满意度测评表"),
  select: gettext("票选"),
};
// After these the poll takes no ballot from this tablet: the choice buttons go away.
const SETTLED = new Set(["already_voted", "poll_closed", "not_found", "forbidden"]);

let state = null;
let me = { name: "", checked_in: false, voted: [] };
let connection = "connecting";
const recorded = new Set(); // polls this deputy has a counted ballot in
let voteInFlight = false;
let voteError = null; // {poll, text}
let checkingIn = false;
let checkinError = null;
let followUp = null; // question id a follow-up (追问) refers to

// ---------------------------------------------------------------- pending ballot

function loadPending() {
  try {
    return JSON.parse(localStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function savePending(pending) {
  if (pending) localStorage.setItem(KEY, JSON.stringify(pending));
  else localStorage.removeItem(KEY);
}

function clearPending(ballot) {
  if (loadPending()?.ballot === ballot) savePending(null);
}

// crypto.randomUUID exists only in secure contexts; a tablet on plain http over the LAN has not.
function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------- sheet and select drafts
// {poll, choices: {"<row id>": choice}, picks: [candidate id], review: bool}: what the deputy
// has tapped so far on the open sheet or select poll, and whether the summary is showing.

function loadDraft() {
  try {
    return JSON.parse(localStorage.getItem(DRAFT_KEY));
  } catch {
    return null;
  }
}

function draftFor(poll) {
  const stored = loadDraft();
  if (stored?.poll === poll.id) return stored;
  return { poll: poll.id, choices: {}, picks: [], review: false };
}

function saveDraft(draft) {
  localStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
}

function clearDraft(pollId) {
  if (loadDraft()?.poll === pollId) localStorage.removeItem(DRAFT_KEY);
}

// How far a draft is: filled rows of a sheet, picks of a select, and whether it may be cast.
function draftProgress(poll, draft) {
  if (poll.kind === "sheet") {
    const rows = poll.rows ?? [];
    const filled = rows.filter((row) => poll.choices.includes(draft.choices[String(row.id)])).length;
    return { filled, total: rows.length, complete: rows.length > 0 && filled === rows.length };
  }
  const ids = new Set((poll.candidates ?? []).map((c) => c.id));
  const n = draft.picks.filter((id) => ids.has(id)).length;
  return { filled: n, total: ids.size, complete: n >= poll.min && n <= poll.max };
}

// The ballot a finished draft casts: only rows and candidates of this poll.
function draftAnswer(poll, draft) {
  if (poll.kind === "sheet") {
    return { choices: Object.fromEntries((poll.rows ?? []).map((row) => [String(row.id), draft.choices[String(row.id)]])) };
  }
  const ids = new Set((poll.candidates ?? []).map((c) => c.id));
  return { picks: draft.picks.filter((id) => ids.has(id)) };
}

// The chamber's live poll first: a window poll the office scheduled before the hearing went
// live (voted on the deputies' own devices, /polls/) may still be open beside it.
function openPoll() {
  const open = state?.polls.filter((p) => p.status === "open") ?? [];
  return open.find((p) => !p.closes_at) ?? open[0] ?? null;
}

// `answer` is {choice}, {choices: {"<row id>": choice}} or {picks: [candidate id]}.
function vote(poll, answer) {
  if (loadPending() || recorded.has(poll.id)) return;
  const pending = { poll: poll.id, ballot: uuid4(), ...answer };
  savePending(pending); // before sending: a reload from here on resends this same ballot
  voteError = null;
  submit(pending);
  render();
}

function submit(pending) {
  voteInFlight = true;
  live.send("vote", pending).then(
    () => {
      voteInFlight = false;
      recorded.add(pending.poll);
      clearPending(pending.ballot);
      clearDraft(pending.poll);
      render();
    },
    (err) => {
      voteInFlight = false;
      if (err.code in VOTE_ERRORS) {
        clearPending(pending.ballot);
        if (err.code === "already_voted") recorded.add(pending.poll);
        if (SETTLED.has(err.code)) clearDraft(pending.poll);
        voteError = { poll: pending.poll, code: err.code, text: VOTE_ERRORS[err.code] };
      } else {
        // Not settled (e.g. the login expired and the server refused the socket): the ballot
        // stays stored, and the next visit of this page sends it.
        const text = fmt(gettext("暂时无法提交（%(why)s），这一票已保存在本机。"), { why: errorText(err) });
        voteError = { poll: pending.poll, code: err.code, text };
      }
      render();
    },
  );
}

// After a snapshot or a poll event: settle or resend a ballot left from before.
function reconcilePending() {
  const pending = loadPending();
  if (!pending || voteInFlight) return;
  if (recorded.has(pending.poll)) {
    savePending(null);
    clearDraft(pending.poll);
    return;
  }
  const poll = state.polls.find((p) => p.id === pending.poll);
  if (poll?.status === "open") {
    submit(pending);
  } else {
    savePending(null);
    voteError = { poll: pending.poll, code: "poll_closed", text: VOTE_ERRORS.poll_closed };
  }
}

// ---------------------------------------------------------------- socket

const live = connect({
  url: root.dataset.ws,
  onSnapshot(data) {
    state = fromSnapshot(data);
    if (data.me) me = data.me;
    for (const id of me.voted) recorded.add(id);
    reconcilePending();
    render();
  },
  onEvent(type, data) {
    applyEvent(state, type, data);
    if (type.startsWith("poll.")) reconcilePending();
    render();
  },
  onCounter(type, data) {
    applyCounter(state, type, data);
    renderProgress();
    renderAttendance();
  },
  onStatus(status, detail) {
    connection = status;
    if (status === "stopped") {
      $("conn").textContent =
        detail.code === 4404 ? gettext("找不到这场问政会") : gettext("无权使用本平板页面，请用本场代表账号登录");
    }
    render();
  },
});

// ---------------------------------------------------------------- actions

$("checkin").addEventListener("click", () => {
  if (checkingIn || me.checked_in) return;
  checkingIn = true;
  checkinError = null;
  live.send("checkin").then(
    () => {
      checkingIn = false;
      me.checked_in = true;
      if (voteError?.code === "not_eligible") voteError = null;
      render();
    },
    (err) => {
      checkingIn = false;
      checkinError =
        err.code === "invalid_state"
          ? gettext("问政会已结束，无法签到。")
          : fmt(gettext("签到失败：%(message)s"), { message: errorText(err) });
      render();
    },
  );
  render();
});

$("ask-parent-cancel").addEventListener("click", () => {
  followUp = null;
  render();
});

// The form only works through the socket: it is enabled once this script runs.
$("ask-submit").disabled = false;
askBox({
  live,
  errors: {
    not_found: gettext("要追问的问题已不存在。"),
    forbidden: gettext("您不是本场问政会的代表，不能提问。"),
    connection_lost: gettext("网络中断，问题可能没有提交成功，请确认后再试。"),
  },
  fields: () => (followUp === null ? {} : { parent: followUp }),
  sent(ack) {
    followUp = null;
    render();
    return ack.status === "pending" ? gettext("已提交，等待主持人审核后公开。") : gettext("已提交并公开。");
  },
});

// ---------------------------------------------------------------- rendering
// Sections are rebuilt only when what they show changes, so a button is never swapped
// out under a finger by a counter frame.

function section(id, key, build) {
  renderOnChange($(id), key, build);
}

function render() {
  const conn = $("conn");
  conn.dataset.state = connection;
  if (connection !== "stopped") conn.textContent = CONNECTION[connection];
  if (!state) return;
  renderHearingTitle(state);

  const status = state.hearing.status;
  $("hearing-status").textContent = HEARING_STATUS[status];
  $("hearing-status").className = `badge status-${status}`;
  if (me.name) $("me-name").textContent = fmt(gettext("%(name)s 代表"), { name: me.name });

  const checkin = $("checkin");
  checkin.disabled = me.checked_in || checkingIn || status === "ended";
  checkin.textContent = me.checked_in ? `✓ ${gettext("已签到")}` : pgettext("button", "签到");
  checkin.classList.toggle("done", me.checked_in);
  $("checkin-state").textContent = me.checked_in
    ? gettext("您已签到，可以参加满意度测评。")
    : checkingIn
      ? live.connected
        ? gettext("正在签到…")
        : gettext("网络中断，恢复后自动签到…")
      : (checkinError ?? gettext("签到后才能参加满意度测评。"));
  renderAttendance();

  const item = currentItem(state);
  section("current-item", item, () =>
    item
      ? [
          el("p", { class: "item-title" }, item.title),
          item.department
            ? el("p", { class: "muted" }, fmt(gettext("应询部门：%(name)s"), { name: item.department.name }))
            : null,
        ]
      : el("p", { class: "muted" }, status === "ended" ? gettext("问政会已结束") : gettext("尚未开始")),
  );

  const q = onStage(state);
  section("on-stage", q && [q.id, q.text, q.asker], () =>
    q
      ? el(
          "blockquote",
          { class: "stage" },
          el("p", {}, q.text),
          el("footer", {}, fmt(gettext("提问：%(asker)s"), { asker: label(q.asker) })),
        )
      : el("p", { class: "muted" }, gettext("暂无")),
  );

  renderPoll();
  renderQuestions();
}

function latestPoll() {
  // The open one, else the newest (closed or published) of the current item.
  return openPoll() ?? [...state.polls].reverse().find((p) => p.item === state.current_item) ?? null;
}

function renderPoll() {
  const poll = latestPoll();
  $("poll-card").hidden = !poll;
  if (!poll) return;
  $("poll-heading").textContent = POLL_HEADING[poll.kind] ?? POLL_HEADING.satisfaction;
  const pending = loadPending();
  const mine = pending?.poll === poll.id ? pending : null;
  const error = voteError?.poll === poll.id ? voteError : null;
  const settled = error && SETTLED.has(error.code);
  const done = recorded.has(poll.id);
  const multi = poll.kind === "sheet" || poll.kind === "select";
  const canFill = poll.status === "open" && !done && !settled;
  // A sheet or select being filled is rebuilt only when its phase changes: taps patch it in place.
  const draft = multi && canFill && !mine ? draftFor(poll) : null;
  const review = Boolean(draft?.review && draftProgress(poll, draft).complete);
  const shape = [poll.title, poll.choices, poll.rows, poll.candidates, poll.min, poll.max];
  const outcome = [poll.results, poll.satisfaction_rate, poll.ranking, poll.chosen];
  const key = [poll.id, poll.status, shape, outcome, mine, error, done, me.checked_in, draft && review];
  section("poll", [key, connection === "open"], () => {
    const parts = [el("p", { class: "poll-title" }, poll.title), el("p", { class: "progress", id: "poll-progress" })];
    if (canFill && !multi) parts.push(satisfactionChoices(poll, mine));
    if (draft && review) parts.push(ballotSummary(poll, draftAnswer(poll, draft), draft));
    else if (draft) parts.push(poll.kind === "sheet" ? sheetForm(poll, draft) : selectForm(poll, draft));
    if (multi && mine && !done) parts.push(ballotSummary(poll, mine, null));
    if (canFill && !me.checked_in) parts.push(el("p", { class: "hint" }, gettext("请先签到，签到后才能投票。")));
    let voteState = null;
    if (done) {
      voteState = el(
        "p",
        { class: "vote-state recorded", id: "vote-state", "data-state": "recorded" },
        el("strong", {}, `✓ ${gettext("已记录")}`),
        " ",
        gettext("您的投票已计入。"),
      );
    } else if (mine) {
      voteState = el(
        "p",
        { class: "vote-state pending", id: "vote-state", "data-state": "pending" },
        connection === "open"
          ? gettext("正在提交…")
          : gettext("网络中断：这一票已保存在本机，恢复连接后自动提交（尚未记录）。"),
      );
    }
    if (voteState) parts.push(voteState);
    if (error) parts.push(el("p", { class: "error", id: "vote-error", role: "alert" }, error.text));
    if (poll.status === "closed") parts.push(el("p", { class: "muted" }, gettext("投票已结束，等待公布结果。")));
    if (poll.status === "published" && poll.results) {
      if (multi) {
        parts.push(el("div", { class: "published-results" }, resultBars(poll)));
      } else {
        parts.push(
          el(
            "ul",
            { class: "results" },
            poll.choices.map((c) =>
              el("li", {}, el("span", {}, label(c)), el("strong", {}, num(poll.results[c] ?? 0))),
            ),
          ),
          el("p", { class: "rate" }, gettext("满意率"), " ", percent(poll.satisfaction_rate)),
        );
      }
    }
    return parts;
  });
  renderProgress();
}

// A satisfaction poll: one tap on a choice casts the ballot.
function satisfactionChoices(poll, mine) {
  const canVote = me.checked_in && !mine;
  return el(
    "div",
    { class: "choices", role: "group", "aria-label": gettext("测评选项") },
    poll.choices.map((choice) =>
      el(
        "button",
        {
          type: "button",
          class: `choice${mine?.choice === choice ? " chosen" : ""}`,
          "data-choice": choice,
          disabled: !canVote,
          onclick: () => vote(poll, { choice }),
        },
        label(choice),
      ),
    ),
  );
}

// The bar under a sheet or select being filled (it stays in view at the bottom of a long
// sheet): how far the deputy is and the button to the summary, enabled once the ballot is whole.
function fillBar(poll, draft, countId, buttonText) {
  const count = el("p", { class: "fill-count", id: countId, "aria-live": "polite" });
  const hint = el("p", { class: "fill-hint", id: "fill-hint", "aria-live": "polite" });
  const next = el(
    "button",
    {
      type: "button",
      class: "button primary big",
      id: "review-ballot",
      onclick: () => {
        if (!draftProgress(poll, draft).complete) return;
        draft.review = true;
        saveDraft(draft);
        render();
        $("poll-card").scrollIntoView({ block: "start" });
      },
    },
    buttonText,
  );
  return { bar: el("div", { class: "fill-bar" }, el("div", { class: "fill-text" }, count, hint), next), count, hint, next };
}

// A sheet (测评表): every row with the poll's choices; one tap per row, another tap changes it.
function sheetForm(poll, draft) {
  const rows = poll.rows ?? [];
  const { bar, count, next } = fillBar(poll, draft, "sheet-count", gettext("核对测评表"));
  const update = () => {
    const progress = draftProgress(poll, draft);
    count.textContent = fmt(gettext("已填 %(n)s / %(total)s 行"), { n: num(progress.filled), total: num(progress.total) });
    next.disabled = !me.checked_in || !progress.complete;
  };
  const list = el(
    "ol",
    { class: "sheet-rows", id: "sheet-rows" },
    rows.map((row) => {
      const key = String(row.id);
      const labelId = `row-${row.id}-label`;
      const group = el("div", { class: "choices row-choices", role: "group", "aria-labelledby": labelId });
      const item = el(
        "li",
        { class: `sheet-row${draft.choices[key] ? " filled" : ""}`, "data-row": key },
        el("p", { class: "row-label", id: labelId }, row.label),
        group,
      );
      group.append(
        ...poll.choices.map((choice) =>
          el(
            "button",
            {
              type: "button",
              class: `choice${draft.choices[key] === choice ? " chosen" : ""}`,
              "data-choice": choice,
              "aria-pressed": String(draft.choices[key] === choice),
              disabled: !me.checked_in,
              onclick: () => {
                draft.choices[key] = choice;
                saveDraft(draft);
                for (const button of group.children) {
                  const on = button.dataset.choice === choice;
                  button.classList.toggle("chosen", on);
                  button.setAttribute("aria-pressed", String(on));
                }
                item.classList.add("filled");
                update();
              },
            },
            label(choice),
          ),
        ),
      );
      return item;
    }),
  );
  update();
  return [list, bar];
}

// Department names the page knows (the agenda's), for a candidate's line.
function departmentNames() {
  const names = new Map();
  for (const item of state.agenda) if (item.department) names.set(item.department.id, item.department.name);
  return names;
}

// A select (票选): the candidates as cards to tick, between min and max of them.
function selectForm(poll, draft) {
  const candidates = poll.candidates ?? [];
  const departments = departmentNames();
  const picked = new Set(draft.picks);
  const { bar, count, hint, next } = fillBar(poll, draft, "select-count", gettext("核对所选项目"));
  const values = { min: num(poll.min), max: num(poll.max) };
  const update = () => {
    const progress = draftProgress(poll, draft);
    const n = num(progress.filled);
    count.textContent =
      poll.min === poll.max
        ? fmt(gettext("已选 %(n)s 项（须选 %(min)s 项）"), { n, ...values })
        : fmt(gettext("已选 %(n)s 项（须选 %(min)s–%(max)s 项）"), { n, ...values });
    const extra = progress.filled - poll.max;
    hint.textContent =
      extra > 0
        ? fmt(ngettext("最多选 %(max)s 项，请取消 %(extra)s 项。", "最多选 %(max)s 项，请取消 %(extra)s 项。", extra), {
            ...values,
            extra: num(extra),
          })
        : "";
    next.disabled = !me.checked_in || !progress.complete;
  };
  const cards = el(
    "ul",
    { class: "candidates", id: "candidates" },
    candidates.map((candidate) => {
      const department = departments.get(candidate.department);
      const card = el(
        "button",
        {
          type: "button",
          class: `candidate${picked.has(candidate.id) ? " picked" : ""}`,
          "data-candidate": String(candidate.id),
          "aria-pressed": String(picked.has(candidate.id)),
          disabled: !me.checked_in,
          onclick: () => {
            const on = !picked.has(candidate.id);
            if (on) picked.add(candidate.id);
            else picked.delete(candidate.id);
            draft.picks = candidates.map((c) => c.id).filter((id) => picked.has(id));
            saveDraft(draft);
            card.classList.toggle("picked", on);
            card.setAttribute("aria-pressed", String(on));
            update();
          },
        },
        el("span", { class: "tick", "aria-hidden": "true" }),
        el(
          "span",
          { class: "candidate-text" },
          el("span", { class: "candidate-label" }, candidate.label),
          department ? el("span", { class: "candidate-dept" }, department) : null,
        ),
      );
      return el("li", {}, card);
    }),
  );
  update();
  return [cards, bar];
}

// The whole ballot to check before it is cast (with `draft`: the confirm and back buttons), or,
// while it is being sent, what was cast.
function ballotSummary(poll, answer, draft) {
  let list;
  if (poll.kind === "sheet") {
    list = el(
      "ol",
      { class: "ballot-summary", id: "ballot-summary" },
      (poll.rows ?? []).map((row) => {
        const choice = answer.choices?.[String(row.id)];
        return el(
          "li",
          { "data-row": String(row.id) },
          el("span", { class: "summary-label" }, row.label),
          el("strong", { class: "summary-choice", "data-choice": choice ?? "" }, label(choice ?? "—")),
        );
      }),
    );
  } else {
    const byId = new Map((poll.candidates ?? []).map((c) => [c.id, c]));
    list = el(
      "ol",
      { class: "ballot-summary picks", id: "ballot-summary" },
      (answer.picks ?? []).map((id) =>
        el("li", { "data-candidate": String(id) }, el("span", { class: "summary-label" }, byId.get(id)?.label ?? id)),
      ),
    );
  }
  const n = poll.kind === "sheet" ? (poll.rows ?? []).length : (answer.picks ?? []).length;
  const head =
    poll.kind === "sheet"
      ? fmt(ngettext("请核对测评表（共 %(n)s 行）：", "请核对测评表（共 %(n)s 行）：", n), { n: num(n) })
      : fmt(ngettext("您选了以下 %(n)s 项：", "您选了以下 %(n)s 项：", n), { n: num(n) });
  const parts = [el("p", { class: "summary-head" }, head), list];
  if (draft) {
    parts.push(
      el(
        "div",
        { class: "ballot-actions" },
        el(
          "button",
          {
            type: "button",
            class: "button big",
            id: "edit-ballot",
            onclick: () => {
              draft.review = false;
              saveDraft(draft);
              render();
            },
          },
          gettext("返回修改"),
        ),
        el(
          "button",
          {
            type: "button",
            class: "button primary big",
            id: "confirm-ballot",
            disabled: !me.checked_in,
            onclick: () => vote(poll, answer),
          },
          gettext("确认提交"),
        ),
      ),
    );
  }
  return el("div", { class: "ballot-review" }, parts);
}

function renderAttendance() {
  $("attendance-line").textContent = state?.attendance ? attendanceText(state.attendance) : "";
}

function renderProgress() {
  const poll = state && latestPoll();
  const node = $("poll-progress");
  if (poll && node) node.textContent = progressText(poll);
}

function renderQuestions() {
  const list = state.questions.filter(
    (q) => state.current_item === null || q.item === state.current_item || q.id === followUp,
  );
  const parent = state.questions.find((q) => q.id === followUp);
  $("ask-parent").hidden = !parent;
  $("ask-parent-text").textContent = parent ? parent.text : "";
  if (followUp !== null && !parent) followUp = null;
  $("questions-empty").hidden = list.length > 0;
  section(
    "questions",
    list.map((q) => [q.id, q.text, q.status, q.likes, q.asker, q.id === followUp]),
    () =>
      list.map((q) =>
        el(
          "li",
          { id: `question-${q.id}`, class: `question status-${q.status}${q.parent ? " follow" : ""}` },
          el(
            "div",
            { class: "q-meta" },
            el("span", { class: `badge q-${q.status}` }, QUESTION_STATUS[q.status]),
            q.parent ? el("span", { class: "badge" }, gettext("追问")) : null,
            el("span", { class: "muted" }, label(q.asker)),
            el("span", { class: "muted likes" }, fmt(gettext("赞 %(n)s"), { n: num(q.likes) })),
          ),
          el("p", { class: "q-text" }, q.text),
          el(
            "button",
            {
              type: "button",
              class: "button small",
              onclick: () => {
                followUp = q.id;
                render();
                $("ask-text").focus();
              },
            },
            q.id === followUp ? gettext("正在追问") : gettext("追问"),
          ),
        ),
      ),
  );
}

render();
