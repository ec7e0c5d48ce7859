// Faults, with real processes on loopback: the Worker killed with SIGKILL mid-stream and
// restarted on its state; an upstream slow and flaky (delays, 500, 503, 429, dropped
// connections) behind a shard queue bounded by MAX_QUEUE_BYTES; the npm sender facing a
// receiver that is gone; the Worker killed while pages push RUM and its aggregators flush. Each test prints its figures (written, acknowledged, delivered, lost)
// and asserts that nothing acknowledged is lost and every series arrives in order.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RemoteWriter, decode, encode } from '../../pkg/node.js';
import { LCP, eventually, metricSum, rumSession, scriptedReceiver, sleep, startWorker } from './helpers.mjs';

/** A small seeded generator, so a failing run can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Kills `worker` with SIGKILL, as a crash, and starts it again on its state and port with `vars`. */
async function crashAndRestart(worker, vars) {
  await worker.kill();
  await sleep(300);
  return startWorker(vars, { state: worker.state, port: worker.port });
}

/** Checks what arrived against what was written: every sample, each series' first arrivals in order. */
function tally(delivered, written) {
  let arrived = 0;
  let duplicates = 0;
  for (const [key, want] of written) {
    const got = delivered.get(key) ?? [];
    const seen = new Set();
    const first = got.filter((t) => !seen.has(t) && seen.add(t));
    duplicates += got.length - first.length;
    assert.deepEqual(first, want, `${key}: every sample once, in order`);
    arrived += first.length;
  }
  return { arrived, duplicates };
}

test('the Worker killed with SIGKILL twice mid-stream and restarted on its state: every acknowledged sample arrives upstream, in order', async () => {
  const upstream = await scriptedReceiver();
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-kill-'));
  const vars = { BACKEND: 'remote_write', UPSTREAM_URL: upstream.url, UPSTREAM_PROTOCOL: 'v2', SHARD_COUNT: '2' };
  let worker = await startWorker(vars, { state });
  try {
    // (Room for what is pushed while the Worker restarts, half a minute at most.)
    const w = new RemoteWriter({ url: `${worker.url}/api/v1/write`, protocol: 'v2', shards: 2, capacity: 100_000, batchSendDeadlineMs: 20, maxSamplesPerSend: 50, maxBackoffMs: 500 });
    const run = String(process.pid);
    const series = Array.from({ length: 8 }, (_, i) => ({ labels: { __name__: 'crash_test', run, s: String(i) }, times: [] }));
    const handles = series.map((s) => w.series(s.labels));
    const base = Date.now() - 3_600_000;
    let pushing = true;
    let t = 0;
    const pusher = (async () => {
      while (pushing) {
        t += 1;
        for (const [i, h] of handles.entries()) {
          h.push(t, base + t * 1000);
          series[i].times.push(base + t * 1000);
        }
        await sleep(50);
      }
    })();
    for (let kill = 0; kill < 2; kill++) {
      await sleep(1500);
      worker = await crashAndRestart(worker, vars);
    }
    await sleep(1000);
    pushing = false;
    await pusher;
    await w.close({ timeoutMs: 120_000 });
    const stats = w.stats().samples;
    const written = series.reduce((n, s) => n + s.times.length, 0);
    assert.equal(stats.failed + stats.droppedQueueFull + stats.droppedTooOld, 0, JSON.stringify(stats));
    assert.equal(stats.total, written, 'the Worker acknowledged everything written, after retries');
    assert.ok(stats.retried > 0, 'the kills interrupted writes in flight');
    const key = (s) => JSON.stringify({ ...s.labels, tenant: 'anonymous' });
    const want = new Map(series.map((s) => [key(s), s.times]));
    await eventually(() => [...want].every(([k, v]) => new Set(upstream.delivered().get(k) ?? []).size === v.length), 120_000, 'every sample upstream');
    const { arrived, duplicates } = tally(upstream.delivered(), want);
    console.log(`SIGKILL x2: written ${written}, acknowledged ${stats.total}, retried ${stats.retried}, delivered ${arrived} (+${duplicates} again), lost ${stats.total - arrived}`);
    assert.equal(arrived, stats.total, 'lost: 0');
  } finally {
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
    await upstream.close();
  }
});

