// encode/decode over whichever build of the full wasm the entry point initialised.
import { decode as wasmDecode, encode as wasmEncode } from './wasm/full/edgewrite.js';

const version = (protocol) => {
  if (protocol !== 'v1' && protocol !== 'v2') throw new TypeError("protocol must be 'v1' or 'v2'");
  return protocol === 'v2' ? 2 : 1;
};

/**
 * Encodes a request object (`{ series: [{ labels, samples, exemplars, histograms, metadata }],
 * metadata }`) as a snappy-compressed remote-write body.
 */
export function encode(request, { protocol = 'v1' } = {}) {
  return wasmEncode(request, version(protocol));
}

/** Decodes a snappy-compressed remote-write body into a request object. */
export function decode(body, { protocol = 'v1' } = {}) {
  return wasmDecode(body instanceof Uint8Array ? body : new Uint8Array(body), version(protocol));
}
