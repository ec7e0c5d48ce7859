// The PromQL page: runs a range query against the Worker's Prometheus API and draws the
// series with uPlot (loaded beside this file from www/vendor, copied from the npm package
// by worker/build.sh). Plain DOM, no build step; the Worker serves it (wrangler.toml [assets]).

const $ = (id) => document.getElementById(id);
const state = { plot: null, result: [], timer: null };

$("write-url").textContent = new URL("/api/v1/write", location.href).href;
$("token").value = sessionStorage.getItem("edgewrite-token") ?? "";
$("expr").value = new URLSearchParams(location.hash.slice(1)).get("q") ?? "";

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

const headers = () => {
  const token = $("token").value.trim();
  sessionStorage.setItem("edgewrite-token", token);
  return token ? { Authorization: `Bearer ${token}` } : {};
};

/** A form POST (as Grafana sends queries), or a GET where Prometheus only takes GET. */
async function api(path, params, method = "POST") {
  const response = method === "GET"
    ? await fetch(`${path}?${new URLSearchParams(params)}`, { headers: headers() })
    : await fetch(path, {
      method,
      headers: { ...headers(), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(params),
    });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (body.status !== "success") throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

async function loadMetrics() {
  try {
    const end = Date.now() / 1000;
    const body = await api("/api/v1/label/__name__/values", { start: (end - 86400).toFixed(3), end: end.toFixed(3) }, "GET");
    const options = body.data.map((name) => new Option(name, name));
    $("metric").replaceChildren(new Option("pick a metric…", ""), ...options);
  } catch (e) {
    status(`could not list metrics: ${e.message}`, true);
  }
}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

/** Which run is the latest: an answer to an earlier one (a slow query, an auto-refresh) is
 * dropped, so the page shows what was asked last. */
let runs = 0;

async function run() {
  const ticket = ++runs;
  const query = $("expr").value.trim();
  if (!query) return status("type a query, or pick a metric");
  location.hash = new URLSearchParams({ q: query }).toString();
  const range = Number($("range").value);
  const end = Date.now() / 1000;
  const step = $("step").value.trim() || String(autoStep(range));
  try {
    const body = await api("/api/v1/query_range", { query, start: (end - range).toFixed(3), end: end.toFixed(3), step });
    if (ticket !== runs) return;
    state.result = body.data.result;
    const warnings = body.warnings?.length ? ` (${body.warnings.join("; ")})` : "";
    status(`${state.result.length} series, step ${step}, updated ${new Date().toLocaleTimeString()}${warnings}`);
    render(end - range, end);
  } catch (e) {
    if (ticket === runs) status(e.message, true);
  }
}

const number = (v) => (v === "NaN" ? NaN : v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : Number(v));

/** The result as uPlot's columns: shared timestamps, one array per series (null where absent). */
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

const palette = ["#2957d6", "#d65f29", "#2a9d5b", "#9b3fb5", "#b8a02b", "#238a9e", "#c2366b", "#5c6b7a"];

function render(start, end) {
  const data = columns(state.result);
  const series = [{}, ...state.result.map((s, i) => ({ label: seriesName(s.metric), stroke: palette[i % palette.length], width: 1.5, spanGaps: false }))];
  state.plot?.destroy();
  const width = Math.max(320, $("chart").clientWidth || 640);
  state.plot = new uPlot({ width, height: 300, series, scales: { x: { time: true, min: start, max: end } }, legend: { show: false } }, data, $("chart"));
  const rows = state.result.map((s, i) => {
    const tr = document.createElement("tr");
    const last = s.values.at(-1);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = palette[i % palette.length];
    const cells = [seriesName(s.metric), last ? last[1] : "", String(s.values.length)].map((text) => {
      const td = document.createElement("td");
      td.textContent = text;
      return td;
    });
    cells[0].prepend(swatch);
    tr.append(...cells);
    // A click shows or hides the series in the chart.
    tr.addEventListener("click", () => {
      const shown = !tr.classList.toggle("hidden");
      state.plot.setSeries(i + 1, { show: shown });
    });
    return tr;
  });
  $("series").tBodies[0].replaceChildren(...rows);
  $("count").textContent = `(${rows.length})`;
}

function schedule() {
  clearInterval(state.timer);
  if ($("auto").checked) state.timer = setInterval(run, 15000);
}

$("query").addEventListener("submit", (e) => {
  e.preventDefault();
  run();
});
$("expr").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    run();
  }
});
$("metric").addEventListener("change", () => {
  if (!$("metric").value) return;
  $("expr").value = $("metric").value;
  run();
});
$("token").addEventListener("change", loadMetrics);
$("auto").addEventListener("change", schedule);
loadMetrics();
if ($("expr").value) run();