/**
 * An upstream that waits up to `delayMs`, then answers 204, 500, 503, 429 (Retry-After 1) or
 * drops the connection: each of them first, in turn, then at random.
 */
async function flakyUpstream(seed, delayMs) {
  const next = random(seed);
  const first = [429, 503, 500, 'drop', 204, 429];
  const delivered = new Map();
  const answers = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const arrived = Date.now();
      await sleep(next() * delayMs);
      const roll = next();
      const status = first.shift() ?? (roll < 0.5 ? 204 : roll < 0.6 ? 500 : roll < 0.75 ? 503 : roll < 0.85 ? 429 : 'drop');
      answers.push({ arrived, answered: Date.now(), status });
      if (status === 'drop') return req.socket.destroy();
      if (status === 204) {
        // (A 1.0 receiver: the Worker sends it 1.0.)
        for (const s of decode(Buffer.concat(chunks), { protocol: 'v1' }).series) {
          const k = JSON.stringify(s.labels);
          delivered.set(k, [...(delivered.get(k) ?? []), ...s.samples.map((x) => x.timestamp)]);
        }
        return res.writeHead(204).end();
      }
      res.writeHead(status, status === 429 ? { 'Retry-After': '1' } : {});
      res.end('flaky');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/api/v1/write`,
    delivered,
    answers,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}

test('the Worker killed with SIGKILL in the middle of a compaction, and restarted: the compaction goes on where it stopped, every sample stored once', async () => {
  // One shard, 40,000 new series in 8 requests: one compaction of about 80 slices (512 series
  // each, an alarm turn each). Killed when the first slices are written: less than half of it.
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-kill-compaction-'));
  const vars = { COMPACT_EVERY: '5s', SHARD_COUNT: '1' }; // (all 8 requests queued before it starts)
  let worker = await startWorker(vars, { state });
  const SERIES = 5000;
  const REQUESTS = 8;
  const t = Date.now() - 60_000;

  const metrics = async () => (await fetch(`${worker.url}/metrics`)).text();
  try {
    for (let r = 0; r < REQUESTS; r++) {
      const series = Array.from({ length: SERIES }, (_, i) => ({
        labels: { __name__: 'compaction_kill', series: String(r * SERIES + i) },
        samples: [{ value: r * SERIES + i, timestamp: t }],
      }));
      const res = await fetch(`${worker.url}/api/v1/write`, { method: 'POST', body: encode({ series }) });
      assert.equal(res.status, 204, await res.text());
    }
    let caught;
    await eventually(async () => {
      const text = await metrics();
      const stored = metricSum(text, 'edgewrite_shard_stored_points_total');
      caught = { stored, queued: metricSum(text, 'edgewrite_shard_queue_batches') };
      return stored > 0 && caught.queued > 0;
    }, 30_000, 'a compaction part way');
    worker = await crashAndRestart(worker, vars);
    assert.ok(caught.stored < (REQUESTS * SERIES) / 2, `killed early in the compaction (${caught.stored} stored)`);
    await eventually(async () => metricSum(await metrics(), 'edgewrite_shard_queue_batches') === 0, 60_000, 'the queue compacted');
    const stored = metricSum(await metrics(), 'edgewrite_shard_stored_points_total');
    console.log(`# killed with ${caught.stored} of ${REQUESTS * SERIES} samples compacted and ${caught.queued} batches queued; after the restart: ${stored} stored`);
    assert.equal(stored, REQUESTS * SERIES, 'every sample stored once: the slices written before the kill are not written again');
    const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': 'compaction_kill', start: '0', end: '4000000000' })}`);
    const result = (await res.json()).data.result;
    assert.equal(result.length, REQUESTS * SERIES, 'every series');
    for (const r of result) assert.deepEqual(r.values, [[t / 1000, r.metric.series]], r.metric.series);
  } finally {
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
  }
});

