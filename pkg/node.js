// Entry for Node: loads both wasm builds from disk, then exports the writer, encode/decode and
// the prom-client bridge.
import { readFileSync } from 'node:fs';
import { initSync as initSender } from './wasm/sender/edgewrite.js';
import { initSync as initFull } from './wasm/full/edgewrite.js';

const wasm = (build) => readFileSync(new URL(`./wasm/${build}/edgewrite_bg.wasm`, import.meta.url));
initSender({ module: wasm('sender') });
initFull({ module: wasm('full') });

export { RemoteWriter, Series } from './core.js';
export { decode, encode } from './codec-api.js';
export { startPromClientBridge } from './prom-client.js';
