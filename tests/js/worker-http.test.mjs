// The Worker's rules over HTTP: bearer tokens and tenants, CORS for browsers, label rules and
// size limits, each answered with the right status and a message.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { encode } from '../../pkg/node.js';
import { startWorker } from './helpers.mjs';

const fixture = readFileSync(new URL('../fixtures/prometheus-2.42/0002.bin', import.meta.url));
let worker;

before(async () => {
  worker = await startWorker({
    AUTH: 'tokens',
    TOKENS: 's3cret=team-a,other=team-b',
    ALLOWED_ORIGINS: 'https://shop.example',
    REFUSE_LABELS: 'quantile',
    MAX_BODY_BYTES: '20000',
    MAX_SERIES_PER_REQUEST: '1000',
  });
});

after(async () => {
  await worker?.stop();
});

const write = (body, headers = {}) =>
  fetch(`${worker.url}/api/v1/write`, {
    method: 'POST',
    body,
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers },
  });

test('no valid bearer token, no write', async () => {
  const none = await write(fixture);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  assert.match(await none.text(), /bearer token/);
  assert.equal((await write(fixture, { Authorization: 'Bearer nope' })).status, 401);
});

test('a valid token writes, and label rules refuse what they must (partial write)', async () => {
  const res = await write(fixture, { Authorization: 'Bearer s3cret' });
  const text = await res.text();
  // The captured request has summary series with quantile labels, refused by REFUSE_LABELS.
  assert.equal(res.status, 400, text);
  assert.match(text, /label "quantile" is not accepted/);
  assert.match(text, /series refused; the rest were accepted/);
});

test('every case of the prometheus/compliance receiver suite gets its answer over HTTP, and metadata alone is kept', async () => {
  const { execFileSync } = await import('node:child_process');
  // edgewrite::compliance::receiver_cases(now), the catalogue tests/compliance.rs runs natively.
  const root = new URL('../..', import.meta.url).pathname;
  const out = execFileSync('cargo', ['run', '--quiet', '--example', 'compliance', String(Date.now())], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const cases = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  const failed = [];
  for (const c of cases) {
    const res = await write(Buffer.from(c.body, 'hex'), { 'Content-Type': c.contentType, 'Content-Encoding': c.contentEncoding, Authorization: 'Bearer s3cret' });
    const text = await res.text();
    const said = Object.fromEntries(['samples', 'exemplars', 'histograms'].map((k) => [k, res.headers.get(`x-prometheus-remote-write-${k}-written`)]));
    const v2 = c.contentType.includes('v2');
    let why = '';
    if (res.status !== c.status) why = `${res.status} ${text}, not ${c.status}`;
    else if (!v2 && Object.values(said).some((v) => v !== null)) why = `Written headers on a 1.0 answer: ${JSON.stringify(said)}`;
    else if (v2 && c.status === 204 && Object.entries(c.written).some(([k, n]) => Number(said[k]) !== n || said[k] === null)) why = `wrote ${JSON.stringify(said)}, not ${JSON.stringify(c.written)}`;
    else if (c.status !== 204 && Object.entries(c.written).some(([k, n]) => Number(said[k] ?? 0) > n)) why = `wrote ${JSON.stringify(said)}, more than ${JSON.stringify(c.written)}`;
    else if (c.status !== 204 && text.trim() === '') why = 'a refusal without a message';
    if (why) failed.push(`${c.name}: ${why}`);
  }
  assert.deepEqual(failed, [], `${failed.length} of ${cases.length} cases failed`);
  // The series sent with its metadata and nothing else: its metadata is served.
  const meta = await (await fetch(`${worker.url}/api/v1/metadata?metric=orphan_metric`, { headers: { Authorization: 'Bearer s3cret' } })).json();
  assert.deepEqual(meta.data.orphan_metric, [{ type: 'counter', help: 'Metadata alone', unit: '' }]);
});

test('CORS: preflight for allowed origins only, and the Written headers exposed', async () => {
  const ok = await fetch(`${worker.url}/api/v1/write`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-encoding, x-prometheus-remote-write-version' },
  });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.match(ok.headers.get('access-control-allow-headers'), /Content-Encoding/);
  assert.match(ok.headers.get('access-control-allow-headers'), /X-Prometheus-Remote-Write-Version/);
  const denied = await fetch(`${worker.url}/api/v1/write`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example' } });
  assert.equal(denied.status, 403);
  const post = await write(fixture, { Authorization: 'Bearer other', Origin: 'https://shop.example' });
  await post.text();
  assert.equal(post.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.match(post.headers.get('access-control-expose-headers'), /X-Prometheus-Remote-Write-Samples-Written/);
});

test('a body over the limit is 413 with a message', async () => {
  const big = Buffer.alloc(30_000, 1);
  const res = await write(big, { Authorization: 'Bearer s3cret', Origin: 'https://shop.example' });
  assert.equal(res.status, 413);
  assert.match(await res.text(), /over the (size )?limit/);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://shop.example', 'a browser can read why');
});

test('limits from wrangler.toml vars: series per request', async () => {
  const series = (n) => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'limited', i: String(i) }, samples: [{ value: 1, timestamp: Date.now() }] }));
  assert.equal((await write(encode({ series: series(1000) }), { Authorization: 'Bearer s3cret' })).status, 204);
  const over = await write(encode({ series: series(1001) }), { Authorization: 'Bearer s3cret' });
  assert.equal(over.status, 413);
  assert.match(await over.text(), /more than 1000 series/);
});

test('every bad request of the catalogue gets its status and message over HTTP; the Worker keeps serving', async () => {
  const { execFileSync } = await import('node:child_process');
  // edgewrite::conformance::bad_requests(), the catalogue tests/bad_input.rs runs natively.
  const root = new URL('../..', import.meta.url).pathname;
  const out = execFileSync('cargo', ['run', '--quiet', '--example', 'bad_requests'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const catalogue = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(catalogue.length >= 30, `${catalogue.length} bad requests`);
  for (const bad of catalogue) {
    const res = await write(Buffer.from(bad.body, 'hex'), {
      'Content-Type': bad.contentType,
      'Content-Encoding': bad.contentEncoding,
      Authorization: 'Bearer s3cret',
    });
    const text = await res.text();
    assert.equal(res.status, bad.status, `${bad.what}: ${text}`);
    assert.ok(text.includes(bad.message), `${bad.what}: ${JSON.stringify(text)} lacks ${JSON.stringify(bad.message)}`);
  }
  assert.equal((await fetch(`${worker.url}/healthz`)).status, 200);
  const fine = encode({ series: [{ labels: { __name__: 'still_serving' }, samples: [{ value: 1, timestamp: Date.now() }] }] });
  assert.equal((await write(fine, { Authorization: 'Bearer s3cret' })).status, 204);
});