test('a slow, flaky upstream behind a queue bounded by MAX_QUEUE_BYTES: writes past it get 503 with Retry-After, the queue stays within it, Retry-After is waited out, nothing acknowledged is lost', async () => {
  const seed = Number(process.env.FAULT_SEED ?? 20261203);
  const upstream = await flakyUpstream(seed, 800);
  const MAX = 6000;
  const worker = await startWorker({
    BACKEND: 'remote_write',
    UPSTREAM_URL: upstream.url,
    UPSTREAM_PROTOCOL: 'v1',
    SHARD_COUNT: '1',
    MAX_QUEUE_BYTES: String(MAX),
    UPSTREAM_MAX_BACKOFF: '1s',
  });
  try {
    const w = new RemoteWriter({ url: `${worker.url}/api/v1/write`, shards: 1, batchSendDeadlineMs: 20, maxSamplesPerSend: 40, maxBackoffMs: 300, maxRetryAfterMs: 300 });
    const refusals = [];
    w.on('retry', (e) => refusals.push(e));
    const series = Array.from({ length: 4 }, (_, i) => ({ labels: { __name__: 'flaky_test', s: String(i) }, times: [] }));
    const handles = series.map((s) => w.series(s.labels));
    const base = Date.now() - 3_600_000;
    let deepest = 0;
    const metrics = async () => (await fetch(`${worker.url}/metrics`)).text();
    for (let t = 1; t <= 150; t++) {
      handles.forEach((h, i) => (h.push(t, base + t * 1000), series[i].times.push(base + t * 1000)));
      if (t % 10 === 0) {
        await sleep(50);
        deepest = Math.max(deepest, Number((await metrics()).match(/^edgewrite_shard_queue_bytes\{[^}]*\} (\d+)$/m)?.[1] ?? 0));
      }
    }
    const flushing = w.close({ timeoutMs: 180_000 });
    while (w.stats().samples.pending > 0) {
      deepest = Math.max(deepest, Number((await metrics()).match(/^edgewrite_shard_queue_bytes\{[^}]*\} (\d+)$/m)?.[1] ?? 0));
      await sleep(200);
    }
    await flushing;
    const stats = w.stats().samples;
    const written = series.reduce((n, s) => n + s.times.length, 0);
    assert.equal(stats.failed + stats.droppedQueueFull + stats.droppedTooOld, 0, JSON.stringify(stats));
    assert.equal(stats.total, written);
    const key = (s) => JSON.stringify({ ...s.labels, tenant: 'anonymous' });
    const want = new Map(series.map((s) => [key(s), s.times]));
    await eventually(() => [...want].every(([k, v]) => new Set(upstream.delivered.get(k) ?? []).size === v.length), 180_000, 'every sample upstream');
    const { arrived, duplicates } = tally(upstream.delivered, want);
    const full = refusals.filter((e) => e.status === 503 && /MAX_QUEUE_BYTES/.test(e.message)).length;
    const answers = {};
    for (const a of upstream.answers) answers[a.status] = (answers[a.status] ?? 0) + 1;
    console.log(
      `flaky upstream (seed ${seed}): written ${written}, acknowledged ${stats.total}, refused while the queue was full ${full} times, ` +
        `deepest queue ${deepest} of ${MAX} bytes, upstream answered ${Object.entries(answers).map(([k, n]) => `${k} x${n}`).join(', ')}, ` +
        `delivered ${arrived} (+${duplicates} again), lost ${stats.total - arrived}`,
    );
    assert.equal(arrived, stats.total, 'lost: 0');
    assert.ok(full > 0, 'the queue filled at least once (MAX_QUEUE_BYTES is small)');
    assert.ok(deepest <= MAX, `the queue held ${deepest} bytes, more than ${MAX}`);
    // After a 429 with Retry-After: 1, the shard's next try came at least a second later.
    const sorted = upstream.answers.toSorted((a, b) => a.arrived - b.arrived);
    assert.ok(sorted.filter((a) => a.status === 429).length >= 2);
    for (const [i, a] of sorted.entries()) {
      if (a.status === 429 && sorted[i + 1]) assert.ok(sorted[i + 1].arrived - a.answered >= 950, `a retry ${sorted[i + 1].arrived - a.answered} ms after a 429`);
    }
    const text = await metrics();
    assert.match(text, /edgewrite_requests_total\{status="503"\} [1-9]/);
  } finally {
    await worker.stop();
    await upstream.close();
  }
});

