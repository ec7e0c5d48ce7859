// encode/decode from JavaScript: both encode paths (columns for plain samples, objects for
// histograms and exemplars) give what decode reads back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from '../../pkg/node.js';

const plain = {
  series: [
    { labels: { job: 'api', __name__: 'up' }, samples: [{ value: 1, timestamp: 1000 }, { value: 'NaN', timestamp: 2000 }, { value: 0, timestamp: 3000, stale: true }], metadata: { type: 'gauge', help: 'Up.' } },
    { labels: { __name__: 'ünï_total', route: '/ü' }, samples: [{ value: '+Inf', timestamp: 1000, startTimestamp: 500 }] },
  ],
};

for (const protocol of ['v1', 'v2']) {
  test(`plain samples round-trip (${protocol})`, () => {
    const back = decode(encode(plain, { protocol }), { protocol });
    assert.deepEqual(back.series[0].labels, { __name__: 'up', job: 'api' }, 'labels sorted');
    assert.deepEqual(back.series[0].samples.map((x) => [x.timestamp, x.stale ?? false]), [[1000, false], [2000, false], [3000, true]]);
    assert.ok(Number.isNaN(back.series[0].samples[1].value));
    assert.equal(back.series[1].samples[0].value, Infinity);
    if (protocol === 'v2') {
      assert.equal(back.series[1].samples[0].startTimestamp, 500);
      assert.equal(back.series[0].metadata.help, 'Up.');
    } else {
      assert.deepEqual(back.metadata, [{ type: 'gauge', help: 'Up.', unit: '', metricFamilyName: 'up' }]);
    }
  });
}

test('histograms and exemplars round-trip through the object path', () => {
  const req = {
    series: [
      {
        labels: { __name__: 'rpc_seconds' },
        histograms: [{ count: 3, sum: 1.5, schema: 0, zeroCount: 1, positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 0], timestamp: 1000 }],
      },
      { labels: { __name__: 'orders_total' }, samples: [{ value: 1, timestamp: 1000 }], exemplars: [{ labels: { trace_id: 'abc' }, value: 1, timestamp: 1000 }] },
    ],
  };
  const back = decode(encode(req, { protocol: 'v2' }), { protocol: 'v2' });
  const h = back.series[0].histograms[0];
  assert.deepEqual([h.count, h.sum, h.zeroCount, h.positiveDeltas, h.positiveSpans], [3, 1.5, 1, [1, 0], [{ offset: 0, length: 2 }]]);
  assert.deepEqual(back.series[1].exemplars, [{ labels: { trace_id: 'abc' }, value: 1, timestamp: 1000 }]);
});

test('bad input is an error with a message, not a crash', () => {
  assert.throws(() => encode({ series: [{ labels: { __name__: 'x' }, samples: [{ value: 'lots', timestamp: 1 }] }] }), /series\[0\]\.samples\[0\]\.value: "lots" is not a number/);
  assert.throws(() => decode(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), /over the limit/);
  assert.throws(() => encode(plain, { protocol: 'v3' }), /protocol must be/);
});
