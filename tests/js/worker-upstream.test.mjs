// The Worker forwarding to a real upstream: Debian's Prometheus as the remote-write receiver
// behind the Worker (BACKEND = "remote_write"). What the npm sender writes to the Worker is
// read back from Prometheus, every value, in order, stale marker included.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RemoteWriter } from '../../pkg/node.js';
import { eventually, startPrometheus, startWorker } from './helpers.mjs';

let prom;
let worker;

before(async () => {
  prom = await startPrometheus();
  worker = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: `${prom.api}/api/v1/write`, UPSTREAM_PROTOCOL: 'v1' });
});

after(async () => {
  await worker?.stop();
  await prom?.stop();
});

test('what is written to the Worker arrives in Prometheus, in order, with the tenant label', async () => {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const base = now - 60_000;
  const w = new RemoteWriter({ url: `${worker.url}/api/v1/write`, protocol: 'v2', batchSendDeadlineMs: 20 });
  const run = String(process.pid);
  const s = w.series({ __name__: 'via_worker', run }, { type: 'gauge', help: 'Through the Worker.' });
  const values = [3, 1, 4, 1, 5, 9, 2, 6];
  values.forEach((v, i) => s.push(v, base + i * 1000));
  s.stale(base + values.length * 1000);
  const many = Array.from({ length: 40 }, (_, i) => w.series({ __name__: 'via_worker_many', run, i: String(i) }));
  w.pushMany(many, many.map((_, i) => i), many.map(() => base));
  await w.close({ timeoutMs: 30_000 });
  assert.equal(w.stats().samples.total, values.length + 1 + 40);

  const [r] = await eventually(async () => {
    const res = await prom.query(`via_worker{run="${run}"}[10m]`, now);
    return res.length && res[0].values.length === values.length ? res : null;
  }, 30_000, 'the samples to reach Prometheus');
  assert.deepEqual(r.metric, { __name__: 'via_worker', run, tenant: 'anonymous' });
  assert.deepEqual(r.values.map(([t, v]) => [t * 1000, Number(v)]), values.map((v, i) => [base + i * 1000, v]));
  assert.deepEqual(await prom.query(`via_worker{run="${run}"}`, base + values.length * 1000 + 500), [], 'the stale marker arrived');
  const many2 = await eventually(async () => {
    const res = await prom.query(`via_worker_many{run="${run}"}[10m]`, now);
    return res.length === 40 ? res : null;
  }, 30_000, 'all 40 series');
  for (const m of many2) assert.deepEqual(m.values.map(([, v]) => Number(v)), [Number(m.metric.i)]);
});

test('the upstream down for a while and the Worker restarted: everything acknowledged arrives, in order', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { scriptedReceiver } = await import('./helpers.mjs');
  // The upstream fails the first attempts in every way it can, then accepts.
  const upstream = await scriptedReceiver([503, 'drop', 500, { status: 429, headers: { 'Retry-After': '1' } }, 503]);
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-restart-'));
  const vars = { BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, UPSTREAM_PROTOCOL: 'v1' };
  let w1 = await startWorker(vars, { state });
  const writer = new RemoteWriter({ url: `${w1.url}/api/v1/write`, shards: 1, maxSamplesPerSend: 5, batchSendDeadlineMs: 10 });
  const s = writer.series({ __name__: 'survives', run: String(process.pid) });
  for (let t = 1; t <= 30; t++) s.push(t, t * 1000);
  await writer.close({ timeoutMs: 30_000 });
  assert.equal(writer.stats().samples.total, 30, 'the Worker acknowledged everything');
  // Restart the Worker on the same state while deliveries are still being retried.
  await w1.stop();
  w1 = await startWorker(vars, { state, port: w1.port });
  try {
    const delivered = await eventually(() => {
      const got = upstream.delivered().get(`{"__name__":"survives","run":"${process.pid}","tenant":"anonymous"}`);
      return got?.length === 30 ? got : null;
    }, 60_000, 'all 30 samples upstream');
    assert.deepEqual(delivered, Array.from({ length: 30 }, (_, i) => (i + 1) * 1000), 'in order, each once');
    assert.ok(upstream.requests.some((r) => Number(r.headers['retry-attempt']) >= 1), 'retries said so');
  } finally {
    await w1.stop();
    rmSync(state, { recursive: true, force: true });
    await upstream.close();
  }
});