test('the npm sender facing a receiver that is gone: memory bounded by capacity, drops counted and reported, the rest in order once it is back', async () => {
  const receiver = await scriptedReceiver();
  const url = receiver.url;
  await receiver.close();
  const dropped = [];
  const w = new RemoteWriter({ url, shards: 1, capacity: 100, onFull: 'drop-oldest', batchSendDeadlineMs: 10, maxSamplesPerSend: 20, minBackoffMs: 20, maxBackoffMs: 100 });
  w.on('error', (e) => dropped.push(e.counts.samples));
  const s = w.series({ __name__: 'outage_test' });
  const base = Date.now() - 60_000;
  for (let t = 1; t <= 1000; t++) s.push(t, base + t);
  await sleep(300);
  const held = w.stats().samples;
  assert.ok(held.pending <= 100 + 20, `${held.pending} pending with a capacity of 100 (and one batch in flight)`);
  assert.ok(held.droppedQueueFull >= 880, JSON.stringify(held));
  // The receiver is back on the same port.
  const port = Number(new URL(url).port);
  const back = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      back.samples.push(...decode(Buffer.concat(chunks), { protocol: 'v1' }).series.flatMap((x) => x.samples.map((y) => y.timestamp)));
      res.writeHead(204).end();
    });
  });
  back.samples = [];
  await new Promise((resolve) => back.listen(port, '127.0.0.1', resolve));
  try {
    await w.close({ timeoutMs: 30_000 });
    const stats = w.stats().samples;
    const lost = 1000 - stats.total - stats.droppedQueueFull;
    console.log(`receiver gone: written 1000, dropped as the queue was full ${stats.droppedQueueFull} (reported ${dropped.reduce((a, b) => a + b, 0)}), delivered ${stats.total}, lost unreported ${lost}`);
    assert.equal(lost, 0);
    assert.equal(back.samples.length, stats.total);
    assert.deepEqual(back.samples, back.samples.toSorted((a, b) => a - b), 'in order');
    assert.equal(back.samples.at(-1), base + 1000, 'the newest kept (drop-oldest)');
    assert.equal(dropped.reduce((a, b) => a + b, 0), stats.droppedQueueFull, 'every drop reported as an error event');
  } finally {
    await new Promise((resolve) => (back.closeAllConnections(), back.close(resolve)));
  }
});

