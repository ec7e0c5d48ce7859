// A bridge from prom-client (the metrics library most Node services use) to remote write: a
// collection loop that reads a registry every `intervalMs`, stamps one timestamp per
// collection, and writes everything it read (with type and help) as one collection.

/**
 * Starts the loop. `writer`: a RemoteWriter; `registry`: a prom-client Registry (e.g.
 * `client.register`); `labels`: extra labels for every series (e.g. `{ instance }`).
 * Returns `{ collect(), stop() }`; `collect()` runs one collection now.
 */
export function startPromClientBridge({ writer, registry, intervalMs = 15000, labels = {} }) {
  if (!writer || !registry?.getMetricsAsJSON) {
    throw new TypeError('startPromClientBridge: pass { writer, registry } (a prom-client Registry, e.g. client.register)');
  }
  let running = null;
  async function collect() {
    const timestamp = Date.now();
    const metrics = await registry.getMetricsAsJSON();
    const items = [];
    for (const m of metrics) {
      const metadata = { type: m.type, help: m.help ?? '' };
      for (const v of m.values) {
        const series = { ...labels, __name__: v.metricName ?? m.name };
        for (const [k, x] of Object.entries(v.labels ?? {})) series[k] = String(x);
        items.push({ labels: series, value: v.value, timestamp, metadata });
      }
    }
    if (items.length > 0) writer.writeCollection(items);
    return items.length;
  }
  const tick = () => {
    // One collection at a time: a slow collect callback must not pile them up.
    if (running) return;
    running = collect()
      .catch((err) => console.warn(`edgewrite: prom-client collection failed: ${err?.message ?? err}`))
      .finally(() => (running = null));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref?.();
  return {
    collect,
    stop: () => clearInterval(timer),
  };
}
