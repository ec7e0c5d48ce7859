// End to end with real receivers: the npm package writes from Node to a real Prometheus
// (Debian's, with --web.enable-remote-write-receiver) and a real VictoriaMetrics, both started
// here on loopback ports with temporary data directories; the test reads back through their
// HTTP APIs and checks every series and value arrived exactly, stale markers included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RemoteWriter } from '../../pkg/node.js';
import { eventually, freePort, startProcess, startPrometheus } from './helpers.mjs';

const now = Math.floor(Date.now() / 1000) * 1000;
const base = now - 120_000;
const gauge = [1.5, -2, 1e300, 0, 42];
// VictoriaMetrics stores a block's values as decimals with one exponent (its documented
// compression), so values 300 orders of magnitude apart do not round-trip there.
const vmGauge = [1.5, -2, 1234.5, 0, 42];
const run = `${process.pid}`;

/** Writes the test data: plain samples, a series ended by a stale marker, a counter helper. */
async function writeAll(url, protocol, values) {
  const w = new RemoteWriter({ url, protocol, batchSendDeadlineMs: 50, helperIntervalMs: 10 });
  const errors = [];
  w.on('error', (e) => errors.push(e.message));
  const g = w.series({ __name__: 'e2e_gauge', run, case: 'plain' }, { type: 'gauge', help: 'A gauge.' });
  values.forEach((v, i) => g.push(v, base + i * 1000));
  const s = w.series({ __name__: 'e2e_stale', run, route: '/api/ünï' });
  s.push(7, base);
  s.push(8, base + 1000);
  s.stale(base + 2000);
  const many = Array.from({ length: 50 }, (_, i) => w.series({ __name__: 'e2e_many', run, i: String(i) }));
  w.pushMany(many, many.map((_, i) => i), many.map(() => base));
  await w.close();
  assert.deepEqual(errors, []);
  assert.equal(w.stats().samples.total, values.length + 3 + 50);
}

describe('Prometheus 2.42 as receiver', () => {
  let prom;
  before(async () => {
    prom = await startPrometheus();
    await writeAll(`${prom.api}/api/v1/write`, 'v1', gauge);
  });
  after(async () => {
    await prom?.stop();
  });

  const query = (q, time) => prom.query(q, time);

  test('every sample arrives exactly', async () => {
    const [r] = await query(`e2e_gauge{run="${run}"}[10m]`, now);
    assert.deepEqual(r.metric, { __name__: 'e2e_gauge', run, case: 'plain' });
    assert.deepEqual(r.values.map(([t, v]) => [t * 1000, Number(v)]), gauge.map((v, i) => [base + i * 1000, v]));
    const many = await query(`e2e_many{run="${run}"}[10m]`, now);
    assert.equal(many.length, 50);
    for (const m of many) assert.deepEqual(m.values.map(([, v]) => Number(v)), [Number(m.metric.i)]);
  });

  test('a stale marker ends the series', async () => {
    const [r] = await query(`e2e_stale{run="${run}"}[10m]`, now);
    assert.equal(r.metric.route, '/api/ünï');
    assert.deepEqual(r.values.map(([, v]) => Number(v)), [7, 8]);
    assert.equal((await query(`e2e_stale{run="${run}"}`, base + 1500))[0].value[1], '8');
    // Without the marker, the 5-minute lookback would still show 8 here.
    assert.deepEqual(await query(`e2e_stale{run="${run}"}`, base + 2500), []);
  });
});

describe('VictoriaMetrics 1.79 as receiver', () => {
  let vm;
  let api;
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgewrite-vm-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    vm = await startProcess(
      'victoria-metrics',
      [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'],
      `${api}/health`,
    );
    await writeAll(`${api}/api/v1/write`, 'v1', vmGauge);
    await fetch(`${api}/internal/force_flush`);
  });
  after(async () => {
    await vm?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Raw samples per series, from the export API. */
  const exported = async (match) => {
    const res = await fetch(`${api}/api/v1/export?match[]=${encodeURIComponent(match)}&start=${base / 1000 - 60}&end=${now / 1000}`);
    const text = await res.text();
    return text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };

  test('every sample arrives exactly', async () => {
    const [g] = await eventually(async () => {
      const r = await exported(`e2e_gauge{run="${run}"}`);
      return r.length ? r : null;
    }, 15000, 'the gauge to be searchable');
    assert.deepEqual(g.metric, { __name__: 'e2e_gauge', run, case: 'plain' });
    assert.deepEqual(g.timestamps, vmGauge.map((_, i) => base + i * 1000));
    assert.deepEqual(g.values, vmGauge);
    const many = await exported(`e2e_many{run="${run}"}`);
    assert.equal(many.length, 50);
  });

  test('the stale marker arrives after the samples', async () => {
    const [s] = await exported(`e2e_stale{run="${run}"}`);
    assert.equal(s.metric.route, '/api/ünï');
    assert.deepEqual(s.timestamps, [base, base + 1000, base + 2000]);
    assert.deepEqual(s.values.slice(0, 2), [7, 8]);
    // VictoriaMetrics keeps Prometheus staleness markers as a NaN sample.
    assert.ok(s.values[2] === null || Number.isNaN(Number(s.values[2])), `stale marker exported as ${s.values[2]}`);
  });
});
