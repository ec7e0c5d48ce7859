// The dashboard: asks the Worker's read API for the selected series and shows what arrived.
// Plain DOM, no build step; the page is served by the Worker itself (wrangler.toml [assets]).

const $ = (id) => document.getElementById(id);
const state = { selected: null, result: [], timer: null };

$("write-url").textContent = new URL("/api/v1/write", location.href).href;
$("token").value = sessionStorage.getItem("edgewrite-token") ?? "";

/** Prometheus-style text for a label set: name{a="b", ...}. */
export function seriesName(metric) {
  const { __name__: name = "", ...rest } = metric;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length ? `${name}{${pairs.join(", ")}}` : name;
}

function points(series) {
  const values = (series.values ?? []).map(([t, v]) => ({ t, v: v === "stale" ? null : Number(v) }));
  const histograms = (series.histograms ?? []).map(([t, h]) => ({ t, v: h === "stale" ? null : Number(h.count) }));
  return values.concat(histograms).sort((a, b) => a.t - b.t);
}

function ago(t) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

async function load() {
  const token = $("token").value.trim();
  sessionStorage.setItem("edgewrite-token", token);
  const end = Date.now() / 1000;
  const params = new URLSearchParams({ "match[]": $("selector").value, start: (end - Number($("range").value)).toFixed(3), end: end.toFixed(3) });
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  try {
    const response = await fetch(`/api/v1/samples?${params}`, { headers });
    const body = await response.json();
    if (body.status !== "success") throw new Error(body.error ?? `HTTP ${response.status}`);
    state.result = body.data.result;
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "";
    render();
  } catch (e) {
    $("status").textContent = `could not read: ${e.message}`;
    $("status").className = "error";
  }
}

function render() {
  const rows = state.result.map((series) => {
    const pts = points(series);
    const last = pts.at(-1);
    const tr = document.createElement("tr");
    const name = seriesName(series.metric);
    if (name === state.selected) tr.className = "selected";
    for (const text of [name, pts.length, last ? (last.v === null ? "stale" : String(last.v)) : "", last ? ago(last.t) : ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    tr.addEventListener("click", () => {
      state.selected = name;
      render();
    });
    return tr;
  });
  $("series").tBodies[0].replaceChildren(...rows);
  $("count").textContent = `(${rows.length})`;
  const chosen = state.result.find((s) => seriesName(s.metric) === state.selected);
  $("detail").hidden = !chosen;
  if (chosen) chart(state.selected, points(chosen));
}

function chart(title, pts) {
  $("detail-title").textContent = title;
  const svg = $("chart");
  const [w, h, pad] = [640, 240, 30];
  const live = pts.filter((p) => p.v !== null && Number.isFinite(p.v));
  const t0 = pts[0]?.t ?? 0, t1 = pts.at(-1)?.t ?? 1;
  const lo = Math.min(...live.map((p) => p.v), 0), hi = Math.max(...live.map((p) => p.v), 1);
  const x = (t) => pad + ((t - t0) / (t1 - t0 || 1)) * (w - 2 * pad);
  const y = (v) => h - pad - ((v - lo) / (hi - lo || 1)) * (h - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const el = (tag, attrs, text) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const line = el("polyline", { points: live.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") });
  const stale = pts.filter((p) => p.v === null).map((p) => el("circle", { class: "stale", cx: x(p.t), cy: h - pad, r: 3 }));
  svg.replaceChildren(
    line,
    ...stale,
    el("text", { x: 2, y: pad - 8 }, String(hi)),
    el("text", { x: 2, y: h - pad + 14 }, String(lo)),
    el("text", { x: pad, y: h - 4 }, new Date(t0 * 1000).toLocaleTimeString()),
    el("text", { x: w - pad - 50, y: h - 4 }, new Date(t1 * 1000).toLocaleTimeString()),
  );
  $("detail-range").textContent = `${pts.length} samples${stale.length ? `, ${stale.length} stale markers (red)` : ""}`;
}

function schedule() {
  clearInterval(state.timer);
  if ($("auto").checked) state.timer = setInterval(load, 5000);
}

$("query").addEventListener("submit", (e) => {
  e.preventDefault();
  load();
});
$("auto").addEventListener("change", schedule);
schedule();
load();
