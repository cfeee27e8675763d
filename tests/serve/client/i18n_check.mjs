// SPDX-License-Identifier: Apache-2.0
// The page's interface strings as the server serves them, with Node alone (no npm package):
//   node i18n_check.mjs BASE_URL
// Every language has every string English has and no other, none empty, every string the HTML
// names exists, and the browser's language list picks the expected table.
import assert from "node:assert/strict";

const base = process.argv[2];
if (!base) {
  console.error("usage: node i18n_check.mjs BASE_URL");
  process.exit(2);
}
const get = async (path) => {
  const r = await fetch(base + path);
  assert.equal(r.status, 200, path);
  return r.text();
};
const source = await get("/i18n.js");
const { LANGUAGES, pickLanguage, stringsFor } = await import(
  "data:text/javascript;base64," + Buffer.from(source).toString("base64"));

assert.deepEqual(LANGUAGES.map((l) => l.code), ["es", "ca", "ca-valencia", "eu", "gl", "en"]);
const english = stringsFor("en");
const keys = Object.keys(english).sort();
for (const l of LANGUAGES) {
  assert.deepEqual(Object.keys(l.strings).sort(), keys, l.code);
  for (const k of keys) {
    assert.equal(typeof l.strings[k], "string", `${l.code}.${k}`);
    assert.ok(l.strings[k].trim().length > 0, `${l.code}.${k} is empty`);
  }
  assert.equal(l.strings.statusReady.includes("{model}"), true, `${l.code}.statusReady`);
  if (l.code !== "en") assert.notEqual(l.strings.send + l.strings.stop, english.send + english.stop, l.code);
}
// Valencian has forms of its own, and shares the rest with Catalan.
const ca = stringsFor("ca");
const va = stringsFor("ca-valencia");
assert.notEqual(va.stop, ca.stop);
assert.notEqual(va.messagePlaceholder, ca.messagePlaceholder);
assert.equal(va.send, ca.send);

const html = await get("/");
const named = [...html.matchAll(/data-i18n(?:-placeholder)?="([^"]+)"/g)].map((m) => m[1]);
assert.ok(named.length > 10);
for (const k of named) assert.ok(keys.includes(k), `index.html names '${k}', which no table has`);

const cases = [
  [["ca-ES-valencia", "es"], "ca-valencia"],
  [["ca-valencia"], "ca-valencia"],
  [["CA-es-VALENCIA"], "ca-valencia"],
  [["ca-ES", "es"], "ca"],
  [["ca_AD"], "ca"],
  [["es-MX"], "es"],
  [["eu-ES"], "eu"],
  [["gl"], "gl"],
  [["fr-FR", "gl-ES"], "gl"],
  [["en-GB"], "en"],
  [["de-DE", "fr"], "en"],
  [[], "en"],
];
for (const [langs, want] of cases) assert.equal(pickLanguage(langs), want, JSON.stringify(langs));
console.log(`i18n_check.mjs: ${LANGUAGES.length} languages, ${keys.length} strings each, ${named.length} used by the page`);
