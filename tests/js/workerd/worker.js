// A Worker that uses the npm package as a Worker would: through the `workerd` entry (wasm
// imported as a module). POST /send?url=... writes one series there and answers with stats.
import { RemoteWriter, decode, encode } from '../../../pkg/workerd.js';

export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const w = new RemoteWriter({ url: params.get('url'), protocol: 'v2', batchSendDeadlineMs: 10 });
    const s = w.series({ __name__: 'from_workerd', colo: 'test' }, { type: 'gauge', help: 'Written by a Worker.' });
    s.push(1, 1000).push(2, 2000).stale(3000);
    await w.flush();
    const roundTrip = decode(encode({ series: [{ labels: { __name__: 'x' }, samples: [{ value: 5, timestamp: 1 }] }] }));
    return Response.json({ stats: w.stats(), protocol: w.protocol, roundTrip: roundTrip.series[0].samples[0].value });
  },
};
