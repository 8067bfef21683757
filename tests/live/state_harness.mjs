// Runs the browser's own reducer (static/live/state.js) outside a browser, for
// tests/live/test_verify_action.py.
//
// stdin: JSON [{"audience": "public"|"control", "snapshot": SNAPSHOT, "frames": [FRAME, ...]}, ...]
// stdout: JSON [STATE, ...], one state per case: the snapshot with every frame applied, the way
// static/live/live.js hands frames to a page (a snapshot resets the state, counters go to
// applyCounter, state events to applyEvent with the page's audience).

import { readFileSync } from "node:fs";

// state.js reads the page's language and labels when it loads: give it an empty page.
globalThis.document ??= { documentElement: { lang: "" }, getElementById: () => null };

// state.js is an ES module without a package.json saying so (and imports nothing): load its
// text as one, unchanged.
const source = readFileSync(new URL("../../static/live/state.js", import.meta.url), "utf8");
const { applyCounter, applyEvent, fromSnapshot } = await import(
  `data:text/javascript;base64,${Buffer.from(source).toString("base64")}`
);

const COUNTERS = new Set(["likes", "presence", "poll.progress", "attendance"]); // as in live.js

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ audience, snapshot, frames }) => {
  let state = fromSnapshot(structuredClone(snapshot));
  for (const { type, data } of frames) {
    if (type === "snapshot") state = fromSnapshot(structuredClone(data));
    else if (COUNTERS.has(type)) applyCounter(state, type, data);
    else applyEvent(state, type, data, audience);
  }
  return state;
});
process.stdout.write(JSON.stringify(results));
