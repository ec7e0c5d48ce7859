// edgewrite's JavaScript facade: RemoteWriter drives the Rust sender (compiled to wasm) with
// fetch and timers. The queue logic (shards, batching, retries, backoff, protocol fallback) is
// all in Rust; this file moves bytes and time in and out. The entry points (index.js, node.js,
// workerd.js) load the wasm, then re-export this module.

import { WasmSender } from './wasm/sender/edgewrite.js';

const isBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';
/** Browsers allow at most 64 KiB of keepalive request bodies in flight per page. */
const KEEPALIVE_BUDGET = 64 * 1024;
const RESERVED_HEADERS = new Set([
  'host', 'content-encoding', 'content-length', 'content-type', 'user-agent', 'connection', 'keep-alive',
  'proxy-authenticate', 'proxy-authorization', 'www-authenticate', 'accept-encoding',
  'x-prometheus-remote-write-version', 'x-prometheus-remote-read-version',
]);
const WRITTEN = ['Samples', 'Histograms', 'Exemplars'].map((k) => `X-Prometheus-Remote-Write-${k}-Written`);
/** The protocol's request headers, by version (as `Version::request_headers` in Rust). */
const PROTOCOL_HEADERS = {
  1: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' },
  2: { 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '2.0.0' },
};

const DEFAULTS = {
  protocol: 'v1',
  shards: 4,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  capacity: 10000,
  onFull: 'reject',
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOn429: true,
  maxRetryAfterMs: 300000,
  sampleAgeLimitMs: 0,
  maxSamplesPerRequest: 50000,
  metadataIntervalMs: 60000,
  timeoutMs: 30000,
};

/** Sorted `[name, value, ...]` of a labels object; empty values are dropped (an empty value
 * means no label), as the Rust side does, so one label set always gives one key. */
function flatten(labels) {
  const names = Object.keys(labels).sort();
  const flat = [];
  for (const n of names) {
    const v = String(labels[n]);
    if (v !== '') flat.push(n, v);
  }
  return flat;
}

function checkTime(timestamp) {
  if (!Number.isFinite(timestamp)) throw new TypeError(`edgewrite: timestamp must be a number of milliseconds, got ${timestamp}`);
}

const DURATION_BOUNDS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '25', '60', '120', '300'];

/**
 * The writer's stats as Prometheus text, named as Prometheus names its own remote-write
 * metrics (`prometheus_remote_storage_*`). Rendered here rather than in wasm, where text
 * formatting would cost the browser bundle several KiB.
 */
export function metricsText(stats, labels) {
  const out = [];
  const metric = (name, type, help, rows) => {
    out.push(`# HELP prometheus_remote_storage_${name} ${help}`, `# TYPE prometheus_remote_storage_${name} ${type}`);
    for (const [extra, v] of rows) out.push(`prometheus_remote_storage_${name}{${[labels, extra].filter(Boolean).join(',')}} ${v}`);
  };
  for (const kind of ['samples', 'histograms', 'exemplars']) {
    const k = stats[kind];
    metric(`${kind}_total`, 'counter', `${kind} delivered to remote storage.`, [['', k.total]]);
    metric(`${kind}_failed_total`, 'counter', `${kind} refused for good by remote storage.`, [['', k.failed]]);
    metric(`${kind}_retried_total`, 'counter', `${kind} sent again after a retryable failure.`, [['', k.retried]]);
    metric(`${kind}_dropped_total`, 'counter', `${kind} dropped before delivery, by reason.`,
      [['reason="too_old"', k.droppedTooOld], ['reason="queue_full"', k.droppedQueueFull]]);
    metric(`${kind}_pending`, 'gauge', `${kind} queued or in flight.`, [['', k.pending]]);
  }
  metric('metadata_total', 'counter', 'Metadata entries delivered.', [['', stats.metadataTotal]]);
  metric('bytes_total', 'counter', 'Compressed bytes sent, retries included.', [['', stats.bytesTotal]]);
  metric('collections_split_total', 'counter', 'Collections too large for one request.', [['', stats.collectionsSplitTotal]]);
  metric('protocol_fallbacks_total', 'counter', 'Times remote write 2.0 fell back to 1.0.', [['', stats.protocolFallbacksTotal]]);
  const buckets = DURATION_BOUNDS.map((le, i) => [`le="${le}"`, stats.batchDurationBuckets[i]]);
  buckets.push(['le="+Inf"', stats.batchDurationCount]);
  const name = 'sent_batch_duration_seconds';
  out.push(`# HELP prometheus_remote_storage_${name} Duration of send calls to remote storage.`, `# TYPE prometheus_remote_storage_${name} histogram`);
  for (const [le, v] of buckets) out.push(`prometheus_remote_storage_${name}_bucket{${[labels, le].filter(Boolean).join(',')}} ${v}`);
  const ms = stats.batchDurationSumMs;
  out.push(`prometheus_remote_storage_${name}_sum{${labels}} ${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`);
  out.push(`prometheus_remote_storage_${name}_count{${labels}} ${stats.batchDurationCount}`);
  return `${out.join('\n')}\n`;
}

