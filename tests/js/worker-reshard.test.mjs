// Changing SHARD_COUNT without reordering a series (README, "Changing the number of shards"):
// the new layout's shards are new Durable Objects; with PREVIOUS_SHARD_COUNT set they hold
// their deliveries until every shard of the previous layout has drained, and reads cover both
// layouts. Tested with the upstream down across the change (so the old shards still hold
// batches when the new ones get theirs), then back: every series arrives complete and in order.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decode, encode } from '../../pkg/node.js';
import { eventually, metricSum, startWorker } from './helpers.mjs';

const SERIES = 24;
const base = Math.floor(Date.now() / 1000) * 1000 - 600_000;

/** `SERIES` series with samples at base + t seconds, for each t in `times`. */
const request = (times) =>
  encode({
    series: Array.from({ length: SERIES }, (_, i) => ({
      labels: { __name__: 'resharded', i: String(i) },
      samples: times.map((t) => ({ value: t, timestamp: base + t * 1000 })),
    })),
  });

async function write(worker, times) {
  const res = await fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body: request(times),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  assert.equal(res.status, 204, await res.text());
}

/** An upstream that answers 503 while `down`, and records what it accepts, per series. */
async function upstream() {
  const got = new Map();
  const u = { down: true, got, accepted: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (u.down) return res.writeHead(503).end('down for maintenance');
      u.accepted += 1;
      for (const s of decode(Buffer.concat(chunks)).series) {
        const key = s.labels.i;
        got.set(key, [...(got.get(key) ?? []), ...s.samples.map((x) => (x.timestamp - base) / 1000)]);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${server.address().port}/api/v1/write`;
  u.close = () => new Promise((r) => server.close(r));
  return u;
}

const queued = async (worker, layout) => {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  return metricSum(text, 'edgewrite_shard_queue_batches', (l) => l.includes(`layout="${layout}"`));
};

test('remote_write: from 4 shards to 3 with the upstream down, every series arrives whole and in order', async () => {
  const up = await upstream();
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-reshard-'));
  const vars = { BACKEND: 'remote_write', UPSTREAM_URL: up.url, SHARD_COUNT: '4' };
  let worker = await startWorker(vars, { state });
  try {
    for (let t = 1; t <= 5; t++) await write(worker, [t]);
    await worker.stop();
    // The change: 3 shards take new writes; the 4 old ones drain first.
    worker = await startWorker({ ...vars, SHARD_COUNT: '3', PREVIOUS_SHARD_COUNT: '4' }, { state });
    for (let t = 6; t <= 10; t++) await write(worker, [t]);
    assert.ok((await queued(worker, 4)) > 0 && (await queued(worker, 3)) > 0, 'both layouts hold batches');
    up.down = false;
    await eventually(async () => (await queued(worker, 4)) + (await queued(worker, 3)) === 0, 60_000, 'every queue to drain');
    const want = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(up.got.size, SERIES);
    for (const [i, times] of up.got) assert.deepEqual(times, want, `series ${i}`);
    // 35 queued batches (5 writes to 4 shards, 5 to 3) went up re-batched, a few per request.
    assert.ok(up.accepted <= 7 + 2, `${up.accepted} upstream requests`);
  } finally {
    await worker.stop();
    await up.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('embedded: reads cover the previous layout, so a series reads back whole across the change', async () => {
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-reshard-'));
  // Also an edge label from request.cf (wrangler dev's stand-in location is DFW).
  const edge = { EDGE_LABELS: 'colo=$colo' };
  let worker = await startWorker({ SHARD_COUNT: '4', COMPACT_EVERY: '1s', ...edge }, { state });
  try {
    await write(worker, [1, 2, 3]);
    await worker.stop();
    worker = await startWorker({ SHARD_COUNT: '2', PREVIOUS_SHARD_COUNT: '4', COMPACT_EVERY: '1s', ...edge }, { state });
    await write(worker, [4, 5]);
    const qs = new URLSearchParams({ 'match[]': 'resharded', start: String(base / 1000), end: String(base / 1000 + 60) });
    const body = await (await fetch(`${worker.url}/api/v1/samples?${qs}`)).json();
    assert.equal(body.data.result.length, SERIES);
    for (const r of body.data.result) {
      assert.deepEqual(r.values.map(([t]) => t - base / 1000), [1, 2, 3, 4, 5], r.metric.i);
      assert.match(r.metric.colo, /^[A-Z]{3}$/, 'the colo label, from request.cf');
    }
  } finally {
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
  }
});
