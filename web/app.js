// SPDX-License-Identifier: Apache-2.0
// The chat page (docs/serve.md, "The web page"): conversations kept in this browser's
// localStorage, answers streamed from this server's /v1/chat/completions (server-sent events read
// through fetch and a ReadableStream), a stop button that closes the connection (the server frees
// the slot when its client goes). Model output only ever reaches the page as text nodes.
import { LANGUAGES, pickLanguage, stringsFor } from "./i18n.js";

const STORE = {
  chats: "fragua.chats",
  current: "fragua.current",
  settings: "fragua.settings",
  apiKey: "fragua.apiKey",
  lang: "fragua.lang",
};

const $ = (id) => document.getElementById(id);

function load(key, fallback) {
  try {
    const v = localStorage.getItem(key);
    return v === null ? fallback : JSON.parse(v);
  } catch {
    return fallback;  // storage off, or a value another version wrote
  }
}

function save(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or off: the page keeps working, only forgets on reload.
  }
}

const state = {
  lang: null,
  t: null,
  chats: [],        // [{id, title, messages: [{role: "user"|"assistant"|"error", content, note?, kind?, detail?}]}]
  currentId: null,
  settings: { system: "", temperature: 0.7, maxTokens: "", json: false },
  apiKey: "",
  running: null,    // {controller, chat, answer} while an answer streams
  server: { state: "unknown", model: "" },
};

// ---- language ------------------------------------------------------------------------------

function applyLanguage() {
  state.t = stringsFor(state.lang);
  const info = LANGUAGES.find((l) => l.code === state.lang);
  document.documentElement.lang = info.tag;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = state.t[el.dataset.i18n];
  for (const el of document.querySelectorAll("[data-i18n-placeholder]"))
    el.placeholder = state.t[el.dataset.i18nPlaceholder];
  $("language").value = state.lang;
  renderStatus();
  renderChatList();
  renderMessages();
}

function setupLanguageSelector() {
  const select = $("language");
  for (const l of LANGUAGES) {
    const option = document.createElement("option");
    option.value = l.code;
    option.lang = l.tag;
    option.textContent = l.name;
    select.append(option);
  }
  select.addEventListener("change", () => {
    state.lang = select.value;
    save(STORE.lang, state.lang);
    applyLanguage();
  });
}

// ---- conversations -------------------------------------------------------------------------

function currentChat() {
  return state.chats.find((c) => c.id === state.currentId) || null;
}

function persist() {
  save(STORE.chats, state.chats);
  save(STORE.current, state.currentId);
}

function startChat() {
  const chat = { id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8), title: "", messages: [] };
  state.chats.unshift(chat);
  state.currentId = chat.id;
  persist();
  return chat;
}

function renderChatList() {
  const list = $("chat-list");
  list.replaceChildren();
  for (const chat of state.chats) {
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    open.textContent = chat.title || state.t.untitled;
    open.setAttribute("aria-current", chat.id === state.currentId ? "true" : "false");
    open.addEventListener("click", () => {
      state.currentId = chat.id;
      persist();
      renderChatList();
      renderMessages();
      $("prompt").focus();
    });
    const del = document.createElement("button");
    del.type = "button";
    del.className = "delete";
    del.textContent = "×";
    del.setAttribute("aria-label", `${state.t.deleteChat}: ${chat.title || state.t.untitled}`);
    del.addEventListener("click", () => {
      if (state.running && state.running.chat === chat) state.running.controller.abort();
      state.chats = state.chats.filter((c) => c !== chat);
      if (state.currentId === chat.id) state.currentId = state.chats.length ? state.chats[0].id : null;
      persist();
      renderChatList();
      renderMessages();
    });
    li.append(open, del);
    list.append(li);
  }
}

// ---- rendering -----------------------------------------------------------------------------

// `code` spans and **bold** inside a text run; everything else stays text.
function appendInline(parent, text) {
  const re = /`([^`\n]+)`|\*\*([^*\n]+)\*\*/g;
  let last = 0;
  for (let m; (m = re.exec(text)); ) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    const node = document.createElement(m[1] !== undefined ? "code" : "strong");
    node.textContent = m[1] !== undefined ? m[1] : m[2];
    parent.append(node);
    last = re.lastIndex;
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

// A safe subset of Markdown built from DOM nodes, never from HTML: ``` fenced blocks, `code` and
// **bold**. An unclosed fence (an answer still streaming) is shown as a block already.
function renderText(el, text) {
  el.replaceChildren();
  const parts = text.split("```");
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      appendInline(el, part);
      return;
    }
    const nl = part.indexOf("\n");
    const body = nl >= 0 && /^[\w+.#-]*$/.test(part.slice(0, nl)) ? part.slice(nl + 1) : part;
    const pre = document.createElement("pre");
    const code = document.createElement("code");
    code.textContent = body;
    pre.append(code);
    el.append(pre);
  });
}

