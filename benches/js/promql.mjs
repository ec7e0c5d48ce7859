// PromQL over HTTP: the Worker under `wrangler dev` (workerd, embedded store, the default 4
// shards) beside Debian's Prometheus 2.42, in one run, on the same data: 1,000 counter series
// (`x`, 10 jobs) and a 1,000-series classic histogram (`h_bucket`, 100 instances x 10 `le`),
// 6 hours at a 15 s scrape interval, written to both by remote write in time order. Each
// query runs as a range query over the 6 hours at a 15 s step (1,441 points per series),
// RUNS times after one warm-up; reported: min / median / max wall time of the answer.
//
// The Worker's time includes gathering the selected series from its shards (Durable Object
// reads of compacted chunks) and evaluating in wasm; Prometheus's includes its TSDB reads.
// The evaluator alone, natively: `cargo bench --bench promql`.
//
// Run: node benches/js/promql.mjs (after bash pkg/build.sh). RUNS=5 by default; QUERIES (one
// per line) replaces the queries, e.g. QUERIES='sum(x)' to see what reading the data costs.
import { encode } from '../../pkg/node.js';
import { startPrometheus, startWorker } from '../../tests/js/helpers.mjs';

const RUNS = Number(process.env.RUNS ?? 5);
const STEP = 15_000;
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const start = end - 6 * 3_600_000;
const QUERIES = process.env.QUERIES?.split('\n').filter(Boolean) ?? ['sum by (job) (rate(x[5m]))', 'histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))'];

/** The series' labels and a value for scrape k. */
function shapes() {
  const out = [];
  for (let i = 0; i < 1000; i++) out.push({ labels: { __name__: 'x', job: `job-${i % 10}`, instance: `i-${i}` }, value: (k) => k * (1 + (i % 7)) });
  const bounds = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  for (let i = 0; i < 100; i++) {
    bounds.forEach((le, j) => out.push({ labels: { __name__: 'h_bucket', instance: `i-${i}`, le }, value: (k) => k * (j + 1) * (1 + (i % 3)) }));
  }
  return out;
}

/** Writes the data to `url` in 10-minute slices, oldest first (Prometheus takes each in order). */
async function write(url) {
  const series = shapes();
  const first = start - 300_000;
  for (let from = first; from <= end; from += 600_000) {
    const ks = [];
    for (let t = from; t < Math.min(from + 600_000, end + 1); t += STEP) ks.push([(t - first) / STEP, t]);
    const body = encode({ series: series.map((s) => ({ labels: s.labels, samples: ks.map(([k, t]) => ({ value: s.value(k), timestamp: t })) })) });
    const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' } });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  }
}

async function time(api, query) {
  const params = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(STEP / 1000) });
  const t = performance.now();
  const res = await fetch(`${api}/api/v1/query_range`, { method: 'POST', body: params, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  const body = await res.json();
  const ms = performance.now() - t;
  if (body.status !== 'success') throw new Error(`${api}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms, series: body.data.result.length, points: body.data.result.reduce((n, s) => n + s.values.length, 0) };
}

const [worker, prometheus] = await Promise.all([startWorker({ COMPACT_EVERY: '5s' }), startPrometheus()]);
try {
  await write(`${worker.url}/api/v1/write`);
  await write(`${prometheus.api}/api/v1/write`);
  await new Promise((r) => setTimeout(r, 15_000)); // the shards compact what they queued
  console.log('| query | Prometheus 2.42 (min / median / max) | Worker, wasm (min / median / max) | series x points |');
  console.log('|---|---|---|---|');
  for (const query of QUERIES) {
    const figures = {};
    for (const [name, api] of [['prometheus', prometheus.api], ['worker', worker.url]]) {
      const first = await time(api, query);
      const ms = [];
      for (let i = 0; i < RUNS; i++) ms.push((await time(api, query)).ms);
      ms.sort((a, b) => a - b);
      figures[name] = { ms, shape: `${first.series} x ${first.points / first.series}` };
    }
    const f = (ms) => `${ms[0].toFixed(0)} / ${ms[Math.floor(ms.length / 2)].toFixed(0)} / ${ms.at(-1).toFixed(0)} ms`;
    console.log(`| \`${query}\` | ${f(figures.prometheus.ms)} | ${f(figures.worker.ms)} | ${figures.worker.shape} (Prometheus ${figures.prometheus.shape}) |`);
  }
} finally {
  await Promise.all([worker.stop(), prometheus.stop()]);
}
