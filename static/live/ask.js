// The ask box (提问) of the public live page and the deputy tablet: the count of characters
// against the server's limit, sending the question over the socket, and what a person reads
// while it goes and when it is answered. The pages' markup is the same: #ask-form with
// #ask-text, #ask-count, #ask-submit and #ask-state.
//
// The limit is core/limits.py's QUESTION_TEXT, read from the page (#data-limits), never typed here.

import { errorText, fmt, LIMITS } from "./state.js";

const $ = (id) => document.getElementById(id);

export const QUESTION_TEXT = LIMITS.QUESTION_TEXT;

// What a refused `ask` reads as on either page; a page adds the answers only it meets.
export const ASK_ERRORS = {
  bad_request: fmt(gettext("问题内容需在 1 到 %(max)s 字之间。"), { max: QUESTION_TEXT }),
  invalid_state: gettext("问政会已结束，不能再提问。"),
  rate_limited: gettext("提交太频繁，请稍后再试。"),
};

// Wires the page's ask form to `live` (live.js). `errors` adds to ASK_ERRORS; `fields()` gives
// what the page sends besides the text (a name, the question followed up) and the category
// chosen in #ask-category (when the hearing has categories) goes with it; `sent(ack)` does the
// page's part once the server took the question and returns the line to show. With `marked`,
// #ask-state also carries the class "ok" or "error" of the outcome.
export function askBox({ live, errors = {}, fields = () => ({}), sent, marked = false }) {
  const text = $("ask-text");
  const count = $("ask-count");
  const submit = $("ask-submit");
  const stateNode = $("ask-state");
  const messages = { ...ASK_ERRORS, ...errors };

  const counted = () => {
    count.textContent = `${text.value.trim().length} / ${QUESTION_TEXT}`;
  };
  const show = (outcome, line) => {
    if (marked) {
      stateNode.classList.toggle("ok", outcome === "ok");
      stateNode.classList.toggle("error", outcome === "error");
    }
    stateNode.textContent = line;
  };

  text.maxLength = QUESTION_TEXT;
  text.addEventListener("input", counted);
  counted();

  $("ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = text.value.trim();
    if (!value) {
      show(null, gettext("请先输入问题内容。"));
      return;
    }
    submit.disabled = true;
    show(null, live.connected ? gettext("正在提交…") : gettext("网络中断，恢复后自动提交…"));
    const category = $("ask-category")?.value;
    live.send("ask", { text: value, ...(category ? { category } : {}), ...fields() }).then(
      (ack) => {
        submit.disabled = false;
        text.value = "";
        counted();
        show("ok", sent(ack));
      },
      (err) => {
        submit.disabled = false;
        show("error", messages[err.code] ?? fmt(gettext("提交失败：%(message)s"), { message: errorText(err) }));
      },
    );
  });
}
