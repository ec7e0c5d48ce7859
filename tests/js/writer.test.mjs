// RemoteWriter from the outside: a real HTTP receiver on loopback answers with scripted
// failures, and the tests check what arrived.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteWriter } from '../../pkg/node.js';
import { eventually, scriptedReceiver, sleep } from './helpers.mjs';

const fast = { batchSendDeadlineMs: 20, minBackoffMs: 5, maxBackoffMs: 50 };

test('delivers every sample once, in order per series, through 500, 503, 429 and dropped connections', async () => {
  const rx = await scriptedReceiver([500, 503, { status: 429, headers: { 'Retry-After': '1' } }, 'drop', 503, 500, 'drop']);
  const w = new RemoteWriter({ url: rx.url, shards: 3, maxSamplesPerSend: 25, ...fast });
  const series = Array.from({ length: 10 }, (_, i) => w.series({ __name__: 'ordered', i: String(i) }));
  let ts = 1_000;
  for (let round = 0; round < 30; round++) {
    for (const s of series) s.push(round, ts++);
  }
  await w.flush();
  const delivered = rx.delivered();
  assert.equal(delivered.size, 10);
  let total = 0;
  for (const [key, stamps] of delivered) {
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b), `${key} arrived out of order`);
    assert.equal(new Set(stamps).size, stamps.length, `${key} arrived twice`);
    total += stamps.length;
  }
  assert.equal(total, 300);
  assert.ok(rx.requests.some((r) => Number(r.headers['retry-attempt']) >= 1), 'retries carry Retry-Attempt');
  const after429 = rx.requests.findIndex((r) => r.answered === 429);
  const retried = rx.requests.slice(after429 + 1).find((r) => JSON.stringify(r.body) === JSON.stringify(rx.requests[after429].body));
  assert.ok(retried.at - rx.requests[after429].at >= 950, 'Retry-After: 1 was honoured');
  const stats = w.stats();
  assert.equal(stats.samples.total, 300);
  assert.ok(stats.samples.retried > 0);
  await w.close();
  await rx.close();
});

test('a 400 drops the batch and reports the receiver message verbatim', async () => {
  const rx = await scriptedReceiver([{ status: 400, body: 'out of order sample for series ordered' }]);
  const w = new RemoteWriter({ url: rx.url, ...fast });
  const errors = [];
  w.on('error', (e) => errors.push(e));
  w.series({ __name__: 'x' }).push(1, 1000);
  await w.flush();
  assert.equal(errors.length, 1);
  assert.equal(errors[0].status, 400);
  assert.equal(errors[0].message, 'out of order sample for series ordered');
  assert.equal(errors[0].counts.samples, 1);
  assert.equal(w.stats().samples.failed, 1);
  await w.close();
  await rx.close();
});

test('a v2 writer falls back to v1 on 415 and stays there', async () => {
  const rx = await scriptedReceiver([415]);
  const w = new RemoteWriter({ url: rx.url, protocol: 'v2', ...fast });
  const fallbacks = [];
  w.on('fallback', (e) => fallbacks.push(e));
  const s = w.series({ __name__: 'proto_test' });
  s.push(1, 1000);
  await w.flush();
  s.push(2, 2000);
  await w.flush();
  assert.deepEqual(rx.requests.map((r) => r.protocol), ['v2', 'v1', 'v1']);
  assert.equal(rx.requests[1].headers['x-prometheus-remote-write-version'], '0.1.0');
  assert.deepEqual(rx.delivered().get('{"__name__":"proto_test"}'), [1000, 2000]);
  assert.equal(fallbacks.length, 1);
  assert.equal(w.protocol, 'v1');
  await w.close();
  await rx.close();
});

test('a v2 writer treats a 2xx without Written headers as a v1 receiver', async () => {
  const rx = await scriptedReceiver([{ status: 204 }]);
  const w = new RemoteWriter({ url: rx.url, protocol: 'v2', ...fast });
  w.series({ __name__: 'proto_test' }).push(1, 1000);
  await w.flush();
  assert.deepEqual(rx.requests.map((r) => r.protocol), ['v2', 'v1']);
  await w.close();
  await rx.close();
});

test('a request without an answer times out and is retried', async () => {
  const rx = await scriptedReceiver(['hang']);
  const w = new RemoteWriter({ url: rx.url, timeoutMs: 200, ...fast });
  const retries = [];
  w.on('retry', (e) => retries.push(e));
  w.series({ __name__: 'slow' }).push(1, 1000);
  await w.flush();
  assert.equal(rx.requests.length, 2);
  assert.match(retries[0].message, /no response within 200 ms/);
  assert.equal(w.stats().samples.total, 1);
  await w.close();
  await rx.close();
});

