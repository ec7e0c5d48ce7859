// Browser RUM through the Worker under `wrangler dev`: pages' pushes of increments become
// cumulative, in-order series in the embedded store, exact across many sessions and across a
// restart of the Worker; idle series end with a stale marker; label values past the cap fold
// into "other"; each refusal answers with its status and a reason.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encode } from '../../pkg/node.js';
import { LCP, eventually, rumSession as session, startWorker } from './helpers.mjs';

const vars = {
  RUM_FLUSH_EVERY: '1s',
  RUM_IDLE: '10m',
  RUM_MAX_VALUES: '4',
  RUM_MAX_BODY_BYTES: '16384',
  ALLOWED_ORIGINS: 'https://shop.example',
  COMPACT_EVERY: '1s',
  SHARD_COUNT: '2',
};
const state = mkdtempSync(join(tmpdir(), 'edgewrite-rum-'));
let worker;

before(async () => {
  worker = await startWorker(vars, { state });
});

after(async () => {
  await worker?.stop();
  rmSync(state, { recursive: true, force: true });
});

/** Pushes as a page does on `pagehide`: no preflight (text/plain, no Content-Encoding). */
async function push(series, headers = { 'Content-Type': 'text/plain;charset=UTF-8', Origin: 'https://shop.example' }, query = '') {
  const res = await fetch(`${worker.url}/api/v1/rum${query}`, { method: 'POST', body: encode({ series }), headers });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const instant = (query) => worker.query(query);

const value = async (query) => {
  const r = await instant(query);
  return r.length === 1 ? Number(r[0].value[1]) : r.length === 0 ? undefined : r.map((s) => [s.metric, s.value[1]]);
};

test('20 sessions add up exactly, in order, and a restart resets nothing', async () => {
  let views = 0;
  const observations = [];
  for (let i = 0; i < 20; i++) {
    const lcp = i % 3 === 0 ? [] : [0.3 + i * 0.2, 1.1 * (i % 4)];
    const r = await push(session({ route: '/home', views: 1 + (i % 2), lcp }));
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers.get('Access-Control-Allow-Origin'), 'https://shop.example');
    views += 1 + (i % 2);
    observations.push(...lcp);
  }
  // The standard remote-write headers work too.
  const r = await push(session({ route: '/home' }), { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' });
  assert.equal(r.status, 204, r.text);
  views += 1;
  await eventually(async () => (await value('rum_page_views_total{route="/home"}')) === views, 20_000, `page views = ${views}`);
  await eventually(async () => (await value('rum_lcp_seconds_count{route="/home"}')) === observations.length, 20_000, 'LCP count');
  assert.equal(await value('rum_lcp_seconds_bucket{route="/home",le="2.5"}'), observations.filter((x) => x <= 2.5).length);
  const sum = observations.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs((await value('rum_lcp_seconds_sum{route="/home"}')) - sum) < 1e-9, 'LCP sum');
  assert.ok((await value('histogram_quantile(0.75, rum_lcp_seconds_bucket{route="/home"})')) > 0, 'p75 from the buckets');

  // The Worker restarts; the totals go on from where they were.
  await worker.stop();
  worker = await startWorker(vars, { state });
  assert.equal((await push(session({ route: '/home', views: 5 }))).status, 204);
  await eventually(async () => (await value('rum_page_views_total{route="/home"}')) === views + 5, 20_000, 'no counter reset');

  // Every series' timestamps strictly increase (one writer, flush times always later).
  const end = Date.now() / 1000;
  const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': '{__name__=~"rum_.+"}', start: String(end - 600), end: String(end + 60) })}`);
  const samples = (await res.json()).data.result;
  assert.ok(samples.length >= 15, `${samples.length} series`);
  for (const s of samples) {
    const ts = s.values.map(([t]) => t);
    assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]), `${JSON.stringify(s.metric)}: ${ts}`);
    const vs = s.values.map(([, v]) => Number(v)).filter((v) => !Number.isNaN(v));
    // (LCP sums too: observations are never negative, and totals read back to the bit.)
    assert.ok(vs.every((v, i) => i === 0 || v >= vs[i - 1]), `monotonic: ${JSON.stringify(s.metric)}`);
  }
});

