// edgewrite/rum: real-user metrics from a page to an edgewrite Worker's POST /api/v1/rum.
//
// The recording (series, histogram buckets, the push's bytes) is the core's `Recorder`, in a
// small wasm of its own; this file only listens for events and sends bytes. Pushes are
// deltas, the Worker sums them into proper series. They go as `text/plain` with
// `fetch(keepalive)`: no CORS preflight, and a push started as the tab closes still arrives.
import init, { Rum } from './wasm/rum/edgewrite.js';

/** The Web Vitals and the built-in histograms they are observed into (CLS has no unit). */
const VITALS = { LCP: 'rum_lcp_seconds', INP: 'rum_inp_seconds', CLS: 'rum_cls', FCP: 'rum_fcp_seconds', TTFB: 'rum_ttfb_seconds' };

/** Bodies kept for another try (a network error, a 5xx or 429) before the oldest is dropped. */
const MAX_UNSENT = 32;

/** Label sets whose series numbers are kept here (others ask the recorder each time). */
const MAX_IDS = 5000;

/** Calls kept while the wasm loads; past this many, later ones are not recorded. */
const MAX_EARLY = 1000;

/**
 * Bytes of keepalive requests in flight at most: browsers refuse a keepalive request past
 * 64 KiB in flight for the page. Pushes past it go without keepalive (while the page stays).
 */
const KEEPALIVE_BUDGET = 60_000;

/**
 * The default route normalizer: path segments that look like ids (digits, UUIDs, long hex)
 * become `:id`, so `/user/123` and `/user/456` are one series.
 * @param {string} path
 */
