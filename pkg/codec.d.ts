/** Labels of a series or exemplar: name to value. A series needs `__name__`. */
export type Labels = Record<string, string>;

/** A float sample. `value` may be `"NaN"`, `"+Inf"` or `"-Inf"` where JSON cannot hold numbers. */
export interface SampleObject {
  value: number | string;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** A stale marker: the series ended at `timestamp` (its value is then ignored). */
  stale?: boolean;
  /** Remote write 2.0: when the counter started, ms. */
  startTimestamp?: number;
}

export interface ExemplarObject {
  labels: Labels;
  value: number;
  timestamp: number;
}

export interface BucketSpan {
  offset: number;
  length: number;
}

/** A native histogram sample; `float` selects counts (`*Counts`) over deltas (`*Deltas`). */
export interface HistogramObject {
  count: number;
  float?: boolean;
  sum: number;
  stale?: boolean;
  schema: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpans?: BucketSpan[];
  negativeDeltas?: number[];
  negativeCounts?: number[];
  positiveSpans?: BucketSpan[];
  positiveDeltas?: number[];
  positiveCounts?: number[];
  /** 0 unknown, 1 yes, 2 no, 3 gauge. */
  resetHint?: number;
  timestamp: number;
  customValues?: number[];
  startTimestamp?: number;
}

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset' | 'unknown';

export interface MetadataObject {
  type: MetricType;
  help?: string;
  unit?: string;
}

export interface SeriesObject {
  labels: Labels;
  samples?: SampleObject[];
  exemplars?: ExemplarObject[];
  histograms?: HistogramObject[];
  /** Per-series metadata (how remote write 2.0 carries it). */
  metadata?: MetadataObject;
}

/** A remote-write request, as `decode` returns it and `encode` takes it. */
export interface WriteRequestObject {
  series: SeriesObject[];
  /** Remote write 1.0 family metadata. */
  metadata?: (MetadataObject & { metricFamilyName: string })[];
}

export interface CodecOptions {
  /** Default 'v1'. */
  protocol?: 'v1' | 'v2';
}

/** Encodes a request as a snappy-compressed remote-write body. */
export function encode(request: WriteRequestObject, options?: CodecOptions): Uint8Array;

/** Decodes a snappy-compressed remote-write body. Throws an Error saying what is wrong. */
export function decode(body: Uint8Array | ArrayBuffer, options?: CodecOptions): WriteRequestObject;
