// SPDX-License-Identifier: Apache-2.0
// The chat page in a real browser: playwright-core drives Debian's headless Chromium.
//   node browser.mjs LONG_URL API_URL API_KEY OUT_DIR
// LONG_URL: a server whose model never ends a generation by itself (long answers, to stop);
// API_URL: one that asks for API_KEY and answers like a normal model. Both are started by
// tests/serve/client_test.cpp. Screenshots go to OUT_DIR (in the build directory). Exits
// non-zero at the first failed assertion.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [longUrl, apiUrl, apiKey, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node browser.mjs LONG_URL API_URL API_KEY OUT_DIR");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

// Expected by hand, not read from the page's i18n.js: a wrong table there must show.
const STOP = { es: "Detener", ca: "Atura", "ca-valencia": "Para", eu: "Gelditu", gl: "Deter", en: "Stop" };
const TAG = { es: "es", ca: "ca", "ca-valencia": "ca-ES-valencia", eu: "eu", gl: "gl", en: "en" };
const JSON_REFUSED = "Este servidor todavía no puede responder en modo JSON. Desactiva el modo JSON y vuelve a intentarlo.";
const AUTH = "El servidor necesita una clave de API válida: escríbela en los ajustes.";

const browser = await chromium.launch({
  executablePath: process.env.FRAGUA_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],  // tests may run as root, where Chromium's sandbox refuses to start
});

// A page whose browser prefers `languages`; every request it makes and every script error is kept.
async function openPage(url, languages) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.addInitScript((langs) => {
    Object.defineProperty(Navigator.prototype, "languages", { get: () => langs });
    Object.defineProperty(Navigator.prototype, "language", { get: () => langs[0] });
  }, languages);
  const page = await context.newPage();
  const origin = new URL(url).origin;
  page.foreign = [];
  page.errors = [];
  page.on("request", (r) => {
    if (new URL(r.url()).origin !== origin && !r.url().startsWith("data:")) page.foreign.push(r.url());
  });
  page.on("pageerror", (e) => page.errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") page.errors.push(m.text()); });
  await page.goto(url + "/");
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  return page;
}

const text = (page, sel) => page.locator(sel).evaluate((el) => el.textContent);
const answers = (page) => page.locator(".message.assistant .text").allTextContents();

