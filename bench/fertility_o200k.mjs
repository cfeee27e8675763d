// SPDX-License-Identifier: Apache-2.0
// Tokens per word of GPT-4o's o200k_base vocabulary (js-tiktoken's copy of OpenAI's ranks) on the
// same texts and with the same counting as `fragua tokenizer stats` (src/tokenize/stats.cpp): the
// text is cut at '\n', empty lines skipped, each line encoded alone with no special tokens, a
// word is a run of bytes other than space, tab and CR. Run by bench/fertility.sh, which installs
// js-tiktoken into ~/.cache/fragua-bench/tiktoken (TIKTOKEN_DIR) on first use.
// Usage: node bench/fertility_o200k.mjs LABEL=FILE... > rows.json   (rows as stats --json writes)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.TIKTOKEN_DIR + '/package.json');
const { Tiktoken } = await import(require.resolve('js-tiktoken/lite'));
const { default: o200k } = await import(require.resolve('js-tiktoken/ranks/o200k_base'));
const enc = new Tiktoken(o200k);

const rows = [];
for (const arg of process.argv.slice(2)) {
  const eq = arg.indexOf('=');
  const [lang, path] = eq < 0 ? [arg, arg] : [arg.slice(0, eq), arg.slice(eq + 1)];
  const text = readFileSync(path, 'utf8');
  let bytes = 0, words = 0, tokens = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    bytes += Buffer.byteLength(line, 'utf8');
    words += line.split(/[ \t\r]+/).filter((w) => w.length > 0).length;
    // Special-token text ("<|endoftext|>") stays text: nothing allowed, nothing refused.
    tokens += enc.encode(line, [], []).length;
  }
  rows.push({
    tokenizer: 'o200k_base (GPT-4o)', lang, bytes, words, tokens, fallback_tokens: 0,
    fertility: words ? tokens / words : 0, bytes_per_token: tokens ? bytes / tokens : 0, fallback_rate: 0,
  });
}
console.log(JSON.stringify(rows, null, 1));