test('a full queue refuses pushes with an error the caller sees', async () => {
  const rx = await scriptedReceiver(['hang']);
  const w = new RemoteWriter({ url: rx.url, shards: 1, capacity: 10, maxSamplesPerSend: 10, timeoutMs: 100_000 });
  const s = w.series({ __name__: 'full' });
  for (let i = 0; i < 10; i++) s.push(i, i);
  assert.throws(() => s.push(10, 10), /queue full/);
  assert.equal(w.stats().samples.droppedQueueFull, 1);
  await w.close({ timeoutMs: 50 });
  assert.equal(w.stats().samples.pending, 10, 'what was not delivered stays counted');
  await rx.close();
});

test('headers, bearer token and reserved headers; options that cannot work throw at once', async () => {
  const rx = await scriptedReceiver();
  assert.throws(() => new RemoteWriter({ url: rx.url, headers: { 'Content-Type': 'x' } }), /reserved/);
  assert.throws(() => new RemoteWriter({ url: 'invalid://example' }), /not http or https/);
  assert.throws(() => new RemoteWriter({ url: 'no url at all' }), /is not a URL/);
  assert.throws(() => new RemoteWriter({ url: rx.url, protocol: 'v3' }), /protocol must be/);
  new RemoteWriter({ url: rx.url, protocol: undefined, shards: undefined }).close(); // the defaults
  const w = new RemoteWriter({ url: rx.url, bearerToken: 's3cret', headers: { 'X-Scope-OrgID': 'team-a' }, ...fast });
  w.series({ __name__: 'h' }).push(1, 1000);
  await w.flush();
  const h = rx.requests[0].headers;
  assert.equal(h.authorization, 'Bearer s3cret');
  assert.equal(h['x-scope-orgid'], 'team-a');
  assert.equal(h['content-encoding'], 'snappy');
  assert.equal(h['content-type'], 'application/x-protobuf');
  assert.equal(h['x-prometheus-remote-write-version'], '0.1.0');
  assert.match(h['user-agent'], /^edgewrite\//);
  await w.close();
  await rx.close();
});

test('helpers coalesce updates into collections: histogram series arrive together, with metadata', async () => {
  const rx = await scriptedReceiver();
  const w = new RemoteWriter({ url: rx.url, shards: 4, maxSamplesPerSend: 2, helperIntervalMs: 50, ...fast });
  const h = w.histogram('rpc_seconds', { help: 'RPC latency.', buckets: [0.1, 1] });
  const c = w.counter('rpc_total');
  h.observe(0.05);
  c.inc();
  c.inc(2);
  await w.flush();
  h.observe(0.5);
  await w.flush();
  assert.equal(rx.requests.length, 2, 'one collection per flush, never split by maxSamplesPerSend');
  const [first, second] = rx.requests.map((r) => r.body);
  assert.equal(first.series.length, 6, 'three buckets, sum, count and the counter');
  assert.equal(second.series.length, 5, 'only what changed');
  const t1 = first.series[0].samples[0].timestamp;
  assert.ok(first.series.every((s) => s.samples.length === 1 && s.samples[0].timestamp === t1), 'one timestamp per collection');
  assert.ok(second.series[0].samples[0].timestamp > t1);
  const values = (b) => Object.fromEntries(b.series.map((s) => [s.labels.le ?? s.labels.__name__, s.samples[0].value]));
  assert.deepEqual(values(first), { '0.1': 1, 1: 1, '+Inf': 1, rpc_seconds_sum: 0.05, rpc_seconds_count: 1, rpc_total: 3 });
  assert.deepEqual(values(second), { '0.1': 1, 1: 2, '+Inf': 2, rpc_seconds_sum: 0.55, rpc_seconds_count: 2 });
  assert.deepEqual(first.metadata.find((m) => m.metricFamilyName === 'rpc_seconds'), {
    type: 'histogram', help: 'RPC latency.', unit: '', metricFamilyName: 'rpc_seconds',
  });
  await w.close();
  await rx.close();
});

test('the writer reports its own metrics in the Prometheus text format', async () => {
  const rx = await scriptedReceiver([503]);
  const w = new RemoteWriter({ url: rx.url, ...fast });
  w.series({ __name__: 'm' }).push(1, 1000);
  await w.flush();
  const text = w.metricsText();
  const label = `url="${rx.url}"`;
  assert.match(text, /# TYPE prometheus_remote_storage_samples_total counter/);
  assert.ok(text.includes(`prometheus_remote_storage_samples_total{${label}} 1\n`), text);
  assert.ok(text.includes(`prometheus_remote_storage_samples_retried_total{${label}} 1\n`));
  assert.ok(text.includes(`prometheus_remote_storage_samples_dropped_total{${label},reason="too_old"} 0\n`));
  assert.ok(text.includes(`prometheus_remote_storage_sent_batch_duration_seconds_count{${label}} 2\n`));
  assert.ok(text.includes(`prometheus_remote_storage_sent_batch_duration_seconds_bucket{${label},le="+Inf"} 2\n`));
  await w.close();
  await rx.close();
});

test('flush() waits only for data queued before it, and close() settles every flush', async () => {
  // The first request (sample 1) is answered; the next (sample 2, pushed after the flush) hangs.
  const rx = await scriptedReceiver([204, 'hang']);
  const w = new RemoteWriter({ url: rx.url, timeoutMs: 60_000, ...fast });
  const s = w.series({ __name__: 'f' });
  s.push(1, 1000);
  const first = w.flush();
  s.push(2, 2000); // pushed after the flush: must not hold it back
  const outcome = await Promise.race([first.then(() => 'flushed'), sleep(5000).then(() => 'still waiting')]);
  assert.equal(outcome, 'flushed', 'flush() waited for data pushed after it');
  assert.deepEqual(rx.delivered().get('{"__name__":"f"}'), [1000]);
  await eventually(() => rx.requests.length === 2, 5000, 'the later sample to be sent');
  const second = w.flush(); // its data hangs upstream: only close() can settle it
  await w.close({ timeoutMs: 100 });
  const settled = await Promise.race([second.then(() => 'settled'), sleep(1000).then(() => 'pending')]);
  assert.equal(settled, 'settled', 'close() settles a pending flush');
  await w.flush(); // after close: resolves at once
  await rx.close();
});

test('a released series handle throws a TypeError and never writes into the series after it', async () => {
  const rx = await scriptedReceiver();
  const w = new RemoteWriter({ url: rx.url, shards: 1, ...fast });
  const old = w.series({ __name__: 'old' });
  w.release(old);
  const next = w.series({ __name__: 'new' }); // takes the released slot
  assert.throws(() => old.push(1, 1000), (e) => e instanceof TypeError && /not registered/.test(e.message));
  assert.throws(() => w.pushMany([old], [1], [1000]), TypeError);
  next.push(2, 2000);
  await w.close();
  assert.deepEqual([...rx.delivered()], [['{"__name__":"new"}', [2000]]]);
  await rx.close();
});

test('a listener that throws does not stop the writer', async () => {
  const rx = await scriptedReceiver([503]);
  const w = new RemoteWriter({ url: rx.url, ...fast });
  const errors = [];
  const original = console.error;
  console.error = (...args) => errors.push(args.join(' '));
  w.on('retry', () => {
    throw new Error('listener bug');
  });
  try {
    w.series({ __name__: 'l' }).push(1, 1000);
    await w.flush();
  } finally {
    console.error = original;
  }
  assert.equal(w.stats().samples.total, 1);
  assert.match(errors[0], /listener threw/);
  await w.close();
  await rx.close();
});

test('helpers survive a full queue: nothing throws from the timer, values go out later', async () => {
  const rx = await scriptedReceiver(['hang']);
  const w = new RemoteWriter({ url: rx.url, shards: 1, capacity: 4, maxSamplesPerSend: 4, maxSamplesPerRequest: 4, timeoutMs: 200, helperIntervalMs: 10, ...fast });
  const events = [];
  w.on('error', (e) => events.push(e));
  const g = w.gauge('g', { labels: { k: 'v' } });
  const filler = w.series({ __name__: 'filler' });
  w.writeCollection([0, 1, 2, 3].map((i) => ({ series: filler, value: i, timestamp: i + 1 })));
  g.set(42); // the helper's collection does not fit until the first one is delivered
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(events.some((e) => /helpers not sampled/.test(e.message)));
  await w.flush();
  const delivered = rx.delivered();
  assert.equal(delivered.get('{"__name__":"g","k":"v"}')?.length, 1, 'the gauge went out once there was room');
  await w.close();
  await rx.close();
});

test('labels with empty values name the same series', async () => {
  const rx = await scriptedReceiver();
  const w = new RemoteWriter({ url: rx.url, ...fast });
  const a = w.series({ __name__: 'e', x: '' });
  const b = w.series({ __name__: 'e' });
  assert.equal(a, b);
  assert.throws(() => a.push(1, NaN), /timestamp must be a number/);
  await w.close();
  await rx.close();
});
