// The Worker's PromQL against Prometheus 2.42's own, on the same data: generated counters
// (with a reset), gauges, a classic histogram, gaps, stale markers, NaN and infinities, and a
// captured minute of a real Prometheus's scrapes, written to both by remote write. Each query
// of `queries.mjs` is asked as an instant query at several times and as a range query, of
// both; the answers must be equal: same result type, same label sets, values equal within
// 1e-9 relative (NaN where Prometheus has NaN), and where Prometheus refuses a query, the
// Worker refuses it with the same status and error type.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decode, encode } from '../../pkg/node.js';
import { startPrometheus, startWorker } from './helpers.mjs';
import { queries } from './promql-queries.mjs';

const root = new URL('../..', import.meta.url).pathname;
const STEP = 15_000;
// 40 minutes of data ending on a whole minute in the recent past (Prometheus's receiver only
// takes samples within an hour of its newest).
const end = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const base = end - 40 * 60_000;

/** A deterministic random number generator (mulberry32), so every run writes the same data. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The generated series: `{ labels, samples }` as the package encodes them. */
function generated() {
  const rnd = random(42);
  const series = [];
  // Scrape times with a little jitter, as real scrapes have.
  const times = Array.from({ length: 161 }, (_, i) => base + i * STEP + (i % 7) * 37);
  // `exemplar(i, t)` gives the exemplar of scrape i, if any.
  const add = (labels, value, exemplar = () => undefined) => {
    const samples = [];
    const exemplars = [];
    times.forEach((t, i) => {
      const v = value(i, t);
      if (v !== undefined) samples.push(v === 'stale' ? { value: NaN, timestamp: t, stale: true } : { value: v, timestamp: t });
      const e = exemplar(i, t);
      if (e) exemplars.push(e);
    });
    series.push({ labels, samples, exemplars });
  };
  for (const job of ['api', 'web']) {
    for (const instance of ['a', 'b']) {
      for (const code of ['200', '404', '500']) {
        let c = Math.floor(rnd() * 100);
        const reset = job === 'api' && instance === 'a' && code === '500';
        add({ __name__: 'cmp_requests_total', job, instance, code }, (i) => {
          if (reset && i === 80) c = 0;
          c += Math.floor(rnd() * (code === '200' ? 50 : 5));
          return c;
        });
      }
      let g = (rnd() - 0.5) * 20;
      add({ __name__: 'cmp_temperature', job, instance }, () => (g += (rnd() - 0.5) * 4));
      add({ __name__: 'cmp_info', job, instance, version: job === 'api' ? '1.2' : '2.0' }, () => 1);
    }
  }
  // A classic histogram per instance: cumulative buckets, _sum and _count.
  const bounds = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  for (const instance of ['a', 'b']) {
    const counts = bounds.map(() => 0);
    const sums = [];
    const perScrape = times.map(() => {
      const n = 1 + Math.floor(rnd() * 20);
      let sum = 0;
      for (let k = 0; k < n; k++) {
        const x = rnd() ** 2 * 3;
        sum += x;
        bounds.forEach((b, j) => {
          if (x <= Number(b)) counts[j]++;
        });
      }
      sums.push((sums.at(-1) ?? 0) + sum);
      return [...counts];
    });
    // Exemplars on some buckets (a trace per few scrapes), as instrumented services send them.
    const trace = (le, j) => (i, t) =>
      (i + j) % 6 === 0 && le !== '+Inf' ? { labels: { trace_id: `${instance}${le}-${i}`, ...(i % 4 ? {} : { span_id: `${i}` }) }, value: Number(le) / 2, timestamp: t - 1234 } : undefined;
    bounds.forEach((le, j) => add({ __name__: 'cmp_latency_seconds_bucket', job: 'api', instance, le }, (i) => perScrape[i][j], trace(le, j)));
    add({ __name__: 'cmp_latency_seconds_sum', job: 'api', instance }, (i) => sums[i]);
    add({ __name__: 'cmp_latency_seconds_count', job: 'api', instance }, (i) => perScrape[i][bounds.length - 1]);
  }
  // Gaps longer than the lookback, a series ended by a stale marker that comes back, NaN and
  // infinities, and Unix times for the date functions.
  add({ __name__: 'cmp_gappy', job: 'batch' }, (i) => (i < 40 || i > 90 ? i * 1.5 : undefined));
  add({ __name__: 'cmp_stale', job: 'batch' }, (i) => (i < 60 ? 100 - i : i === 60 ? 'stale' : i < 100 ? undefined : i));
  add({ __name__: 'cmp_nan', job: 'batch' }, (i) => (i % 10 === 3 ? NaN : i % 25 === 7 ? Infinity : i % 31 === 5 ? -Infinity : i - 80));
  add({ __name__: 'cmp_ts', job: 'batch' }, (i) => 946_684_800 + i * 7_654_321.5);
  return series;
}

