// The npm package against npm `prometheus-remote-write` (the most used JavaScript remote-write
// library) in one Node process, on the same realistic payload: 2000 series of one sample,
// ten labels each. Both send to a fetch that answers 204 at once, so what is measured is the
// work of turning samples into a request body. Then push() throughput to a real HTTP
// receiver on loopback. Run: node benches/js/sender.mjs (after bash pkg/build.sh).
import http from 'node:http';
import { createRequire } from 'node:module';
import { RemoteWriter, encode } from '../../pkg/node.js';
import { seriesLabels } from './payload.mjs';

const require = createRequire(import.meta.url);
const { pushTimeseries } = require('prometheus-remote-write');

const SERIES = 2000;
const labels = seriesLabels(SERIES);

const ok = async () => new Response(null, { status: 204 });
let bodyBytes = 0;
const counting = async (_url, init) => {
  bodyBytes = init.body.length;
  return new Response(null, { status: 204 });
};

async function bench(name, fn, ms = 3000) {
  for (let i = 0; i < 10; i++) await fn(i);
  const times = [];
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end || times.length < 20; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(`${name.padEnd(62)} ${median.toFixed(3).padStart(8)} ms  (${times.length} runs)`);
  return median;
}

console.log(`node ${process.version}; ${SERIES} series x 10 labels, one sample each, per request`);
let ts = Date.now();
const peer = await bench('prometheus-remote-write 0.5.1: pushTimeseries', async () => {
  ts += 1000;
  const timeseries = labels.map((l, i) => ({ labels: l, samples: [{ value: i, timestamp: ts }] }));
  await pushTimeseries(timeseries, { url: 'http://127.0.0.1:1/api/v1/write', fetch: ok });
});

const w = new RemoteWriter({ url: 'http://127.0.0.1:1/api/v1/write', fetch: counting, shards: 1, maxSamplesPerSend: SERIES });
const handles = labels.map((l) => w.series(l));
const values = new Float64Array(SERIES);
const stamps = new Float64Array(SERIES);
const handled = await bench('edgewrite RemoteWriter: series handles + pushMany + flush', async () => {
  ts += 1000;
  for (let i = 0; i < SERIES; i++) values[i] = i;
  stamps.fill(ts);
  w.pushMany(handles, values, stamps);
  await w.flush();
});
const body1 = bodyBytes;
const objects = await bench('edgewrite RemoteWriter: push({ labels, samples }) per series + flush', async () => {
  ts += 1000;
  for (let i = 0; i < SERIES; i++) w.push({ labels: labels[i], samples: [{ value: i, timestamp: ts }] });
  await w.flush();
});
const lowLevel = await bench('edgewrite encode(request object) (low level, labels cross each time)', async () => {
  ts += 1000;
  encode({ series: labels.map((l, i) => ({ labels: l, samples: [{ value: i, timestamp: ts }] })) });
});
await w.close();
console.log(`edgewrite body: ${body1} bytes snappy`);
console.log(`ratios vs prometheus-remote-write: handles ${(peer / handled).toFixed(1)}x faster, ` +
  `push(labels) ${(peer / objects).toFixed(1)}x, encode(object) ${(peer / lowLevel).toFixed(1)}x`);

// push() throughput to a real receiver on loopback.
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/api/v1/write`;
const live = new RemoteWriter({ url, shards: 4 });
const liveHandles = labels.map((l) => live.series(l));
const TOTAL = 400_000;
const t0 = performance.now();
for (let n = 0; n < TOTAL; n += SERIES) {
  ts += 1000;
  stamps.fill(ts);
  // Back-pressure: wait while the queues hold more than half their capacity.
  while (live.stats().samples.pending > 4 * 5000) await new Promise((r) => setTimeout(r, 1));
  live.pushMany(liveHandles, values, stamps);
}
await live.close();
const secs = (performance.now() - t0) / 1000;
const s = live.stats().samples;
console.log(`push throughput to a loopback receiver: ${TOTAL} samples in ${secs.toFixed(2)} s = ` +
  `${Math.round(s.total / secs).toLocaleString('en')} samples/s delivered (${s.total} delivered, ${s.failed} failed)`);
server.close();
