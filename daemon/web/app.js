// Interlude's web app: plain JavaScript speaking gRPC-Web (binary protobuf, encoded by hand for
// the few messages used here) to the daemon that served it. The token arrives in the URL
// fragment (never sent to a server, never logged), is kept in this tab's sessionStorage and
// removed from the address bar at once.
"use strict";

const TOKEN_KEY = "interlude-token";

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

// --- protobuf, the small part of it this app needs ----------------------------------------

class Writer {
  constructor() { this.bytes = []; }
  varint(n) {
    n = BigInt(n);
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (n > 0n);
    return this;
  }
  key(field, wire) { return this.varint((field << 3) | wire); }
  uint(field, n) { if (n) { this.key(field, 0).varint(n); } return this; }
  bool(field, b) { if (b) { this.key(field, 0).varint(1); } return this; }
  raw(field, bytes) {
    this.key(field, 2).varint(bytes.length);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  string(field, s) { if (s) { this.raw(field, new TextEncoder().encode(s)); } return this; }
  message(field, writer) { return this.raw(field, writer.bytes); }
  done() { return new Uint8Array(this.bytes); }
}

// Decodes one message into { field: [values] }: numbers for varints, Uint8Array otherwise.
function decode(bytes) {
  const fields = {};
  let at = 0;
  const varint = () => {
    let n = 0n, shift = 0n, b;
    do { b = bytes[at++]; n |= BigInt(b & 0x7f) << shift; shift += 7n; } while (b & 0x80);
    return n;
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >> 3, wire = key & 7;
    let value;
    if (wire === 0) value = Number(varint());
    else if (wire === 2) { const len = Number(varint()); value = bytes.subarray(at, at + len); at += len; }
    else if (wire === 1) { value = bytes.subarray(at, at + 8); at += 8; }
    else if (wire === 5) { value = bytes.subarray(at, at + 4); at += 4; }
    else throw new Error("unreadable answer from the daemon");
    (fields[field] = fields[field] || []).push(value);
  }
  return fields;
}
const text = (f, n) => (f[n] ? new TextDecoder().decode(f[n][0]) : "");
const texts = (f, n) => (f[n] || []).map((b) => new TextDecoder().decode(b));
const number = (f, n) => (f[n] ? f[n][0] : 0);
const sub = (f, n) => (f[n] ? decode(f[n][0]) : null);
const subs = (f, n) => (f[n] || []).map(decode);

// --- gRPC-Web ------------------------------------------------------------------------------

class CallError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

async function call(service, method, request) {
  const body = new Uint8Array(5 + request.length);
  new DataView(body.buffer).setUint32(1, request.length);
  body.set(request, 5);
  const response = await fetch(`/interlude.v1.${service}/${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
      "authorization": `Bearer ${token}`,
    },
    body,
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  let status = response.headers.get("grpc-status");
  let message = decodeURIComponent(response.headers.get("grpc-message") || "");
  let data = new Uint8Array();
  for (let at = 0; at + 5 <= bytes.length;) {
    const flag = bytes[at];
    const len = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    const frame = bytes.subarray(at + 5, at + 5 + len);
    at += 5 + len;
    if (flag & 0x80) {
      for (const line of new TextDecoder().decode(frame).split("\r\n")) {
        const [name, ...rest] = line.split(":");
        if (name.trim().toLowerCase() === "grpc-status") status = rest.join(":").trim();
        if (name.trim().toLowerCase() === "grpc-message") message = decodeURIComponent(rest.join(":").trim());
      }
    } else {
      data = frame;
    }
  }
  if (status !== null && status !== "0") throw new CallError(Number(status), message || `error ${status}`);
  if (!response.ok) throw new CallError(14, `the daemon answered ${response.status}`);
  return decode(data);
}

// --- screens -------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
let token = null;

function problem(error) {
  const shown = $("problem");
  if (!error) { shown.hidden = true; shown.textContent = ""; return; }
  let words = error.message;
  if (error.code === 16) words += " Run `interlude web` again for a fresh link.";
  shown.textContent = words;
  shown.hidden = false;
}

function show(screen) {
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== screen;
  }
  for (const button of document.querySelectorAll("nav button")) {
    if (button.dataset.screen === screen) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  problem(null);
  if (screen === "timeline") loadTimeline();
  if (screen === "helpnow") loadHelp();
  const heading = document.querySelector(`#${screen} h2`);
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

async function refreshVault() {
  try {
    const status = await call("Daemon", "Status", new Uint8Array());
    const states = { 1: "No vault yet: run `interlude init`.", 2: "Locked: what you write is kept sealed until you unlock with `interlude unlock`.", 3: "" };
    $("vault").textContent = states[number(status, 1)] || "";
  } catch (error) { problem(error); }
}

async function save(event) {
  event.preventDefault();
  const form = $("capture-form");
  const request = new Writer().string(1, $("text").value);
  const feeling = $("emotion").value.trim();
  if (feeling) {
    request.message(3, new Writer().string(1, feeling).uint(2, Number($("intensity").value)));
  }
  for (const tag of $("tags").value.split(",").map((t) => t.trim()).filter(Boolean)) {
    request.string(4, tag);
  }
  request.bool(5, $("bring").checked).bool(6, $("private").checked);
  try {
    const added = await call("Timeline", "AddReflection", request.done());
    form.reset();
    $("intensity-shown").textContent = "50";
    $("saved").textContent = number(added, 3) ? "Saved, sealed until you unlock." : "Saved.";
    const safety = sub(added, 4);
    if (safety) { renderHelp(safety); show("helpnow"); }
  } catch (error) { problem(error); }
}

let entries = [];

async function loadTimeline() {
  try {
    const listed = await call("Timeline", "ListReflections", new Writer().uint(7, 200).done());
    entries = subs(listed, 1).map((r) => ({
      id: text(r, 1),
      seconds: sub(r, 2) ? number(sub(r, 2), 1) : 0,
      text: text(r, 6),
      tags: texts(r, 8),
      emotions: subs(r, 7).map((e) => `${text(e, 1)} ${number(e, 2)}`),
      bring: number(r, 10) === 1,
      private: number(r, 11) === 1,
    }));
    renderTimeline();
  } catch (error) { problem(error); }
}

function renderTimeline() {
  const words = $("filter").value.trim().toLowerCase();
  const list = $("entries");
  list.replaceChildren();
  for (const entry of entries) {
    if (words && !`${entry.text} ${entry.tags.join(" ")}`.toLowerCase().includes(words)) continue;
    const item = document.createElement("li");
    const when = document.createElement("p");
    when.className = "when";
    const marks = [entry.bring ? "bring to session" : "", entry.private ? "private" : ""].filter(Boolean);
    when.textContent = [new Date(entry.seconds * 1000).toLocaleString(), ...entry.emotions, ...entry.tags.map((t) => `#${t}`), ...marks].join(" · ");
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = entry.text;
    item.append(when, body);
    list.append(item);
  }
  if (!list.children.length) {
    const none = document.createElement("li");
    none.textContent = words ? "Nothing you wrote matches." : "Nothing written yet.";
    list.append(none);
  }
}

async function loadHelp() {
  try { renderHelp(await call("Safety", "HelpNow", new Uint8Array())); } catch (error) { problem(error); }
}

function renderHelp(payload) {
  const body = $("help-body");
  body.replaceChildren();
  const add = (tag, words) => { const el = document.createElement(tag); el.textContent = words; body.append(el); return el; };
  if (text(payload, 2)) add("p", text(payload, 2));
  const plan = sub(payload, 3);
  const steps = [
    [1, "Warning signs"], [2, "Things I can do on my own"], [3, "People and places that distract me"],
    [4, "People I can ask for help"], [5, "Professionals"], [9, "Urgent care"],
    [6, "Making my surroundings safe"], [7, "Reasons for living"],
  ];
  if (plan) {
    for (const [field, title] of steps) {
      const items = texts(plan, field);
      if (!items.length) continue;
      add("h3", title);
      const list = document.createElement("ul");
      for (const item of items) { const li = document.createElement("li"); li.textContent = item; list.append(li); }
      body.append(list);
    }
  }
  const lines = subs(payload, 4);
  if (lines.length) {
    add("h3", `Crisis lines${text(payload, 5) ? ` (${text(payload, 5)})` : ""}`);
    const list = document.createElement("ul");
    for (const line of lines) {
      const li = document.createElement("li");
      li.textContent = [text(line, 1), text(line, 2), text(line, 3)].filter(Boolean).join(" · ");
      list.append(li);
    }
    body.append(list);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  token = takeToken();
  for (const button of document.querySelectorAll("nav button")) {
    button.addEventListener("click", () => show(button.dataset.screen));
  }
  $("capture-form").addEventListener("submit", save);
  $("intensity").addEventListener("input", () => { $("intensity-shown").textContent = $("intensity").value; });
  $("filter").addEventListener("input", renderTimeline);
  if (!token) {
    problem({ message: "This page needs the link `interlude web` opens (it carries a token for this tab)." });
    return;
  }
  show("capture");
  refreshVault();
});
