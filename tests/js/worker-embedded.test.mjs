// The Worker's default backend, the embedded store, under `wrangler dev` (workerd): what a real
// Prometheus sent reads back exactly through the read API (before and after compaction, and
// after a restart), duplicates keep the first write, tenants are apart, /metrics counts, and
// the dashboard in www/ shows what arrived in Debian's Chromium.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { decode, encode } from '../../pkg/node.js';
import { eventually, metricSum, startWorker } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
const TOKENS = 'alpha-token=alpha,beta-token=beta';
const vars = { AUTH: 'tokens', TOKENS, METRICS_TOKEN: 'metrics-token', COMPACT_EVERY: '1s', SHARD_COUNT: '3' };
const state = mkdtempSync(join(tmpdir(), 'edgewrite-embedded-'));
let worker;

before(async () => {
  worker = await startWorker(vars, { state });
});

after(async () => {
  await worker?.stop();
  rmSync(state, { recursive: true, force: true });
});

// Recent, whole seconds: the dashboard reads the last day.
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const auth = (tenant) => ({ Authorization: `Bearer ${tenant}-token` });

const write = (body, tenant = 'alpha', protocol = 'v1') =>
  fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: {
      'Content-Type': protocol === 'v2' ? 'application/x-protobuf;proto=io.prometheus.write.v2.Request' : 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      ...auth(tenant),
    },
  });

async function read(path, params, tenant = 'alpha') {
  const qs = new URLSearchParams(params);
  const res = await fetch(`${worker.url}${path}?${qs}`, { headers: tenant ? auth(tenant) : {} });
  return { status: res.status, body: await res.json() };
}

/** Every sample of every series matching `selector`, keyed by the series' labels. */
async function samples(selector, tenant = 'alpha') {
  const { status, body } = await read('/api/v1/samples', { 'match[]': selector, start: '0', end: '4000000000' }, tenant);
  assert.equal(status, 200, JSON.stringify(body));
  return new Map(body.data.result.map((r) => [JSON.stringify(r.metric), r]));
}

const metrics = async () => (await fetch(`${worker.url}/metrics`, { headers: { Authorization: 'Bearer metrics-token' } })).text();
const metric = (text, line) => Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ')[1] ?? NaN);


/** What the captured Prometheus requests hold, decoded by the package: labels -> [[s, "v"]]. */
function corpus() {
  const dir = `${root}tests/fixtures/prometheus-2.42`;
  const files = readdirSync(dir).filter((f) => f.endsWith('.bin')).sort();
  const expected = new Map();
  for (const f of files) {
    for (const s of decode(readFileSync(join(dir, f))).series) {
      const key = JSON.stringify(Object.fromEntries(Object.entries({ ...s.labels, tenant: 'alpha' }).sort(([a], [b]) => (a < b ? -1 : 1))));
      const values = expected.get(key) ?? [];
      for (const x of s.samples) values.push([x.timestamp / 1000, x.stale ? 'stale' : formatValue(x.value)]);
      expected.set(key, values);
    }
  }
  return { files: files.map((f) => readFileSync(join(dir, f))), expected };
}

/** Prometheus's value format, for comparison. */
function formatValue(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Object.is(v, -0) ? '-0' : String(v).includes('e') ? v.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 }) : String(v);
}

function assertSameAsCorpus(got, expected) {
  assert.equal(got.size, expected.size, 'every series of the corpus, no more');
  let n = 0;
  for (const [key, values] of expected) {
    assert.ok(got.has(key), `missing ${key}`);
    assert.deepEqual(got.get(key).values, values, key);
    n += values.length;
  }
  return n;
}

