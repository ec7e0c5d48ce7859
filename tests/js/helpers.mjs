// Test helpers: a remote-write receiver on a loopback port that answers from a script, and
// small utilities. The receiver decodes bodies with edgewrite's own decoder, which the Rust
// tests check against protobufjs.
import http from 'node:http';
import { decode } from '../../pkg/node.js';

/**
 * Starts a receiver. `script` is consumed one entry per request: a status number, an object
 * `{ status, headers, body }`, 'drop' (close the connection without answering) or 'hang'
 * (never answer). When it runs out, requests get 204 (with the Written headers for 2.0).
 * Every request is recorded: `{ at, headers, protocol, body, answered }`. With `v1Only`, it is
 * a 1.0 receiver that says so: every 2.0 request gets 415 (the script is not consumed).
 */
export async function scriptedReceiver(script = [], { cors = false, v1Only = false } = {}) {
  const requests = [];
  const preflights = [];
  const hanging = new Set();
  const server = http.createServer((req, res) => {
    if (cors) {
      res.setHeader('Access-Control-Allow-Origin', req.headers.origin ?? '*');
      res.setHeader('Access-Control-Expose-Headers', 'X-Prometheus-Remote-Write-Samples-Written, X-Prometheus-Remote-Write-Histograms-Written, X-Prometheus-Remote-Write-Exemplars-Written, Retry-After');
      if (req.method === 'OPTIONS') {
        preflights.push(req.headers);
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'POST',
          'Access-Control-Allow-Headers': 'Content-Encoding, Content-Type, X-Prometheus-Remote-Write-Version, Authorization, Retry-Attempt',
          'Access-Control-Max-Age': '600',
        });
        res.end();
        return;
      }
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const protocol = (req.headers['content-type'] ?? '').includes('io.prometheus.write.v2.Request') ? 'v2' : 'v1';
      const raw = Buffer.concat(chunks);
      const record = { at: Date.now(), url: req.url, headers: req.headers, protocol, raw, body: decode(raw, { protocol }), answered: null };
      requests.push(record);
      const step = v1Only && protocol === 'v2'
        ? { status: 415, body: 'remote write 2.0 is not supported here' }
        : script.length > 0 ? script.shift() : 204;
      if (step === 'drop') {
        record.answered = 'drop';
        req.socket.destroy();
        return;
      }
      if (step === 'hang') {
        record.answered = 'hang';
        hanging.add(res);
        return;
      }
      const { status, headers = {}, body = '' } = typeof step === 'number' ? { status: step } : step;
      record.answered = status;
      const h = { ...headers };
      // A 2.0 2xx without Written headers tells the writer this is a 1.x receiver: not delivered.
      record.delivered = status >= 200 && status < 300 && (protocol === 'v1' || typeof step === 'number' || 'X-Prometheus-Remote-Write-Samples-Written' in headers);
      if (status === 204 && typeof step === 'number' && protocol === 'v2') {
        const count = (k) => record.body.series.reduce((n, s) => n + (s[k]?.length ?? 0), 0);
        h['X-Prometheus-Remote-Write-Samples-Written'] = String(count('samples'));
        h['X-Prometheus-Remote-Write-Histograms-Written'] = String(count('histograms'));
        h['X-Prometheus-Remote-Write-Exemplars-Written'] = String(count('exemplars'));
      }
      res.writeHead(status, h);
      res.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/api/v1/write`,
    requests,
    preflights,
    /** Samples of successful requests, per series (keyed by its labels), in arrival order. */
    delivered() {
      const out = new Map();
      for (const r of requests.filter((x) => x.delivered)) {
        for (const s of r.body.series) {
          const key = JSON.stringify(s.labels);
          if (!out.has(key)) out.set(key, []);
          out.get(key).push(...s.samples.map((x) => x.timestamp));
        }
      }
      return out;
    },
    close: () =>
      new Promise((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections?.();
        server.close(resolve);
      }),
  };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A free loopback port. */
export async function freePort() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** `GET {base}/api/v1/query` at `time` (ms): the result, or an error if not a success. */
async function instantQuery(base, q, time = Date.now()) {
  const body = await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${time / 1000}`)).json();
  if (body.status !== 'success') throw new Error(JSON.stringify(body));
  return body.data.result;
}

// The built-in schema's LCP buckets (src/rum/schema.rs), as a page's client keeps them.
export const LCP = [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];