test('the Worker killed with SIGKILL three times while pages push RUM with ids and its aggregators flush every second, and restarted: the totals are exact, in order, never reset', { timeout: 300_000 }, async () => {
  const seed = Number(process.env.FAULT_SEED ?? 20261203);
  const state = mkdtempSync(join(tmpdir(), 'edgewrite-rum-kill-'));
  const vars = { RUM_FLUSH_EVERY: '1s', COMPACT_EVERY: '1s', SHARD_COUNT: '2', RUM_RATE_LIMIT: 'off' };
  let worker = await startWorker(vars, { state });
  const url = `${worker.url}/api/v1/rum`;
  const route = `/kill-${process.pid}`;
  const LE = [...LCP.map(String), '+Inf'];
  // What the pages pushed, once each however often they had to try: the totals to expect.
  // `cut`: tries whose connection broke mid-request (the Worker may have stored the push
  // without answering: its retry with the same id must add nothing); `refused`: tries while
  // the Worker was down.
  const want = { pushes: 0, tries: 0, cut: 0, refused: 0, views: 0, lcp: [] };
  let pushing = true;
  const deadline = Date.now() + 200_000;
  try {
    /** A page: pushes a session (with an id), and tries it again with the same id until a 204. */
    const page = async (p) => {
      const next = random(seed + 1 + p);
      for (let n = 0; pushing; n++) {
        const views = 1 + Math.floor(next() * 3);
        const lcp = Array.from({ length: Math.floor(next() * 3) }, () => Math.round(next() * 6000) / 1000);
        const body = encode({ series: rumSession({ route, views, lcp }) });
        for (;;) {
          assert.ok(Date.now() < deadline, `page ${p}: push ${n} still not taken`);
          want.tries += 1;
          const status = await fetch(`${url}?push=page${p}-${n}`, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } })
            .then(async (r) => (await r.arrayBuffer(), r.status))
            .catch((e) => (e.cause?.code === 'ECONNREFUSED' ? 'refused' : 'cut'));
          if (status === 204) break;
          if (typeof status === 'string') want[status] += 1;
          else assert.ok(status >= 500, `a push answered ${status}`);
          await sleep(200);
        }
        want.pushes += 1;
        want.views += views;
        want.lcp.push(...lcp);
        await sleep(20);
      }
    };
    const pages = Promise.all([0, 1, 2, 3].map(page));
    const next = random(seed);
    for (let kill = 0; kill < 3; kill++) {
      await sleep(1500 + next() * 1000);
      worker = await crashAndRestart(worker, vars);
    }
    await sleep(1500);
    pushing = false;
    await pages;
    // Every total as pushed, once the aggregators' last flushes (one aggregator a metric, each
    // on its own alarm) are in the store.
    const expected = {
      views: want.views,
      count: want.lcp.length,
      sum: want.lcp.reduce((a, b) => a + b, 0),
      buckets: LE.map((le) => want.lcp.filter((x) => x <= Number(le === '+Inf' ? Infinity : le)).length),
    };
    const read = async () => {
      const one = async (q) => {
        const r = await worker.query(q);
        return r.length === 1 ? Number(r[0].value[1]) : undefined;
      };
      const buckets = await worker.query(`rum_lcp_seconds_bucket{route="${route}"}`);
      return {
        views: await one(`rum_page_views_total{route="${route}"}`),
        count: await one(`rum_lcp_seconds_count{route="${route}"}`),
        sum: await one(`rum_lcp_seconds_sum{route="${route}"}`),
        buckets: LE.map((le) => Number(buckets.find((b) => b.metric.le === le)?.value[1])),
      };
    };
    const same = (got) => got.views === expected.views && got.count === expected.count && Math.abs(got.sum - expected.sum) < 1e-6 &&
      got.buckets.every((n, i) => n === expected.buckets[i]);
    let got;
    await eventually(async () => same((got = await read())), 60_000, `the totals pushed: ${JSON.stringify(expected)}`).catch((e) => {
      throw new Error(`${e.message}; stored ${JSON.stringify(got)}`);
    });
    console.log(`RUM, SIGKILL x3: ${want.pushes} pushes acknowledged (${want.tries} tries: ${want.cut} cut mid-request, ${want.refused} refused while down); ` +
      `page views ${want.views} pushed, ${got.views} stored; LCP observations ${want.lcp.length} pushed, ${got.count} stored (sum and every bucket exact); lost 0`);
    assert.ok(want.cut > 0, 'a kill cut pushes in flight');
    // Every series strictly in time order and never reset, across the kills.
    const end = Date.now() / 1000;
    const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': `{route="${route}"}`, start: String(end - 600), end: String(end + 60) })}`);
    const samples = (await res.json()).data.result;
    assert.equal(samples.length, 3 + LE.length, 'page views, LCP count, sum and buckets');
    for (const s of samples) {
      const ts = s.values.map(([t]) => t);
      assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]), `${JSON.stringify(s.metric)} in order: ${ts}`);
      const vs = s.values.map(([, v]) => Number(v)).filter((v) => !Number.isNaN(v));
      assert.ok(vs.every((v, i) => i === 0 || v >= vs[i - 1]), `${JSON.stringify(s.metric)} never reset: ${vs}`);
    }
  } finally {
    pushing = false;
    await worker.stop();
    rmSync(state, { recursive: true, force: true });
  }
});
