// SPDX-License-Identifier: Apache-2.0
// franc-all on held-out sentences: predictions and timing. Run by bench/langid_franc.sh, which
// installs franc-all into ~/.cache/fragua-bench/franc. Both tools are limited to the same ten
// languages (franc's `only`), so the label sets match.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.env.FRANC_DIR + '/package.json');
const { franc } = await import(require.resolve('franc-all'));
const map = { spa: 'es', cat: 'ca', eus: 'eu', glg: 'gl', por: 'pt', eng: 'en', fra: 'fr', ita: 'it', oci: 'oc', ast: 'ast' };
const only = Object.keys(map);
const lines = readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const items = lines.filter((x) => x.text.trim().split(/\s+/).length >= 5);
const t0 = process.hrtime.bigint();
const preds = items.map((x) => map[franc(x.text, { only, minLength: 1 })] || 'und');
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ n: items.length, seconds: secs, gold: items.map((x) => x.lang.split('-')[0]), preds }));