const ERROR_TEXT = {
  network: "errNetwork",
  auth: "errAuth",
  json: "errJsonUnsupported",
  busy: "errBusy",
  loading: "errLoading",
  server: "errServer",
};

function messageElement(m) {
  const el = document.createElement("article");
  el.className = `message ${m.role}`;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = m.role === "user" ? state.t.you : m.role === "error" ? state.t.errorTitle : state.t.assistant;
  const text = document.createElement("div");
  text.className = "text";
  if (m.role === "error") {
    text.textContent = state.t[ERROR_TEXT[m.kind] || "errServer"];
  } else {
    renderText(text, m.content);
  }
  el.append(who, text);
  if (m.role === "error" && m.detail) {
    const detail = document.createElement("div");
    detail.className = "detail";
    detail.textContent = m.detail;  // the server's own message, in English
    el.append(detail);
  }
  if (m.note === "stopped") {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = state.t.stopped;
    el.append(note);
  }
  return el;
}

function renderMessages() {
  const box = $("messages");
  for (const el of box.querySelectorAll(".message")) el.remove();
  const chat = currentChat();
  const messages = chat ? chat.messages : [];
  $("empty").hidden = messages.length > 0;
  for (const m of messages) {
    const el = messageElement(m);
    if (state.running && m === state.running.answer) {
      el.setAttribute("aria-busy", "true");
      state.running.el = el;
    }
    box.append(el);
  }
  box.scrollTop = box.scrollHeight;
}

// Streaming re-renders the growing answer at most once a frame.
let framePending = false;
function renderAnswerSoon() {
  if (framePending) return;
  framePending = true;
  requestAnimationFrame(() => {
    framePending = false;
    const run = state.running;
    if (!run || !run.el || run.chat.id !== state.currentId) return;
    renderText(run.el.querySelector(".text"), run.answer.content);
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
  });
}

function renderStatus() {
  const t = state.t;
  const s = state.server;
  $("server-status").textContent =
    s.state === "ready" ? t.statusReady.replace("{model}", s.model) :
    s.state === "loading" ? t.statusLoading :
    s.state === "offline" ? t.statusOffline : "";
}

function setBusy(busy) {
  document.body.dataset.state = busy ? "streaming" : "idle";
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("activity").textContent = busy ? state.t.writing : state.t.done;
}

// ---- the server ----------------------------------------------------------------------------

function headers() {
  const h = { "Content-Type": "application/json" };
  if (state.apiKey) h.Authorization = `Bearer ${state.apiKey}`;
  return h;
}

async function checkServer() {
  let next = 3000;
  try {
    const health = await fetch("/health", { cache: "no-store" });
    if (health.ok) {
      const models = await fetch("/v1/models", { headers: headers(), cache: "no-store" });
      const body = models.ok ? await models.json() : null;
      // Without a valid key /v1/models answers 401: the server is up, its model unnamed here.
      state.server = { state: "ready", model: body && body.data && body.data[0] ? body.data[0].id : "—" };
      next = 0;
    } else {
      state.server = { state: "loading", model: "" };
    }
  } catch {
    state.server = { state: "offline", model: "" };
  }
  renderStatus();
  if (next) setTimeout(checkServer, next);
}

// The conversation as the API wants it: the system prompt first, errors and empty answers left out.
function apiMessages(chat) {
  const out = [];
  if (state.settings.system.trim()) out.push({ role: "system", content: state.settings.system });
  for (const m of chat.messages) {
    if ((m.role === "user" || m.role === "assistant") && m.content) out.push({ role: m.role, content: m.content });
  }
  return out;
}

// An error body of OpenAI's shape, read into what the page shows.
async function readError(res, askedJson) {
  let err = {};
  try {
    err = (await res.json()).error || {};
  } catch {
    // not JSON: a proxy's page, say
  }
  const code = err.code || "";
  let kind = "server";
  if (res.status === 401) kind = "auth";
  else if (code === "not_supported" && askedJson && String(err.param || "").startsWith("response_format")) kind = "json";
  else if (code === "queue_full") kind = "busy";
  else if (code === "model_loading") kind = "loading";
  return { kind, detail: err.message || `HTTP ${res.status}` };
}

