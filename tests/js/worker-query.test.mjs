// The Prometheus query API on the Worker's embedded store, as Grafana, promtool and vmalert
// call it: GET and form POST, instant and range queries, and Prometheus's errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encode } from '../../pkg/node.js';
import { eventually, freePort, startProcess, startWorker } from './helpers.mjs';

let worker;
// Ten minutes of counters scraped every 15 s, ending on a whole minute.
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const base = end - 600_000;

before(async () => {
  worker = await startWorker({ COMPACT_EVERY: '1h' });
  const counter = (instance, job, per) => ({
    labels: { __name__: 'qx_total', job, instance },
    samples: Array.from({ length: 41 }, (_, i) => ({ value: i * per, timestamp: base + i * 15_000 })),
  });
  const body = encode({ series: [counter('a', 'api', 1), counter('b', 'api', 2), counter('c', 'web', 3)] });
  const res = await fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  assert.equal(res.status, 204, await res.text());
});

after(async () => {
  await worker?.stop();
});

const get = async (path, params) => {
  const res = await fetch(`${worker.url}${path}?${new URLSearchParams(params)}`);
  return { status: res.status, body: await res.json() };
};

const post = async (path, params) => {
  const res = await fetch(`${worker.url}${path}`, {
    method: 'POST',
    body: new URLSearchParams(params).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  return { status: res.status, body: await res.json() };
};

const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

test("Grafana's health check: 1+1 is the scalar 2", async () => {
  const r = await get('/api/v1/query', { query: '1+1', time: String(end / 1000) });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [end / 1000, '2'] } });
});

test('instant queries, GET and form POST, read what was written', async () => {
  for (const call of [get, post]) {
    const r = await call('/api/v1/query', { query: 'sum by (job) (qx_total)', time: new Date(end).toISOString() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.resultType, 'vector');
    const byJob = Object.fromEntries(r.body.data.result.map((s) => [s.metric.job, Number(s.value[1])]));
    assert.deepEqual(byJob, { api: 40 * 3, web: 40 * 3 });
  }
  // A PromQL comment (#) in a form body is part of the query, not a URL fragment.
  const commented = await post('/api/v1/query', { query: 'count(qx_total) # how many\n', time: String(end / 1000) });
  assert.equal(commented.body.data.result[0].value[1], '3', JSON.stringify(commented.body));
  const r = await get('/api/v1/query', { query: 'rate(qx_total{instance="b"}[1m])', time: String(end / 1000) });
  assert.deepEqual(r.body.data.result.map((s) => s.metric), [{ instance: 'b', job: 'api', tenant: 'anonymous' }]);
  assert.ok(close(Number(r.body.data.result[0].value[1]), 2 / 15));
});

test('range queries step through time, as vmalert and Grafana ask them', async () => {
  const params = { query: 'sum(rate(qx_total[1m]))', start: String((end - 300_000) / 1000), end: String(end / 1000), step: '60s' };
  const r = await post('/api/v1/query_range', params);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.resultType, 'matrix');
  const [series] = r.body.data.result;
  assert.deepEqual(series.metric, {});
  assert.deepEqual(series.values.map(([t]) => t * 1000), [0, 1, 2, 3, 4, 5].map((i) => end - 300_000 + i * 60_000));
  for (const [, v] of series.values) assert.ok(close(Number(v), 6 / 15), v);
});

