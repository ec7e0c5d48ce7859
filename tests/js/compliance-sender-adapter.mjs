// The harness of sender-compliance.test.mjs: what the prometheus/compliance remote-write sender
// suite (remotewrite/sender/*_test.go) does with Prometheus, done with edgewrite's RemoteWriter.
//
// - MockScrapeTarget serves a case's ScrapeData as the suite's does (OpenMetrics 1.0 when it
//   holds an exemplar, `# {`, with `# EOF` appended; else the text format 0.0.4).
// - Scraper plays Prometheus's scrape loop: it fetches the target, parses the exposition
//   (parseExposition, below: enough of both formats for the suite's data), adds job="test" and
//   instance="host:port", and writes each sample through a series handle with the family's
//   metadata (TYPE, HELP, UNIT), at the scrape's timestamp unless the line has its own. As
//   Prometheus's TSDB, it drops a sample not newer than the series' last one (a duplicate or out
//   of order) and an exemplar equal to the series' last one. After the samples it writes the
//   series Prometheus adds to every scrape: up, scrape_duration_seconds,
//   scrape_samples_scraped, scrape_samples_post_metric_relabeling and scrape_series_added. When
//   the writer's queue is full it waits for it to drain, as Prometheus's WAL reader waits.
// - MockReceiver is the suite's MockReceiver: it records every request, decodes snappy and
//   protobuf itself (protobufjs, the .proto files in proto/, so symbol-table checks look at what
//   was on the wire), answers the configured status and, on a 2xx, the
//   X-Prometheus-Remote-Write-*-Written headers (counted from the request unless configured).
//   1.0 requests are decoded as 1.0 as well (`v1`), for the fallback and RW 1.0 cases.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { RemoteWriter } from '../../pkg/node.js';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- protobuf ---------------------------------------------------------------------------------

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const types = new protobuf.Root();
types.resolvePath = (_origin, target) => path.join(root, 'proto', target);
types.loadSync(['prometheus/remote.proto', 'io/prometheus/write/v2/types.proto'], { keepCase: true });
const V1 = types.lookupType('prometheus.WriteRequest');
const V2 = types.lookupType('io.prometheus.write.v2.Request');
// A 1.0 request read with a start_timestamp field (3) in Sample, which 1.0 does not have: what a
// sender mixing the two versions would leave there.
const V1Probe = protobuf.parse(`syntax = "proto3";
message Sample { double value = 1; int64 timestamp = 2; int64 start_timestamp = 3; }
message TimeSeries { repeated Sample samples = 2; }
message WriteRequest { repeated TimeSeries timeseries = 1; }`, { keepCase: true }).root.resolveAll().lookupType('WriteRequest');
const OBJECT = { longs: Number, enums: Number, defaults: true, arrays: true };

/** Metadata.MetricType of remote write 2.0, by name. */
export const METRIC_TYPE = { UNSPECIFIED: 0, COUNTER: 1, GAUGE: 2, HISTOGRAM: 3, GAUGEHISTOGRAM: 4, SUMMARY: 5, INFO: 6, STATESET: 7 };

/** The 64 bits of a double, as 16 hex digits (to tell a stale marker from another NaN). */
export function bits(x) {
  // Not `new Float64Array([x])`: V8 may quiet a NaN kept in an array literal.
  const f = new Float64Array(1);
  f[0] = x;
  return new BigUint64Array(f.buffer)[0].toString(16).padStart(16, '0');
}
export const STALE_NAN = '7ff0000000000002';