test('a refused re-batched request is sent again batch by batch: only what the upstream refuses is dropped', async () => {
  const { scriptedReceiver } = await import('./helpers.mjs');
  const { encode } = await import('../../pkg/node.js');
  // Down long enough for the batches to pile up, then a 400 for the joined request, then
  // a 400 for the first batch alone (the one it really refuses); the rest is accepted.
  const upstream = await scriptedReceiver([503, 503, 503, 503, { status: 400, body: 'joined refused' }, { status: 400, body: 'bad batch' }]);
  const w = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, SHARD_COUNT: '1' });
  try {
    const base = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) {
      const body = encode({ series: [{ labels: { __name__: 'rebatched' }, samples: [{ value: i, timestamp: base + i * 1000 }] }] });
      const res = await fetch(`${w.url}/api/v1/write`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } });
      assert.equal(res.status, 204);
    }
    const key = '{"__name__":"rebatched","tenant":"anonymous"}';
    const got = await eventually(() => {
      const d = upstream.delivered().get(key);
      return d?.length >= 4 ? d : null;
    }, 30_000, 'the batches after the refused one');
    const joined = upstream.requests.find((r) => r.answered === 400);
    assert.ok(joined.body.series.length > 1, 'the first refusal was of several batches joined');
    // Only the batch refused on its own is missing; the others arrived, in order.
    const refusedAlone = upstream.requests.filter((r) => r.answered === 400)[1].body.series[0].samples[0].timestamp;
    const want = Array.from({ length: 5 }, (_, i) => base + i * 1000).filter((t) => t !== refusedAlone);
    assert.deepEqual(got, want);
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    // The forwarder's counters, under the sender's names with the shard's labels.
    assert.match(metrics, /prometheus_remote_storage_samples_failed_total\{tenant="anonymous",shard="0",layout="1"\} 1\n/);
    assert.match(metrics, /prometheus_remote_storage_samples_total\{tenant="anonymous",shard="0",layout="1"\} 4\n/);
  } finally {
    await w.stop();
    await upstream.close();
  }
});

test('UPSTREAM_PROTOCOL = "v2" in front of a 1.0 receiver: everything acknowledged arrives, as 1.0', async () => {
  const { scriptedReceiver } = await import('./helpers.mjs');
  const upstream = await scriptedReceiver([], { v1Only: true });
  const w = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, UPSTREAM_PROTOCOL: 'v2', SHARD_COUNT: '2' });
  try {
    const writer = new RemoteWriter({ url: `${w.url}/api/v1/write`, protocol: 'v2', maxSamplesPerSend: 7, batchSendDeadlineMs: 10 });
    const series = Array.from({ length: 6 }, (_, i) => writer.series({ __name__: 'fallback', i: String(i) }));
    const base = Date.now() - 60_000;
    for (let t = 0; t < 10; t++) writer.pushMany(series, series.map(() => t), series.map(() => base + t * 1000));
    await writer.close({ timeoutMs: 30_000 });
    assert.equal(writer.stats().samples.total, 60, 'the Worker acknowledged everything');
    await eventually(() => {
      const d = upstream.delivered();
      return [...d.values()].reduce((n, ts) => n + ts.length, 0) >= 60 ? d : null;
    }, 30_000, 'all 60 samples upstream');
    const delivered = upstream.delivered();
    for (let i = 0; i < 6; i++) {
      const got = delivered.get(`{"__name__":"fallback","i":"${i}","tenant":"anonymous"}`);
      assert.deepEqual(got, Array.from({ length: 10 }, (_, t) => base + t * 1000), `series ${i}: each sample once, in order`);
    }
    assert.ok(upstream.requests.some((r) => r.protocol === 'v2' && r.answered === 415), 'it tried 2.0 first');
    assert.ok(upstream.requests.filter((r) => r.delivered).every((r) => r.protocol === 'v1'), 'delivered as 1.0');
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    const sum = (name) => [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(sum('prometheus_remote_storage_samples_total'), 60);
    assert.equal(sum('prometheus_remote_storage_samples_failed_total'), 0);
    assert.ok(sum('prometheus_remote_storage_protocol_fallbacks_total') >= 1, 'the fallback is counted');
  } finally {
    await w.stop();
    await upstream.close();
  }
});

test('a Retry-After is waited out even while new writes keep coming', async () => {
  const { scriptedReceiver, sleep } = await import('./helpers.mjs');
  const { encode } = await import('../../pkg/node.js');
  const upstream = await scriptedReceiver([{ status: 429, headers: { 'Retry-After': '3' }, body: 'slow down' }]);
  const w = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, SHARD_COUNT: '1' });
  try {
    const base = Date.now() - 60_000;
    const post = async (i) => {
      const body = encode({ series: [{ labels: { __name__: 'patient' }, samples: [{ value: i, timestamp: base + i * 1000 }] }] });
      const res = await fetch(`${w.url}/api/v1/write`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } });
      assert.equal(res.status, 204);
    };
    await post(0);
    await eventually(() => (upstream.requests.length >= 1 ? true : null), 30_000, 'the first attempt');
    for (let i = 1; i <= 8; i++) {
      await post(i);
      await sleep(250);
    }
    const key = '{"__name__":"patient","tenant":"anonymous"}';
    const got = await eventually(() => (upstream.delivered().get(key)?.length === 9 ? upstream.delivered().get(key) : null), 30_000, 'all 9 samples');
    assert.deepEqual(got, Array.from({ length: 9 }, (_, i) => base + i * 1000), 'in order, each once');
    const gap = upstream.requests[1].at - upstream.requests[0].at;
    assert.ok(gap >= 2900, `the retry came ${gap} ms after the 429 with Retry-After: 3`);
  } finally {
    await w.stop();
    await upstream.close();
  }
});
