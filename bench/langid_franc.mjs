// SPDX-License-Identifier: Apache-2.0
// franc-all on a file of lines (one text per line): predictions and the CPU time of the
// classification loop. Run by bench/langid_franc.sh, which installs franc-all into
// ~/.cache/fragua-bench/franc. franc is limited (`only`) to the languages both tools know;
// Aragonese is not one of franc's, so it has no column here.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(process.env.FRANC_DIR + '/package.json');
const { franc } = await import(require.resolve('franc-all'));
const map = { spa: 'es', cat: 'ca', eus: 'eu', glg: 'gl', por: 'pt', eng: 'en', fra: 'fr', ita: 'it', oci: 'oc', ast: 'ast' };
const only = Object.keys(map);
const lines = readFileSync(process.argv[2], 'utf8').split('\n');
if (lines.length && lines[lines.length - 1] === '') lines.pop();
const c0 = process.cpuUsage();
const preds = lines.map((t) => map[franc(t, { only, minLength: 1 })] || 'und');
const c1 = process.cpuUsage(c0);
console.log(JSON.stringify({ n: lines.length, cpu_seconds: (c1.user + c1.system) / 1e6, preds }));