/** The captured requests of a real Prometheus, moved in time to end 5 minutes before `end`. */
function captured() {
  const dir = `${root}tests/fixtures/prometheus-2.42`;
  const requests = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort().map((f) => decode(readFileSync(join(dir, f))));
  const newest = Math.max(...requests.flatMap((r) => r.series.flatMap((s) => s.samples.map((x) => x.timestamp))));
  const shift = end - 300_000 - newest;
  return requests.map((r) => ({
    series: r.series.map((s) => ({ labels: s.labels, samples: s.samples.map((x) => ({ ...x, timestamp: x.timestamp + shift })) })),
  }));
}

let worker;
let prometheus;

before(async () => {
  [worker, prometheus] = await Promise.all([
    startWorker({ TENANT_LABEL: '-', COMPACT_EVERY: '1h' }),
    startPrometheus(undefined, ['--enable-feature=exemplar-storage']),
  ]);
  const bodies = [...captured(), { series: generated() }].map((r) => encode(r));
  for (const url of [`${worker.url}/api/v1/write`, `${prometheus.api}/api/v1/write`]) {
    for (const body of bodies) {
      const res = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
      });
      assert.ok(res.status === 204 || res.status === 200, `${url}: ${res.status} ${await res.text()}`);
    }
  }
});

after(async () => {
  await Promise.all([worker?.stop(), prometheus?.stop()]);
});

async function ask(api, path, params) {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: { status: 'error', error: text } };
  }
}

const number = (s) => (s === 'NaN' ? NaN : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

function equalValue(a, b) {
  const [x, y] = [number(a), number(b)];
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

const key = (metric) => JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : 1)));