/** Decodes a body as the suite's MockReceiver does (always as 2.0), and as 1.0 when it is one. */
function decodeBody(headers, body) {
  const protocol = (headers['content-type'] ?? '').includes('proto=io.prometheus.write.v2.Request') ? 'v2' : 'v1';
  let raw = body;
  if (headers['content-encoding'] === 'snappy') {
    try {
      raw = Buffer.from(snappy.uncompress(body));
    } catch {
      return { protocol, decodeError: 'Failed to decode snappy' };
    }
  }
  let request;
  try {
    request = V2.toObject(V2.decode(raw), OBJECT);
  } catch {
    return { protocol, decodeError: 'Failed to unmarshal protobuf' };
  }
  for (const ts of request.timeseries) ts.metadata ??= { type: 0, help_ref: 0, unit_ref: 0 };
  const out = { protocol, raw, request };
  if (protocol === 'v1') {
    out.v1 = V1.toObject(V1.decode(raw), OBJECT);
    out.v1Probe = V1Probe.toObject(V1Probe.decode(raw), OBJECT);
  }
  return out;
}

// --- the mock receiver ------------------------------------------------------------------------

/**
 * The suite's MockReceiver. `requests` holds what could be decoded (the suite's list), `all`
 * every request (the suite's TimestampTrackingReceiver and FallbackTrackingReceiver see those).
 * A request: `{ at, method, url, headers, header(name), body, protocol, request, v1 }`, where
 * `body` is the raw (compressed) body and `request` the decoded 2.0 message
 * (`{ symbols, timeseries: [{ labels_refs, samples, histograms, exemplars, metadata }] }`).
 * `handler(record, res, receiver)` may answer instead (and return true), as the suite's custom
 * handlers do; `response.delayMs` holds each answer back.
 */
export class MockReceiver {
  requests = [];
  all = [];
  inFlight = 0;
  maxInFlight = 0;
  response = { status: 204 };
  handler = null;
  #server;
  #held = new Set();

  static async start(response) {
    const rx = new MockReceiver();
    if (response) rx.setResponse(response);
    rx.#server = http.createServer((req, res) => rx.#serve(req, res));
    await new Promise((resolve) => rx.#server.listen(0, '127.0.0.1', resolve));
    rx.url = `http://127.0.0.1:${rx.#server.address().port}/api/v1/write`;
    return rx;
  }

  setResponse(response) {
    this.response = { status: 204, ...response };
  }

  /** Keeps `res` open until close() (a receiver that never answers). */
  hold(res) {
    this.#held.add(res);
  }

  last() {
    return this.requests.at(-1);
  }

  #serve(req, res) {
    const chunks = [];
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => this.inFlight--);
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const record = { at: Date.now(), method: req.method, url: req.url, headers: req.headers, body, ...decodeBody(req.headers, body) };
      record.header = (name) => req.headers[name.toLowerCase()];
      this.all.push(record);
      if (!record.decodeError) this.requests.push(record);
      if (this.handler && (await this.handler(record, res, this))) return;
      if (record.decodeError) {
        res.writeHead(400).end(record.decodeError);
        return;
      }
      const r = this.response;
      if (r.delayMs) await sleep(r.delayMs);
      const headers = { ...r.headers };
      if (r.status >= 200 && r.status < 300) {
        let [samples, exemplars, histograms] = [r.samplesWritten ?? 0, r.exemplarsWritten ?? 0, r.histogramsWritten ?? 0];
        if (samples === 0 && exemplars === 0 && histograms === 0) {
          for (const ts of record.request.timeseries) {
            samples += ts.samples.length;
            exemplars += ts.exemplars.length;
            histograms += ts.histograms.length;
          }
        }
        headers['X-Prometheus-Remote-Write-Samples-Written'] = String(samples);
        headers['X-Prometheus-Remote-Write-Exemplars-Written'] = String(exemplars);
        headers['X-Prometheus-Remote-Write-Histograms-Written'] = String(histograms);
      }
      res.writeHead(r.status, headers);
      // As Go's ResponseWriter, Node sends no body with a 204 even when given one.
      res.end(r.body ?? '');
    });
  }

  close() {
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(resolve));
  }
}

// --- the mock scrape target -------------------------------------------------------------------

/** The suite's containsExemplars. */
export const containsExemplars = (metrics) => metrics.includes('# {');

/** The suite's MockScrapeTarget: serves `metrics` as OpenMetrics when it has exemplars. */
export class MockScrapeTarget {
  #server;

