// The browser bundle of the sender (JS + wasm, minified, gzip -9) beside npm
// `prometheus-remote-write` bundled with its dependencies for browsers the same way.
// Run: node benches/js/size.mjs (after bash pkg/build.sh).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

async function bundle(entry, options = {}) {
  const out = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent', ...options });
  return out.outputFiles[0].contents;
}

const root = new URL('../..', import.meta.url).pathname;
const js = await bundle(`${root}pkg/index.js`, { target: 'es2022' });
const wasm = readFileSync(`${root}pkg/wasm/sender/edgewrite_bg.wasm`);
const ours = gz(js) + gz(wasm);
console.log(`edgewrite sender (pkg/index.js): JS ${kib(js.length)} (${kib(gz(js))} gzip) + wasm ${kib(wasm.length)} (${kib(gz(wasm))} gzip) = ${kib(ours)} gzip`);

const peer = await bundle(`${root}node_modules/prometheus-remote-write/index.js`, { external: ['node-fetch'], format: 'cjs' });
console.log(`prometheus-remote-write 0.5.1 + protobufjs + snappyjs: ${kib(peer.length)} (${kib(gz(peer))} gzip)`);
