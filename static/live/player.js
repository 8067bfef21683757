// The public page's video: the livestream, or an ended hearing's replay with its chapters.
//
// Native HLS where the browser has it (Safari, iOS, most Android browsers, newer Chrome), and an
// MP4 replay always: the video element plays the URL itself. Elsewhere hls.js (our vendored copy,
// static/vendor/hlsjs/, never a CDN), loaded only when the viewer presses play, so the phones
// that play natively never download it. Where neither works (no MediaSource), a link.
//
// States (the card's data-state, and a line of text over the video):
//   not-started  the hearing has not started, or the stream's signal is not up yet (retrying)
//   ready        press play (hls.js), or the video's own controls (native)
//   loading      fetching hls.js and the playlist
//   playing      (also paused: the viewer's own doing)
//   retrying     the stream broke off: reconnecting with backoff (1 s, 2 s, 4 s … 30 s, jittered)
//   ended        the hearing is over (the replay, once staff set it, is on this page on reload)
//   off          this browser cannot play HLS: the link
// The chapters of a replay are links (?t=SECONDS, so they work without script and can be
// shared); a click seeks there. A page opened with ?t= or #t= starts there.

const MPEGURL = ["application/vnd.apple.mpegurl", "application/x-mpegurl"];
const MAX_DELAY_MS = 30_000;

export function nativeHls(video) {
  return MPEGURL.some((type) => video.canPlayType(type));
}

function mediaSource() {
  return Boolean(window.MediaSource || window.ManagedMediaSource);
}

// The delay before reconnection `attempt` (0, 1, …): doubling from 1 s up to 30 s, each ±25 %,
// so that thousands of phones that lost the stream together do not come back together.
export function backoff(attempt, random = Math.random) {
  const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + random() * 0.5));
}

// "90", "90.5", "1:30", "1:02:03" → seconds; null for anything else (or negative).
export function parseTime(text) {
  if (typeof text !== "string" || !/^\d+(\.\d+)?$|^\d+(:[0-5]?\d){1,2}$/.test(text.trim())) return null;
  const parts = text.trim().split(":").map(Number);
  const seconds = parts.reduce((total, part) => total * 60 + part, 0);
  return Number.isFinite(seconds) ? seconds : null;
}