  static async start(metrics) {
    const t = new MockScrapeTarget();
    t.#server = http.createServer((req, res) => {
      if (containsExemplars(metrics)) {
        res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
        res.end(metrics.endsWith('# EOF\n') ? metrics : `${metrics}# EOF\n`);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(metrics);
      }
    });
    await new Promise((resolve) => t.#server.listen(0, '127.0.0.1', resolve));
    t.url = `http://127.0.0.1:${t.#server.address().port}/metrics`;
    return t;
  }

  close() {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(resolve));
  }
}

// --- the exposition parser --------------------------------------------------------------------

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TYPES_004 = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const TYPES_OM = new Set(['counter', 'gauge', 'histogram', 'gaugehistogram', 'stateset', 'info', 'summary', 'unknown']);

/** A value as Go's strconv.ParseFloat reads it (what both of Prometheus's parsers use). */
function parseValue(token, where) {
  const lower = token.toLowerCase().replace(/^\+/, '');
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === 'infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!FLOAT.test(token)) throw new SyntaxError(`${where}: ${JSON.stringify(token)} is not a number`);
  return Number(token);
}

/** Unescapes as Prometheus's parsers do: `\\`, `\n` (and `\"` in label values); anything else stays. */
function unescape(s, quotes) {
  return s.replace(quotes ? /\\(["\\n])/g : /\\([\\n])/g, (_m, c) => (c === 'n' ? '\n' : c));
}

/** Reads `{name="value",...}` at `s[i]`; returns the labels and the index after `}`. */
function parseLabels(s, i, where) {
  const labels = {};
  i++;
  for (;;) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '}') return [labels, i + 1];
    const name = LABEL_NAME.exec(s.slice(i))?.[0];
    if (!name) throw new SyntaxError(`${where}: bad label name at ${JSON.stringify(s.slice(i, i + 20))}`);
    i += name.length;
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] !== '=' || s[i + 1] !== '"') throw new SyntaxError(`${where}: expected ="value" after ${name}`);
    let j = i + 2;
    while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) throw new SyntaxError(`${where}: unterminated label value`);
    if (name in labels) throw new SyntaxError(`${where}: label ${name} repeated`);
    labels[name] = unescape(s.slice(i + 2, j), true);
    i = j + 1;
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new SyntaxError(`${where}: expected , or } after label ${name}`);
  }
}

/**
 * Parses the text format 0.0.4 or (for `application/openmetrics-text`) OpenMetrics 1.0, as far
 * as the suite's data needs: `# HELP`, `# TYPE`, `# UNIT` (read in both formats, although
 * Prometheus reads UNIT only in OpenMetrics), other comments skipped, samples with labels,
 * values (NaN, ±Inf), an optional timestamp (ms in 0.0.4, seconds in OpenMetrics) and, in
 * OpenMetrics, an exemplar `# {labels} value [timestamp]`. `StaleNaN` as a value (not in either
 * format; the suite's stale_marker case uses it) reads as a stale marker. Throws on anything
 * else, as Prometheus fails such a scrape. Returns `{ families, samples }`.
 */