export function route(path) {
  return path.replace(/\/(?:\d+|[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{16,})(?=\/|$)/gi, '/:id');
}

/** Starts a page's RUM client: see the README's "Browser RUM". */
export function rum(options = {}) {
  return new RumClient(options);
}

export class RumClient {
  #url;
  #route;
  #maxPush;
  #rec = null;
  #early = [];
  #ids = new Map();
  #unsent = [];
  #holdUntil = 0;
  #seen = new Set();
  #soon = false;
  #failed = false;
  #inflight = 0;
  /** Pushes dropped unsent: more than 32 waited to go again (after failures, or a 429). */
  dropped = 0;
  /**
   * Resolves once the recorder's wasm is loaded (calls before are kept and replayed); rejects
   * if it cannot be (the client then records nothing).
   */
  ready;

  constructor({ url = '/api/v1/rum', route: normalize = route, flushEvery = 10_000, maxPushBytes = 16_000, vitals, metrics = {}, errors = true, pageView = true, wasm } = {}) {
    this.#url = url;
    this.#route = normalize;
    // A push past the keepalive budget could never go with keepalive.
    this.#maxPush = Math.min(maxPushBytes, KEEPALIVE_BUDGET);
    this.ready = init({ module_or_path: wasm ?? new URL('./wasm/rum/edgewrite_bg.wasm', import.meta.url) }).then(
      () => {
        const rec = new Rum();
        for (const [name, m] of Object.entries(metrics)) {
          // One bad declaration is the page's to fix; the others and the built-ins still count.
          try {
            rec.declare(name, m.type, (m.labels ?? []).join(','), m.buckets ?? [], m.range?.[0], m.range?.[1]);
          } catch (e) {
            console.error(e);
          }
        }
        this.#rec = rec;
        // Only now: until here, the inline snippet counts the page as one whose RUM never ran.
        globalThis.edgewriteRum = this;
        for (const call of this.#early.splice(0)) {
          try {
            call();
          } catch (e) {
            console.error(e);
          }
        }
      },
      (e) => {
        this.#failed = true;
        this.#early.length = 0;
        console.error('edgewrite rum: the recorder could not start, nothing is recorded:', e);
        throw e;
      },
    );
    // Whoever does not await `ready` is not left with an unhandled rejection.
    this.ready.catch(() => {});
    if (pageView) this.pageView();
    if (errors && globalThis.addEventListener) {
      addEventListener('error', () => this.count('rum_errors_total', { route: this.route(), kind: 'error' }));
      addEventListener('unhandledrejection', () => this.count('rum_errors_total', { route: this.route(), kind: 'unhandledrejection' }));
    }
    // web-vitals reports CLS and INP as the page is hidden, from its own listeners: ours come
    // after them, and anything recorded while hidden is pushed at once besides.
    for (const [name, on] of Object.entries(vitals ?? {}).filter(([k]) => /^on(LCP|INP|CLS|FCP|TTFB)$/.test(k))) {
      on((m) => this.#vital(name.slice(2), m));
    }
    if (globalThis.document) {
      document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && this.flush(true));
      addEventListener('pagehide', () => this.flush(true));
    }
    if (flushEvery > 0) setInterval(() => this.flush(), flushEvery);
  }

  /** Pushes waiting to go again (after a network error, a 5xx or a 429). */
  get pending() {
    return this.#unsent.length;
  }

  /** The current page's route, as the normalizer gives it. */
  route() {
    return this.#route(globalThis.location?.pathname ?? '/');
  }

  /** Counts a page view of the current route (called once at start; again on SPA navigations). */
  pageView() {
    this.count('rum_page_views_total', { route: this.route() });
  }

  /** Adds `by` to a counter. */
  count(metric, labels = {}, by = 1) {
    this.#record('add', metric, labels, by);
  }

  /** Observes a value into a histogram. */
  observe(metric, value, labels = {}) {
    this.#record('observe', metric, labels, value);
  }

  /** Sets a gauge. */
  set(metric, value, labels = {}) {
    this.#record('set', metric, labels, value);
  }

  #vital(name, m) {
    // One observation per metric per page load: web-vitals may report a metric again (a
    // larger CLS after the page came back); a histogram cannot take the first one back.
    if (this.#seen.has(m.id)) return;
    this.#seen.add(m.id);
    this.observe(VITALS[name], name === 'CLS' ? m.value : m.value / 1000, { route: this.route(), rating: m.rating });
  }

  #record(op, metric, labels, value) {
    if (!this.#rec) {
      if (!this.#failed && this.#early.length < MAX_EARLY) this.#early.push(() => this.#record(op, metric, { ...labels }, value));
      return;
    }
    const key = metric + '\0' + Object.entries(labels).flat().join('\0');
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#rec.series(metric, key.slice(metric.length + 1));
      // Bounded: a page that makes up labels without end (the recorder folds them into
      // `other` past its cap of series per metric) does not grow this map without end.
      if (this.#ids.size < MAX_IDS) this.#ids.set(key, id);
    }
    this.#rec[op](id, value);
    if (globalThis.document?.visibilityState === 'hidden' && !this.#soon) {
      this.#soon = true;
      queueMicrotask(() => {
        this.#soon = false;
        this.flush(true);
      });
    }
  }

  /**
   * Pushes what was recorded since the last push, and pushes that failed before. `now`: even
   * while a 429's Retry-After lasts (the page is going away).
   */
  flush(now = false) {
    // While a 429 holds, what is recorded stays in the recorder (merging, not queueing).
    if (!now && Date.now() < this.#holdUntil) return;
    // In pushes of at most maxPushBytes (a page with many series records more than one
    // request may carry), a few per flush; each has an id, the same on every try: the
    // Worker's aggregators that stored a try already (before another failed) do not add it
    // again. Its age at each try tells the Worker when it was taken.
    for (let i = 0, body; i < 8 && (body = this.#rec?.take(Date.now(), this.#maxPush)); i++) {
      this.#keep([body, crypto.getRandomValues(new Uint32Array(4)).join('-'), Date.now()]);
    }
    const pushes = this.#unsent.splice(0);
    // As the page goes away, the newest first: they get the keepalive budget (and arrive if
    // the page is gone before the rest do); older ones failed before.
    for (const p of now ? pushes.reverse() : pushes) this.#send(p);
  }

  /** Keeps a push to send, dropping the oldest past MAX_UNSENT. */
  #keep(push) {
    this.#unsent.push(push);
    if (this.#unsent.length > MAX_UNSENT) this.#unsent.shift(), this.dropped++;
  }

  #send(push) {
    const [body, id, taken] = push;
    const again = (retryAfter) => {
      // (A failure without Retry-After does not end another push's hold.)
      this.#holdUntil = Math.max(this.#holdUntil, Date.now() + (Number(retryAfter) || 0) * 1000);
      this.#keep(push);
    };
    const keepalive = this.#inflight + body.length <= KEEPALIVE_BUDGET;
    if (keepalive) this.#inflight += body.length;
    fetch(this.#url + (this.#url.includes('?') ? '&' : '?') + 'push=' + id + '&age=' + Math.max(0, Date.now() - taken), { method: 'POST', body, keepalive, credentials: 'omit', headers: { 'Content-Type': 'text/plain' } })
      .finally(() => keepalive && (this.#inflight -= body.length))
      .then(
        (r) => {
          if (r.status === 429 || r.status >= 500) again(r.headers.get('Retry-After'));
          // Another 4xx is final: a refused series (out of range, say; the rest was taken), a
          // push over the Worker's size limit (413), RUM off (404). Sending again won't help.
          else if (!r.ok) r.text().catch(() => '').then((t) => console.warn(`edgewrite rum: ${r.status} ${t}`));
        },
        () => again(),
      );
  }
}
