// The PromQL page: runs a range query against the Worker's Prometheus API and draws the
// series with uPlot (loaded beside this file from www/vendor, copied from the npm package
// by worker/build.sh). Plain DOM, no build step; the Worker serves it (wrangler.toml [assets]).

import { api as query, autoStep, columns, palette, seriesName } from "./promql.js";

const $ = (id) => document.getElementById(id);
const api = (path, params, method = "POST") => query(path, params, { method, headers: headers() });
const state = { plot: null, result: [], timer: null };

$("write-url").textContent = new URL("/api/v1/write", location.href).href;
$("token").value = sessionStorage.getItem("edgewrite-token") ?? "";
$("expr").value = new URLSearchParams(location.hash.slice(1)).get("q") ?? "";

const headers = () => {
  const token = $("token").value.trim();
  sessionStorage.setItem("edgewrite-token", token);
  return token ? { Authorization: `Bearer ${token}` } : {};
};

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
