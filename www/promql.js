// What the pages in www/ share: the Worker's Prometheus query API, and its answers as uPlot
// draws them. Plain ES module, no build step.

/** A form POST (as Grafana sends queries), or a GET where Prometheus only takes GET. */
export async function api(path, params, { method = "POST", headers = {} } = {}) {
  const response = method === "GET"
    ? await fetch(`${path}?${new URLSearchParams(params)}`, { headers })
    : await fetch(path, {
      method,
      headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params),
    });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (body.status !== "success") throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** Prometheus-style text for a label set: name{a="b", ...}. */
export function seriesName(metric) {
  const { __name__: name = "", ...rest } = metric;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length || !name ? `${name}{${pairs.join(", ")}}` : name;
}

/** A step giving about 250 points over the range, in whole seconds (Grafana's habit). */
export function autoStep(rangeSeconds) {
  return Math.max(1, Math.round(rangeSeconds / 250));
}

/** A sample value as the API writes it ("NaN", "+Inf", "1.5") as a number. */
export const number = (v) => (v === "NaN" ? NaN : v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v));

/** A range query's result as uPlot's columns: shared timestamps, one array per series (null
 * where absent). */
export function columns(result) {
  const times = [...new Set(result.flatMap((s) => s.values.map(([t]) => t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data = [times];
  for (const s of result) {
    const ys = new Array(times.length).fill(null);
    for (const [t, v] of s.values) {
      const y = number(v);
      ys[index.get(t)] = Number.isFinite(y) ? y : null;
    }
    data.push(ys);
  }
  return data;
}

/** Series colours, in order. */
export const palette = ["#2957d6", "#d65f29", "#2a9d5b", "#9b3fb5", "#b8a02b", "#238a9e", "#c2366b", "#5c6b7a"];
