// Low-level encode/decode of remote-write bodies (browsers, bundlers). A separate wasm from
// the writer's, so that pages which only send do not download the decoder.
import init from './wasm/full/edgewrite.js';

await init({ module_or_path: new URL('./wasm/full/edgewrite_bg.wasm', import.meta.url) });

export { decode, encode } from './codec-api.js';