async function setRange(page, sel, value) {
  await page.locator(sel).evaluate((el, v) => {
    el.value = v;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, String(value));
}

async function check(name, fn) {
  await fn();
  console.log(`ok ${name}`);
}

// ---- the page on the long server: language from the browser, streaming, stop, languages, reload
const page = await openPage(longUrl, ["es-ES", "en"]);

await check("language from navigator.languages", async () => {
  assert.equal(await text(page, "#stop"), STOP.es);
  assert.equal(await page.evaluate(() => document.documentElement.lang), "es");
  const valencian = await openPage(longUrl, ["ca-ES-valencia", "es"]);
  assert.equal(await text(valencian, "#stop"), STOP["ca-valencia"]);
  const other = await openPage(longUrl, ["fr-FR", "eu"]);
  assert.equal(await text(other, "#stop"), STOP.eu);
  const none = await openPage(longUrl, ["de-DE"]);
  assert.equal(await text(none, "#stop"), STOP.en);
  for (const p of [valencian, other, none]) await p.context().close();
});

let firstAnswer = "";
await check("a streamed answer appears", async () => {
  await page.fill("#system-prompt", "Eres breve.");
  await setRange(page, "#temperature", 0);
  await page.fill("#max-tokens", "24");
  await page.fill("#prompt", "Hola, que tal?");
  await page.press("#prompt", "Enter");  // the keyboard sends
  await page.waitForFunction(() => document.body.dataset.state === "idle" &&
                                   document.querySelectorAll(".message.assistant").length === 1);
  firstAnswer = (await answers(page))[0];
  assert.ok(firstAnswer.length > 0);
  assert.equal(await text(page, ".message.user .text"), "Hola, que tal?");
  // What the page shows is what the API gives for the same conversation: the settings reached the
  // request, and the text was rendered as it came.
  const r = await fetch(`${longUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "system", content: "Eres breve." }, { role: "user", content: "Hola, que tal?" }],
      temperature: 0, max_tokens: 24,
    }),
  });
  assert.equal(firstAnswer, (await r.json()).choices[0].message.content);
});

let stoppedAnswer = "";
await check("stop on a long answer", async () => {
  await page.fill("#max-tokens", "");  // as many as the context holds: the model never stops by itself
  await setRange(page, "#temperature", 1);
  await page.fill("#prompt", "Escribe un texto largo.");
  await page.click("#send");
  // Text arrives while the answer is still streaming.
  await page.waitForFunction(() => document.body.dataset.state === "streaming" &&
    (document.querySelectorAll(".message.assistant .text")[1]?.textContent.length || 0) > 20);
  assert.equal(await page.locator(".message.assistant").nth(1).getAttribute("aria-busy"), "true");
  await page.screenshot({ path: `${outDir}/streaming.png` });
  await page.click("#stop");
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  stoppedAnswer = (await answers(page))[1];
  assert.ok(stoppedAnswer.length > 20);
  assert.equal(await text(page, ".message.assistant .note"), "Detenido.");
  // The server let the slot go: the generation ended as cancelled, and nothing runs.
  let metrics = "";
  for (let i = 0; i < 100; i++) {
    metrics = await (await fetch(`${longUrl}/metrics`)).text();
    if (/fragua_generations_finished_total\{reason="cancelled"\} [1-9]/.test(metrics) &&
        /\nfragua_active_slots 0\n/.test(metrics)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(metrics, /fragua_generations_finished_total\{reason="cancelled"\} [1-9]/);
  assert.match(metrics, /\nfragua_active_slots 0\n/);
});

await check("every interface language", async () => {
  for (const code of ["ca", "ca-valencia", "eu", "gl", "en", "es", "gl"]) {
    await page.selectOption("#language", code);
    assert.equal(await text(page, "#stop"), STOP[code], code);
    assert.equal(await page.evaluate(() => document.documentElement.lang), TAG[code], code);
    if (code !== "en") assert.notEqual(await page.getAttribute("#prompt", "placeholder"), "", code);
  }
  await page.screenshot({ path: `${outDir}/chat.png`, fullPage: true });
});

await check("reload keeps the history and the language", async () => {
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.state === "idle");
  assert.deepEqual(await answers(page), [firstAnswer, stoppedAnswer]);
  assert.deepEqual(await page.locator(".message.user .text").allTextContents(),
                   ["Hola, que tal?", "Escribe un texto largo."]);
  assert.equal(await text(page, "#stop"), STOP.gl);  // the last one chosen
  assert.equal(await text(page, ".message.assistant .note"), "Detido.");
  assert.equal(await page.inputValue("#system-prompt"), "Eres breve.");
  // A new chat is empty; the old one stays in the list and opens again.
  await page.click("#new-chat");
  assert.equal(await page.locator(".message").count(), 0);
  assert.equal(await page.locator("#chat-list li").count(), 2);
  await page.locator("#chat-list .open").nth(1).click();
  assert.deepEqual(await answers(page), [firstAnswer, stoppedAnswer]);
});

await check("narrow screen", async () => {
  await page.setViewportSize({ width: 380, height: 740 });
  assert.equal(await page.locator("#side").isVisible(), false);
  await page.click("#toggle-side");
  assert.equal(await page.locator("#side").isVisible(), true);
  assert.equal(await page.getAttribute("#toggle-side", "aria-expanded"), "true");
  await page.screenshot({ path: `${outDir}/narrow.png` });
});

// ---- the page on the server with a key: the key field, the JSON-mode switch --------------------
const keyed = await openPage(apiUrl, ["es"]);

await check("api key", async () => {
  await keyed.fill("#prompt", "Hola");
  await keyed.press("#prompt", "Enter");
  await keyed.waitForSelector(".message.error");
  assert.equal(await text(keyed, ".message.error .text"), AUTH);
  await keyed.fill("#api-key", apiKey);
  await keyed.press("#api-key", "Tab");  // `change` stores it
  await keyed.fill("#max-tokens", "8");
  await keyed.fill("#prompt", "Hola");
  await keyed.press("#prompt", "Enter");
  await keyed.waitForFunction(() => document.body.dataset.state === "idle" &&
                                    document.querySelectorAll(".message.assistant").length === 1);
  assert.equal(await keyed.evaluate(() => JSON.parse(localStorage.getItem("fragua.apiKey"))), apiKey);
});

await check("json mode", async () => {
  await keyed.click("#new-chat");
  await keyed.check("#json-mode");
  await setRange(keyed, "#temperature", 0);
  await keyed.fill("#max-tokens", "300");
  await keyed.fill("#prompt", "Dame un objeto.");
  await keyed.press("#prompt", "Enter");
  await keyed.waitForFunction(() => document.body.dataset.state === "idle" &&
    document.querySelectorAll(".message").length === 2, null, { timeout: 120_000 });
  const last = keyed.locator(".message").last();
  const r = await fetch(`${apiUrl}/v1/chat/completions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({
      messages: [{ role: "user", content: "Dame un objeto." }], temperature: 0, max_tokens: 300,
      response_format: { type: "json_object" },
    }),
  });
  const body = await r.json();
  if (r.status === 400 && body.error.code === "not_supported") {
    // Before constrained decoding the server refuses json_object; the page says so plainly.
    assert.equal(await last.getAttribute("class"), "message error");
    assert.equal(await last.locator(".text").textContent(), JSON_REFUSED);
    assert.match(await last.locator(".detail").textContent(), /response_format/);
    console.log("pending json mode: the server refuses response_format json_object (not_supported)");
  } else {
    // The page asked for JSON (its answer is the API's for the same request) and shows it as text.
    assert.equal(r.status, 200, JSON.stringify(body));
    const shown = await last.locator(".text").textContent();
    assert.equal(shown, body.choices[0].message.content);
    if (body.choices[0].finish_reason === "stop") {
      const value = JSON.parse(shown);
      assert.ok(value !== null && typeof value === "object" && !Array.isArray(value), shown);
    }
  }
  await keyed.screenshot({ path: `${outDir}/json-mode.png` });
});

await check("nothing left the page's origin, no script error", async () => {
  assert.deepEqual(page.foreign, []);
  assert.deepEqual(keyed.foreign, []);
  assert.deepEqual(page.errors, []);
  // The one console error allowed on the keyed page is the browser's log of the refused request.
  for (const e of keyed.errors) assert.match(e, /Failed to load resource: the server responded with a status of 40[01]/);
});

await browser.close();
console.log("browser.mjs: all checks done");