/**
 * The stats object from the numbers `WasmSender.stats()` returns, in its order (see there;
 * `tests/js/boundary.test.mjs` fails if the two drift apart).
 */
export function statsFromNumbers(v) {
  let i = 0;
  const kind = () => ({ total: v[i++], failed: v[i++], retried: v[i++], droppedTooOld: v[i++], droppedQueueFull: v[i++], pending: v[i++] });
  const stats = { samples: kind(), histograms: kind(), exemplars: kind() };
  for (const f of ['metadataTotal', 'bytesTotal', 'collectionsSplitTotal', 'protocolFallbacksTotal', 'requestsSucceeded',
    'requestsRetried', 'requestsFailed', 'batchDurationCount', 'batchDurationSumMs']) stats[f] = v[i++];
  stats.batchDurationBuckets = Array.from(v.subarray(i));
  return stats;
}

/**
 * An event object from the numbers `WasmSender.poll_event` returns, in its order (see there;
 * `tests/js/boundary.test.mjs` checks each kind); `message()` reads its message.
 */
export function eventFromNumbers(v, message) {
  const status = v[2] < 0 ? undefined : v[2];
  const counts = (i) => ({ samples: v[i], histograms: v[i + 1], exemplars: v[i + 2] });
  switch (v[0]) {
    case 0:
      return { type: 'dropped', reason: ['rejected', 'too_old', 'queue_full', 'corrupt'][v[1]], status, counts: counts(3), message: message() };
    case 1:
      return { type: 'partial', sent: counts(3), written: counts(6) };
    case 2:
      return { type: 'retry', status, attempt: v[3], delayMs: v[4], message: message() };
    default:
      return { type: 'fallback', status };
  }
}

/**
 * A series handle: labels registered once, then only numbers cross into wasm.
 * Returned by `RemoteWriter.series()`.
 */
export class Series {
  #w;
  constructor(writer, ref, labels) {
    this.#w = writer;
    /** The handle number. */
    this.ref = ref;
    /** The labels, as given. */
    this.labels = labels;
  }

  /** Queues a sample (timestamp in ms, default now). */
  push(value, timestamp = Date.now()) {
    this.#w._push(this.ref, value, timestamp, false);
    return this;
  }

  /** Queues a stale marker: this series ends at `timestamp`. */
  stale(timestamp = Date.now()) {
    this.#w._push(this.ref, NaN, timestamp, true);
    return this;
  }

  /** Queues an exemplar (e.g. `{ trace_id }`). */
  exemplar(labels, value, timestamp = Date.now()) {
    this.#w._exemplar(this.ref, flatten(labels), value, timestamp);
    return this;
  }
}

/**
 * Writes metrics to a remote-write endpoint (Prometheus, Mimir, VictoriaMetrics, an edgewrite
 * Worker, ...): batching, sharding that keeps each series in order, retries with backoff.
 */
export class RemoteWriter {
  #s;
  #url;
  #headers;
  #fetch;
  #timeoutMs;
  #timer = null;
  #timerAt = Infinity;
  #series = new Map();
  #waiters = [];
  #listeners = new Map();
  #keepaliveBytes = 0;
  #closed = false;
  #onHide = null;
  #dirty = new Set();
  #helperTimer = null;
  #helperIntervalMs;
  #lastHelperAt = 0;

