// The JS/wasm boundary holds: the stats numbers WasmSender.stats() returns are named by
// position in pkg/core.js, and the browser's writer renders them as Prometheus text in JS
// (keeping text formatting out of its wasm). The full build carries Rust's renderer, which the
// Worker's /metrics uses: driven through every counter, both must print the same text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../../pkg/node.js';
import { WasmSender } from '../../pkg/wasm/full/edgewrite.js';
import { eventFromNumbers, metricsText, statsFromNumbers } from '../../pkg/core.js';

test('stats cross as numbers and render as Rust renders them', () => {
  // protocol 2, 1 shard, 3 samples per send, capacity 4, drop oldest, backoff 10..100 ms,
  // retry 429, samples older than 1 h dropped, detect 1.0 receivers, collections of 2 at most.
  const s = new WasmSender(2, 1, 3, 50, 4, 1, 10, 100, true, 3_600_000, true, 2, 60_000, 300_000, 7);
  const up = s.series(['__name__', 'up', 'job', 'a'], 'gauge', 'Up.', '');
  let now = 10_000_000;
  const answer = (status, { written = [], retryAfter, after = 17 } = {}) => {
    const t = s.poll_transmit(now);
    assert.ok(t, 'a request is due');
    now += after;
    s.handle_response(t.id, status, retryAfter, written, new TextEncoder().encode('no'), now);
  };
  for (let i = 0; i < 6; i++) s.push(up, i, now - 10, false, now); // 2 dropped: queue full
  s.push(up, 9, now - 7_200_000, false, now); // too old when sent
  s.flush();
  answer(503, { after: 1300 }); // retried
  now += 200;
  answer(415, { after: 3 }); // falls back to 1.0
  answer(204, { after: 30_000 }); // delivered (1.0)
  s.write_collection([up, up, up], [1, 2, 3], [now, now + 1, now + 2], [], now); // split in two
  s.flush();
  answer(400); // refused
  answer(204, { after: 2 });
  s.push(up, 7, now, false, now);
  const numbers = s.stats();
  const stats = statsFromNumbers(numbers);
  // Every field moved, so a shifted position shows.
  assert.ok(stats.samples.total > 0 && stats.samples.failed > 0 && stats.samples.retried > 0, JSON.stringify(stats));
  assert.ok(stats.samples.droppedTooOld > 0 && stats.samples.droppedQueueFull > 0 && stats.samples.pending > 0);
  assert.ok(stats.metadataTotal > 0 && stats.bytesTotal > 0 && stats.collectionsSplitTotal > 0);
  assert.equal(stats.protocolFallbacksTotal, 1);
  assert.ok(stats.batchDurationCount >= 5 && stats.batchDurationSumMs > 31_000);
  assert.equal(stats.batchDurationBuckets.length, 15);
  const labels = 'url="http://127.0.0.1/w"';
  assert.equal(metricsText(stats, labels), s.metrics_text(labels));
  assert.match(s.metrics_text(labels), /_sum\{url="http:\/\/127.0.0.1\/w"\} 3\d\.\d{3}\n/);
});

test('every kind of event crosses as numbers and reads back whole', () => {
  // protocol 2, 1 shard, 2 samples per send, capacity 2, drop oldest, backoff 10..10 ms.
  const s = new WasmSender(2, 1, 2, 50, 2, 1, 10, 10, true, 0, true, 50, 60_000, 300_000, 7);
  const up = s.series(['__name__', 'up'], '', '', '');
  const events = () => {
    const out = [];
    for (let v; (v = s.poll_event()); ) out.push(eventFromNumbers(v, () => s.event_message()));
    return out;
  };
  let now = 1000;
  for (let i = 0; i < 3; i++) s.push(up, i, now, false, now);
  assert.deepEqual(events(), [{ type: 'dropped', reason: 'queue_full', status: undefined, counts: { samples: 1, histograms: 0, exemplars: 0 }, message: 'queue full: dropped the 1 oldest pending items' }]);
  let t = s.poll_transmit(now);
  s.handle_response(t.id, 503, '2', [], new TextEncoder().encode('busy'), now);
  assert.deepEqual(events(), [{ type: 'retry', status: 503, attempt: 1, delayMs: 2000, message: 'busy' }]);
  now += 2000;
  t = s.poll_transmit(now);
  s.handle_response(t.id, 204, undefined, [1, 0, 0], new Uint8Array(), now);
  assert.deepEqual(events(), [{ type: 'partial', sent: { samples: 2, histograms: 0, exemplars: 0 }, written: { samples: 1, histograms: 0, exemplars: 0 } }]);
  s.push(up, 5, now, false, now);
  s.flush();
  t = s.poll_transmit(now);
  s.handle_response(t.id, 415, undefined, [], new Uint8Array(), now);
  assert.deepEqual(events(), [{ type: 'fallback', status: 415 }]);
  t = s.poll_transmit(now);
  s.handle_response(t.id, 400, undefined, [], new TextEncoder().encode('bad sample'), now);
  assert.deepEqual(events(), [{ type: 'dropped', reason: 'rejected', status: 400, counts: { samples: 1, histograms: 0, exemplars: 0 }, message: 'bad sample' }]);
});