test('each refusal says why, and the rest of the push is taken', async () => {
  const cases = [
    [{ labels: { __name__: 'rum_secret_total' }, samples: [{ value: 1, timestamp: Date.now() }] }, 400, /rum_secret_total: not a declared RUM metric/],
    [{ labels: { __name__: 'rum_page_views_total', user: 'alice' }, samples: [{ value: 1, timestamp: Date.now() }] }, 400, /label "user" is not allowed on rum_page_views_total/],
    [{ labels: { __name__: 'rum_page_views_total', route: '/x' }, samples: [{ value: -3, timestamp: Date.now() }] }, 400, /increment -3 is outside the allowed range/],
    [{ labels: { __name__: 'rum_lcp_seconds', route: '/x' }, samples: [{ value: 2.1, timestamp: Date.now() }] }, 400, /a histogram: push its rum_lcp_seconds_bucket/],
  ];
  for (const [bad, status, says] of cases) {
    const r = await push([bad, ...session({ route: '/ok' })]);
    assert.equal(r.status, status, r.text);
    assert.match(r.text, says);
  }
  const year = await push(session({ route: '/x', lcp: [31_536_000] }));
  assert.equal(year.status, 400);
  assert.match(year.text, /the mean observation 31536000 is outside the allowed range \[0, 600\]/);
  // Each refusal above kept the good part: 4 views of /ok.
  await eventually(async () => (await value('rum_page_views_total{route="/ok"}')) === 4, 20_000, 'the good part written');
  const route = () => `/${Math.random().toString(36).slice(2)}`;
  const big = await push(Array.from({ length: 3000 }, () => ({ labels: { __name__: 'rum_page_views_total', route: route() }, samples: [{ value: 1, timestamp: Date.now() }] })));
  assert.equal(big.status, 413);
  assert.match(big.text, /RUM_MAX_BODY_BYTES/);
  assert.equal((await push(session({ route: '/' }), { 'Content-Type': 'text/plain', Origin: 'https://elsewhere.example' })).status, 403);
  const get = await fetch(`${worker.url}/api/v1/rum`);
  assert.equal(get.status, 405);
});

test('a native histogram pushed as remote write 2.0 is taken at the declared buckets', async () => {
  // Custom bounds equal to the declared LCP buckets (exact), then an exponential one (schema
  // 0: 0.7 in (0.5, 1], 3 and 3.5 in (2, 4]), counted at the first declared bound at or above
  // each bucket's upper bound.
  const base = { route: '/native', rating: 'good' };
  const custom = { count: 3, float: true, sum: 4.9, schema: -53, customValues: LCP, positiveSpans: [{ offset: 0, length: 7 }], positiveCounts: [1, 0, 1, 0, 0, 0, 1], timestamp: Date.now() };
  const exponential = { count: 3, sum: 7.2, schema: 0, positiveSpans: [{ offset: 0, length: 1 }, { offset: 1, length: 1 }], positiveDeltas: [1, 1], timestamp: Date.now() };
  const v2 = { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'Content-Encoding': 'snappy', Origin: 'https://shop.example' };
  for (const h of [custom, exponential]) {
    const res = await fetch(`${worker.url}/api/v1/rum`, { method: 'POST', body: encode({ series: [{ labels: { __name__: 'rum_lcp_seconds', ...base }, histograms: [h] }] }, { protocol: 'v2' }), headers: v2 });
    assert.equal(res.status, 204, await res.text());
  }
  await eventually(async () => (await value('rum_lcp_seconds_count{route="/native"}')) === 6, 20_000, 'six observations');
  const le = async (bound) => value(`rum_lcp_seconds_bucket{route="/native",le="${bound}"}`);
  assert.deepEqual([await le('0.5'), await le('1'), await le('1.5'), await le('4'), await le('+Inf')], [1, 2, 3, 6, 6]);
  assert.ok(Math.abs((await value('rum_lcp_seconds_sum{route="/native"}')) - 12.1) < 1e-9);
  // Under a part's name it is refused, saying where it goes.
  const res = await fetch(`${worker.url}/api/v1/rum`, { method: 'POST', body: encode({ series: [{ labels: { __name__: 'rum_lcp_seconds_bucket', le: '1', ...base }, histograms: [custom] }] }, { protocol: 'v2' }), headers: v2 });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /native histogram samples go under a declared histogram's own name/);
});

