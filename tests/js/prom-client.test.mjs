// The prom-client bridge against a real prom-client registry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { RemoteWriter, startPromClientBridge } from '../../pkg/node.js';
import { scriptedReceiver } from './helpers.mjs';

test('each collection of a prom-client registry is written as one request, with metadata and one timestamp', async () => {
  const registry = new client.Registry();
  const requests = new client.Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route'], registers: [registry] });
  const inflight = new client.Gauge({ name: 'app_inflight', help: 'In flight.', registers: [registry] });
  const latency = new client.Histogram({ name: 'app_latency_seconds', help: 'Latency.', buckets: [0.1, 1], registers: [registry] });
  const sizes = new client.Summary({ name: 'app_size_bytes', help: 'Sizes.', percentiles: [0.5], registers: [registry] });
  requests.inc({ route: '/a' }, 3);
  inflight.set(2);
  latency.observe(0.5);
  sizes.observe(100);

  const rx = await scriptedReceiver();
  const writer = new RemoteWriter({ url: rx.url, shards: 4, maxSamplesPerSend: 2, batchSendDeadlineMs: 20 });
  const bridge = startPromClientBridge({ writer, registry, intervalMs: 60_000, labels: { instance: 'test:1' } });
  assert.equal(await bridge.collect(), 1 + 1 + 5 + 3);
  requests.inc({ route: '/a' });
  await bridge.collect();
  bridge.stop();
  await writer.close();

  assert.equal(rx.requests.length, 2, 'one request per collection, although maxSamplesPerSend is 2');
  const [first, second] = rx.requests.map((r) => r.body);
  const stamps = new Set(first.series.map((s) => s.samples[0].timestamp));
  assert.equal(stamps.size, 1, 'one timestamp per collection');
  const byName = Object.fromEntries(first.series.map((s) => [`${s.labels.__name__}${s.labels.le ? `{le=${s.labels.le}}` : ''}${s.labels.quantile ? `{q=${s.labels.quantile}}` : ''}`, s]));
  assert.equal(byName.app_requests_total.samples[0].value, 3);
  assert.equal(byName.app_requests_total.labels.route, '/a');
  assert.equal(byName.app_requests_total.labels.instance, 'test:1');
  assert.equal(byName.app_inflight.samples[0].value, 2);
  assert.equal(byName['app_latency_seconds_bucket{le=0.1}'].samples[0].value, 0);
  assert.equal(byName['app_latency_seconds_bucket{le=+Inf}'].samples[0].value, 1);
  assert.equal(byName.app_latency_seconds_sum.samples[0].value, 0.5);
  assert.equal(byName['app_size_bytes{q=0.5}'].samples[0].value, 100);
  const types = Object.fromEntries(first.metadata.map((m) => [m.metricFamilyName, m.type]));
  assert.deepEqual(types, { app_requests_total: 'counter', app_inflight: 'gauge', app_latency_seconds: 'histogram', app_size_bytes: 'summary' });
  assert.equal(first.metadata.find((m) => m.metricFamilyName === 'app_requests_total').help, 'Requests.');
  assert.equal(second.series.find((s) => s.labels.__name__ === 'app_requests_total').samples[0].value, 4);
  await rx.close();
});
