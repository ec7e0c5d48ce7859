// The whole chain with real peers: Prometheus A scrapes itself every second and remote-writes
// to the Worker, which forwards to Prometheus B. After more than a minute of scrapes, every
// series A scraped is in B with the same samples (plus the tenant label the edge adds).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, sleep, startPrometheus, startWorker } from './helpers.mjs';

let a;
let b;
let worker;

before(async () => {
  b = await startPrometheus();
  worker = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: `${b.api}/api/v1/write`, UPSTREAM_PROTOCOL: 'v1' });
  a = await startPrometheus((port) => `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: self
    static_configs: [{ targets: ['127.0.0.1:${port}'] }]
remote_write:
  - url: ${worker.url}/api/v1/write
    queue_config: { batch_send_deadline: 1s }
`);
});

after(async () => {
  await a?.stop();
  await worker?.stop();
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
});
