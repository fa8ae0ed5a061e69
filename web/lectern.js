// Shared by the pages: the stack's URLs (config.json), the session, and API calls.
//
// config.json ({api_url, ws_url}) is written by whatever serves these files: the local
// stack's web server generates it; a deployment writes it next to the pages.

let configPromise = null;

export function loadConfig() {
  configPromise ??= fetch("config.json", { cache: "no-store" })
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}))
    .then((c) => ({
      api_url: (c.api_url || location.origin).replace(/\/+$/, ""),
      ws_url: c.ws_url || "",
    }));
  return configPromise;
}

// ------------------------------------------------------------------ session

const SESSION_KEY = "lectern.session";

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY)) || null;
  } catch {
    return null;
  }
}

export function saveSession(value) {
  if (value) localStorage.setItem(SESSION_KEY, JSON.stringify(value));
  else localStorage.removeItem(SESSION_KEY);
  document.dispatchEvent(new CustomEvent("lectern:session", { detail: value }));
}

export async function signIn(email, password) {
  const tokens = await api("POST", "/auth/login", { body: { email, password }, auth: false });
  saveSession({ email, access_token: tokens.access_token, refresh_token: tokens.refresh_token });
  return session();
}

export function useToken(token) {
  saveSession({ email: null, access_token: token.trim().replace(/^Bearer\s+/i, ""), refresh_token: null });
  return session();
}

async function refresh() {
  const current = session();
  if (!current?.refresh_token) return false;
  try {
    const tokens = await api("POST", "/auth/refresh", { body: { refresh_token: current.refresh_token }, auth: false });
    saveSession({ ...current, access_token: tokens.access_token, refresh_token: tokens.refresh_token || current.refresh_token });
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ API

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || "http_error";
    this.details = error?.details ?? {};
  }
}

// api("GET", "/videos/ID") -> parsed JSON (null for 204); throws ApiError with the API's code.
export async function api(method, path, { body, auth = true, retry = true } = {}) {
  const { api_url } = await loadConfig();
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const current = session();
  if (auth && current?.access_token) headers.Authorization = `Bearer ${current.access_token}`;
  const response = await fetch(api_url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && auth && retry && (await refresh())) {
    return api(method, path, { body, auth, retry: false });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data?.error);
  return data;
}

// ------------------------------------------------------------------ sign-in panel

// Wires the shared sign-in markup (#auth) of a page; calls onReady(session) once signed in.
// The sign-in box every page shows, rendered into its <section id="auth">.
const AUTH_HTML = `
<div id="signed-out">
  <h2>Sign in</h2>
  <form id="sign-in-form">
    <input id="email" type="email" placeholder="email" autocomplete="username" required>
    <input id="password" type="password" placeholder="password" autocomplete="current-password" required>
    <button id="sign-in" type="submit">Sign in</button>
  </form>
  <form id="token-form">
    <input id="token" type="text" placeholder="…or paste an access token" size="40">
    <button id="use-token" type="submit">Use token</button>
  </form>
  <p id="auth-error" class="error" role="alert"></p>
</div>
<div id="signed-in" hidden>
  Signed in as <strong id="who"></strong> <button id="sign-out" type="button">Sign out</button>
</div>
`;

export function bindSignIn(onReady) {
  const $ = (id) => document.getElementById(id);
  $("auth").innerHTML = AUTH_HTML;
  const show = () => {
    const current = session();
    $("signed-out").hidden = Boolean(current);
    $("signed-in").hidden = !current;
    $("who").textContent = current ? current.email || "token" : "";
    if (current) onReady(current);
  };
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("auth-error").textContent = "";
    try {
      await signIn($("email").value, $("password").value);
      show();
    } catch (error) {
      $("auth-error").textContent = error.message;
    }
  });
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if ($("token").value.trim()) {
      useToken($("token").value);
      show();
    }
  });
  $("sign-out").addEventListener("click", () => {
    saveSession(null);
    show();
  });
  show();
}

// ------------------------------------------------------------------ live status

// Follows a video's status: websocket pushes (type video.status) when available, polling
// GET /videos/{id} otherwise (and, slower, alongside them in case a push is lost).
// onStatus(video) gets the GET /videos/{id} shape, or the push fields merged into it.
export function followVideo(videoId, onStatus, { pollMs = 2000, backupPollMs = 10000 } = {}) {
  let stopped = false;
  let socket = null;
  let timer = null;
  let latest = null;
  const final = (v) => v && (v.status === "READY" || v.status === "FAILED");

  const deliver = (video) => {
    latest = { ...(latest || {}), ...video };
    onStatus(latest);
    if (final(latest)) stop();
  };
  const poll = async () => {
    if (stopped) return;
    try {
      deliver(await api("GET", `/videos/${videoId}`));
    } catch (error) {
      onStatus({ ...(latest || {}), error });
    }
    if (!stopped) timer = setTimeout(poll, socket && socket.readyState === WebSocket.OPEN ? backupPollMs : pollMs);
  };
  const connect = async () => {
    const { ws_url } = await loadConfig();
    const token = session()?.access_token;
    if (!ws_url || !token || stopped) return;
    try {
      socket = new WebSocket(`${ws_url}${ws_url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`);
    } catch {
      socket = null;
      return;
    }
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "video.status" && frame.video_id === videoId) {
        const { type, ...fields } = frame;
        deliver({ ...fields, via: "websocket" });
      }
    });
  };
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close();
  };
  connect();
  poll();
  return { stop, get socket() { return socket; } };
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  seconds = Math.round(seconds);
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : m ? `${m}m ${String(s).padStart(2, "0")}s` : `${s}s`;
}
