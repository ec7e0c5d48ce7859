// A CPU profile of a workerd started with an inspector (`startWorkerd(vars, { inspectorPort })`),
// taken through the Chrome DevTools protocol over the run of a benchmark: where the Worker's
// and its Durable Objects' isolate spends its time (JavaScript, the wasm functions by name,
// and V8's own work), as self time per function. The profiling aid of issue 13 for what runs
// inside workerd (`perf` cannot name wasm frames there); `examples/profile_*` are the native ones.
import WebSocket from 'ws';

/** Starts sampling every `intervalUs` in each isolate the inspector on `port` lists; `stop()` returns the profiles. */
export async function startCpuProfile(port, intervalUs = 200) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const sessions = await Promise.all(targets.map((t) => session(t.webSocketDebuggerUrl)));
  for (const s of sessions) {
    await s.call('Profiler.enable');
    await s.call('Profiler.setSamplingInterval', { interval: intervalUs });
    await s.call('Profiler.start');
  }
  return {
    async stop() {
      const profiles = [];
      for (const s of sessions) {
        profiles.push((await s.call('Profiler.stop')).profile);
        s.close();
      }
      return profiles;
    },
  };
}

/** A DevTools protocol session on `url`: `call(method, params)` answers the result. */
async function session(url) {
  const ws = new WebSocket(url, { maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 1;
  const waiting = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data);
    const w = waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.error) w.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error)})`));
    else w.resolve(msg.result);
  });
  return {
    call(method, params = {}) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/**
 * The `top` functions by self time over `profiles`, and by total time (the samples with the
 * function anywhere on the stack), each with its share of the samples taken while busy (idle
 * and program time left out), and the busy milliseconds in all.
 */
export function profileSummary(profiles, top = 30) {
  const self = new Map();
  const total = new Map();
  let busy = 0;
  const add = (map, name, us) => map.set(name, (map.get(name) ?? 0) + us);
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const nameOf = (n) => n.callFrame.functionName || `(anonymous ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber})`;
    for (let i = 0; i < p.samples.length; i++) {
      const leaf = nodes.get(p.samples[i]);
      const name = nameOf(leaf);
      if (name === '(idle)' || name === '(program)' || name === '(root)') continue;
      const us = p.timeDeltas[i + 1] ?? 0;
      add(self, name, us);
      busy += us;
      const seen = new Set();
      for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
        const n = nameOf(nodes.get(id));
        if (!seen.has(n)) add(total, n, us);
        seen.add(n);
      }
    }
  }
  const rank = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }));
  return { busyMs: busy / 1000, self: rank(self), total: rank(total) };
}

/** Prints a `profileSummary`. */
export function printProfile({ busyMs, self, total }) {
  const line = (r) => `  ${(r.share * 100).toFixed(1).padStart(5)}% ${r.ms.toFixed(0).padStart(7)} ms  ${r.name.slice(0, 110)}`;
  console.log(`CPU profile: ${busyMs.toFixed(0)} ms busy\n by self time:\n${self.map(line).join('\n')}`);
  console.log(` by total time:\n${total.map(line).join('\n')}`);
}