export function parseExposition(text, contentType = '') {
  const om = contentType.includes('application/openmetrics-text');
  const families = new Map();
  const family = (name) => families.get(name) ?? families.set(name, {}).get(name);
  const samples = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = om ? lines[n] : lines[n].trim();
    const where = `line ${n + 1}`;
    if (line === '') continue;
    if (om && line === '# EOF') break;
    if (line.startsWith('#')) {
      const m = /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) continue;
      const [, kind, name, rest = ''] = m;
      if (kind === 'HELP') family(name).help = unescape(rest, om);
      else if (kind === 'UNIT') family(name).unit = rest.trim();
      else {
        const type = rest.trim();
        if (!(om ? TYPES_OM : TYPES_004).has(type)) throw new SyntaxError(`${where}: unknown type ${type}`);
        family(name).type = type === 'untyped' ? 'unknown' : type;
      }
      continue;
    }
    const name = METRIC_NAME.exec(line)?.[0];
    if (!name) throw new SyntaxError(`${where}: no metric name`);
    let i = name.length;
    let labels = {};
    if (line[i] === '{') [labels, i] = parseLabels(line, i, where);
    let rest = line.slice(i);
    let exemplar;
    const hash = rest.indexOf(' # ');
    if (om && hash >= 0) {
      const ex = rest.slice(hash + 3).trim();
      if (ex[0] !== '{') throw new SyntaxError(`${where}: bad exemplar`);
      const [exLabels, k] = parseLabels(ex, 0, where);
      const [v, t, extra] = ex.slice(k).trim().split(/[ \t]+/);
      if (v === undefined || extra !== undefined) throw new SyntaxError(`${where}: bad exemplar`);
      exemplar = { labels: exLabels, value: parseValue(v, where) };
      if (t !== undefined) exemplar.timestamp = Math.round(parseValue(t, where) * 1000);
      rest = rest.slice(0, hash);
    }
    if (!/^[ \t]/.test(rest)) throw new SyntaxError(`${where}: expected a space before the value`);
    const [value, timestamp, extra] = rest.trim().split(/[ \t]+/);
    if (value === undefined || value === '' || extra !== undefined) throw new SyntaxError(`${where}: expected value [timestamp]`);
    const sample = { name, labels };
    if (value === 'StaleNaN') sample.stale = true;
    else sample.value = parseValue(value, where);
    if (timestamp !== undefined) {
      if (om) sample.timestamp = Math.round(parseValue(timestamp, where) * 1000);
      else if (/^-?\d+$/.test(timestamp)) sample.timestamp = Number(timestamp);
      else throw new SyntaxError(`${where}: bad timestamp ${JSON.stringify(timestamp)}`);
    }
    if (exemplar) sample.exemplar = exemplar;
    samples.push(sample);
  }
  return { families, samples };
}

const SUFFIXES = [
  ['_bucket', ['histogram', 'gaugehistogram']],
  ['_sum', ['histogram', 'summary']],
  ['_count', ['histogram', 'summary']],
  ['_total', ['counter']],
  ['_created', ['counter', 'histogram', 'summary']],
  ['_gsum', ['gaugehistogram']],
  ['_gcount', ['gaugehistogram']],
  ['_info', ['info']],
];

/** The metadata of the family a sample belongs to (as Prometheus's scrape cache looks it up). */
export function familyOf(name, families) {
  if (families.has(name)) return families.get(name);
  for (const [suffix, kinds] of SUFFIXES) {
    const f = name.endsWith(suffix) && families.get(name.slice(0, -suffix.length));
    if (f && (!f.type || kinds.includes(f.type))) return f;
  }
  return undefined;
}

// --- the scraper ------------------------------------------------------------------------------

/** The series Prometheus adds to every scrape, with the metadata Prometheus 3 gives them. */
const REPORT = {
  up: 'Health of the scrape target. 1 means the target is healthy, 0 if the scrape failed.',
  scrape_duration_seconds: 'Duration of the scrape in seconds.',
  scrape_samples_scraped: 'The number of samples the target exposed.',
  scrape_samples_post_metric_relabeling: 'The number of samples remaining after metric relabeling was applied.',
  scrape_series_added: 'The approximate number of new series in this scrape.',
};
export const REPORT_SERIES = Object.keys(REPORT);

const keyOf = (labels) =>
  Object.keys(labels)
    .filter((k) => labels[k] !== '')
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0001');

/** Prometheus's scrape loop for one target, writing into `writer`. */
export class Scraper {
  times = [];
  #last = new Map();
  #lastExemplar = new Map();

  constructor(writer, targetUrl, { job = 'test' } = {}) {
    this.writer = writer;
    this.targetUrl = targetUrl;
    this.target = { job, instance: new URL(targetUrl).host };
  }

