// Runs the wasm codec benchmark under Node, beside protobufjs + snappyjs (the JavaScript peer)
// on the same payload in the same process. Prints one line per workload: median ms per call.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import init, * as wasm from './pkg/edgewrite_wasm_bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
await init({ module_or_path: fs.readFileSync(path.join(here, 'pkg/edgewrite_wasm_bench_bg.wasm')) });

function bench(name, fn, budgetMs = 1500) {
  for (let i = 0; i < 20; i++) fn();
  const times = [];
  const end = performance.now() + budgetMs;
  while (performance.now() < end || times.length < 30) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(`${name.padEnd(44)} ${median.toFixed(3).padStart(8)} ms  (${times.length} runs)`);
  return median;
}

const v1 = wasm.payload(1);
const v2 = wasm.payload(2);
console.log(`payload: 2000 series, v1 ${v1.length} bytes snappy, v2 ${v2.length} bytes snappy; node ${process.version}`);

const root = new protobuf.Root();
root.resolvePath = (_o, t) => path.join(here, '../../proto', t);
root.loadSync(['prometheus/remote.proto'], { keepCase: true });
const WriteRequest = root.lookupType('prometheus.WriteRequest');

const r = {};
r.snappy = bench('wasm snappy decompress only (v1 body)', () => wasm.snappy_only(v1));
r.naive = bench('wasm naive prost decode v1 (baseline)', () => wasm.decode_naive_prost(v1));
r.v1 = bench('wasm edgewrite decode v1', () => wasm.decode(v1, 1, false));
r.v1v = bench('wasm edgewrite decode + validate v1', () => wasm.decode(v1, 1, true));
r.v2 = bench('wasm edgewrite decode v2', () => wasm.decode(v2, 2, false));
r.v2v = bench('wasm edgewrite decode + validate v2', () => wasm.decode(v2, 2, true));
r.e1 = bench('wasm edgewrite encode v1 (+ snappy)', () => wasm.encode(1));
r.e2 = bench('wasm edgewrite encode v2 (+ snappy)', () => wasm.encode(2));
r.rx = bench('wasm Receiver::receive v1 (the Worker, 4 shards)', () => wasm.receive(v1));
r.js = bench('JS peer: snappyjs + protobufjs decode v1', () => WriteRequest.decode(snappy.uncompress(v1)));
const decoded = WriteRequest.decode(snappy.uncompress(v1));
r.jse = bench('JS peer: protobufjs + snappyjs encode v1', () => snappy.compress(WriteRequest.encode(decoded).finish()));
console.log(`ratios: decode+validate v1 vs naive prost ${(r.naive / r.v1v).toFixed(2)}x faster; ` +
  `decode v1 / snappy ${(r.v1 / r.snappy).toFixed(1)}x; JS peer decode / edgewrite ${(r.js / r.v1v).toFixed(1)}x`);
