// What a page loads for RUM, minified and gzip -9 (esbuild, browser, ESM), in one run:
// edgewrite/rum (JS + its wasm) beside web-vitals, OpenTelemetry's browser metrics (SDK +
// OTLP/HTTP exporter), prometheus-remote-write (with protobufjs and snappyjs) and Grafana
// Faro's web SDK. Each peer is bundled from a small page that uses it the way a page would,
// so tree shaking keeps what that page needs.
//
// Run: bash pkg/build.sh rum && npm ci --prefix benches/js/rum-peers && node benches/js/rum-size.mjs
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const root = new URL('../..', import.meta.url).pathname;
const peers = `${root}benches/js/rum-peers`;
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

/** The page `contents` bundled (resolving from `dir`), minified: its bytes. */
async function bundle(contents, dir, options = {}) {
  const out = await build({
    stdin: { contents, resolveDir: dir, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    ...options,
  });
  return out.outputFiles[0].contents;
}

const version = (dir, name) => JSON.parse(readFileSync(`${dir}/node_modules/${name}/package.json`, 'utf8')).version;
const rows = [];
const row = (what, js, wasm = null) => rows.push({ what, js: gz(js), wasm: wasm && gz(wasm), total: gz(js) + (wasm ? gz(wasm) : 0) });

const vitals = `import { onLCP, onINP, onCLS, onFCP, onTTFB } from 'web-vitals';
for (const on of [onLCP, onINP, onCLS, onFCP, onTTFB]) on((m) => navigator.sendBeacon('/rum', JSON.stringify(m)));`;
const ours = `import { rum } from './pkg/rum.js';
const c = rum({ url: '/api/v1/rum' });
document.addEventListener('click', () => c.count('rum_clicks_total'));`;
const oursVitals = `import { rum } from './pkg/rum.js';
import * as webVitals from 'web-vitals';
const c = rum({ url: '/api/v1/rum', vitals: webVitals });
document.addEventListener('click', () => c.count('rum_clicks_total'));`;
const wasm = readFileSync(`${root}pkg/wasm/rum/edgewrite_bg.wasm`);
row('edgewrite/rum (JS + wasm)', await bundle(ours, root), wasm);
row(`edgewrite/rum + web-vitals ${version(root, 'web-vitals')}`, await bundle(oursVitals, root), wasm);
row(`web-vitals ${version(root, 'web-vitals')} (the five vitals, no sending)`, await bundle(vitals, root));

const otel = `import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: '/v1/metrics' }), exportIntervalMillis: 10000 });
const meter = new MeterProvider({ readers: [reader] }).getMeter('page');
const clicks = meter.createCounter('clicks');
const lcp = meter.createHistogram('lcp');
document.addEventListener('click', () => clicks.add(1));
lcp.record(1.2);`;
row(
  `OpenTelemetry sdk-metrics ${version(peers, '@opentelemetry/sdk-metrics')} + exporter-metrics-otlp-http ${version(peers, '@opentelemetry/exporter-metrics-otlp-http')}`,
  await bundle(otel, peers),
);

const prw = `import { pushTimeseries } from 'prometheus-remote-write';
document.addEventListener('click', () => pushTimeseries({ labels: { __name__: 'clicks_total' }, samples: [{ value: 1 }] }, { url: '/api/v1/write', fetch }));`;
row(`prometheus-remote-write ${version(root, 'prometheus-remote-write')} + protobufjs + snappyjs`, await bundle(prw, root, { external: ['node-fetch'] }));

const faro = `import { initializeFaro, getWebInstrumentations } from '@grafana/faro-web-sdk';
initializeFaro({ url: '/collect', app: { name: 'page' }, instrumentations: getWebInstrumentations() });`;
row(`Grafana Faro web SDK ${version(peers, '@grafana/faro-web-sdk')} (its web instrumentations, web-vitals included)`, await bundle(faro, peers));

console.log('| what a page loads, minified, gzip -9 | JS | wasm | total |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.what} | ${kib(r.js)} | ${r.wasm ? kib(r.wasm) : '-'} | **${kib(r.total)}** |`);
