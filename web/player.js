// The player page: player.html?video=ID. Signed URLs from GET /videos/{id}/play, hls.js
// (web/vendor/hls.min.js, from npm) with a quality switch; native HLS or the MP4s where
// hls.js cannot run. Waits (live status) while the video is not playable yet.
//
// window.__player exposes the page's state for tests: currentTime, paused, levels,
// currentLevel, quality, status, engine, ready, errors, setQuality(name).

import { api, bindSignIn, followVideo, formatBytes } from "./lectern.js";

const $ = (id) => document.getElementById(id);
const video = $("video");
const videoId = new URLSearchParams(location.search).get("video");
const Hls = window.Hls;
const PLAYABLE = ["PLAYABLE", "READY"];
const REFRESH_BEFORE_EXPIRY_MS = 120_000;

let hls = null;
let following = null;
let refreshTimer = null;
let loadedStatus = null; // the status the current source was loaded for

const player = (window.__player = {
  videoId,
  status: null,
  engine: null, // hls.js | native | mp4
  ready: false, // the source is loaded and its qualities are known
  quality: "auto",
  play: null, // the last GET /play answer
  errors: [],
  get currentTime() {
    return video.currentTime;
  },
  get paused() {
    return video.paused;
  },
  get duration() {
    return video.duration;
  },
  get levels() {
    return hls ? hls.levels.map((level) => ({ name: levelName(level), width: level.width, height: level.height, bitrate: level.bitrate })) : [];
  },
  get currentLevel() {
    return hls ? hls.currentLevel : -1;
  },
  get autoLevel() {
    return hls ? hls.autoLevelEnabled : null;
  },
  setQuality,
});

function levelName(level) {
  const url = Array.isArray(level.url) ? level.url[0] : level.url || level.uri || "";
  const match = /\/hls\/([0-9]+p)\.m3u8/.exec(url);
  return match ? match[1] : `${level.height}p`;
}

function showError(message) {
  player.errors.push(message);
  $("player-error").textContent = message;
}

// ------------------------------------------------------------------ status

function renderStatus(v) {
  if (v.error && !v.status) {
    showError(v.error.message);
    return;
  }
  player.status = v.status;
  $("status").textContent = v.status;
  $("status").dataset.status = v.status;
  $("progress").textContent =
    v.status === "READY" ? "" : v.status === "FAILED" ? v.failure?.reason || "" : v.progress != null ? `${v.progress}% processed` : "";
  if (v.title) $("title").textContent = v.title;
  if (PLAYABLE.includes(v.status) && (loadedStatus === null || (v.status === "READY" && loadedStatus !== "READY"))) {
    // First playable, or the full ladder just arrived: (re)load the signed URLs.
    load(v.status).catch((error) => showError(error.message));
  }
}

// ------------------------------------------------------------------ playback

async function load(status) {
  loadedStatus = status;
  const play = await api("GET", `/videos/${encodeURIComponent(videoId)}/play`);
  player.play = play;
  const resumeAt = video.currentTime || 0;
  const wasPlaying = !video.paused;
  video.poster = play.poster_url || "";
  $("downloads").replaceChildren(
    ...play.mp4.map((m) => {
      const a = document.createElement("a");
      a.href = m.url;
      a.textContent = `MP4 ${m.quality}${m.bytes ? ` (${formatBytes(m.bytes)})` : ""}`;
      a.style.marginRight = "1rem";
      return a;
    }),
  );
  scheduleRefresh(play.expires_at);
  player.ready = false;

  if (Hls && Hls.isSupported() && play.master_url) {
    hls?.destroy();
    hls = new Hls();
    player.engine = "hls.js";
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      fillQualities(hls.levels.map((level, index) => ({ value: String(index), label: levelName(level) })));
      if (player.quality !== "auto") setQuality(player.quality);
      if (resumeAt) video.currentTime = resumeAt;
      player.ready = true;
      if (wasPlaying || video.autoplay) video.play().catch(() => {});
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
      const level = hls.levels[data.level];
      $("current-level").textContent = level ? `playing ${levelName(level)} (${level.width}×${level.height})` : "";
    });
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      showError(`Playback error: ${data.details}`);
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) load(loadedStatus); // URLs may have expired
    });
    hls.loadSource(play.master_url);
    hls.attachMedia(video);
  } else if (play.master_url && video.canPlayType("application/vnd.apple.mpegurl")) {
    player.engine = "native";
    video.src = play.master_url;
    fillQualities(play.mp4.map((m) => ({ value: `mp4-${m.quality}`, label: `${m.quality} (MP4)` })));
    player.ready = true;
  } else {
    player.engine = "mp4";
    const best = play.mp4[play.mp4.length - 1];
    if (!best) throw new Error("This browser cannot play this video.");
    video.src = best.url;
    fillQualities(play.mp4.map((m) => ({ value: `mp4-${m.quality}`, label: `${m.quality} (MP4)` })));
    player.ready = true;
  }
  if (resumeAt && player.engine !== "hls.js") video.currentTime = resumeAt;
}

function fillQualities(options) {
  const select = $("quality");
  const auto = document.createElement("option");
  auto.value = "auto";
  auto.textContent = "auto";
  select.replaceChildren(
    auto,
    ...options.map(({ value, label }) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label;
      option.dataset.quality = label.split(" ")[0];
      return option;
    }),
  );
  const match = [...select.options].find((o) => o.dataset.quality === player.quality);
  select.value = match ? match.value : "auto";
}

// name: "auto" or a rung ("720p").
function setQuality(name) {
  player.quality = name;
  const option = [...$("quality").options].find((o) => (name === "auto" ? o.value === "auto" : o.dataset.quality === name));
  if (!option) return false;
  $("quality").value = option.value;
  if (hls) {
    // -1 lets hls.js pick by bandwidth; a level index pins it.
    hls.currentLevel = option.value === "auto" ? -1 : Number(option.value);
  } else if (player.play) {
    const mp4 = player.play.mp4.find((m) => `mp4-${m.quality}` === option.value) || player.play.mp4.at(-1);
    if (mp4) {
      const at = video.currentTime;
      video.src = mp4.url;
      video.currentTime = at;
      video.play().catch(() => {});
    }
  }
  return true;
}

function scheduleRefresh(expiresAt) {
  clearTimeout(refreshTimer);
  const due = new Date(expiresAt).getTime() - Date.now() - REFRESH_BEFORE_EXPIRY_MS;
  refreshTimer = setTimeout(() => load(loadedStatus).catch((e) => showError(e.message)), Math.max(10_000, due));
}

// ------------------------------------------------------------------ wiring

$("quality").addEventListener("change", (event) => {
  const option = event.target.selectedOptions[0];
  setQuality(option.value === "auto" ? "auto" : option.dataset.quality);
});
$("choose-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const id = $("video-id").value.trim();
  if (id) location.search = `?video=${encodeURIComponent(id)}`;
});

bindSignIn(() => {
  if (!videoId) {
    $("choose").hidden = false;
    return;
  }
  $("watch").hidden = false;
  if (following) return;
  following = followVideo(videoId, renderStatus);
});