test('a real Prometheus\'s requests read back exactly, queued, compacted, and after a restart', async () => {
  const { files, expected } = corpus();
  for (const body of files) {
    const res = await write(body);
    assert.equal(res.status, 204, await res.text());
  }
  // Straight away (from the queue), then once every shard has compacted its queue into chunks.
  const n = assertSameAsCorpus(await samples('{__name__=~".+"}'), expected);
  assert.ok(n > 3000, `${n} samples`);
  assert.ok([...expected.values()].flat().some(([, v]) => v === 'stale'), 'the corpus has stale markers');
  await eventually(async () => metricSum(await metrics(), 'edgewrite_shard_queue_batches') === 0, 20_000, 'every queue compacted');
  const text = await metrics();
  assert.equal(metricSum(text, 'edgewrite_shard_stored_points_total'), n);
  assert.equal(metric(text, 'edgewrite_received_total{kind="samples"}'), n);
  assert.equal(metric(text, 'edgewrite_requests_total{status="204"}'), files.length);
  assertSameAsCorpus(await samples('{__name__=~".+"}'), expected);

  // Nothing acknowledged is lost when the Worker restarts on the same storage.
  await worker.stop();
  worker = await startWorker(vars, { state });
  assertSameAsCorpus(await samples('{__name__=~".+"}'), expected);
});

test('series too large for one compaction slice, and slices too large for one insert statement, read back exactly', async () => {
  // 3 series of 60,000 random samples (about 660 KB of chunks each: each alone in its slice,
  // in two rows of at most 50,000, each in a statement of its own) and 3000 small series.
  const expected = new Map();
  const series = [];
  for (let i = 0; i < 3003; i++) {
    const labels = { __name__: 'bulk_test', series: String(i) };
    const n = i % 1000 === 0 ? 60_000 : 3;
    const points = Array.from({ length: n }, (_, k) => ({ value: 1 + Math.random(), timestamp: BASE - 3_600_000 + k * 50 }));
    series.push({ labels, samples: points });
    expected.set(JSON.stringify({ ...labels, tenant: 'alpha' }), points.map((p) => [p.timestamp / 1000, String(p.value)]));
  }
  // (A request takes at most 200,000 points: the large series go one a request.)
  for (const big of series.filter((x) => x.samples.length > 3)) {
    const res = await write(encode({ series: [big] }));
    assert.equal(res.status, 204, await res.text());
  }
  const small = await write(encode({ series: series.filter((x) => x.samples.length <= 3) }));
  assert.equal(small.status, 204, await small.text());
  // And 120 series of 100 exemplars with long labels each, 40 a shard: 4,040 points, one
  // slice, but 520 KB of chunks, cut into statements between rows.
  const pad = (s) => s.padEnd(50, '-');
  const exemplary = Array.from({ length: 120 }, (_, i) => ({
    labels: { __name__: 'bulk_ex_test', series: String(i) },
    samples: [{ value: i, timestamp: BASE }],
    exemplars: Array.from({ length: 100 }, (_, k) => ({
      labels: { trace_id: pad(`t${i}-${k}`), span_id: pad(`s${i}-${k}`) },
      value: k / 10,
      timestamp: BASE + k,
    })),
  }));
  const ex = await write(encode({ series: exemplary }));
  assert.equal(ex.status, 204, await ex.text());
  await eventually(async () => metricSum(await metrics(), 'edgewrite_shard_queue_batches') === 0, 30_000, 'every queue compacted');
  const got = await samples('bulk_test');
  assert.equal(got.size, expected.size, 'every series');
  for (const [key, values] of expected) assert.deepEqual(got.get(key)?.values, values, key);
  const exemplars = await read('/api/v1/query_exemplars', { query: 'bulk_ex_test', start: '0', end: '4000000000' });
  assert.equal(exemplars.status, 200, JSON.stringify(exemplars.body));
  const bySeries = new Map(exemplars.body.data.map((d) => [d.seriesLabels.series, d.exemplars]));
  assert.equal(bySeries.size, 120, 'every series with exemplars');
  for (const s of exemplary) {
    const want = s.exemplars.map((e) => ({ labels: e.labels, value: String(e.value), timestamp: e.timestamp / 1000 }));
    assert.deepEqual(bySeries.get(s.labels.series), want, s.labels.series);
  }
});

