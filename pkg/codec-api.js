// encode/decode over whichever build of the full wasm the entry point initialised.
import { decode as wasmDecode, encode as wasmEncode, encode_columns } from './wasm/full/edgewrite.js';

const version = (protocol) => {
  if (protocol !== 'v1' && protocol !== 'v2') throw new TypeError("protocol must be 'v1' or 'v2'");
  return protocol === 'v2' ? 2 : 1;
};

const SPECIAL = { NaN: NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };

/** A number from a number or a string (`"NaN"`, `"+Inf"`, `"-Inf"` as JSON writes them). */
export function number(v, where) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() in SPECIAL) return SPECIAL[v.trim()];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (Number.isNaN(n)) throw new TypeError(`${where}: ${JSON.stringify(v)} is not a number (use "NaN", "+Inf" or "-Inf" for those)`);
  return n;
}

/**
 * The request as columns, so that it crosses into wasm once: only for plain samples (series
 * with histograms or exemplars take the object path).
 */
function columns(request) {
  const series = request.series ?? [];
  const strings = [];
  const labelCounts = new Uint32Array(series.length);
  const sampleCounts = new Uint32Array(series.length);
  const values = [];
  const stamps = [];
  const starts = [];
  const stale = [];
  const meta = [];
  let anyMeta = false;
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    if (s.histograms?.length || s.exemplars?.length) return null;
    const names = Object.keys(s.labels ?? {});
    labelCounts[i] = names.length;
    for (const k of names) {
      const value = String(s.labels[k]);
      // NUL joins the strings below; the rare label holding one takes the object path.
      if (k.includes('\0') || value.includes('\0')) return null;
      strings.push(k, value);
    }
    const samples = s.samples ?? [];
    sampleCounts[i] = samples.length;
    for (let j = 0; j < samples.length; j++) {
      const x = samples[j];
      values.push(x.stale ? 0 : number(x.value, `series[${i}].samples[${j}].value`));
      if (!Number.isFinite(x.timestamp)) throw new TypeError(`series[${i}].samples[${j}].timestamp must be a number of milliseconds`);
      stamps.push(x.timestamp);
      starts.push(x.startTimestamp ?? 0);
      stale.push(x.stale ? 1 : 0);
    }
    anyMeta ||= !!s.metadata;
    meta.push(s.metadata?.type ?? '', s.metadata?.help ?? '', s.metadata?.unit ?? '');
  }
  const families = (request.metadata ?? []).flatMap((m) => [m.type ?? '', m.metricFamilyName ?? '', m.help ?? '', m.unit ?? '']);
  return [strings.join('\0'), labelCounts, sampleCounts, Float64Array.from(values), Float64Array.from(stamps), Float64Array.from(starts),
    Uint8Array.from(stale), anyMeta ? meta : [], families];
}

/**
 * Encodes a request object (`{ series: [{ labels, samples, exemplars, histograms, metadata }],
 * metadata }`) as a snappy-compressed remote-write body.
 */
export function encode(request, { protocol = 'v1' } = {}) {
  const v = version(protocol);
  const cols = columns(request);
  return cols ? encode_columns(v, ...cols) : wasmEncode(request, v);
}

/** Decodes a snappy-compressed remote-write body into a request object. */
export function decode(body, { protocol = 'v1' } = {}) {
  return wasmDecode(body instanceof Uint8Array ? body : new Uint8Array(body), version(protocol));
}
