// Times one parser build: the first parse in a fresh process (tables built, code compiled
// lazily), then the median of 2,000 parses. Usage: node bench.mjs DIR (a wasm-bindgen
// --target nodejs output).
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const query = 'sum by (job) (rate(x{code=~"5.."}[5m])) / ignoring(code) group_left sum by (job) (rate(x[5m]))';
const t0 = performance.now();
const m = require(`${process.argv[2]}/edgewrite_promql_bench.js`);
const loaded = performance.now();
if (!m.parse(query)) throw new Error('the query does not parse');
const first = performance.now() - loaded;
const times = [];
for (let i = 0; i < 2000; i++) {
  const t = performance.now();
  m.parse(query);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ loadMs: loaded - t0, firstParseMs: first, medianParseMs: times[1000] }));