  constructor(options = {}) {
    // An option given as undefined takes its default.
    const o = { ...DEFAULTS };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v;
    if (!o.url) throw new TypeError('RemoteWriter: the url option is required');
    let url;
    try {
      url = new URL(String(o.url), globalThis.location?.href);
    } catch {
      throw new TypeError(`RemoteWriter: url ${o.url} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`RemoteWriter: url ${o.url} is not http or https`);
    if (!['v1', 'v2'].includes(o.protocol)) throw new TypeError("RemoteWriter: protocol must be 'v1' or 'v2'");
    if (!['reject', 'drop-oldest'].includes(o.onFull)) throw new TypeError("RemoteWriter: onFull must be 'reject' or 'drop-oldest'");
    this.#url = String(o.url);
    this.#fetch = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.#timeoutMs = o.timeoutMs;
    this.#helperIntervalMs = o.helperIntervalMs ?? 1000;
    this.#headers = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) {
      if (RESERVED_HEADERS.has(k.toLowerCase())) throw new TypeError(`RemoteWriter: header ${k} is reserved`);
      this.#headers[k] = String(v);
    }
    if (o.bearerToken) this.#headers.Authorization = `Bearer ${o.bearerToken}`;
    if (!isBrowser) this.#headers['User-Agent'] = o.userAgent ?? 'edgewrite/0.1.0';
    // Where response headers may be hidden (CORS), a 2xx without Written headers proves nothing.
    const detect = o.detectV1Receivers ?? !isBrowser;
    this.#s = new WasmSender(
      o.protocol === 'v2' ? 2 : 1, o.shards, o.maxSamplesPerSend, o.batchSendDeadlineMs, o.capacity,
      o.onFull === 'drop-oldest' ? 1 : 0, o.minBackoffMs, o.maxBackoffMs, o.retryOn429, o.sampleAgeLimitMs,
      detect, o.maxSamplesPerRequest, o.metadataIntervalMs, o.maxRetryAfterMs, Math.floor(Math.random() * 2 ** 52),
    );
    if (o.onError) this.on('error', o.onError);
    if (isBrowser && o.flushOnPageHide !== false) {
      this.#onHide = () => {
        if (document.visibilityState === 'hidden') this.#pagehide();
      };
      addEventListener('pagehide', this.#onHide);
      document.addEventListener('visibilitychange', this.#onHide);
    }
  }

  /**
   * A handle for the series with these labels (`__name__` required); the same labels give the
   * same handle. `metadata`: `{ type, help, unit }`.
   */
  series(labels, metadata = {}) {
    const flat = flatten(labels);
    const key = flat.join('\u0000');
    let s = this.#series.get(key);
    if (!s) {
      const ref = this.#s.series(flat, metadata.type ?? '', metadata.help ?? '', metadata.unit ?? '');
      s = new Series(this, ref, labels);
      this.#series.set(key, s);
    }
    return s;
  }

  /** Forgets a series handle (its labels no longer use memory). */
  release(series) {
    this.#s.release(series.ref);
    this.#series.delete(flatten(series.labels).join('\u0000'));
  }

  /**
   * Queues samples: `{ labels, samples: [{ value, timestamp, stale }], exemplars, metadata }`.
   * For many writes of one series, keep `series(labels)` and call its `push`.
   */
  push({ labels, samples = [], exemplars = [], metadata }) {
    const s = this.series(labels, metadata);
    for (const x of samples) this._push(s.ref, x.value, x.timestamp ?? Date.now(), !!x.stale);
    for (const e of exemplars) s.exemplar(e.labels ?? {}, e.value, e.timestamp ?? Date.now());
  }

  /**
   * Queues many samples at once: `series` an array of handles (or their `ref` numbers),
   * `values` and `timestamps` arrays (or typed arrays) of the same length.
   */
  pushMany(series, values, timestamps) {
    const refs = Uint32Array.from(series, (s) => (typeof s === 'number' ? s : s.ref));
    this.#s.push_many(refs, Float64Array.from(values), Float64Array.from(timestamps), new Uint8Array(0), Date.now());
    this.#pump();
  }

  /**
   * Writes a collection as one unit: one request, never split (unless over the request size
   * limit) or mixed with other data, after the collections before it. `items`:
   * `[{ labels, value, timestamp, stale, metadata }]` (or `series` instead of `labels`).
   */
  writeCollection(items) {
    const n = items.length;
    const refs = new Uint32Array(n);
    const values = new Float64Array(n);
    const stamps = new Float64Array(n);
    const stale = new Uint8Array(n);
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const it = items[i];
      if (it.timestamp !== undefined) checkTime(it.timestamp);
      refs[i] = (it.series ?? this.series(it.labels, it.metadata)).ref;
      values[i] = it.value;
      stamps[i] = it.timestamp ?? now;
      stale[i] = it.stale ? 1 : 0;
    }
    this.#s.write_collection(refs, values, stamps, stale, now);
    this.#pump();
  }

  /**
   * A counter: `inc(n = 1)`. Helpers (counters, gauges, histograms) are sampled together at most
   * every `helperIntervalMs` (default 1000), all changed ones in one collection with one
   * timestamp, so two updates in the same millisecond never produce two samples at one time.
   */
  counter(name, { labels = {}, help = '', unit = '' } = {}) {
    const s = this.series({ ...labels, __name__: name }, { type: 'counter', help, unit });
    let total = 0;
    const helper = { collect: (items, timestamp) => items.push({ series: s, value: total, timestamp }) };
    return {
      series: s,
      inc: (n = 1) => {
        if (!(n >= 0)) throw new RangeError('counter: inc() takes a non-negative number');
        total += n;
        this.#changed(helper);
      },
      get value() {
        return total;
      },
    };
  }

  /** A gauge: `set(v)`, `inc(n)`, `dec(n)`; sampled like counters. */
  gauge(name, { labels = {}, help = '', unit = '' } = {}) {
    const s = this.series({ ...labels, __name__: name }, { type: 'gauge', help, unit });
    let v = 0;
    const helper = { collect: (items, timestamp) => items.push({ series: s, value: v, timestamp }) };
    const update = (x) => {
      v = x;
      this.#changed(helper);
    };
    return {
      series: s,
      set: (x) => update(x),
      inc: (n = 1) => update(v + n),
      dec: (n = 1) => update(v - n),
      get value() {
        return v;
      },
    };
  }

  /**
   * A histogram with classic buckets (`_bucket{le}`, `_sum`, `_count`): `observe(v)`. Its series
   * are always written together, in one collection; sampled like counters.
   */
  histogram(name, { labels = {}, help = '', unit = '', buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] } = {}) {
    const meta = { type: 'histogram', help, unit };
    const bounds = [...buckets].sort((a, b) => a - b);
    const bucketSeries = [...bounds.map(String), '+Inf'].map((le) => this.series({ ...labels, le, __name__: `${name}_bucket` }, meta));
    const sumS = this.series({ ...labels, __name__: `${name}_sum` }, meta);
    const countS = this.series({ ...labels, __name__: `${name}_count` }, meta);
    const counts = new Array(bucketSeries.length).fill(0);
    let sum = 0;
    let count = 0;
    const helper = {
      collect: (items, timestamp) => {
        bucketSeries.forEach((series, i) => items.push({ series, value: counts[i], timestamp }));
        items.push({ series: sumS, value: sum, timestamp }, { series: countS, value: count, timestamp });
      },
    };
    return {
      observe: (v) => {
        for (let i = 0; i < bounds.length; i++) if (v <= bounds[i]) counts[i]++;
        counts[bounds.length]++;
        sum += v;
        count++;
        this.#changed(helper);
      },
    };
  }

  #changed(helper) {
    this.#dirty.add(helper);
    this.#helperTimer ??= setTimeout(() => this.#collectHelpers(), this.#helperIntervalMs);
  }

  #collectHelpers() {
    clearTimeout(this.#helperTimer);
    this.#helperTimer = null;
    if (this.#dirty.size === 0) return;
    const items = [];
    const timestamp = Math.max(Date.now(), this.#lastHelperAt + 1);
    for (const h of this.#dirty) h.collect(items, timestamp);
    try {
      this.writeCollection(items);
    } catch (err) {
      // The queue is full (the receiver is down): keep the helpers changed, try again later,
      // and say so. This runs from a timer, where a throw would crash the process.
      this.#emit('error', { type: 'dropped', reason: 'queue_full', counts: { samples: 0, histograms: 0, exemplars: 0 },
        message: `helpers not sampled this time: ${err.message}` });
      this.#helperTimer ??= setTimeout(() => this.#collectHelpers(), this.#helperIntervalMs);
      return;
    }
    this.#lastHelperAt = timestamp;
    this.#dirty.clear();
  }

  /** Listens for events: 'error' (data dropped for good), 'retry', 'fallback', 'partial', 'event' (all). */
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return this;
  }

  /** Stops listening. */
  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
    return this;
  }

  /**
   * Sends everything queued now (changed helpers included); resolves when all of it is
   * delivered or dropped (data pushed afterwards does not hold it back), or when the writer
   * is closed.
   */
  async flush() {
    for (;;) {
      this.#collectHelpers();
      const marker = this.#s.flush();
      const waited = !(this.#closed || this.#s.flushed(marker));
      if (waited) {
        await new Promise((resolve) => {
          this.#waiters.push({ marker, resolve });
          this.#pump();
        });
      }
      // Helpers that did not fit in the queue are sampled again once it has drained.
      if (!waited || this.#closed || this.#dirty.size === 0) return;
    }
  }

  /**
   * Flushes, then stops (timers, retries and page listeners). With `timeoutMs`, stops after at
   * most that long even if the receiver has not taken everything; what is left stays counted
   * as pending in `stats()`.
   */
  async close({ timeoutMs = Infinity } = {}) {
    let timer;
    const limit = Number.isFinite(timeoutMs) ? new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))) : null;
    await (limit ? Promise.race([this.flush(), limit]) : this.flush());
    clearTimeout(timer);
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#helperTimer);
    this.#helperTimer = null;
    for (const w of this.#waiters.splice(0)) w.resolve();
    if (this.#onHide) {
      removeEventListener('pagehide', this.#onHide);
      document.removeEventListener('visibilitychange', this.#onHide);
    }
  }

  /** The writer's own metrics (`prometheus_remote_storage_*`) as an object. */
  stats() {
    return statsFromNumbers(this.#s.stats());
  }

  /** The writer's own metrics in the Prometheus text format. */
  metricsText() {
    return metricsText(this.stats(), `url="${this.#url.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
  }

  /** The protocol in use: 'v1' or 'v2' (a v2 writer falls back to v1 for 1.x receivers). */
  get protocol() {
    return this.#s.protocol() === 2 ? 'v2' : 'v1';
  }

  _push(ref, value, timestamp, stale) {
    checkTime(timestamp);
    this.#s.push(ref, value, timestamp, stale, Date.now());
    this.#pump();
  }

  _exemplar(ref, flat, value, timestamp) {
    checkTime(timestamp);
    this.#s.push_exemplar(ref, flat, value, timestamp, Date.now());
    this.#pump();
  }

  /** The next event from the wasm sender, as an object. */
  #event() {
    const v = this.#s.poll_event();
    return v && eventFromNumbers(v, () => this.#s.event_message());
  }

  #emit(type, event) {
    const ls = this.#listeners.get(type);
    if (ls) {
      for (const l of ls) {
        // A listener that throws must not stop the writer.
        try {
          l(event);
        } catch (err) {
          console.error('edgewrite: an event listener threw:', err);
        }
      }
    }
    return !!ls?.size;
  }

  #pump() {
    const now = Date.now();
    let t;
    while (!this.#closed && (t = this.#s.poll_transmit(now))) this.#send(t);
    let e;
    while ((e = this.#event())) {
      this.#emit('event', e);
      const type = e.type === 'dropped' ? 'error' : e.type;
      // Never lose quietly: a drop nobody listens for is logged.
      if (!this.#emit(type, e) && type === 'error') {
        const c = e.counts;
        console.warn(`edgewrite: dropped ${c.samples} samples, ${c.histograms} histograms, ${c.exemplars} exemplars (${e.reason}${e.status ? `, HTTP ${e.status}` : ''}): ${e.message}`);
      }
    }
    if (this.#waiters.length > 0) {
      const waiting = [];
      for (const w of this.#waiters) {
        if (this.#s.flushed(w.marker)) w.resolve();
        else waiting.push(w);
      }
      this.#waiters = waiting;
    }
    this.#schedule(now);
  }

  #schedule(now) {
    const at = this.#closed ? undefined : this.#s.poll_timeout();
    if (at === undefined) {
      clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, at - now));
  }

  async #send(t) {
    const id = t.id;
    const body = t.body;
    const headers = { ...this.#headers, ...PROTOCOL_HEADERS[t.version] };
    // Retry-Attempt is not CORS-safelisted: a receiver that allows only the protocol's headers
    // would refuse every retry's preflight, so browsers leave it out.
    if (t.attempt > 0 && !isBrowser) headers['Retry-Attempt'] = String(t.attempt);
    t.free();
    // In browsers, keepalive lets a request outlive the page, within a 64 KiB budget.
    const keepalive = isBrowser && this.#keepaliveBytes + body.length <= KEEPALIVE_BUDGET;
    if (keepalive) this.#keepaliveBytes += body.length;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no response within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    try {
      const res = await this.#fetch(this.#url, { method: 'POST', headers, body, keepalive, signal: abort.signal });
      const text = new Uint8Array(await res.arrayBuffer()).slice(0, 1024);
      const w = WRITTEN.map((k) => res.headers.get(k));
      const written = w.every((x) => x === null) ? new Float64Array(0) : Float64Array.from(w, (x) => Number(x ?? 0));
      this.#s.handle_response(id, res.status, res.headers.get('Retry-After') ?? undefined, written, text, Date.now());
    } catch (err) {
      this.#s.handle_error(id, String(err?.cause?.message ?? err?.message ?? err), Date.now());
    } finally {
      clearTimeout(timer);
      if (keepalive) this.#keepaliveBytes -= body.length;
      this.#pump();
    }
  }

  #pagehide() {
    this.#collectHelpers();
    this.#s.flush();
    this.#pump();
  }
}
