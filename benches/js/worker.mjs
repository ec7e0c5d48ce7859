// The Worker under plain workerd (as Cloudflare runs it; embedded backend) beside Debian's
// Prometheus as a remote-write receiver, on this machine, in one run, with the same payloads:
// realistic 2000-series requests of one sample per series (benches/js/payload.mjs), sent by
// CONNECTIONS loopback connections for SECONDS each (each connection writes series of its own,
// with timestamps one second apart, so both receivers take every sample in order).
//
// Reports requests/s and samples/s sustained, p50/p99 latency, and CPU per request of the
// receiving processes (from /proc: user + system time of workerd, or of prometheus, over the
// run, divided by the requests it answered; for the Worker this includes the shards' appends
// and their compactions, which run in the same workerd).
//
// Run: node benches/js/worker.mjs (after bash pkg/build.sh and bash worker/build.sh).
// CONNECTIONS=4 SECONDS=40 by default; the load generator shares the machine's two cores.
// Also the receivers' resident memory over the run (MEMORY_POINTS samples, default 20): the
// soak is SECONDS=600.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { encode } from '../../pkg/node.js';
import { metricSum, startPrometheus, startWorker, startWorkerd } from '../../tests/js/helpers.mjs';
import { printProfile, profileSummary, startCpuProfile } from './cpu-profile.mjs';
import { seriesLabels } from './payload.mjs';

const SERIES = 2000;
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 4);
const SECONDS = Number(process.env.SECONDS ?? 40);
const WARMUP_SECONDS = 3;
/** Samples of resident memory over a run (SECONDS=600 is the soak of RELIABILITY.md). */
const MEMORY_POINTS = Number(process.env.MEMORY_POINTS ?? 20);
const TICKS = 100; // USER_HZ: /proc's CPU times are in 1/100 s on Linux

/** The processes in group `pgid` whose name matches `name`: each one's pid and /proc stat fields after its name. */
function group(pgid, name) {
  const out = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && name.test(comm)) out.push({ pid, fields });
  }
  return out;
}

/** CPU seconds (user + system) of the processes in group `pgid` whose name matches `name`. */
function cpuSeconds(pgid, name) {
  return group(pgid, name).reduce((ticks, { fields }) => ticks + Number(fields[11]) + Number(fields[12]), 0) / TICKS;
}

/**
 * Resident memory (MiB) of the processes in group `pgid` whose name matches `name`: in all,
 * and the anonymous part of it (heaps, wasm memories; the rest is files mapped, shared
 * libraries, SQLite's pages).
 */
function rssMiB(pgid, name) {
  let rss = 0;
  let anon = 0;
  for (const { pid } of group(pgid, name)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(status.match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
      anon += Number(status.match(/^RssAnon:\s+(\d+)/m)?.[1] ?? 0);
    } catch {}
  }
  return { rss: rss / 1024, anon: anon / 1024 };
}

/** The Worker's WebAssembly memories (MiB) from its /metrics: the largest shard's, and the isolate's serving it. */
async function wasmMiB(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const values = (name) => text.split('\n').filter((l) => l.startsWith(name)).map((l) => Number(l.split(' ').pop()) / 2 ** 20);
  return Math.max(0, ...values('edgewrite_shard_wasm_memory_bytes{'), ...values('edgewrite_wasm_memory_bytes '));
}

/** Drives `url` with CONNECTIONS writers for SECONDS; returns latencies and counts. */
async function load(url, headers) {
  const start = Math.floor(Date.now() / 1000) * 1000 - 1_800_000;
  const latencies = [];
  const finished = []; // when each measured request was answered (ms since the measuring began)
  const statuses = {};
  let samples = 0;
  let measuring = false;
  const stopAt = Date.now() + (WARMUP_SECONDS + SECONDS) * 1000;
  const writer = async (c) => {
    const labels = seriesLabels(SERIES, { conn: String(c) });
    for (let i = 0; Date.now() < stopAt; i++) {
      const ts = start + i * 1000;
      const body = encode({ series: labels.map((l, k) => ({ labels: l, samples: [{ value: (k * 31 + i) % 1000, timestamp: ts }] })) });
      const t = performance.now();
      const res = await fetch(url, { method: 'POST', body, headers });
      await res.arrayBuffer();
      if (!measuring) continue;
      latencies.push(performance.now() - t);
      finished.push(performance.now() - mark.t0);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      if (res.ok) samples += SERIES;
    }
  };
  const mark = {};
  const run = Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => writer(c)));
  await new Promise((r) => setTimeout(r, WARMUP_SECONDS * 1000));
  measuring = true;
  mark.t0 = performance.now();
  const done = run.then(() => (mark.t1 = performance.now()));
  return { latencies, finished, statuses, get samples() { return samples; }, mark, done };
}

/**
 * Drives `url` and measures the receiving processes (group `pgid`, named like `processName`);
 * `wasm` (the Worker's) reads its WebAssembly memory.
 */
