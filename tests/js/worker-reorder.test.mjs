// The reorder window (REORDER_WINDOW): senders that cannot keep order (browsers, retried
// batches) write out of order; the shard holds samples for the window and forwards each series
// in timestamp order; samples already older than the window are refused before the write is
// acknowledged (400, partial write, exact Written headers), as the spec's FAQ describes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encode } from '../../pkg/node.js';
import { eventually, scriptedReceiver, startWorker } from './helpers.mjs';

let upstream;
let worker;

before(async () => {
  upstream = await scriptedReceiver();
  worker = await startWorker({ BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, REORDER_WINDOW: '4s', SHARD_COUNT: '2' });
});

after(async () => {
  await worker?.stop();
  await upstream?.close();
});

const write = (series) =>
  fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body: encode({ series }, { protocol: 'v2' }),
    headers: { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'Content-Encoding': 'snappy' },
  });

test('out-of-order writes leave the Worker in order; samples older than the window are refused', async () => {
  const now = Date.now();
  const s = (name, ts) => ({ labels: { __name__: name, page: '/x' }, samples: ts.map((t) => ({ value: now - t, timestamp: t })) });
  // Three requests, each in order within itself, out of order across them (as retried or
  // concurrent browser batches arrive), over 12 series.
  const names = Array.from({ length: 12 }, (_, i) => `rum_metric_${i}`);
  for (const ts of [[now - 1000, now - 500], [now - 3000, now - 2500], [now - 2000, now - 1500]]) {
    const res = await write(names.map((n) => s(n, ts)));
    assert.equal(res.status, 204, await res.text());
    assert.equal(res.headers.get('X-Prometheus-Remote-Write-Samples-Written'), String(names.length * 2));
  }
  // Too old for the window: refused before it is acknowledged, the rest written.
  const fresh = Date.now();
  const late = await write([s('rum_metric_0', [now - 60_000]), s('rum_metric_1', [now - 60_000, fresh])]);
  assert.equal(late.status, 400);
  assert.match(await late.text(), /older than the reorder window/);
  assert.equal(late.headers.get('X-Prometheus-Remote-Write-Samples-Written'), '1');

  const want = [now - 3000, now - 2500, now - 2000, now - 1500, now - 1000, now - 500];
  // rum_metric_1 also has the sample written with the late one, newer than all of these.
  const expected = (n) => (n === 'rum_metric_1' ? [...want, fresh] : want);
  const key = (n) => JSON.stringify({ __name__: n, page: '/x', tenant: 'anonymous' });
  const got = await eventually(async () => {
    const d = upstream.delivered();
    return names.every((n) => (d.get(key(n)) ?? []).length >= expected(n).length) ? d : null;
  }, 30_000, 'every series released upstream');
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a duplicate would arrive by now
  for (const n of names) {
    assert.deepEqual(upstream.delivered().get(key(n)), expected(n), `${n} arrives whole, once, in timestamp order`);
  }
  assert.ok(got);
  // Nothing was released before its time: the first upstream request came after the window.
  assert.ok(upstream.requests[0].at >= now - 3000 + 4000, 'held for the window');
});
