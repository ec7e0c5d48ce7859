// The Worker under `wrangler dev` (workerd) on a loopback port, started and stopped here:
// real Prometheus requests are acknowledged, bad input gets its 4xx, the npm sender writes to
// it, and it keeps serving.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RemoteWriter } from '../../pkg/node.js';
import { startWorker } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
let worker;
let base;

before(async () => {
  worker = await startWorker();
  base = worker.url;
});

after(async () => {
  await worker?.stop();
});

const post = (body, headers = {}) =>
  fetch(`${base}/api/v1/write`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers } });

test('every request a real Prometheus sent is acknowledged with 204', async () => {
  const dir = `${root}tests/fixtures/prometheus-2.42`;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.bin'))) {
    const res = await post(readFileSync(join(dir, f)));
    assert.equal(res.status, 204, `${f}: ${await res.text()}`);
  }
});

test('bad input gets its 4xx and a message, and the Worker keeps serving', async () => {
  const framed = await post(Buffer.from('\xff\x06\x00\x00sNaPpY', 'latin1'));
  assert.equal(framed.status, 400);
  assert.match(await framed.text(), /snappy framed/);
  const bomb = await post(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
  assert.equal(bomb.status, 413);
  const json = await post('{}', { 'Content-Type': 'application/json' });
  assert.equal(json.status, 415);
  const get = await fetch(`${base}/api/v1/write`);
  assert.equal(get.status, 405);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('the npm sender writes to the Worker in v2, with exact Written headers', async () => {
  const w = new RemoteWriter({ url: `${base}/api/v1/write`, protocol: 'v2', batchSendDeadlineMs: 20 });
  const errors = [];
  w.on('error', (e) => errors.push(e.message));
  const series = Array.from({ length: 50 }, (_, i) => w.series({ __name__: 'from_sender', i: String(i) }));
  const now = Date.now();
  w.pushMany(series, series.map((_, i) => i), series.map(() => now));
  await w.close({ timeoutMs: 30_000 });
  assert.deepEqual(errors, []);
  const stats = w.stats();
  assert.equal(stats.samples.total, 50);
  assert.equal(stats.protocolFallbacksTotal, 0, 'the Worker is a 2.0 receiver');
});
