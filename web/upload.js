// The upload page: presigned multipart upload straight to S3, resumable across reloads,
// then the video's processing status, live.
//
// Resume: the upload id is kept in localStorage under the file's identity (name, size,
// modification time, type). Choosing the same file again asks GET /uploads/{id} which parts
// S3 already holds and sends only the missing ones.
//
// window.__upload exposes the page's state for tests.

import { api, ApiError, bindSignIn, followVideo, formatBytes, formatDuration } from "./lectern.js";
import { sha256File } from "./sha256.js";

const CONCURRENCY = 5; // parts in flight at once
const MAX_TRIES = 5; // per part
const STORE_KEY = "lectern.uploads";
const TYPES = { mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime", webm: "video/webm", mkv: "video/x-matroska" };

const $ = (id) => document.getElementById(id);
const state = (window.__upload = {
  phase: "idle", // idle | hashing | uploading | completing | processing | done | failed | cancelled
  uploadId: null,
  videoId: null,
  resumed: false,
  totalBytes: 0,
  sentBytes: 0, // held by S3, including parts sent before a reload
  skippedBytes: 0, // of those, what a resume did not send again
  partsTotal: 0,
  partsDone: 0,
  partsSent: [], // part numbers this page sent
  status: null, // the video's processing status
  progress: 0,
  statusVia: null,
  error: null,
});

let current = null; // {file, upload, xhrs:Set, cancelled}

// ------------------------------------------------------------------ remembered uploads

function fileIdentity(file) {
  return [file.name, file.size, file.lastModified, file.type].join("|");
}

function records() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
  } catch {
    return {};
  }
}

function remember(file, record) {
  const all = records();
  if (record) all[fileIdentity(file)] = { ...record, saved_at: Date.now() };
  else delete all[fileIdentity(file)];
  localStorage.setItem(STORE_KEY, JSON.stringify(all));
}

function recordFor(file) {
  return records()[fileIdentity(file)] || null;
}

// ------------------------------------------------------------------ display

function setPhase(phase, message) {
  state.phase = phase;
  document.body.dataset.phase = phase;
  if (message !== undefined) $("upload-state").textContent = message;
}

function fail(error) {
  state.error = error?.code || error?.message || String(error);
  $("upload-error").textContent = error?.message || String(error);
  setPhase("failed");
  $("start").disabled = false;
  $("cancel").hidden = true;
}

const samples = []; // [time ms, bytes sent this session] for the speed over the last seconds
let sessionBytes = 0;

function renderProgress() {
  const total = state.totalBytes || 1;
  const pct = Math.min(100, (state.sentBytes / total) * 100);
  $("progress").value = pct;
  $("progress-text").textContent = `${pct.toFixed(pct < 10 ? 1 : 0)}%`;
  $("sent-bytes").textContent = formatBytes(state.sentBytes);
  $("total-bytes").textContent = formatBytes(state.totalBytes);
  $("parts").textContent = `${state.partsDone} / ${state.partsTotal}`;
  const now = performance.now();
  samples.push([now, sessionBytes]);
  while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
  const [t0, b0] = samples[0];
  const speed = now - t0 > 250 ? ((sessionBytes - b0) * 1000) / (now - t0) : NaN;
  $("speed").textContent = Number.isFinite(speed) ? `${formatBytes(speed)}/s` : "–";
  $("eta").textContent = speed > 0 ? formatDuration((state.totalBytes - state.sentBytes) / speed) : "–";
  state.speed = speed;
}

// ------------------------------------------------------------------ sending

function putBlob(url, blob, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    current?.xhrs.add(xhr);
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers || {})) {
      // The browser sets these itself and refuses to be told.
      if (!["content-length", "host"].includes(name.toLowerCase())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      current?.xhrs.delete(xhr);
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("ETag"));
      else reject(Object.assign(new Error(`S3 answered ${xhr.status}`), { status: xhr.status }));
    };
    xhr.onerror = () => {
      current?.xhrs.delete(xhr);
      reject(Object.assign(new Error("network error"), { status: 0 }));
    };
    xhr.onabort = () => {
      current?.xhrs.delete(xhr);
      reject(Object.assign(new Error("cancelled"), { cancelled: true }));
    };
    xhr.send(blob);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function partRange(upload, partNumber) {
  const start = (partNumber - 1) * upload.part_size;
  return [start, Math.min(start + upload.part_size, upload.size ?? state.totalBytes)];
}

