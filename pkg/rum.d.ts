/** A metric of the page's own, declared as the Worker's `RUM_SCHEMA` declares it. */
export interface RumMetric {
  type: 'counter' | 'histogram' | 'gauge';
  /** The label names it may carry. */
  labels?: string[];
  /** Histograms: bucket upper bounds, ascending (+Inf is implied). */
  buckets?: number[];
  /** The values it takes (the Worker refuses others); default [0, max] (gauges [-max, max]). */
  range?: [number, number];
}

/** What web-vitals reports (its `Metric`, the fields used here). */
export interface VitalMetric {
  id: string;
  value: number;
  rating: 'good' | 'needs-improvement' | 'poor';
}

type OnVital = (report: (m: VitalMetric) => void) => void;

export interface RumOptions {
  /** The Worker's RUM endpoint. Default '/api/v1/rum' (same origin). */
  url?: string | URL;
  /** URL path to route label. Default: `route` below (ids become `:id`). */
  route?: (path: string) => string;
  /** Push every this many ms (also when the page is hidden or goes away). Default 10000; 0: only then. */
  flushEvery?: number;
  /** Largest push in bytes (default 16000, at most 60000; keep it within the Worker's RUM_MAX_BODY_BYTES): more goes in several. */
  maxPushBytes?: number;
  /** web-vitals (`import * as webVitals from 'web-vitals'`): LCP, INP, CLS, FCP and TTFB observed per route and rating. */
  vitals?: { onLCP?: OnVital; onINP?: OnVital; onCLS?: OnVital; onFCP?: OnVital; onTTFB?: OnVital };
  /** The page's own metrics (also declare them in the Worker's RUM_SCHEMA). */
  metrics?: Record<string, RumMetric>;
  /** Count uncaught errors and unhandled rejections in rum_errors_total. Default true. */
  errors?: boolean;
  /** Count this page view in rum_page_views_total. Default true. */
  pageView?: boolean;
  /** Where the recorder's wasm is (URL, bytes or module). Default: beside this file. */
  wasm?: string | URL | BufferSource | WebAssembly.Module | Response;
}

/** Path segments that look like ids (digits, UUIDs, long hex) become `:id`. */
export function route(path: string): string;

/** Starts a page's RUM client. */
export function rum(options?: RumOptions): RumClient;

export class RumClient {
  constructor(options?: RumOptions);
  /**
   * Resolves once the recorder's wasm is loaded (up to 1000 calls made before are kept and
   * replayed; a declaration in `metrics` the recorder refuses is logged, the rest still count).
   * Rejects if the wasm cannot be loaded: the client then records nothing.
   */
  readonly ready: Promise<void>;
  /** Pushes dropped unsent: more than 32 waited to go again (after failures, or a 429). */
  readonly dropped: number;
  /** Pushes waiting to go again (after a network error, a 5xx or a 429). */
  readonly pending: number;
  /** The current page's route, as the normalizer gives it. */
  route(): string;
  /** Counts a page view of the current route (done once at start; call again on SPA navigations). */
  pageView(): void;
  /** Adds `by` (default 1) to a counter. Throws (once ready) for an undeclared metric or label, or a value out of its range. */
  count(metric: string, labels?: Record<string, string>, by?: number): void;
  /** Observes a value into a histogram. */
  observe(metric: string, value: number, labels?: Record<string, string>): void;
  /** Sets a gauge. */
  set(metric: string, value: number, labels?: Record<string, string>): void;
  /** Pushes what was recorded, and pushes that failed before; `now`: even during a 429's Retry-After. */
  flush(now?: boolean): void;
}