// Reads server-sent events (`data: {chunk}` ... `data: [DONE]`); a `data: {"error": ...}` event ends
// the stream with that error, which is returned.
async function readStream(body, onDelta) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += value;
    for (let cut; (cut = buffer.indexOf("\n\n")) >= 0; ) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return null;
        const chunk = JSON.parse(data);
        if (chunk.error) return { kind: "server", detail: chunk.error.message || "" };
        const choice = chunk.choices && chunk.choices[0];
        if (choice && choice.delta && choice.delta.content) onDelta(choice.delta.content);
      }
    }
  }
}

async function send(text) {
  const chat = currentChat() || startChat();
  chat.messages.push({ role: "user", content: text });
  if (!chat.title) chat.title = text.replace(/\s+/g, " ").trim().slice(0, 60);
  const answer = { role: "assistant", content: "" };
  chat.messages.push(answer);
  const controller = new AbortController();
  state.running = { controller, chat, answer, el: null };
  persist();
  renderChatList();
  renderMessages();
  setBusy(true);

  const s = state.settings;
  const request = { messages: apiMessages(chat), stream: true, temperature: Number(s.temperature) };
  const maxTokens = parseInt(s.maxTokens, 10);
  if (maxTokens >= 1) request.max_tokens = maxTokens;
  if (s.json) request.response_format = { type: "json_object" };

  let error = null;
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(request),
      signal: controller.signal,
    });
    if (!res.ok) {
      error = await readError(res, s.json);
    } else {
      error = await readStream(res.body, (delta) => {
        answer.content += delta;
        renderAnswerSoon();
      });
    }
  } catch (e) {
    if (e && e.name === "AbortError") answer.note = "stopped";
    else error = { kind: "network", detail: String((e && e.message) || e) };
  }
  if (error) {
    if (!answer.content) chat.messages.splice(chat.messages.indexOf(answer), 1);
    chat.messages.push({ role: "error", kind: error.kind, detail: error.detail });
  }
  state.running = null;
  persist();
  renderMessages();
  setBusy(false);
}

function stop() {
  if (state.running) state.running.controller.abort();
}

// ---- settings ------------------------------------------------------------------------------

function setupSettings() {
  const s = state.settings;
  const system = $("system-prompt");
  const temperature = $("temperature");
  const maxTokens = $("max-tokens");
  const json = $("json-mode");
  const key = $("api-key");
  system.value = s.system;
  temperature.value = s.temperature;
  $("temperature-value").value = Number(s.temperature).toFixed(2);
  maxTokens.value = s.maxTokens;
  json.checked = s.json;
  key.value = state.apiKey;
  const store = () => save(STORE.settings, state.settings);
  system.addEventListener("input", () => { s.system = system.value; store(); });
  temperature.addEventListener("input", () => {
    s.temperature = Number(temperature.value);
    $("temperature-value").value = s.temperature.toFixed(2);
    store();
  });
  maxTokens.addEventListener("input", () => { s.maxTokens = maxTokens.value; store(); });
  json.addEventListener("change", () => { s.json = json.checked; store(); });
  key.addEventListener("change", () => {
    state.apiKey = key.value.trim();
    save(STORE.apiKey, state.apiKey);
    checkServer();
  });
}

// ---- start ---------------------------------------------------------------------------------

function start() {
  state.lang = load(STORE.lang, null);
  if (!LANGUAGES.some((l) => l.code === state.lang))
    state.lang = pickLanguage(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language]);
  const chats = load(STORE.chats, []);
  state.chats = Array.isArray(chats) ? chats.filter((c) => c && Array.isArray(c.messages)) : [];
  state.currentId = load(STORE.current, null);
  state.settings = { ...state.settings, ...load(STORE.settings, {}) };
  state.apiKey = load(STORE.apiKey, "") || "";

  setupLanguageSelector();
  setupSettings();
  applyLanguage();
  setBusy(false);
  $("activity").textContent = "";

  const prompt = $("prompt");
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = prompt.value.trim();
    if (!text || state.running) return;
    prompt.value = "";
    send(text);
  });
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.running) stop();
  });
  $("stop").addEventListener("click", stop);
  $("new-chat").addEventListener("click", () => {
    startChat();
    renderChatList();
    renderMessages();
    prompt.focus();
  });
  $("clear-history").addEventListener("click", () => {
    if (!window.confirm(state.t.confirmClear)) return;
    stop();
    state.chats = [];
    state.currentId = null;
    persist();
    renderChatList();
    renderMessages();
  });
  const toggle = $("toggle-side");
  toggle.addEventListener("click", () => {
    const open = $("side").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  checkServer();
}

start();