test('chunks older than RETENTION go, thousands at a time over several compactions, and newer ones stay', async () => {
  // One shard, an hour of retention: 6000 series written three hours ago are compacted into
  // 6000 expired chunks, more than one compaction deletes (5000); a series of ten minutes ago stays.
  const short = await startWorker({ COMPACT_EVERY: '1s', SHARD_COUNT: '1', RETENTION: '1h' });
  try {
    const now = Date.now();
    const old = Array.from({ length: 6000 }, (_, i) => ({
      labels: { __name__: 'expired_test', series: String(i) },
      samples: [{ value: i, timestamp: now - 3 * 3_600_000 }],
    }));
    const kept = { labels: { __name__: 'kept_test' }, samples: [{ value: 7, timestamp: now - 600_000 }] };
    const res = await fetch(`${short.url}/api/v1/write`, {
      method: 'POST',
      body: encode({ series: [...old, kept] }),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
    });
    assert.equal(res.status, 204, await res.text());
    const count = async (name) => {
      const r = await fetch(`${short.url}/api/v1/samples?${new URLSearchParams({ 'match[]': name, start: '0', end: '4000000000' })}`);
      return (await r.json()).data.result.length;
    };
    await eventually(async () => (await count('expired_test')) === 0, 30_000, 'every expired chunk deleted');
    assert.equal(await count('kept_test'), 1, 'the chunk within retention stays');
  } finally {
    await short.stop();
  }
});

test('selectors, time ranges, series and metadata read as Prometheus\'s API does', async () => {
  const t0 = BASE;
  const body = encode(
    {
      series: [
        { labels: { __name__: 'rum_lcp_seconds', page: '/home' }, samples: [1, 2, 3].map((i) => ({ value: i / 10, timestamp: t0 + i * 1000 })),
          metadata: { type: 'gauge', help: 'Largest contentful paint.', unit: 'seconds' } },
        { labels: { __name__: 'rum_lcp_seconds', page: '/cart' }, samples: [{ value: 0.5, timestamp: t0 }] },
        { labels: { __name__: 'rum_errors_total', page: '/home' }, samples: [{ value: 7, timestamp: t0 }] },
      ],
    },
    { protocol: 'v2' },
  );
  const res = await write(body, 'alpha', 'v2');
  assert.equal(res.status, 204, await res.text());
  assert.equal(res.headers.get('X-Prometheus-Remote-Write-Samples-Written'), '5');

  const home = await read('/api/v1/samples', { 'match[]': 'rum_lcp_seconds{page="/home"}', start: String(t0 / 1000 + 2), end: String(t0 / 1000 + 3) });
  assert.deepEqual(home.body.data.result, [
    { metric: { __name__: 'rum_lcp_seconds', page: '/home', tenant: 'alpha' }, values: [[t0 / 1000 + 2, '0.2'], [t0 / 1000 + 3, '0.3']] },
  ]);
  const series = await read('/api/v1/series', { 'match[]': '{__name__=~"rum_.*", page!="/cart"}' });
  assert.deepEqual(series.body.data.map((s) => s.__name__).sort(), ['rum_errors_total', 'rum_lcp_seconds']);
  const meta = await read('/api/v1/metadata', {});
  assert.deepEqual(meta.body.data.rum_lcp_seconds, [{ type: 'gauge', help: 'Largest contentful paint.', unit: 'seconds' }]);

  for (const [params, message] of [
    [{ 'match[]': 'rum{page="/home"' }, /match\[\]=rum\{page="\/home": 1:17: parse error: unexpected end of input/],
    [{ 'match[]': '{page=~".*"}' }, /vector selector must contain at least one non-empty matcher/],
    [{ 'match[]': 'rate(rum[5m])' }, /expected a series selector/],
    [{ 'match[]': 'up', start: 'yesterday' }, /bad start "yesterday": give Unix seconds/],
    [{ 'match[]': 'up', start: '10', end: '5' }, /start is after end/],
    [{}, /give at least one series selector/],
  ]) {
    const r = await read('/api/v1/samples', params);
    assert.equal(r.status, 400, JSON.stringify(params));
    assert.equal(r.body.errorType, 'bad_data');
    assert.match(r.body.error, message);
  }
});

test('a batch stored twice reads back once: the first write of a timestamp wins, also across compaction', async () => {
  const t = BASE + 100_000;
  const one = (value, timestamp) =>
    encode({ series: [{ labels: { __name__: 'dup_test', job: 'x' }, samples: [{ value, timestamp }] }] });
  assert.equal((await write(one(1, t))).status, 204);
  assert.equal((await write(one(2, t))).status, 204, 'a sender retrying after a 503 sends the same timestamp again');
  assert.equal((await write(one(5, t - 5000))).status, 204, 'out of order within the store is kept, in order');
  const before = (await samples('dup_test')).values().next().value.values;
  assert.deepEqual(before, [[(t - 5000) / 1000, '5'], [t / 1000, '1']]);
  await eventually(async () => metricSum(await metrics(), 'edgewrite_shard_queue_batches') === 0, 20_000, 'every queue compacted');
  assert.equal((await write(one(3, t))).status, 204);
  assert.deepEqual((await samples('dup_test')).values().next().value.values, before, 'compacted data still wins');
});

test('tenants read only their own series, and reads need a token', async () => {
  const body = encode({ series: [{ labels: { __name__: 'beta_only' }, samples: [{ value: 1, timestamp: BASE }] }] });
  assert.equal((await write(body, 'beta')).status, 204);
  assert.equal((await samples('beta_only', 'beta')).size, 1);
  assert.equal((await samples('beta_only', 'alpha')).size, 0);
  assert.equal((await samples('{__name__=~".+"}', 'beta')).size, 1, 'beta sees none of alpha\'s series');
  const anonymous = await read('/api/v1/series', {}, null);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.errorType, 'unauthorized');
  assert.equal((await fetch(`${worker.url}/metrics`)).status, 401, '/metrics needs METRICS_TOKEN');
  assert.equal((await fetch(`${worker.url}/metrics`, { headers: auth('alpha') })).status, 401, 'a tenant token is not enough');
});

