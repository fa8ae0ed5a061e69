// Tutor review for platform admins: the queue of tutor profiles waiting for approval (and the
// rejected ones), with approve / reject-with-a-reason. A tutor is listed in the directory only
// once approved.
//
// window.__admin exposes the page's state for tests.

import { api, bindSignIn } from "./lectern.js";

const $ = (id) => document.getElementById(id);
const state = (window.__admin = {
  ready: false, // the first page of the queue is shown
  admin: null, // true / false once GET /me answered
  view: "pending",
  items: [], // user ids shown, in order
  decided: {}, // user id -> "approved" | "rejected"
  loading: false,
  error: null,
});
let cursor = null;

function selectedState() {
  return document.querySelector("input[name=state]:checked").value;
}

function formatDate(value) {
  return value ? new Date(value).toLocaleString() : "–";
}

function formatRate(cents, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100) + "/h";
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}/h`;
  }
}

function card(item) {
  const node = $("card").content.firstElementChild.cloneNode(true);
  const q = (selector) => node.querySelector(selector);
  node.dataset.userId = item.user_id;
  node.id = `tutor-${item.user_id}`;
  q(".name").textContent = item.display_name;
  q(".email").textContent = item.email;
  q(".subjects").textContent = item.subjects.join(", ");
  q(".experience").textContent = `${item.years_experience} years`;
  q(".rate").textContent = formatRate(item.hourly_rate_cents, item.currency);
  const approval = item.approval || {};
  q(".when").textContent =
    approval.state === "rejected"
      ? `Rejected ${formatDate(approval.decided_at)}`
      : `Submitted ${formatDate(approval.submitted_at)}`;
  q(".inactive").hidden = item.active;
  if (approval.reason) {
    q(".reason").hidden = false;
    q(".reason").textContent = approval.reason;
  }
  const decide = async (action, body) => {
    q(".card-error").textContent = "";
    for (const button of node.querySelectorAll("button")) button.disabled = true;
    try {
      const result = await api("POST", `/admin/tutor-profiles/${item.user_id}/${action}`, { body });
      state.decided[item.user_id] = result.approval.state;
      node.dataset.decided = result.approval.state;
      q(".decide").hidden = true;
      q(".when").textContent = result.approval.state === "approved" ? "Approved: listed while active" : "Rejected";
      if (result.approval.reason) {
        q(".reason").hidden = false;
        q(".reason").textContent = result.approval.reason;
      }
    } catch (error) {
      q(".card-error").textContent = error.message;
      state.error = error.code;
      for (const button of node.querySelectorAll("button")) button.disabled = false;
    }
  };
  q(".approve").addEventListener("click", () => decide("approve"));
  q(".decide").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = q(".reason-input").value.trim();
    if (!reason) {
      q(".card-error").textContent = "Give the tutor a reason for the rejection.";
      q(".reason-input").focus();
      return;
    }
    decide("reject", { reason });
  });
  return node;
}

async function load({ more = false } = {}) {
  if (state.loading) return;
  state.loading = true;
  state.view = selectedState();
  $("review-error").textContent = "";
  if (!more) {
    cursor = null;
    state.items = [];
    $("queue").replaceChildren();
  }
  $("queue-state").textContent = "Loading…";
  try {
    const params = new URLSearchParams({ state: state.view, limit: "20" });
    if (cursor) params.set("cursor", cursor);
    const page = await api("GET", `/admin/tutor-profiles?${params}`);
    for (const item of page.items) {
      $("queue").append(card(item));
      state.items.push(item.user_id);
    }
    cursor = page.next_cursor;
    $("more").hidden = !cursor;
    $("queue-state").textContent = state.items.length
      ? `${state.items.length} shown${cursor ? ", more below" : ""}.`
      : state.view === "pending"
        ? "Nothing waits for review."
        : "No rejected profiles.";
    state.ready = true;
  } catch (error) {
    state.error = error.code;
    $("queue-state").textContent = "";
    $("review-error").textContent = error.message;
  } finally {
    state.loading = false;
  }
}

async function onSignedIn() {
  try {
    const me = await api("GET", "/me");
    state.admin = me.role === "admin";
  } catch (error) {
    state.admin = false;
    state.error = error.code;
  }
  $("not-admin").hidden = state.admin;
  $("review").hidden = !state.admin;
  if (state.admin) load();
}

document.addEventListener("lectern:session", (event) => {
  if (!event.detail) {
    $("review").hidden = true;
    $("not-admin").hidden = true;
    state.ready = false;
    state.admin = null;
  }
});
for (const radio of document.querySelectorAll("input[name=state]")) radio.addEventListener("change", () => load());
$("reload").addEventListener("click", () => load());
$("more").addEventListener("click", () => load({ more: true }));
bindSignIn(onSignedIn);
