// The README's JavaScript example runs as written (against a local receiver instead of the URL
// it names, and importing the package from pkg/).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { scriptedReceiver } from './helpers.mjs';

for (const path of ['../../README.md', '../../pkg/README.md']) test(`the sender example in ${path.slice(6)} works`, async () => {
  const readme = readFileSync(new URL(path, import.meta.url), 'utf8');
  const example = readme.match(/```js\n(import \{ RemoteWriter \} from 'edgewrite';[\s\S]*?)```/)[1];
  const rx = await scriptedReceiver();
  const pkg = new URL('../../pkg/node.js', import.meta.url).href;
  const code = example
    .replace("from 'edgewrite'", `from '${pkg}'`)
    .replace("'http://127.0.0.1:9090/api/v1/write'", `'${rx.url}'`)
    .replace('console.log(w.metricsText());', 'globalThis.readmeMetrics = w.metricsText();');
  const file = join(mkdtempSync(join(tmpdir(), 'edgewrite-readme-')), 'example.mjs');
  delete globalThis.readmeMetrics;
  writeFileSync(file, code);
  await import(file);
  const names = rx.requests.flatMap((r) => r.body.series.map((s) => s.labels.__name__));
  for (const name of ['http_requests_total', 'queue_depth', 'rpc_seconds_bucket', 'rpc_seconds_sum', 'rpc_seconds_count']) {
    assert.ok(names.includes(name), `${name} arrived`);
  }
  const requests = rx.requests.flatMap((r) => r.body.series).find((s) => s.labels.__name__ === 'http_requests_total');
  assert.equal(requests.samples.at(-1).stale, true, 'the stale marker arrived');
  assert.match(globalThis.readmeMetrics, /prometheus_remote_storage_samples_total/);
  await rx.close();
});

test('the npm package names its repository, homepage and license, and ships its README', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.license, 'Apache-2.0');
  assert.match(pkg.repository.url, /^git\+https:/);
  assert.equal(pkg.repository.directory, 'pkg');
  assert.match(pkg.homepage, /^https:/);
  assert.ok(pkg.files.includes('README.md'));
});