test('errors as Prometheus gives them', async () => {
  let r = await get('/api/v1/query', { query: 'sum(rate(qx_total[1m])', time: String(end / 1000) });
  assert.equal(r.status, 400);
  assert.equal(r.body.errorType, 'bad_data');
  assert.equal(r.body.error, 'invalid parameter "query": 1:23: parse error: unclosed left parenthesis', 'as Prometheus 2.42 says it');
  r = await get('/api/v1/query', { query: 'holt_winters(qx_total[5m], 0.5, 0.5)', time: String(end / 1000) });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /function "holt_winters" is not supported/);
  r = await get('/api/v1/query', { query: 'label_replace(qx_total, "instance", "", "instance", ".*")', time: String(end / 1000) });
  assert.equal(r.status, 422, 'two series with one label set');
  assert.equal(r.body.errorType, 'execution');
  assert.equal(r.body.error, 'vector cannot contain metrics with the same labelset');
  r = await get('/api/v1/query_range', { query: 'qx_total', start: '0', end: '100000', step: '1' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /exceeded maximum resolution of 11,000 points per timeseries/);
  r = await get('/api/v1/query_range', { query: 'qx_total', start: '0', end: '10' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid parameter "step"/);
  r = await get('/api/v1/query', { query: 'nope(qx_total)' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid parameter "query": 1:1: parse error: unknown function with name "nope"');
  // A timeout bounds the evaluation's work: an hour at 1 ms steps cannot finish in 10 ms.
  r = await post('/api/v1/query', { query: 'count_over_time(vector(1)[1h:1ms])', timeout: '10ms' });
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.deepEqual([r.body.errorType, r.body.error], ['timeout', 'query timed out in expression evaluation']);
  r = await get('/api/v1/query', { query: '1', timeout: 'never' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid parameter "timeout"/);
  r = await get('/api/v1/query', { query: 'qx_total', time: 'soon' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid parameter "time"/);
});

test("Grafana's pickers: label names, label values with match[], series with limit=40000", async () => {
  const range = { start: String((end - 3_600_000) / 1000), end: String(end / 1000) };
  let r = await get('/api/v1/labels', range);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data, ['__name__', 'instance', 'job', 'tenant']);
  r = await post('/api/v1/labels', { 'match[]': '{job="web"}' });
  assert.deepEqual(r.body.data, ['__name__', 'instance', 'job', 'tenant']);
  r = await get('/api/v1/label/__name__/values', { 'match[]': '{job="api"}', ...range });
  assert.deepEqual(r.body, { status: 'success', data: ['qx_total'] });
  r = await get('/api/v1/label/instance/values', {});
  assert.deepEqual(r.body.data, ['a', 'b', 'c']);
  r = await get('/api/v1/label/instance/values', { 'match[]': '{job="api"}', limit: '1' });
  assert.deepEqual(r.body, { status: 'success', data: ['a'], warnings: ['results truncated due to limit'] });
  r = await post('/api/v1/series', { 'match[]': 'qx_total', limit: '40000', ...range });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data.map((s) => s.instance), ['a', 'b', 'c']);
  // A range with no samples lists no series.
  r = await get('/api/v1/series', { 'match[]': 'qx_total', start: String((base - 7_200_000) / 1000), end: String((base - 3_600_000) / 1000) });
  assert.deepEqual(r.body.data, []);
  // A path that only looks like a label's values (the panic a second reading found).
  assert.equal((await fetch(`${worker.url}/api/v1/label/values`)).status, 404);
  r = await get('/api/v1/label/1nope/values', {});
  assert.equal(r.status, 400);
  assert.equal(r.body.error, 'invalid label name: "1nope"');
  r = await get('/api/v1/series', { 'match[]': 'qx_total{' });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /invalid parameter "match\[\]": 1:10: parse error/);
  r = await get('/api/v1/status/buildinfo', {});
  assert.equal(r.body.data.version, '2.42.0');
});

test('native histograms: histogram_quantile, histogram_count, sum of rate, in the histogram and histograms fields', async () => {
  // A native histogram a minute over the 10 minutes (schema 0: buckets (1,2], (2,4]): k+1
  // observations in each bucket at minute k, sum 3(k+1).
  const histograms = Array.from({ length: 11 }, (_, k) => ({
    count: 2 * (k + 1), sum: 3 * (k + 1), schema: 0, zeroThreshold: 0.001, zeroCount: 0,
    positiveSpans: [{ offset: 1, length: 2 }], positiveDeltas: [k + 1, 0], timestamp: base + k * 60_000,
  }));
  const body = encode({ series: [{ labels: { __name__: 'qh_seconds', job: 'api' }, histograms }] }, { protocol: 'v2' });
  const res = await fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'Content-Encoding': 'snappy' },
  });
  assert.equal(res.status, 204, await res.text());
  const at = String(end / 1000);
  // 11 in (1,2], 11 in (2,4]: the median is the first bucket's top; 0.75 is half into the second.
  let r = await get('/api/v1/query', { query: 'histogram_quantile(0.75, qh_seconds)', time: at });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.data.result.map((s) => s.value[1]), ['3']);
  r = await get('/api/v1/query', { query: 'histogram_count(qh_seconds)', time: at });
  assert.deepEqual(r.body.data.result.map((s) => [s.metric.job, s.value[1]]), [['api', '22']]);
  // The raw selector answers in the histogram field, in Prometheus's bucket form.
  r = await get('/api/v1/query', { query: 'qh_seconds', time: at });
  assert.deepEqual(r.body.data.result[0].histogram, [end / 1000, { count: '22', sum: '33', buckets: [[0, '1', '2', '11'], [0, '2', '4', '11']] }]);
  // 2 observations a minute: rate 1/30 per second, in a range query's histograms field.
  r = await post('/api/v1/query_range', { query: 'sum(rate(qh_seconds[5m]))', start: String((end - 120_000) / 1000), end: at, step: '60' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [series] = r.body.data.result;
  assert.equal(series.values, undefined);
  assert.deepEqual(series.histograms.map(([t]) => t * 1000), [end - 120_000, end - 60_000, end]);
  for (const [, h] of series.histograms) assert.ok(close(Number(h.count), 2 / 60), JSON.stringify(h));
  // What is not supported for native histograms says so.
  r = await get('/api/v1/query', { query: 'max(qh_seconds)', time: at });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /native histograms in max\(\) is not supported/);
});