/** One page session's RUM push (series to `encode`): its page views on `route`, and its LCP observations as buckets, sum and count. */
export function rumSession({ route, views = 1, lcp = [] }) {
  const series = [{ labels: { __name__: 'rum_page_views_total', route }, samples: [{ value: views, timestamp: Date.now() }] }];
  if (lcp.length) {
    const base = { route, rating: 'good' };
    for (const le of [...LCP.map(String), '+Inf']) {
      const n = lcp.filter((x) => x <= Number(le === '+Inf' ? Infinity : le)).length;
      series.push({ labels: { __name__: 'rum_lcp_seconds_bucket', ...base, le }, samples: [{ value: n, timestamp: Date.now() }] });
    }
    series.push({ labels: { __name__: 'rum_lcp_seconds_sum', ...base }, samples: [{ value: lcp.reduce((a, b) => a + b, 0), timestamp: Date.now() }] });
    series.push({ labels: { __name__: 'rum_lcp_seconds_count', ...base }, samples: [{ value: lcp.length, timestamp: Date.now() }] });
  }
  return series;
}

/** The sum of every series of metric `name` in a /metrics text whose line passes `which`. */
export function metricSum(text, name, which = () => true) {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) && which(l)).reduce((n, l) => n + Number(l.split(' ')[1]), 0);
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 15000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${last?.message ?? last}`);
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Serves files under `root` on a loopback port (for pages loaded in a real browser). */
export async function staticServer(root) {
  const { readFile } = await import('node:fs/promises');
  const { extname, join, normalize } = await import('node:path');
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'Content-Type': MIME[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Starts `cmd args` and waits until `readyUrl` answers 200; `stop()` ends its process group. */
export async function startProcess(cmd, args, readyUrl, { env = {}, cwd, timeoutMs = 60_000 } = {}) {
  const { spawn } = await import('node:child_process');
  const proc = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  // Its whole output, up to a few MB (the security tests search it for secrets).
  let log = '';
  const keep = (d) => (log = (log + d).slice(-4_000_000));
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const stop = async () => {
    // wrangler leaves workerd running if only the launcher dies: end the whole group.
    for (const signal of ['SIGTERM', 'SIGKILL']) {
      try {
        process.kill(-proc.pid, signal);
      } catch {}
      await Promise.race([exited, sleep(1000)]);
    }
  };
  try {
    await eventually(async () => (await fetch(readyUrl)).ok, timeoutMs, `${cmd} to be ready`);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}\n${cmd} said:\n${log.slice(-6000)}`);
  }
  /** SIGKILL to the whole group at once, as a crash: nothing gets to clean up. */
  const kill = async () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {}
    await Promise.race([exited, sleep(5000)]);
  };
  return { stop, kill, log: () => log, pid: proc.pid };
}

/**
 * Builds the Worker (`bash worker/build.sh`: nothing to do when unchanged) and starts it under
 * plain `workerd serve`, as Cloudflare runs it, without `wrangler dev`'s instruments (its dev proxy and inspector, whose memory
 * grows with every request, even for a Worker that answers 204 and keeps nothing): for
 * measuring memory and speed. The vars of wrangler.toml with `vars` over them, the Durable
 * Objects on SQLite in a temporary directory, loopback reachable for an upstream; no static
 * assets (`www/`). Same shape as `startWorker`.
 */