// The start asked for by the address: ?t=… or #t=…
export function startTime(location) {
  const query = new URLSearchParams(location.search).get("t");
  const hash = new URLSearchParams(location.hash.replace(/^#/, "")).get("t");
  return parseTime(query ?? hash ?? "");
}

let hlsLoading = null;
function loadHls(url) {
  if (!hlsLoading) {
    hlsLoading = new Promise((resolve, reject) => {
      if (window.Hls) {
        resolve(window.Hls);
        return;
      }
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Hls ? resolve(window.Hls) : reject(new Error("hls.js did not load")));
      script.onerror = () => {
        hlsLoading = null; // a later press tries again
        reject(new Error("hls.js did not load"));
      };
      document.head.append(script);
    });
  }
  return hlsLoading;
}

export function createPlayer(card, { status }) {
  const video = card.querySelector("video");
  const stateLine = card.querySelector(".player-state");
  const start = card.querySelector(".player-start");
  const fallback = card.querySelector(".stream-fallback");
  const chapterList = card.querySelector(".chapters");
  const src = card.dataset.src;
  const replay = card.dataset.mode === "replay";
  const mode = card.dataset.hls !== "1" || nativeHls(video) ? "native" : mediaSource() ? "hlsjs" : "off";
  card.dataset.engine = mode;

  let hearing = status;
  let state = "";
  let attached = false; // the video has its source (natively, or through hls.js)
  let played = false; // it has played since it was attached: a later failure is an interruption
  let hls = null;
  let attempt = 0;
  let timer = null;
  let mediaRecovered = false;
  let rounds = 0; // attachments of hls.js, so that one that was cancelled while loading stays so
  let seekTo = replay ? startTime(window.location) : null;

  const TEXT = {
    "not-started": () =>
      hearing === "draft" ? gettext("直播尚未开始，开始后可在此观看。") : gettext("直播信号尚未接通，稍后自动重试…"),
    ready: () => "",
    loading: () => gettext("正在连接…"),
    playing: () => "",
    retrying: () => (replay ? gettext("视频加载中断，正在重试…") : gettext("直播信号中断，正在重新连接…")),
    ended: () =>
      card.dataset.vod === "1"
        ? gettext("直播已结束。刷新本页即可观看回放。")
        : gettext("直播已结束，回放上线后将在本页提供。"),
    off: () => "",
  };

  function show(next) {
    state = next;
    card.dataset.state = next;
    const text = TEXT[next]();
    stateLine.textContent = text;
    stateLine.hidden = !text;
    const idle = next === "not-started" || next === "ended" || next === "off";
    video.hidden = next === "off";
    video.controls = !idle && (mode === "native" || attached);
    fallback.hidden = next !== "off";
    start.hidden = !(next === "ready" && mode === "hlsjs" && !attached);
    if (!start.hidden && seekTo !== null) {
      start.querySelector(".player-start-label").textContent = interpolate(gettext("从 %s 开始播放"), [clock(seekTo)]);
    }
  }

  function detach() {
    rounds += 1; // an hls.js still loading is not used
    clearTimeout(timer);
    timer = null;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    attached = false;
    played = false;
    mediaRecovered = false;
  }

  function failed() {
    // Reconnect after a while; an ended hearing's live stream does not come back.
    const wasPlaying = played;
    detach();
    if (!replay && hearing === "ended") {
      video.removeAttribute("src");
      video.load();
      show("ended");
      return;
    }
    show(wasPlaying || replay ? "retrying" : "not-started");
    timer = setTimeout(() => {
      timer = null;
      attach(true);
    }, backoff(attempt++));
  }

  function attachNative(play) {
    video.src = src;
    attached = true;
    if (play) {
      video.load();
      video.play().catch(() => {}); // refused without a gesture: the controls are there
    }
  }

  async function attachHls(play) {
    attached = true; // from now: a second press or a chapter click waits for this one
    const round = ++rounds;
    if (state !== "retrying" && state !== "not-started") show("loading");
    let Hls;
    try {
      Hls = await loadHls(card.dataset.hlsScript);
    } catch {
      if (round === rounds) failed();
      return;
    }
    if (round !== rounds) return; // detached meanwhile (the hearing ended)
    if (!Hls.isSupported()) {
      attached = false;
      show("off");
      return;
    }
    hls = new Hls({
      startPosition: seekTo ?? -1,
      backBufferLength: 30, // phones: keep little behind the playhead
      // hls.js's own retries for one request; a fatal error then comes to us (failed)
    });
    const instance = hls;
    instance.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || instance !== hls) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !mediaRecovered) {
        mediaRecovered = true;
        instance.recoverMediaError();
        return;
      }
      failed();
    });
    instance.on(Hls.Events.MANIFEST_PARSED, () => {
      if (instance !== hls) return;
      if (state === "loading") show("ready");
      if (play) video.play().catch(() => {});
    });
    instance.loadSource(src);
    instance.attachMedia(video);
  }

  function attach(play) {
    if (attached) return;
    if (mode === "native") {
      attachNative(play);
      show(state === "retrying" || state === "not-started" ? state : "ready");
    } else if (mode === "hlsjs") {
      attachHls(play);
    }
  }

  // Within the video: a chapter or ?t= past its end goes to its last moment.
  function clamp(seconds) {
    const end = Number.isFinite(video.duration) ? video.duration - 0.5 : Infinity;
    return Math.max(0, Math.min(seconds, end));
  }

  function seek(seconds) {
    const target = clamp(seconds);
    if (attached && video.readyState >= 1) {
      video.currentTime = target;
      video.play().catch(() => {});
      return;
    }
    seekTo = target;
    if (!attached) attach(true);
    else video.play().catch(() => {});
  }

  // ------------------------------------------------------------ the video's own events

  video.addEventListener("playing", () => {
    played = true;
    attempt = 0;
    mediaRecovered = false;
    show("playing");
  });
  video.addEventListener("canplay", () => {
    // Back after a failure, but not playing (a play() the browser refused without a gesture).
    if (attached && video.paused && (state === "retrying" || state === "not-started" || state === "loading")) {
      show("ready");
    }
  });
  video.addEventListener("error", () => {
    if (mode === "native" && attached) failed(); // hls.js reports its own (fatal errors)
  });
  video.addEventListener("ended", () => {
    if (!replay && hearing === "ended") {
      detach();
      show("ended");
    }
  });
  video.addEventListener("loadedmetadata", () => {
    // ?t= or a chapter chosen before the video was ready (hls.js was also given it as startPosition)
    if (seekTo !== null) video.currentTime = clamp(seekTo);
    seekTo = null;
    dropChaptersPastTheEnd();
  });
  video.addEventListener("durationchange", dropChaptersPastTheEnd);
  video.addEventListener("timeupdate", markChapter);

  start.addEventListener("click", () => attach(true));

  // ------------------------------------------------------------ chapters

  const chapters = chapterList ? [...chapterList.querySelectorAll("a[data-t]")] : [];
  for (const link of chapters) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      const seconds = Number(link.dataset.t);
      history.replaceState(null, "", `?t=${seconds}`);
      seek(seconds);
      video.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  }

  function dropChaptersPastTheEnd() {
    if (!Number.isFinite(video.duration) || video.duration <= 0) return;
    for (const link of chapters) link.closest("li").hidden = Number(link.dataset.t) >= video.duration;
  }

  let current = null;
  function markChapter() {
    let found = null;
    for (const link of chapters) {
      if (Number(link.dataset.t) <= video.currentTime + 0.25) found = link;
    }
    if (found === current) return;
    current?.removeAttribute("aria-current");
    found?.setAttribute("aria-current", "true");
    current = found;
  }

  // ------------------------------------------------------------ the hearing's status

  function setStatus(next) {
    if (next === hearing && state) return; // render() calls this on every event
    hearing = next;
    if (mode === "off") return show("off");
    if (replay) {
      if (!state) {
        show("ready");
        if (mode === "native") attach(false);
      }
      return;
    }
    if (next === "draft") {
      if (!attached) show("not-started");
      else if (state === "not-started") show("not-started"); // its text follows the status
    } else if (next === "live") {
      if (state === "" || (state === "not-started" && !timer && !attached)) {
        show("ready");
        if (mode === "native") attach(false);
      }
    } else if (next === "ended") {
      // A stream still playing runs to its own end (the closing words); otherwise stop.
      if (state !== "playing" || video.paused) {
        detach();
        video.removeAttribute("src");
        video.load();
        show("ended");
      }
    }
  }

  setStatus(status);
  return { setStatus, seek, get state() { return state; } };
}

function clock(seconds) {
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
