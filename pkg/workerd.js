// Entry for Cloudflare Workers (the `workerd` export condition): wasm is imported as a module,
// which is how Workers load it.
import senderModule from './wasm/sender/edgewrite_bg.wasm';
import fullModule from './wasm/full/edgewrite_bg.wasm';
import { initSync as initSender } from './wasm/sender/edgewrite.js';
import { initSync as initFull } from './wasm/full/edgewrite.js';

initSender({ module: senderModule });
initFull({ module: fullModule });

export { RemoteWriter, Series } from './core.js';
export { decode, encode } from './codec-api.js';
