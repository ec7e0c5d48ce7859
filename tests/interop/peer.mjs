// An independent remote-write implementation for interoperability tests: protobufjs (loading
// the .proto files in proto/ at run time) and snappyjs (snappy block format). Driven by
// tests/interop.rs:
//
//   node peer.mjs reencode v1|v2 IN.bin OUT.bin DUMP.json
//       decode IN (snappy + protobuf), write what was decoded as DUMP, re-encode it to OUT
//   node peer.mjs generate DIR
//       encode the cases below into DIR/NAME.v1.bin or NAME.v2.bin, with NAME.json beside each
//       holding what a decoder must find in it
//
// A dump lists series with labels as [name, value] pairs; doubles as 16 hex digits of their
// bits (so stale markers and NaN payloads are compared exactly); 64-bit integers as decimal
// strings. It is the same shape tests/interop.rs builds from edgewrite's model.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import Long from 'long';
import snappy from 'snappyjs';

protobuf.util.Long = Long;
protobuf.configure();

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const types = new protobuf.Root();
types.resolvePath = (_origin, target) => path.join(root, 'proto', target);
types.loadSync(['prometheus/remote.proto', 'io/prometheus/write/v2/types.proto'], { keepCase: true });
const V1 = types.lookupType('prometheus.WriteRequest');
const V2 = types.lookupType('io.prometheus.write.v2.Request');

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
const bits = (x) => {
  f64[0] = x;
  return u64[0].toString(16).padStart(16, '0');
};
const fromBits = (hex) => {
  u64[0] = BigInt('0x' + hex);
  return f64[0];
};
const str = (v) => (v == null ? '0' : v.toString());
const STALE = '7ff0000000000002';

function dumpHistogram(h) {
  return {
    count: h.count === 'count_float' ? 'f:' + bits(h.count_float) : 'i:' + str(h.count_int),
    sum: bits(h.sum ?? 0),
    schema: h.schema ?? 0,
    zero_threshold: bits(h.zero_threshold ?? 0),
    zero_count: h.zero_count === 'zero_count_float' ? 'f:' + bits(h.zero_count_float) : 'i:' + str(h.zero_count_int),
    negative_spans: (h.negative_spans ?? []).map((s) => [s.offset ?? 0, s.length ?? 0]),
    negative_deltas: (h.negative_deltas ?? []).map(str),
    negative_counts: (h.negative_counts ?? []).map(bits),
    positive_spans: (h.positive_spans ?? []).map((s) => [s.offset ?? 0, s.length ?? 0]),
    positive_deltas: (h.positive_deltas ?? []).map(str),
    positive_counts: (h.positive_counts ?? []).map(bits),
    reset_hint: h.reset_hint ?? 0,
    timestamp: str(h.timestamp),
    custom_values: (h.custom_values ?? []).map(bits),
    start_timestamp: str(h.start_timestamp),
  };
}

function dump(version, msg) {
  if (version === 'v1') {
    const pairs = (ls) => (ls ?? []).map((l) => [l.name ?? '', l.value ?? '']);
    return {
      series: msg.timeseries.map((ts) => ({
        labels: pairs(ts.labels),
        samples: ts.samples.map((s) => [bits(s.value ?? 0), str(s.timestamp), '0']),
        histograms: ts.histograms.map(dumpHistogram),
        exemplars: ts.exemplars.map((e) => ({ labels: pairs(e.labels), value: bits(e.value ?? 0), timestamp: str(e.timestamp) })),
        metadata: [0, '', ''],
      })),
      metadata: msg.metadata.map((m) => [m.type ?? 0, m.metric_family_name ?? '', m.help ?? '', m.unit ?? '']),
    };
  }
  const sym = msg.symbols;
  const pairs = (refs) => {
    const out = [];
    for (let i = 0; i < (refs ?? []).length; i += 2) out.push([sym[refs[i]], sym[refs[i + 1]]]);
    return out;
  };
  return {
    series: msg.timeseries.map((ts) => ({
      labels: pairs(ts.labels_refs),
      samples: ts.samples.map((s) => [bits(s.value ?? 0), str(s.timestamp), str(s.start_timestamp)]),
      histograms: ts.histograms.map(dumpHistogram),
      exemplars: ts.exemplars.map((e) => ({ labels: pairs(e.labels_refs), value: bits(e.value ?? 0), timestamp: str(e.timestamp) })),
      metadata: ts.metadata ? [ts.metadata.type ?? 0, sym[ts.metadata.help_ref ?? 0], sym[ts.metadata.unit_ref ?? 0]] : [0, '', ''],
    })),
    metadata: [],
  };
}

