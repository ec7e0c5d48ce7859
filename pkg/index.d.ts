import type { Labels, MetricType } from './codec.js';
export type { Labels, MetricType, WriteRequestObject, SeriesObject, SampleObject, ExemplarObject, HistogramObject, MetadataObject, CodecOptions } from './codec.js';

export interface RemoteWriterOptions {
  /** The remote-write endpoint, e.g. `http://127.0.0.1:9090/api/v1/write`. */
  url: string | URL;
  /** Extra headers (e.g. `X-Scope-OrgID`); the protocol's own headers cannot be overridden. */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer ...`. */
  bearerToken?: string;
  /** Default 'v1'. A 'v2' writer falls back to 'v1' for good when the receiver is 1.x. */
  protocol?: 'v1' | 'v2';
  /** Series are spread over this many shards by label hash; each sends one request at a time. Default 4. */
  shards?: number;
  /** A shard sends when it holds this many samples. Default 2000. */
  maxSamplesPerSend?: number;
  /** ... or when its oldest sample has waited this long. Default 5000 ms. */
  batchSendDeadlineMs?: number;
  /** Most samples pending per shard. Default 10000. */
  capacity?: number;
  /** When a shard is full: throw from push ('reject', default) or drop its oldest data ('drop-oldest'). */
  onFull?: 'reject' | 'drop-oldest';
  /** Retry backoff, doubling from min to max, with jitter. Defaults 30 and 5000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Retry 429 Too Many Requests (else drop). Default true. */
  retryOn429?: boolean;
  /** Longest Retry-After honoured; a longer one waits this long. Default 300000 ms (5 minutes). */
  maxRetryAfterMs?: number;
  /** Drop data older than this instead of retrying it; 0 (default) keeps everything. */
  sampleAgeLimitMs?: number;
  /** A collection with more samples than this is sent split in several requests. Default 50000. */
  maxSamplesPerRequest?: number;
  /** v1: how often each metric family's metadata is sent again. Default 60000 ms. */
  metadataIntervalMs?: number;
  /** Per request. Default 30000 ms. */
  timeoutMs?: number;
  /** Treat a 2.0 2xx without Written headers as a 1.x receiver. Default: true in Node, false in browsers (CORS may hide headers). */
  detectV1Receivers?: boolean;
  /** How often changed counters, gauges and histograms are sampled. Default 1000 ms. */
  helperIntervalMs?: number;
  /** Browsers: send what is pending with `keepalive` when the page is hidden. Default true. */
  flushOnPageHide?: boolean;
  /** Node: the User-Agent header. Default `edgewrite/<version>`. */
  userAgent?: string;
  /** The fetch to use. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Called when data is dropped for good (same as `on('error', ...)`). */
  onError?: (event: DroppedEvent) => void;
}

export interface Counts {
  samples: number;
  histograms: number;
  exemplars: number;
}

export interface DroppedEvent {
  type: 'dropped';
  reason: 'rejected' | 'too_old' | 'queue_full' | 'corrupt';
  /** The receiver's status, when it refused. */
  status?: number;
  counts: Counts;
  /** The receiver's message (first KiB of its body, verbatim), or edgewrite's. */
  message: string;
}

export interface RetryEvent {
  type: 'retry';
  /** Undefined for network errors and timeouts. */
  status?: number;
  attempt: number;
  delayMs: number;
  message: string;
}

export interface FallbackEvent {
  type: 'fallback';
  status: number;
}

export interface PartialEvent {
  type: 'partial';
  sent: Counts;
  written: Counts;
}

export type WriterEvent = DroppedEvent | RetryEvent | FallbackEvent | PartialEvent;

export interface KindStats {
  total: number;
  failed: number;
  retried: number;
  droppedTooOld: number;
  droppedQueueFull: number;
  pending: number;
}

export interface WriterStats {
  samples: KindStats;
  histograms: KindStats;
  exemplars: KindStats;
  metadataTotal: number;
  bytesTotal: number;
  collectionsSplitTotal: number;
  protocolFallbacksTotal: number;
  requestsSucceeded: number;
  requestsRetried: number;
  requestsFailed: number;
  /** Cumulative counts of request durations per bound (5 ms ... 300 s, as Prometheus's sent_batch_duration_seconds). */
  batchDurationBuckets: number[];
  batchDurationCount: number;
  batchDurationSumMs: number;
}

export interface SeriesMetadata {
  type?: MetricType;
  help?: string;
  unit?: string;
}

/** A series handle: labels registered once, then only numbers cross into wasm. */
export class Series {
  readonly ref: number;
  readonly labels: Labels;
  /** Queues a sample; timestamp in ms, default now. */
  push(value: number, timestamp?: number): this;
  /** Queues a stale marker: the series ends. */
  stale(timestamp?: number): this;
  /** Queues an exemplar, e.g. `{ trace_id }`. */
  exemplar(labels: Labels, value: number, timestamp?: number): this;
}

export interface CollectionItem {
  labels?: Labels;
  series?: Series;
  value: number;
  timestamp?: number;
  stale?: boolean;
  metadata?: SeriesMetadata;
}

export interface HelperOptions {
  labels?: Labels;
  help?: string;
  unit?: string;
}

export class RemoteWriter {
  constructor(options: RemoteWriterOptions);
  /** The handle for these labels (`__name__` required); the same labels give the same handle. */
  series(labels: Labels, metadata?: SeriesMetadata): Series;
  /** Forgets a handle. */
  release(series: Series): void;
  /** Queues samples and exemplars of one series. */
  push(data: { labels: Labels; samples?: { value: number; timestamp?: number; stale?: boolean }[]; exemplars?: { labels?: Labels; value: number; timestamp?: number }[]; metadata?: SeriesMetadata }): void;
  /** Queues many samples: handles (or refs), values and timestamps of the same length. */
  pushMany(series: ArrayLike<Series | number>, values: ArrayLike<number>, timestamps: ArrayLike<number>): void;
  /** Writes items as one unit: one request, after the collections before it. */
  writeCollection(items: CollectionItem[]): void;
  counter(name: string, options?: HelperOptions): { readonly series: Series; readonly value: number; inc(n?: number): void };
  gauge(name: string, options?: HelperOptions): { readonly series: Series; readonly value: number; set(v: number): void; inc(n?: number): void; dec(n?: number): void };
  histogram(name: string, options?: HelperOptions & { buckets?: number[] }): { observe(v: number): void };
  on(type: 'error', listener: (e: DroppedEvent) => void): this;
  on(type: 'retry', listener: (e: RetryEvent) => void): this;
  on(type: 'fallback', listener: (e: FallbackEvent) => void): this;
  on(type: 'partial', listener: (e: PartialEvent) => void): this;
  on(type: 'event', listener: (e: WriterEvent) => void): this;
  off(type: 'error' | 'retry' | 'fallback' | 'partial' | 'event', listener: (e: any) => void): this;
  /** Sends everything queued now; resolves when it is delivered or dropped. */
  flush(): Promise<void>;
  /** Flushes (for at most `timeoutMs`), then stops. */
  close(options?: { timeoutMs?: number }): Promise<void>;
  stats(): WriterStats;
  /** The writer's own metrics (`prometheus_remote_storage_*`) in the Prometheus text format. */
  metricsText(): string;
  readonly protocol: 'v1' | 'v2';
}