  /** One scrape: returns its timestamp (ms). */
  async scrape() {
    let ts = Date.now();
    while (ts <= (this.times.at(-1) ?? 0)) {
      await sleep(1);
      ts = Date.now();
    }
    this.times.push(ts);
    const res = await fetch(this.targetUrl, {
      headers: { Accept: 'application/openmetrics-text;version=1.0.0;q=0.6,text/plain;version=0.0.4;q=0.5' },
    });
    const { families, samples } = parseExposition(await res.text(), res.headers.get('content-type') ?? '');
    let added = 0;
    const write = async (labels, meta, sample) => {
      const key = keyOf(labels);
      const at = sample.timestamp ?? ts;
      if (!this.#last.has(key)) added++;
      const series = this.writer.series(labels, meta);
      if (at > (this.#last.get(key) ?? -Infinity)) {
        this.#last.set(key, at);
        await this.#room(() => (sample.stale ? series.stale(at) : series.push(sample.value, at)));
      }
      const ex = sample.exemplar;
      if (ex) {
        const exKey = JSON.stringify([ex.labels, ex.value, ex.timestamp]);
        if (this.#lastExemplar.get(key) !== exKey) {
          this.#lastExemplar.set(key, exKey);
          await this.#room(() => series.exemplar(ex.labels, ex.value, ex.timestamp ?? ts));
        }
      }
    };
    for (const s of samples) {
      const labels = { ...s.labels };
      // honor_labels: false, as the suite's Prometheus config.
      for (const [k, v] of Object.entries(this.target)) {
        if (k in labels) labels[`exported_${k}`] = labels[k];
        labels[k] = v;
      }
      labels.__name__ = s.name;
      const f = familyOf(s.name, families) ?? {};
      const meta = {};
      if (f.type) meta.type = f.type;
      if (f.help) meta.help = f.help;
      if (f.unit) meta.unit = f.unit;
      await write(labels, meta, s);
    }
    const report = {
      up: 1,
      scrape_duration_seconds: (Date.now() - ts) / 1000,
      scrape_samples_scraped: samples.length,
      scrape_samples_post_metric_relabeling: samples.length,
    };
    report.scrape_series_added = added + REPORT_SERIES.filter((n) => !this.#last.has(keyOf({ ...this.target, __name__: n }))).length;
    for (const [name, value] of Object.entries(report)) {
      await write({ ...this.target, __name__: name }, { type: 'gauge', help: REPORT[name] }, { value });
    }
    return ts;
  }

  /** Runs `push`, waiting for the queue to drain while it is full. */
  async #room(push) {
    for (;;) {
      try {
        return push();
      } catch (err) {
        if (!/^queue full/.test(err.message)) throw err;
        await this.writer.flush();
      }
    }
  }
}

// --- running a case ---------------------------------------------------------------------------

/** Records the writer's events, each with the listener type (`on`) and the time it came. */
export function recordEvents(writer) {
  const events = [];
  for (const on of ['error', 'retry', 'fallback', 'partial']) writer.on(on, (e) => events.push({ ...e, on, at: Date.now() }));
  /** The events of one listener type ('error' for dropped data). */
  events.of = (on) => events.filter((e) => e.on === on);
  return events;
}

/**
 * The setting Prometheus is run with in the suite, for a RemoteWriter: remote write 2.0 to the
 * receiver, one shard (Prometheus starts with min_shards 1 and only adds shards under load),
 * max_samples_per_send 2000 and capacity 10000 (both edgewrite's defaults, as Prometheus's).
 */
export function newWriter(url, options = {}) {
  return new RemoteWriter({ url, protocol: 'v2', shards: 1, ...options });
}

/**
 * The suite's runSenderTest: a scrape target serving `data`, a receiver answering `response`,
 * `scrapes` scrapes into a writer, then close() (which flushes). Returns `{ receiver, requests,
 * last, events, writer, scraper, stats }`; the validators look at `last`, as the suite's do.
 */
export async function runScrapeCase(data, { writer: options, response, handler, scrapes = 3 } = {}) {
  const receiver = await MockReceiver.start(response);
  receiver.handler = handler ?? null;
  const target = await MockScrapeTarget.start(data);
  const writer = newWriter(receiver.url, options);
  const events = recordEvents(writer);
  const scraper = new Scraper(writer, target.url);
  try {
    for (let i = 0; i < scrapes; i++) await scraper.scrape();
    await writer.close({ timeoutMs: 20_000 });
  } finally {
    await target.close();
    await receiver.close();
  }
  assert.ok(receiver.requests.length > 0, 'the receiver got no request');
  return { receiver, requests: receiver.requests, last: receiver.last(), events, writer, scraper, stats: writer.stats() };
}

/**
 * For the response, retry, backoff and error cases: one scrape, flush() started (not awaited:
 * it does not end while the writer retries), `during(ctx)` run, the writer left alone for
 * `windowMs` (the suite runs Prometheus for 8 to 20 s; edgewrite's backoff can be shortened),
 * then closed. `url` sends somewhere else than the receiver.
 */
export async function runWindowCase(data, { writer: options, response, handler, windowMs, url, during } = {}) {
  const receiver = await MockReceiver.start(response);
  receiver.handler = handler ?? null;
  const target = await MockScrapeTarget.start(data);
  let ctx;
  try {
    // (Inside: a writer refused at construction still closes the servers.)
    const writer = newWriter(url ?? receiver.url, options);
    ctx = { receiver, events: recordEvents(writer), writer, scraper: new Scraper(writer, target.url) };
    const { scraper } = ctx;
    await scraper.scrape();
    ctx.start = Date.now();
    ctx.flushed = writer.flush().then(() => (ctx.flushedAt = Date.now()));
    await Promise.all([sleep(windowMs), during?.(ctx)]);
    ctx.end = Date.now();
    await ctx.writer.close({ timeoutMs: 0 });
    await sleep(20);
  } finally {
    await target.close();
    await receiver.close();
  }
  return Object.assign(ctx, { requests: receiver.requests, all: receiver.all, stats: ctx.writer.stats() });
}

// --- reading a request (the suite's helpers) --------------------------------------------------

/** extractLabels: a series' (or exemplar's) labels through the symbol table. */
export function labelsOf(refs, symbols) {
  const labels = {};
  for (let i = 0; i + 1 < refs.length; i += 2) {
    if (refs[i] >= symbols.length || refs[i + 1] >= symbols.length) continue;
    labels[symbols[refs[i]]] = symbols[refs[i + 1]];
  }
  return labels;
}

/** Every series of a request with its labels: `[{ ts, labels }]`. */
export function seriesOf(req) {
  return req.request.timeseries.map((ts) => ({ ts, labels: labelsOf(ts.labels_refs, req.request.symbols) }));
}

/** findTimeseriesByMetricName: the first series named `name`, or undefined. */
export function findSeries(req, name) {
  return seriesOf(req).find((s) => s.labels.__name__ === name);
}

/** requireTimeseriesByMetricName. */
export function requireSeries(req, name) {
  const s = findSeries(req, name);
  assert.ok(s, `Timeseries with metric name "${name}" must be present`);
  return s;
}

/** isSorted: label names strictly increasing (byte order). */
export function isSorted(refs, symbols) {
  let prev;
  for (let i = 0; i + 1 < refs.length; i += 2) {
    if (refs[i] >= symbols.length) return false;
    const key = Buffer.from(symbols[refs[i]]);
    if (prev && Buffer.compare(key, prev) <= 0) return false;
    prev = key;
  }
  return true;
}

/** The symbol a metadata ref points to ('' for 0). */
export const symbol = (req, ref) => req.request.symbols[ref];

/** A 1.0 request's series as `{ labels, samples }` with labels as an object. */
export function v1Series(req) {
  return req.v1.timeseries.map((ts) => ({ ...ts, labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])) }));
}