// Sends every part in `missing` ([{part_number, url}]) with CONCURRENCY workers.
async function sendParts(file, upload, missing) {
  const queue = [...missing].sort((a, b) => a.part_number - b.part_number);
  const urls = new Map(queue.map((p) => [p.part_number, p.url]));
  let refreshing = null;
  const freshUrls = () => {
    // Presigned URLs expire: GET /uploads/{id} signs new ones for what is missing.
    refreshing ??= api("GET", `/uploads/${upload.upload_id}`).then((fresh) => {
      for (const p of fresh.missing) urls.set(p.part_number, p.url);
      refreshing = null;
    });
    return refreshing;
  };

  const sendOne = async (partNumber) => {
    const [start, end] = partRange(upload, partNumber);
    const blob = file.slice(start, end);
    for (let attempt = 1; ; attempt++) {
      let loaded = 0;
      try {
        await putBlob(urls.get(partNumber), blob, null, (n) => {
          state.sentBytes += n - loaded;
          sessionBytes += n - loaded;
          loaded = n;
          renderProgress();
        });
        state.partsDone += 1;
        state.partsSent.push(partNumber);
        renderProgress();
        return;
      } catch (error) {
        state.sentBytes -= loaded;
        sessionBytes -= loaded;
        if (error.cancelled || current?.cancelled) throw error;
        if (attempt >= MAX_TRIES) throw new Error(`Part ${partNumber} failed ${attempt} times: ${error.message}`);
        if (error.status === 403 || error.status === 400) await freshUrls();
        await sleep(Math.min(8000, 500 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  };

  const worker = async () => {
    while (queue.length) {
      if (current?.cancelled) return;
      await sendOne(queue.shift().part_number);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
}

async function sendSingle(file, upload) {
  let loaded = 0;
  await putBlob(upload.single_put_url, file, upload.single_put_headers, (n) => {
    state.sentBytes += n - loaded;
    sessionBytes += n - loaded;
    loaded = n;
    renderProgress();
  });
  state.partsDone = 1;
  state.partsSent.push(1);
  renderProgress();
}

// ------------------------------------------------------------------ the whole flow

async function start(file, purpose) {
  current = { file, xhrs: new Set(), cancelled: false };
  Object.assign(state, {
    uploadId: null, videoId: null, resumed: false, totalBytes: file.size, sentBytes: 0, skippedBytes: 0,
    partsTotal: 0, partsDone: 0, partsSent: [], status: null, error: null,
  });
  samples.length = 0;
  sessionBytes = 0;
  $("upload-error").textContent = "";
  $("start").disabled = true;
  $("cancel").hidden = false;
  $("processing").hidden = true;

  let upload = null;
  const record = recordFor(file);
  if (record) {
    try {
      upload = await api("GET", `/uploads/${record.upload_id}`);
      if (upload.state === "ABORTED" || upload.state === "REJECTED") upload = null;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) throw error;
    }
    if (!upload) remember(file, null);
  }

  if (!upload) {
    setPhase("hashing", "Computing the file's checksum…");
    const checksum = await sha256File(file, (n) => {
      $("upload-state").textContent = `Computing the file's checksum… ${Math.round((n / file.size) * 100)}%`;
    });
    const created = await api("POST", "/uploads", {
      body: {
        filename: file.name,
        size: file.size,
        content_type: file.type || TYPES[file.name.split(".").pop().toLowerCase()] || "application/octet-stream",
        purpose,
        checksum_sha256: checksum,
      },
    });
    remember(file, { upload_id: created.upload_id });
    upload = { ...created, size: file.size, state: "UPLOADING", received: [], missing: created.parts };
  } else {
    state.resumed = true;
  }
  state.uploadId = upload.upload_id;
  state.videoId = upload.video_id || null;
  state.partsTotal = upload.part_count;

  if (upload.state === "UPLOADING") {
    const received = upload.received || [];
    state.partsDone = received.length;
    state.sentBytes = state.skippedBytes = received.reduce((sum, p) => sum + p.size, 0);
    if (state.resumed) {
      $("resume-note").hidden = false;
      $("resume-note").textContent = `Resuming: ${received.length} of ${upload.part_count} parts were already sent.`;
    }
    renderProgress();
    setPhase("uploading", "Uploading…");
    for (let round = 0; ; round++) {
      if (upload.single_put_url) {
        if (!received.length) await sendSingle(file, upload);
      } else {
        await sendParts(file, upload, upload.missing || []);
      }
      if (current.cancelled) return;
      setPhase("completing", "Checking the upload…");
      try {
        upload = await api("POST", `/uploads/${upload.upload_id}/complete`);
        break;
      } catch (error) {
        // Something went missing meanwhile (an expired part?): send what S3 lacks, once more.
        if (!(error instanceof ApiError) || error.code !== "upload_incomplete" || round >= 2) {
          if (error.code === "checksum_mismatch") remember(file, null);
          throw error;
        }
        upload = await api("GET", `/uploads/${upload.upload_id}`);
        setPhase("uploading", "Sending the parts that are missing…");
      }
    }
  }
  state.sentBytes = state.totalBytes;
  state.partsDone = state.partsTotal;
  renderProgress();
  $("cancel").hidden = true;
  $("start").disabled = false;
  state.videoId = upload.video_id || state.videoId;
  setPhase("processing", state.resumed && !state.partsSent.length ? "This file was already uploaded." : "Uploaded.");
  if (state.videoId) follow(state.videoId);
  else setPhase("done", "Uploaded.");
}

// ------------------------------------------------------------------ processing status

let following = null;

function follow(videoId) {
  following?.stop();
  $("processing").hidden = false;
  $("player-link").href = `player.html?video=${encodeURIComponent(videoId)}`;
  following = followVideo(videoId, renderVideo);
}

function renderVideo(video) {
  if (video.error && !video.status) {
    $("video-failure").textContent = video.error.message;
    return;
  }
  state.status = video.status;
  state.progress = video.progress ?? state.progress;
  state.statusVia = video.via || "poll";
  $("video-status").textContent = video.status;
  $("video-status").dataset.status = video.status;
  $("video-progress").textContent = video.progress != null ? `${video.progress}%` : "";
  $("status-source").textContent = video.via === "websocket" ? "(live)" : "";
  const rungs = $("rungs");
  rungs.replaceChildren(
    ...Object.entries(video.rungs || {}).map(([name, rungState]) => {
      const li = document.createElement("li");
      li.dataset.rung = name;
      li.dataset.state = rungState;
      li.textContent = `${name}: ${rungState.toLowerCase()}`;
      return li;
    }),
  );
  $("video-failure").textContent = video.failure ? `Failed at ${video.failure.step}: ${video.failure.reason}` : "";
  $("player-link").hidden = !(video.status === "PLAYABLE" || video.status === "READY");
  if (video.status === "READY") setPhase("done");
  if (video.status === "FAILED") setPhase("failed");
}

// ------------------------------------------------------------------ wiring

function onFileChosen() {
  const file = $("file").files[0];
  $("start").disabled = !file;
  $("resume-note").hidden = true;
  $("upload-error").textContent = "";
  if (!file) return;
  state.totalBytes = file.size;
  $("total-bytes").textContent = formatBytes(file.size);
  const record = recordFor(file);
  $("start").textContent = record ? "Resume upload" : "Upload";
  setPhase("idle", record ? "This file was being uploaded before: it will resume." : "Ready to upload.");
}

async function cancel() {
  if (!current) return;
  current.cancelled = true;
  for (const xhr of current.xhrs) xhr.abort();
  if (state.uploadId) {
    try {
      await api("DELETE", `/uploads/${state.uploadId}`);
    } catch {
      // already gone or finished: nothing to undo
    }
  }
  remember(current.file, null);
  setPhase("cancelled", "Cancelled.");
  $("cancel").hidden = true;
  $("start").disabled = false;
}

bindSignIn(() => {
  $("upload").hidden = false;
});
$("file").addEventListener("change", onFileChosen);
$("cancel").addEventListener("click", cancel);
$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) return;
  start(file, $("purpose").value).catch((error) => {
    if (!error?.cancelled) fail(error);
  });
});
