// The npm package inside the Cloudflare Workers runtime (workerd, run by Miniflare): the
// `workerd` entry loads the wasm as a module, and the writer delivers to a receiver on loopback.
// And the Worker itself under plain `workerd serve`, as the load script runs it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Miniflare } from 'miniflare';
import { scriptedReceiver } from './helpers.mjs';

test('RemoteWriter runs unchanged inside workerd', async () => {
  const rx = await scriptedReceiver();
  const root = new URL('../..', import.meta.url).pathname;
  const mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: `${root}tests/js/workerd/worker.js`,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'ESModule', include: ['**/*.js'] }],
    compatibilityDate: '2026-04-01',
  });
  try {
    const res = await mf.dispatchFetch(`http://worker/send?url=${encodeURIComponent(rx.url)}`);
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.stats.samples.total, 3);
    assert.equal(body.protocol, 'v2');
    assert.equal(body.roundTrip, 5);
    const [series] = rx.requests[0].body.series;
    assert.deepEqual(series.labels, { __name__: 'from_workerd', colo: 'test' });
    assert.equal(series.samples[2].stale, true);
  } finally {
    await mf.dispose();
    await rx.close();
  }
});

test('the built Worker under plain workerd serve (as the load script runs it): takes a write, reads it back, and reports its wasm memory in /metrics', async () => {
  const { encode } = await import('../../pkg/node.js');
  const { eventually, startWorkerd } = await import('./helpers.mjs');
  const worker = await startWorkerd({ SHARD_COUNT: '2', COMPACT_EVERY: '1s' });
  try {
    const t = Date.now() - 60_000;
    const series = [0, 1, 2, 3].map((i) => ({ labels: { __name__: 'plain_workerd', i: String(i) }, samples: [{ value: i, timestamp: t }] }));
    const res = await fetch(`${worker.url}/api/v1/write`, {
      method: 'POST',
      body: encode({ series }),
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
    });
    assert.equal(res.status, 204, await res.text());
    const found = await eventually(async () => {
      const r = await (await fetch(`${worker.url}/api/v1/query?query=sum(plain_workerd)&time=${t / 1000}`)).json();
      return r.data.result.length === 1 && r.data.result[0].value[1] === '6';
    }, 20_000, 'the samples stored');
    assert.ok(found);
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const values = (name) => metrics.split('\n').filter((l) => l.startsWith(name)).map((l) => Number(l.split(' ').pop()));
    const isolate = values('edgewrite_wasm_memory_bytes ');
    const shards = values('edgewrite_shard_wasm_memory_bytes{');
    assert.equal(isolate.length, 1, metrics);
    assert.equal(shards.length, 2, 'both shards');
    // Whole 64 KiB pages, at least the Worker's own data, well under a Durable Object's 128 MB.
    for (const bytes of [...isolate, ...shards]) assert.ok(bytes % 65536 === 0 && bytes >= 1 << 20 && bytes < 128e6, String(bytes));
  } finally {
    await worker.stop();
  }
});
