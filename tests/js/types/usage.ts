// Compiled with `tsc --noEmit --strict` by tests/js/types.test.mjs: the package's types must
// describe how it is used (and refuse what it refuses).
import { RemoteWriter, encode, decode, startPromClientBridge, type DroppedEvent, type WriterStats } from '../../../pkg/node.js';

const w = new RemoteWriter({ url: 'http://127.0.0.1:9090/api/v1/write', protocol: 'v2', onFull: 'drop-oldest', bearerToken: 't' });
w.on('error', (e: DroppedEvent) => console.log(e.status, e.message, e.counts.samples));
w.on('retry', (e) => console.log(e.attempt, e.delayMs));
const s = w.series({ __name__: 'up', job: 'api' }, { type: 'gauge', help: 'Up.' });
s.push(1).push(2, Date.now()).stale();
s.exemplar({ trace_id: 'abc' }, 0.5);
w.push({ labels: { __name__: 'x' }, samples: [{ value: 1, timestamp: 1 }, { value: 0, stale: true }] });
w.pushMany([s, s.ref], new Float64Array([1, 2]), [1, 2]);
w.writeCollection([{ labels: { __name__: 'c' }, value: 1 }, { series: s, value: 2, timestamp: 3 }]);
w.counter('requests_total', { help: 'Requests.' }).inc();
w.gauge('inflight').set(3);
w.histogram('latency_seconds', { buckets: [0.1, 1] }).observe(0.2);
const stats: WriterStats = w.stats();
const pending: number = stats.samples.pending;
const text: string = w.metricsText();
const protocol: 'v1' | 'v2' = w.protocol;
await w.flush();
await w.close({ timeoutMs: 1000 });

const body: Uint8Array = encode({ series: [{ labels: { __name__: 'up' }, samples: [{ value: 'NaN', timestamp: 1 }] }] }, { protocol: 'v1' });
const req = decode(body);
const first: number | string = req.series[0].samples![0].value;
startPromClientBridge({ writer: w, registry: { getMetricsAsJSON: async () => [] }, intervalMs: 1000 }).stop();
console.log(pending, text, protocol, first);

// @ts-expect-error: protocol is 'v1' or 'v2'
new RemoteWriter({ url: 'x', protocol: 'v3' });
// @ts-expect-error: url is required
new RemoteWriter({ protocol: 'v1' });
// @ts-expect-error: label values are strings
w.series({ __name__: 'up', n: 1 });
