// The whole chain with real peers: Prometheus A scrapes itself every second and remote-writes
// to two Workers: one forwards to Prometheus B, the other keeps everything in its embedded
// store. After more than a minute of scrapes, every series A scraped is in B, and in the
// embedded store (read back through the read API), with the same samples (plus the tenant label
// the edge adds).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, sleep, startPrometheus, startWorker } from './helpers.mjs';

let a;
let b;
let worker;
let embedded;

before(async () => {
  b = await startPrometheus();
  worker = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: `${b.api}/api/v1/write`, UPSTREAM_PROTOCOL: 'v1' });
  // Compacting every few seconds, so that the comparison reads chunks as well as the queue.
  embedded = await startWorker({ BACKEND: 'embedded', COMPACT_EVERY: '5s' });
  a = await startPrometheus((port) => `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: self
    static_configs: [{ targets: ['127.0.0.1:${port}'] }]
remote_write:
  - url: ${worker.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s }
  - url: ${embedded.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s }
    metadata_config: { send: true, send_interval: 5s }
`);
});

after(async () => {
  await a?.stop();
  await worker?.stop();
  await embedded?.stop();
  await b?.stop();
});

/** `{job="self"}` samples over `[from, to]` (ms), keyed by labels (minus `tenant`). */
async function samples(prom, from, to) {
  const result = await prom.query(`{job="self"}[${Math.round((to - from) / 1000)}s]`, to);
  const out = new Map();
  for (const r of result) {
    const { tenant, ...labels } = r.metric;
    out.set(JSON.stringify(Object.entries(labels).sort()), { tenant, values: r.values.map(([t, v]) => `${t}=${v}`) });
  }
  return out;
}

/** The same from the embedded store's read API (stale markers left out, as PromQL does). */
async function stored(from, to) {
  const qs = new URLSearchParams({ 'match[]': '{job="self"}', start: String(from / 1000), end: String(to / 1000) });
  const body = await (await fetch(`${embedded.url}/api/v1/samples?${qs}`)).json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  const out = new Map();
  for (const r of body.data.result) {
    const { tenant, ...labels } = r.metric;
    const values = r.values.filter(([, v]) => v !== 'stale').map(([t, v]) => `${t}=${v}`);
    if (values.length) out.set(JSON.stringify(Object.entries(labels).sort()), { tenant, values });
  }
  return out;
}

test('a minute of Prometheus scrapes arrives through the Worker, sample for sample', async () => {
  const start = Date.now();
  await sleep(65_000);
  // Compare a window that ended a few seconds ago, so that remote write has caught up.
  const to = Date.now() - 5_000;
  const from = start + 5_000;
  const inA = await samples(a, from, to);
  assert.ok(inA.size > 100, `A scraped ${inA.size} series`);
  const inB = await eventually(async () => {
    const m = await samples(b, from, to);
    return m.size >= inA.size ? m : null;
  }, 30_000, 'B to hold every series A has');
  let compared = 0;
  for (const [key, { values }] of inA) {
    const got = inB.get(key);
    assert.ok(got, `B lacks ${key}`);
    assert.equal(got.tenant, 'anonymous');
    assert.deepEqual(got.values, values, `samples of ${key}`);
    compared += values.length;
  }
  assert.ok(compared > inA.size * 40, `${compared} samples compared over ${inA.size} series`);

  // The embedded store holds the same, over exactly the window PromQL's range selected.
  const window = Math.round((to - from) / 1000) * 1000;
  const inStore = await eventually(async () => {
    const m = await stored(to - window, to);
    return m.size >= inA.size ? m : null;
  }, 30_000, 'the embedded store to hold every series A has');
  for (const [key, { values }] of inA) {
    const got = inStore.get(key);
    assert.ok(got, `the embedded store lacks ${key}`);
    assert.equal(got.tenant, 'anonymous');
    assert.deepEqual(got.values, values, `stored samples of ${key}`);
  }
  // Prometheus sends 1.0 family metadata in requests of its own: kept too.
  const metadata = (await (await fetch(`${embedded.url}/api/v1/metadata`)).json()).data;
  assert.equal(metadata.prometheus_http_requests_total?.[0]?.type, 'counter', JSON.stringify(Object.keys(metadata).slice(0, 20)));
  assert.match(metadata.prometheus_http_requests_total[0].help, /HTTP requests/);
  const metrics = await (await fetch(`${embedded.url}/metrics`)).text();
  assert.match(metrics, /edgewrite_shard_stored_points_total\{tenant="anonymous",shard="0"[^}]*\} [1-9]/, 'compaction ran');
});