export async function startWorkerd(vars = {}, { inspectorPort } = {}) {
  const { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { execFileSync } = await import('node:child_process');
  const root = new URL('../..', import.meta.url).pathname;
  execFileSync('bash', ['worker/build.sh'], { cwd: root, maxBuffer: 64 << 20 }); // (a failure throws with its output)
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edgewrite-workerd-'));
  mkdirSync(join(dir, 'state'));
  for (const file of ['index.js', 'index_bg.wasm']) symlinkSync(join(root, 'worker/build', file), join(dir, file));
  // wrangler.toml as this project writes it: `KEY = "value"` vars (no escapes), Durable Object
  // bindings as `name` then `class_name`, SQLite classes in migrations. A change of form that
  // these miss throws here rather than starting a Worker without them.
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8').replace(/\r\n/g, '\n');
  const start = toml.indexOf('\n[vars]\n');
  const section = toml.slice(start, toml.indexOf('\n[', start + 1));
  const all = Object.fromEntries([...section.matchAll(/^(\w+) = "([^"\\]*)"$/gm)].map(([, k, v]) => [k, v]));
  const date = toml.match(/^compatibility_date = "(.*)"$/m)?.[1];
  const classes = [...toml.matchAll(/^new_sqlite_classes = \[(.*)\]$/gm)].flatMap(([, list]) => [...list.matchAll(/"(\w+)"/g)].map(([, c]) => c));
  const bindings = [...toml.matchAll(/^name = "(\w+)"\nclass_name = "(\w+)"$/gm)].map(([, name, c]) => `(name = "${name}", durableObjectNamespace = "${c}")`);
  const declared = section.match(/^\w+ = /gm)?.length ?? 0;
  if (start < 0 || !all.BACKEND || Object.keys(all).length !== declared || !date || !classes.length || bindings.length !== classes.length) {
    throw new Error(`startWorkerd: wrangler.toml not read as expected (vars ${Object.keys(all).length} of ${declared}, date ${date}, classes ${classes}, bindings ${bindings.length})`);
  }
  Object.assign(all, vars);
  const text = Object.entries(all).map(([k, v]) => `(name = ${JSON.stringify(k)}, text = ${JSON.stringify(String(v))})`);
  writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "state", disk = (path = ${JSON.stringify(join(dir, 'state'))}, writable = true)),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js"), (name = "index_bg.wasm", wasm = embed "index_bg.wasm")],
  compatibilityDate = "${date}",
  bindings = [${[...text, ...bindings].join(',\n    ')}],
  durableObjectNamespaces = [${classes.map((c) => `(className = "${c}", uniqueKey = "edgewrite-${c}", enableSql = true)`).join(', ')}],
  durableObjectStorage = (localDisk = "state"),
  globalOutbound = "internet",
);
`);
  const workerd = `${root}node_modules/.bin/workerd`;
  const args = ['serve', join(dir, 'config.capnp'), '--experimental'];
  if (inspectorPort) args.push(`--inspector-addr=127.0.0.1:${inspectorPort}`);
  const proc = await startProcess(workerd, args, `http://127.0.0.1:${port}/healthz`, { cwd: dir });
  return workerHandle(proc, port, join(dir, 'state'), () => rmSync(dir, { recursive: true, force: true }));
}

/** A started Worker (`proc` from `startProcess`) on `port` with its state in `state`; `cleanup` runs after `stop()`. */
function workerHandle(proc, port, state, cleanup) {
  return {
    url: `http://127.0.0.1:${port}`,
    /** An instant query at `time` (ms) through the Worker's query API: its result. */
    query: (q, time) => instantQuery(`http://127.0.0.1:${port}`, q, time),
    log: proc.log,
    /** Kills the Worker's processes with SIGKILL (the state stays; start again on it). */
    kill: proc.kill,
    /** The process group (wrangler, its esbuild and workerd; or workerd alone), for CPU accounting. */
    pid: proc.pid,
    port,
    state,
    stop: async () => {
      await proc.stop();
      cleanup();
    },
  };
}

/**
 * Starts the Worker under `wrangler dev` on a loopback port, with extra `vars`. Its Durable
 * Object state lives in `state` (a new temporary directory by default, removed by `stop()`;
 * pass one to restart a Worker on the same state, and remove it yourself).
 */
export async function startWorker(vars = {}, { state: given, port: fixedPort } = {}) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const root = new URL('../..', import.meta.url).pathname;
  const port = fixedPort ?? (await freePort());
  const state = given ?? mkdtempSync(join(tmpdir(), 'edgewrite-worker-'));
  const args = ['dev', '--ip', '127.0.0.1', '--port', String(port), '--local', '--persist-to', state, '--show-interactive-dev-session=false'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const proc = await startProcess(`${root}node_modules/.bin/wrangler`, args, `http://127.0.0.1:${port}/healthz`, {
    cwd: root,
    timeoutMs: 300_000,
    env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_HIDE_BANNER: 'true' },
  });
  return workerHandle(proc, port, state, () => given || rmSync(state, { recursive: true, force: true }));
}

/**
 * Starts Debian's Prometheus on a loopback port, as a remote-write receiver. `config(port)`
 * returns its prometheus.yml (default: no scraping).
 */
export async function startPrometheus(config = () => 'global:\n  scrape_interval: 1h\n', flags = []) {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'edgewrite-prom-'));
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), config(port));
  const api = `http://127.0.0.1:${port}`;
  const proc = await startProcess('prometheus', [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn', ...flags], `${api}/-/ready`);
  return {
    api,
    pid: proc.pid,
    /** An instant query at `time` (ms). */
    query: (q, time) => instantQuery(api, q, time),
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
