// The RUM dashboard: page views, errors and the p75 of each Web Vital per route, read with
// PromQL from the Worker's query API (the aggregators' cumulative series), drawn with uPlot,
// refreshed every 15 s. Thresholds for good / poor are web-vitals' own.
import { api, autoStep, columns, number, palette, seriesName } from "./promql.js";
import { CLSThresholds, FCPThresholds, INPThresholds, LCPThresholds, TTFBThresholds } from "./vendor/web-vitals.js";

const $ = (id) => document.getElementById(id);
/** Each vital: its histogram, and web-vitals' thresholds in the histogram's unit. */
const VITALS = [
  ["LCP", "rum_lcp_seconds", LCPThresholds.map((t) => t / 1000)],
  ["INP", "rum_inp_seconds", INPThresholds.map((t) => t / 1000)],
  ["CLS", "rum_cls", CLSThresholds],
  ["FCP", "rum_fcp_seconds", FCPThresholds.map((t) => t / 1000)],
  ["TTFB", "rum_ttfb_seconds", TTFBThresholds.map((t) => t / 1000)],
];
const plots = {};
let timer;
let runs = 0;

$("token").value = sessionStorage.getItem("edgewrite-token") ?? "";
const headers = () => {
  const token = $("token").value.trim();
  sessionStorage.setItem("edgewrite-token", token);
  return token ? { Authorization: `Bearer ${token}` } : {};
};
const instant = async (query, time) => (await api("/api/v1/query", { query, time }, { headers: headers() })).data.result;
const range = async (query, start, end, step) =>
  (await api("/api/v1/query_range", { query, start, end, step }, { headers: headers() })).data.result;

/** The p75 of `histogram` per route over the last `seconds`, as PromQL computes it. */
export const p75 = (histogram, seconds, by = "route") =>
  `histogram_quantile(0.75, sum by (le, ${by}) (increase(${histogram}_bucket[${seconds}s])))`;

function draw(id, result, start, end, label = (m) => seriesName(m)) {
  plots[id]?.destroy();
  const series = [{}, ...result.map((s, i) => ({ label: label(s.metric), stroke: palette[i % palette.length], width: 1.5 }))];
  const width = Math.max(300, $(id).clientWidth || 560);
  plots[id] = new uPlot({ width, height: 220, series, scales: { x: { time: true, min: start, max: end } } }, columns(result), $(id));
  $(id).dataset.series = String(result.length);
  $(id).dataset.points = String(result.reduce((n, s) => n + s.values.length, 0));
}

function cell(value, thresholds, digits) {
  const td = document.createElement("td");
  if (!Number.isFinite(value)) {
    td.textContent = "–";
    return td;
  }
  td.textContent = value.toFixed(digits);
  td.className = value <= thresholds[0] ? "good" : value <= thresholds[1] ? "needs-improvement" : "poor";
  return td;
}

async function refresh() {
  const ticket = ++runs;
  const seconds = Number($("range").value);
  const end = Date.now() / 1000;
  const start = end - seconds;
  const step = Math.max(15, autoStep(seconds));
  const time = end.toFixed(3);
  try {
    const [views, errors, lcp, inp, perRoute, ...vitals] = await Promise.all([
      range("sum by (route) (rate(rum_page_views_total[2m])) * 60", start, end, step),
      range("sum by (kind) (rate(rum_errors_total[2m])) * 60", start, end, step),
      range(p75("rum_lcp_seconds", 300), start, end, step),
      range(p75("rum_inp_seconds", 300), start, end, step),
      instant(`sum by (route) (increase(rum_page_views_total[${seconds}s]))`, time),
      ...VITALS.map(([, h]) => instant(p75(h, seconds), time)),
    ]);
    if (ticket !== runs) return;
    const total = (q) => instant(`sum(increase(${q}[${seconds}s]))`, time).then((r) => Math.round(number(r[0]?.value[1] ?? "0")));
    const [viewsTotal, errorsTotal] = await Promise.all([total("rum_page_views_total"), total("rum_errors_total")]);
    $("views-total").textContent = String(viewsTotal);
    $("errors-total").textContent = String(errorsTotal);
    draw("views", views, start, end, (m) => m.route ?? "");
    draw("errors", errors, start, end, (m) => m.kind ?? "");
    draw("lcp", lcp, start, end, (m) => m.route ?? "");
    draw("inp", inp, start, end, (m) => m.route ?? "");
    const routes = [...new Set([...perRoute, ...vitals.flat()].map((s) => s.metric.route ?? ""))].sort();
    const rows = routes.map((route) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = route;
      tr.append(name);
      VITALS.forEach(([vital, , thresholds], i) => {
        const s = vitals[i].find((x) => (x.metric.route ?? "") === route);
        tr.append(cell(s ? number(s.value[1]) : NaN, thresholds, vital === "CLS" ? 3 : 2));
      });
      const v = perRoute.find((x) => (x.metric.route ?? "") === route);
      const views = document.createElement("td");
      views.textContent = v ? String(Math.round(number(v.value[1]))) : "0";
      tr.append(views);
      return tr;
    });
    $("vitals").tBodies[0].replaceChildren(...rows);
    $("status").textContent = `${routes.length} routes, updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "";
  } catch (e) {
    if (ticket !== runs) return;
    $("status").textContent = e.message;
    $("status").className = "error";
  }
}

function schedule() {
  clearInterval(timer);
  if ($("live").checked) timer = setInterval(refresh, 15_000);
}

$("range").addEventListener("change", refresh);
$("token").addEventListener("change", refresh);
$("live").addEventListener("change", schedule);
refresh();
schedule();