function reencode(version, inPath, outPath, dumpPath) {
  const Type = version === 'v1' ? V1 : V2;
  const msg = Type.decode(snappy.uncompress(fs.readFileSync(inPath)));
  fs.writeFileSync(dumpPath, JSON.stringify(dump(version, msg)));
  fs.writeFileSync(outPath, snappy.compress(Type.encode(msg).finish()));
}

// Cases built here, with protobufjs's own encoder: what edgewrite must decode.
function cases() {
  const histogram = {
    count_int: '9', sum: 21.5, schema: 1, zero_threshold: 0.001, zero_count_int: '1',
    negative_spans: [{ offset: -2, length: 1 }], negative_deltas: ['2'],
    positive_spans: [{ offset: 0, length: 2 }, { offset: 3, length: 1 }], positive_deltas: ['1', '2', '-1'],
    reset_hint: 2, timestamp: '1764000000000',
  };
  const floatHistogram = {
    count_float: 6.5, sum: fromBits(STALE), schema: -53, custom_values: [0.1, 0.5, 2.5],
    positive_spans: [{ offset: 0, length: 3 }], positive_counts: [1.5, 2, 3], reset_hint: 3, timestamp: '1764000015000',
  };
  const v1 = {
    timeseries: [
      {
        labels: [{ name: '__name__', value: 'shop_orders_total' }, { name: 'route', value: '/api/ünï' }],
        samples: [{ value: 42, timestamp: '1764000000000' }, { value: fromBits(STALE), timestamp: '1764000015000' }],
        exemplars: [{ labels: [{ name: 'trace_id', value: '4bf92f3577b34da6' }], value: 0.25, timestamp: '1764000000000' }],
      },
      { labels: [{ name: '__name__', value: 'rpc_seconds' }], histograms: [histogram, floatHistogram] },
      { labels: [{ name: '__name__', value: 'neg' }, { name: 'z', value: '∞' }], samples: [{ value: -0, timestamp: '-5' }, { value: Infinity, timestamp: '9007199254740993' }] },
    ],
    metadata: [
      { type: 1, metric_family_name: 'shop_orders', help: 'Orders placed.', unit: '' },
      { type: 3, metric_family_name: 'rpc_seconds', help: 'RPC latency.', unit: 'seconds' },
    ],
  };
  const symbols = ['', '__name__', 'shop_orders_total', 'route', '/api/ünï', 'trace_id', 'abc', 'Orders placed.', 'rpc_seconds', 'seconds'];
  const v2 = {
    symbols,
    timeseries: [
      {
        labels_refs: [1, 2, 3, 4],
        samples: [{ value: 7, timestamp: '1764000000000', start_timestamp: '1763990000000' }, { value: fromBits(STALE), timestamp: '1764000015000' }],
        exemplars: [{ labels_refs: [5, 6], value: 1, timestamp: '1764000000000' }],
        metadata: { type: 1, help_ref: 7 },
      },
      { labels_refs: [1, 8], histograms: [{ ...histogram, start_timestamp: '1763990000000' }, floatHistogram], metadata: { type: 3, unit_ref: 9 } },
      { labels_refs: [1, 8], exemplars: [{ value: 3, timestamp: '1764000000001' }] },
    ],
  };
  return [['mixed', 'v1', V1, v1], ['mixed', 'v2', V2, v2]];
}

function generate(dir) {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, version, Type, obj] of cases()) {
    const bytes = Type.encode(Type.fromObject(obj)).finish();
    fs.writeFileSync(path.join(dir, `${name}.${version}.bin`), snappy.compress(bytes));
    fs.writeFileSync(path.join(dir, `${name}.${version}.json`), JSON.stringify(dump(version, Type.decode(bytes))));
  }
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'reencode') reencode(...args);
else if (cmd === 'generate') generate(args[0]);
else {
  console.error('usage: peer.mjs reencode v1|v2 IN OUT DUMP | generate DIR');
  process.exit(2);
}
