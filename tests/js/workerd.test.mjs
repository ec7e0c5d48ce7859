// The npm package inside the Cloudflare Workers runtime (workerd, run by Miniflare): the
// `workerd` entry loads the wasm as a module, and the writer delivers to a receiver on loopback.
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