async function measure(name, url, headers, pgid, processName, wasm) {
  const run = await load(url, headers);
  const cpu0 = cpuSeconds(pgid, processName);
  // Memory over the run: MEMORY_POINTS samples of the receiving processes' resident memory.
  const memory = [];
  const every = (SECONDS * 1000) / MEMORY_POINTS;
  const sample = async (t) => {
    const { rss, anon } = rssMiB(pgid, processName);
    memory.push([t, rss, anon, wasm ? await wasm().catch(() => NaN) : undefined]);
  };
  const taking = [];
  const sampler = setInterval(() => taking.push(sample(Math.round((performance.now() - run.mark.t0) / 1000))), every);
  await sample(0);
  await run.done;
  clearInterval(sampler);
  await Promise.all(taking);
  await sample(Math.round((run.mark.t1 - run.mark.t0) / 1000));
  memory.sort((a, b) => a[0] - b[0]);
  const cpu = cpuSeconds(pgid, processName) - cpu0;
  const secs = (run.mark.t1 - run.mark.t0) / 1000;
  const lat = run.latencies.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  const requests = lat.length;
  const row = {
    name,
    requests,
    statuses: JSON.stringify(run.statuses),
    reqPerSec: (requests / secs).toFixed(1),
    samplesPerSec: Math.round(run.samples / secs).toLocaleString('en'),
    p50: q(0.5).toFixed(1),
    p99: q(0.99).toFixed(1),
    cpuMsPerRequest: ((cpu * 1000) / requests).toFixed(2),
  };
  console.log(`${name.padEnd(34)} ${String(requests).padStart(6)} req ${row.reqPerSec.padStart(7)} req/s ` +
    `${row.samplesPerSec.padStart(9)} samples/s  p50 ${row.p50.padStart(6)} ms  p99 ${row.p99.padStart(6)} ms  ` +
    `CPU ${row.cpuMsPerRequest} ms/request  ${row.statuses}`);
  // Levelling off, not growing: the last quarter's mean against the second quarter's.
  const quarter = (k) => {
    const part = memory.slice(Math.floor((memory.length * k) / 4), Math.floor((memory.length * (k + 1)) / 4));
    return part.reduce((a, [, m]) => a + m, 0) / Math.max(1, part.length);
  };
  // Requests/s in each whole 10-s window: compaction must never hold the intake for long.
  const windows = Array.from({ length: Math.floor(secs / 10) }, (_, w) => run.finished.filter((t) => t >= w * 10_000 && t < (w + 1) * 10_000).length / 10);
  const mean = windows.reduce((a, b) => a + b, 0) / Math.max(1, windows.length);
  console.log(`  requests/s per 10 s: ${windows.map((w) => w.toFixed(1)).join(' ')} (lowest ${(Math.min(...windows) / mean).toFixed(2)} of their mean)`);
  row.windows = windows;
  console.log(`  resident memory (MiB) at seconds: ${memory.map(([t, m]) => `${t}:${m.toFixed(0)}`).join(' ')}`);
  console.log(`  of it anonymous: ${memory.map(([t, , a]) => `${t}:${a.toFixed(0)}`).join(' ')}`);
  if (wasm) console.log(`  largest wasm memory: ${memory.map(([t, , , w]) => `${t}:${w.toFixed(0)}`).join(' ')}`);
  console.log(`  second quarter ${quarter(1).toFixed(0)} MiB, last quarter ${quarter(3).toFixed(0)} MiB (${((quarter(3) / quarter(1) - 1) * 100).toFixed(1)}%)`);
  row.memory = memory;
  return row;
}

const headers = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
console.log(`node ${process.version}; ${CONNECTIONS} connections x ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up); ` +
  `${SERIES} series x 10 labels, one sample each, remote write 1.0`);

// COMPACT_EVERY=1h leaves compaction out of the run, to see what it costs. BACKEND=remote_write
// forwards to a Prometheus instead of storing (the Worker's memory without its store's).
// RUNTIME=wrangler runs it under `wrangler dev` instead of plain workerd (whose memory then
// grows with every request: its dev proxy's and inspector's, not the Worker's).
const upstream = process.env.BACKEND === 'remote_write' ? await startPrometheus() : undefined;
const wrangler = process.env.RUNTIME === 'wrangler';
// PROFILE=1 (plain workerd) prints where workerd's isolate spent its CPU over the run.
const inspectorPort = process.env.PROFILE && !wrangler ? 9229 : undefined;
const worker = await (wrangler ? startWorker : startWorkerd)({
  BACKEND: upstream ? 'remote_write' : 'embedded',
  ...(upstream ? { UPSTREAM_URL: `${upstream.api}/api/v1/write` } : {}),
  ...(process.env.COMPACT_EVERY ? { COMPACT_EVERY: process.env.COMPACT_EVERY } : {}),
}, { inspectorPort });
try {
  const profile = inspectorPort && (await startCpuProfile(inspectorPort));
  await measure(`edgewrite Worker (${wrangler ? 'wrangler dev' : 'workerd'})`, `${worker.url}/api/v1/write`, headers, worker.pid, /^workerd$/, () => wasmMiB(worker.url));
  const metrics = await (await fetch(`${worker.url}/metrics`)).text();
  const stored = metricSum(metrics, 'edgewrite_shard_stored_points_total');
  console.log(`  (compacted into the embedded store during the run: ${stored.toLocaleString('en')} samples)`);
  if (profile) {
    const profiles = await profile.stop();
    printProfile(profileSummary(profiles, 40));
    // PROFILE=file.json also keeps the profiles (Chrome DevTools' format, one per isolate).
    if (process.env.PROFILE.endsWith('.json')) writeFileSync(process.env.PROFILE, JSON.stringify(profiles));
  }
} finally {
  await worker.stop();
  await upstream?.stop();
}

if (process.env.WORKER_ONLY) process.exit(0);
const prometheus = await startPrometheus();
try {
  await measure('Prometheus 2.42 receiver', `${prometheus.api}/api/v1/write`, headers, prometheus.pid, /^prometheus$/);
} finally {
  await prometheus.stop();
}
