// Entry for browsers (`<script type="module">`) and bundlers: loads the sender's wasm from
// beside this file, then exports the writer. Low-level encode/decode: 'edgewrite/codec'.
import init from './wasm/sender/edgewrite.js';

await init({ module_or_path: new URL('./wasm/sender/edgewrite_bg.wasm', import.meta.url) });

export { RemoteWriter, Series } from './core.js';