test('promtool, a real client of the API, queries the Worker', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = (args) => promisify(execFile)('promtool', args).then((r) => r.stdout, (e) => `${e.stdout}${e.stderr}`);
  const instant = await run(['query', 'instant', `--time=${end / 1000}`, worker.url, 'sum by (job) (qx_total)']);
  assert.match(instant, /\{job="api"\} => 120 @\[/);
  assert.match(instant, /\{job="web"\} => 120 @\[/);
  const range = await run(['query', 'range', `--start=${(end - 120_000) / 1000}`, `--end=${end / 1000}`, '--step=60s', worker.url, 'count(qx_total)']);
  assert.deepEqual(range.trim().split('\n').slice(1).map((l) => l.split(' @')[0]), ['3', '3', '3']);
  const series = await run(['query', 'series', '--match=qx_total{job="web"}', worker.url]);
  assert.match(series, /\{__name__="qx_total", instance="c", job="web", tenant="anonymous"\}/);
  const values = await run(['query', 'labels', worker.url, 'instance']);
  assert.deepEqual(values.trim().split('\n'), ['a', 'b', 'c']);
  const refused = await run(['query', 'instant', worker.url, 'rate(qx_total)']);
  assert.match(refused, /bad_data: invalid parameter "query": 1:1: parse error: expected type range vector/);
});

test('vmalert evaluates recording rules against the Worker and writes their results back', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'edgewrite-vmalert-'));
  writeFileSync(
    join(dir, 'rules.yml'),
    ['groups:', '  - name: edgewrite', '    interval: 1s', '    rules:', '      - record: job:qx_total:count', '        expr: count by (job) (last_over_time(qx_total[1h]))', ''].join('\n'),
  );
  const port = await freePort();
  const vmalert = await startProcess('vmalert', [`-rule=${join(dir, 'rules.yml')}`, `-datasource.url=${worker.url}`, `-remoteWrite.url=${worker.url}`,
    `-httpListenAddr=127.0.0.1:${port}`, '-evaluationInterval=1s', '-remoteWrite.flushInterval=200ms'], `http://127.0.0.1:${port}/health`);
  try {
    // What vmalert recorded comes back from the Worker as a series of its own.
    const recorded = await eventually(async () => {
      const r = await get('/api/v1/query', { query: 'job:qx_total:count' });
      return r.body.data.result.length === 2 && r.body.data.result;
    }, 30_000, 'the recorded series');
    const byJob = Object.fromEntries(recorded.map((s) => [s.metric.job, s.value[1]]));
    assert.deepEqual(byJob, { api: '2', web: '1' });
    // vmalert's own view: its rule evaluated without errors.
    const groups = await (await fetch(`http://127.0.0.1:${port}/api/v1/rules`)).json();
    const rule = groups.data.groups[0].rules[0];
    assert.equal(rule.lastError ?? '', '', JSON.stringify(rule));
  } catch (err) {
    throw new Error(`${err.message}\nvmalert said:\n${vmalert.log().slice(-6000)}`);
  } finally {
    await vmalert.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