test('exemplars are kept and read back through /api/v1/query_exemplars, queued, compacted and after a restart', async () => {
  const t = BASE + 300_000;
  const ex = (trace, value, timestamp) => ({ labels: { trace_id: trace, span_id: `s-${trace}` }, value, timestamp });
  const series = (job, n, withExemplars) => ({
    labels: { __name__: 'ex_seconds_bucket', job, le: '0.5' },
    samples: Array.from({ length: n }, (_, i) => ({ value: i + 1, timestamp: t + i * 1000 })),
    exemplars: withExemplars ? Array.from({ length: n }, (_, i) => ex(`${job}${i}`, i / 10, t + i * 1000 + 250)) : [],
  });
  // 1.0 and 2.0 senders both carry them; a series without exemplars is not listed.
  assert.equal((await write(encode({ series: [series('v1', 3, true), series('none', 2, false)] }))).status, 204);
  const v2 = await write(encode({ series: [series('v2', 2, true)] }, { protocol: 'v2' }), 'alpha', 'v2');
  assert.equal(v2.status, 204);
  assert.equal(v2.headers.get('X-Prometheus-Remote-Write-Exemplars-Written'), '2');
  // A 1.0 sender may send an exemplar in a series entry of its own, without samples.
  const alone = { labels: series('v1', 0, false).labels, samples: [], exemplars: [ex('v1-alone', 0.5, t + 5000)] };
  assert.equal((await write(encode({ series: [alone] }))).status, 204);
  const query = (params) => read('/api/v1/query_exemplars', params);
  const expected = (job, n) => ({
    seriesLabels: { __name__: 'ex_seconds_bucket', job, le: '0.5', tenant: 'alpha' },
    exemplars: Array.from({ length: n }, (_, i) => ({ labels: { span_id: `s-${job}${i}`, trace_id: `${job}${i}` }, value: String(i / 10), timestamp: (t + i * 1000 + 250) / 1000 })),
  });
  const check = async (when) => {
    const all = await query({ query: 'histogram_quantile(0.9, rate(ex_seconds_bucket[5m]))' });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const v1 = expected('v1', 3);
    v1.exemplars.push({ labels: { span_id: 's-v1-alone', trace_id: 'v1-alone' }, value: '0.5', timestamp: (t + 5000) / 1000 });
    assert.deepEqual(all.body.data, [v1, expected('v2', 2)], when);
    // A time range keeps the exemplars inside it; a selector narrows the series.
    const some = await query({ query: 'ex_seconds_bucket{job="v1"}', start: String((t + 1000) / 1000), end: String((t + 1250) / 1000) });
    assert.deepEqual(some.body.data, [{ ...expected('v1', 2), exemplars: [expected('v1', 2).exemplars[1]] }], when);
  };
  await check('queued');
  await eventually(async () => metricSum(await metrics(), 'edgewrite_shard_queue_batches') === 0, 20_000, 'every queue compacted');
  await check('compacted');
  await worker.stop();
  worker = await startWorker(vars, { state });
  await check('after a restart');
  // Prometheus's answers for no selector, a bad query and a bad range.
  const none = await fetch(`${worker.url}/api/v1/query_exemplars?query=1%2B1`, { headers: auth('alpha') });
  assert.deepEqual([none.status, await none.text()], [204, ''], 'no selector: no content, as Prometheus');
  const bad = await query({ query: 'rate(ex_seconds_bucket[5m]' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /^1:\d+: parse error: /);
  const backwards = await query({ query: 'ex_seconds_bucket', start: '20', end: '10' });
  assert.deepEqual([backwards.status, backwards.body.error], [400, 'end timestamp must not be before start timestamp']);
  assert.equal((await read('/api/v1/query_exemplars', { query: 'ex_seconds_bucket' }, 'beta')).body.data.length, 0, 'tenants apart');
});

test('native histograms are kept whole and read back in Prometheus\'s bucket form', async () => {
  const t = BASE + 200_000;
  const body = encode(
    {
      series: [{
        labels: { __name__: 'req_duration_seconds', job: 'h' },
        histograms: [
          { count: 6, sum: 10, schema: 0, zeroThreshold: 0.001, zeroCount: 1, positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [2, 1], timestamp: t },
          { count: 0, sum: 0, stale: true, schema: 0, timestamp: t + 1000 },
        ],
      }],
    },
    { protocol: 'v2' },
  );
  const res = await write(body, 'alpha', 'v2');
  assert.equal(res.status, 204, await res.text());
  assert.equal(res.headers.get('X-Prometheus-Remote-Write-Histograms-Written'), '2');
  const [series] = (await samples('req_duration_seconds')).values();
  assert.deepEqual(series.histograms, [
    [t / 1000, { count: '6', sum: '10', buckets: [[3, '-0.001', '0.001', '1'], [0, '1', '2', '2'], [0, '2', '4', '3']] }],
    [t / 1000 + 1, 'stale'],
  ]);
});

test('the PromQL page in www/ lists the metrics, runs a range query and draws it with uPlot', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic'],
  });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(worker.url);
    await page.fill('#token', 'alpha-token');
    await page.dispatchEvent('#token', 'change');
    // The metric picker lists what arrived; picking one runs it.
    await page.waitForSelector('#metric option[value="dup_test"]', { state: 'attached' }).catch(async (e) => {
      throw new Error(`${e.message}\nthe page said: ${await page.textContent('#status')}`);
    });
    await page.selectOption('#range', '86400');
    // dup_test holds two samples a few seconds apart: a step longer than the 5-minute lookback
    // (the day's auto step is 346 s) would find them only when a step happens to land in the
    // 5 minutes after them.
    await page.fill('#step', '60');
    await page.selectOption('#metric', 'dup_test');
    await page.waitForSelector('#series tbody tr').catch(async (e) => {
      throw new Error(`${e.message}\nthe page said: ${await page.textContent('#status')}; query ${await page.inputValue('#expr')}`);
    });
    const rows = await page.$$eval('#series tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.equal(rows.length, 1);
    assert.equal(rows[0][0], 'dup_test{job="x", tenant="alpha"}');
    assert.ok(Number(rows[0][2]) > 0, 'points drawn');
    await page.waitForSelector('#chart canvas');
    assert.match(await page.textContent('#status'), /^1 series, step 60,/);
    // A query that does not parse says why, with the parser's position.
    await page.fill('#expr', 'sum(rate(dup_test[5m])');
    await page.click('button[type=submit]');
    await page.waitForSelector('#status.error');
    assert.match(await page.textContent('#status'), /parse error/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