test('a push tried again with its id is added once; a new id adds again', async () => {
  const page = session({ route: '/retry', views: 3, lcp: [1.2] });
  const headers = { 'Content-Type': 'text/plain', Origin: 'https://shop.example' };
  // Both aggregators (page views, LCP) store the first try; the page did not hear back.
  for (let i = 0; i < 3; i++) assert.equal((await push(page, headers, '?push=k3f9-a')).status, 204);
  assert.equal((await push(page, headers, '?push=k3f9-b')).status, 204);
  await eventually(async () => (await value('rum_page_views_total{route="/retry"}')) === 6, 20_000, 'two pushes of 3 views');
  assert.equal(await value('rum_lcp_seconds_count{route="/retry"}'), 2, 'two LCP observations');
  const bad = await push(page, headers, '?push=not%20an%20id');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /push id "not%20an%20id" must be 1 to 64 letters, digits, _ or -/);
  // Still 6 at a later flush: the retries and the refused push added nothing.
  const now = Date.now() / 1000;
  await eventually(async () => (await value('timestamp(rum_page_views_total{route="/retry"})')) > now + 1, 20_000, 'a later flush');
  assert.equal(await value('rum_page_views_total{route="/retry"}'), 6);
});

test('label values past RUM_MAX_VALUES fold into "other"', async () => {
  // /home and /once are known values of route already (the latter may have been forgotten).
  for (const route of ['/a', '/b', '/c', '/d', '/e']) assert.equal((await push(session({ route }))).status, 204);
  await eventually(async () => (await value('rum_page_views_total{route="other"}')) >= 2, 20_000, 'folded into other');
  const routes = (await instant('rum_page_views_total')).map((s) => s.metric.route);
  assert.ok(routes.length <= 4 + 1, `at most 4 values and "other": ${routes}`);
  // /metrics counts the folds (durably, per aggregator) and the pushes by status.
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  const sum = (name) => text.split('\n').filter((l) => l.startsWith(name)).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  assert.ok(sum('edgewrite_rum_folded_total{') >= 2, text);
  assert.ok(sum('edgewrite_rum_series{') >= 5, 'series kept by the aggregators');
  assert.ok(sum('edgewrite_rum_pushes_total{status="204"}') >= 5);
});

test('an idle series ends with a stale marker and leaves instant queries', async () => {
  // The same Worker and state with a short RUM_IDLE.
  await worker.stop();
  worker = await startWorker({ ...vars, RUM_IDLE: '3s', RUM_RATE_LIMIT: '3/m' }, { state });
  assert.equal((await push(session({ route: '/once' }))).status, 204);
  await eventually(async () => (await value('rum_page_views_total{route="/once"}')) === 1, 20_000, 'the series appears');
  // After RUM_IDLE, a stale marker: an instant query no longer sees it.
  await eventually(async () => (await value('rum_page_views_total{route="/once"}')) === undefined, 30_000, 'the series ends');
  const end = Date.now() / 1000;
  const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': 'rum_page_views_total{route="/once"}', start: String(end - 120), end: String(end + 60) })}`);
  const [series] = (await res.json()).data.result;
  assert.equal(series.values.at(-1)[1], 'stale');
});

test('a client over RUM_RATE_LIMIT gets 429 with Retry-After', async () => {
  // RUM_RATE_LIMIT is 3/m since the last restart, which one push has used.
  assert.equal((await push(session({ route: '/r' }))).status, 204);
  assert.equal((await push(session({ route: '/r' }))).status, 204);
  const over = await push(session({ route: '/r' }));
  assert.equal(over.status, 429, over.text);
  assert.match(over.text, /too many pushes from this client \(RUM_RATE_LIMIT\): retry in \d+ s/);
  assert.ok(Number(over.headers.get('Retry-After')) >= 1 && Number(over.headers.get('Retry-After')) <= 20, over.headers.get('Retry-After'));
  assert.equal(over.headers.get('Access-Control-Allow-Origin'), 'https://shop.example', 'a page can read why');
});