/** Where two answers differ, in words; undefined when they agree. */
function difference(query, want, got) {
  if (want.body.status !== 'success') {
    if (got.body.status === 'success') return `Prometheus refused (${want.status} ${want.body.error}), the Worker answered`;
    // Same status and type; a query that cannot run (422) for the same reason, in Prometheus's words.
    if (got.status !== want.status || got.body.errorType !== want.body.errorType || (want.status === 422 && got.body.error !== want.body.error)) {
      return `refused differently: Prometheus ${want.status} ${want.body.errorType} "${want.body.error}", the Worker ${got.status} ${got.body.errorType} "${got.body.error}"`;
    }
    return undefined;
  }
  if (got.body.status !== 'success') return `the Worker refused (${got.status} ${got.body.error}), Prometheus answered`;
  const [w, g] = [want.body.data, got.body.data];
  if (w.resultType !== g.resultType) return `result type ${g.resultType}, Prometheus ${w.resultType}`;
  if (w.resultType === 'scalar' || w.resultType === 'string') {
    if (w.result[0] !== g.result[0]) return `time ${g.result[0]}, Prometheus ${w.result[0]}`;
    return w.resultType === 'scalar' && !equalValue(w.result[1], g.result[1]) ? `value ${g.result[1]}, Prometheus ${w.result[1]}` : undefined;
  }
  if (g.result.length !== w.result.length) return `${g.result.length} series, Prometheus ${w.result.length}`;
  const points = (r) => (w.resultType === 'vector' ? [r.value] : r.values);
  const mine = new Map(g.result.map((r) => [key(r.metric), points(r)]));
  const theirs = new Map(w.result.map((r) => [key(r.metric), points(r)]));
  for (const k of theirs.keys()) if (!mine.has(k)) return `missing series ${k}`;
  for (const k of mine.keys()) if (!theirs.has(k)) return `extra series ${k}`;
  for (const [k, ps] of theirs) {
    const qs = mine.get(k);
    if (qs.length !== ps.length) return `${k}: ${qs.length} points, Prometheus ${ps.length}: ${JSON.stringify(qs)} vs ${JSON.stringify(ps)}`;
    for (let i = 0; i < ps.length; i++) {
      if (ps[i][0] !== qs[i][0] || !equalValue(ps[i][1], qs[i][1])) return `${k}: ${JSON.stringify(qs[i])}, Prometheus ${JSON.stringify(ps[i])}`;
    }
  }
  // sort() and sort_desc() promise an order: the values must come in Prometheus's order.
  if (/^sort(_desc)?\(/.test(query) && w.resultType === 'vector') {
    const order = (r) => r.result.map((s) => s.value[1]).join();
    if (order(w) !== order(g)) return `order ${order(g)}, Prometheus ${order(w)}`;
  }
  return undefined;
}

// Instant queries at the end, mid-way (inside the gap and the stale stretch), at the start
// (windows not yet full), and after the data (the lookback running out).
const instants = [end, base + 20 * 60_000 + 7_000, base + 45_000, end + 4 * 60_000 + 30_000];

test(`${queries.length} queries answer as Prometheus 2.42 answers them, instant and range`, async () => {
  assert.ok(queries.length >= 150 || process.env.PROMQL_ONLY, 'at least 150 queries');
  const failures = [];
  let compared = 0;
  let withData = 0;
  for (const query of queries) {
    const asks = instants.map((t) => ['/api/v1/query', { query, time: String(t / 1000) }]);
    asks.push(['/api/v1/query_range', { query, start: String((base - 60_000 + 7_000) / 1000), end: String((end + 360_000) / 1000), step: '60' }]);
    const answers = await Promise.all(asks.map(([path, params]) => Promise.all([ask(prometheus.api, path, params), ask(worker.url, path, params)])));
    answers.forEach(([want, got], i) => {
      const [path, params] = asks[i];
      const why = difference(query, want, got);
      compared++;
      if (want.body.status === 'success' && want.body.data.result.length > 0) withData++;
      if (why) failures.push(`${path} ${JSON.stringify(params)}: ${why}`);
      // PROMQL_DEBUG=1 prints both whole answers of each difference.
      if (why && process.env.PROMQL_DEBUG) console.log(JSON.stringify({ query, params, want: want.body, got: got.body }));
    });
  }
  assert.equal(compared, queries.length * (instants.length + 1));
  // Most answers hold data: the comparison compares numbers, not empty results.
  assert.ok(withData >= compared * 0.75, `only ${withData} of ${compared} answers hold data`);
  assert.deepEqual(failures, [], `${failures.length} of ${compared} answers differ:\n${failures.join('\n')}`);
});

// Exemplar queries: selectors, ranges, no selector, refusals.
const exemplarAsks = [
  { query: 'cmp_latency_seconds_bucket' },
  { query: 'histogram_quantile(0.9, sum by (le) (rate(cmp_latency_seconds_bucket{instance="a"}[5m])))' },
  { query: 'cmp_latency_seconds_bucket{le=~"0.1|1"} / on(instance) group_left cmp_latency_seconds_count' },
  { query: 'cmp_latency_seconds_bucket', start: String((base + 10 * 60_000) / 1000), end: String((base + 12 * 60_000 + 500) / 1000) },
  { query: 'cmp_latency_seconds_bucket{le="0.25"}', start: String((base + 20 * 60_000 - 1234) / 1000) },
  { query: 'cmp_latency_seconds_bucket', end: String(base / 1000) },
  { query: 'cmp_requests_total' },
  { query: 'nothing_here' },
  { query: '1 + 1' },
  { query: 'rate(cmp_latency_seconds_bucket[5m]' },
  { query: 'cmp_latency_seconds_bucket', start: '20', end: '10' },
  { query: 'cmp_latency_seconds_bucket', start: 'yesterday' },
];

test('exemplars answer as Prometheus 2.42 (exemplar storage on) answers them', async () => {
  const failures = [];
  let exemplars = 0;
  for (const params of exemplarAsks) {
    const [want, got] = await Promise.all([prometheus.api, worker.url].map((api) => ask(api, '/api/v1/query_exemplars', params)));
    exemplars += (want.body.data ?? []).reduce((n, s) => n + s.exemplars.length, 0);
    const same = want.status === 204
      ? got.status === 204
      : want.body.status === 'success'
      ? JSON.stringify(got.body) === JSON.stringify(want.body)
      : got.status === want.status && got.body.errorType === want.body.errorType && got.body.error === want.body.error;
    if (!same) failures.push(`${JSON.stringify(params)}: Prometheus ${want.status} ${JSON.stringify(want.body)}, the Worker ${got.status} ${JSON.stringify(got.body)}`);
  }
  assert.ok(exemplars > 100, `the comparison compares exemplars (${exemplars})`);
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('the comparison notices a wrong answer', () => {
  const answer = (v) => ({ status: 200, body: { status: 'success', data: { resultType: 'vector', result: [{ metric: { a: '1' }, value: [1, v] }] } } });
  assert.equal(difference('x', answer('1'), answer('1.0000000000001')), undefined);
  assert.match(difference('x', answer('1'), answer('1.001')), /Prometheus/);
  assert.match(difference('x', answer('NaN'), answer('0')), /Prometheus/);
  assert.match(difference('x', answer('1'), { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [] } } }), /0 series/);
  const twice = { status: 200, body: { status: 'success', data: { resultType: 'vector', result: [answer('1').body.data.result[0], answer('1').body.data.result[0]] } } };
  assert.match(difference('x', answer('1'), twice), /2 series, Prometheus 1/, 'a label set twice is no match');
  const refusal = (error) => ({ status: 422, body: { status: 'error', errorType: 'execution', error } });
  assert.match(difference('x', refusal('vector cannot contain metrics with the same labelset'), refusal('too many samples')), /refused differently/);
});
