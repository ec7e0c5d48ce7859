// Security, against the Worker under `wrangler dev` with two tenants: tokens that are almost
// right, tenants a client tries to choose, reads across tenants through every read endpoint and
// PromQL, CORS from an origin not allowed, oversized and repeated headers, edge labels a client
// tries to set, queries that try to exhaust a shard, and, last, the secrets searched for in
// everything the Worker said: its answers, /metrics and its log.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encode } from '../../pkg/node.js';
import { eventually, scriptedReceiver, startWorker } from './helpers.mjs';

const SECRETS = {
  a: 'tA9x-Qm2v7Lk4Zp8Rn3s',
  b: 'tB7y-Wc5u1Hd6Jf0Ge9k',
  metrics: 'mT3n-Xv8b2Ks5Lq7Pw4z',
  upstream: 'Bearer uP6r-Yt1e9Oi3As5Dg2h',
};
const T = Math.floor(Date.now() / 1000) * 1000 - 60_000;
let worker;
let ready = 0;
/** Every answer's body and headers, searched for the secrets at the end. */
const said = [];

before(async () => {
  worker = await startWorker({
    AUTH: 'tokens',
    TOKENS: `${SECRETS.a}=team-a,${SECRETS.b}=team-b`,
    METRICS_TOKEN: SECRETS.metrics,
    UPSTREAM_AUTHORIZATION: SECRETS.upstream,
    ALLOWED_ORIGINS: 'https://shop.example',
    EDGE_LABELS: 'edge=$colo',
    RUM_TENANT: 'team-a',
  });
  // What wrangler prints of its --var flags as it starts is wrangler's, not the Worker's.
  ready = worker.log().length;
});

after(async () => {
  await worker?.stop();
});

async function call(path, { method = 'GET', headers = {}, body } = {}) {
  const res = await fetch(`${worker.url}${path}`, { method, headers, body });
  const text = await res.text();
  said.push(text, JSON.stringify([...res.headers]));
  return { status: res.status, headers: res.headers, text };
}

const bearer = (secret) => ({ Authorization: `Bearer ${secret}` });
const V2 = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const write = (body, headers, v2 = false) =>
  call('/api/v1/write', { method: 'POST', body, headers: { 'Content-Type': v2 ? V2 : 'application/x-protobuf', 'Content-Encoding': 'snappy', ...headers } });
const one = (labels, value = 1, t = T) => encode({ series: [{ labels, samples: [{ value, timestamp: t }] }] });
const json = async (path, secret) => {
  const r = await call(path, { headers: bearer(secret) });
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text);
};
const names = async (secret) => (await json('/api/v1/label/__name__/values', secret)).data;

test('a write needs a whole, exact token: none, wrong, a prefix, longer, another scheme, in the URL or twice get 401 and write nothing', async () => {
  const tries = [
    {},
    bearer('nope'),
    bearer(SECRETS.a.slice(0, -1)),
    bearer(`${SECRETS.a}x`),
    bearer(SECRETS.a.toUpperCase()),
    { Authorization: `Basic ${Buffer.from(`x:${SECRETS.a}`).toString('base64')}` },
    { Authorization: SECRETS.a },
    { Authorization: 'Bearer ' },
    { Authorization: `Bearer ${SECRETS.a} ${SECRETS.a}` },
    { Authorization: `Bearer ${SECRETS.a}, Bearer ${SECRETS.a}` },
    { 'X-Api-Key': SECRETS.a },
  ];
  for (const [i, headers] of tries.entries()) {
    const r = await write(one({ __name__: 'bypass_attempt', attempt: String(i) }), headers);
    assert.equal(r.status, 401, `attempt ${i}: ${JSON.stringify(headers)}: ${r.text}`);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  const inUrl = await call(`/api/v1/write?token=${SECRETS.a}&access_token=${SECRETS.a}`, {
    method: 'POST',
    body: one({ __name__: 'bypass_attempt', attempt: 'url' }),
    headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' },
  });
  assert.equal(inUrl.status, 401);
  // Reads, the query API and /metrics take the same rule.
  for (const path of ['/api/v1/series?match[]=up', '/api/v1/query?query=up', '/api/v1/labels', '/metrics']) {
    assert.equal((await call(path, { headers: bearer(SECRETS.a.slice(0, -1)) })).status, 401, path);
  }
  assert.equal((await call('/metrics', { headers: bearer(SECRETS.a) })).status, 401, "a tenant's token does not read /metrics");
  // The control: the right token writes, and nothing of the attempts was.
  assert.equal((await write(one({ __name__: 'bypass_control' }), bearer(SECRETS.a))).status, 204);
  const written = await names(SECRETS.a);
  assert.ok(written.includes('bypass_control') && !written.includes('bypass_attempt'), JSON.stringify(written));
});

test("a client cannot choose its tenant: its tenant label and X-Scope-OrgID are its token's tenant", async () => {
  const r = await write(one({ __name__: 'forged_tenant', tenant: 'team-b' }), { ...bearer(SECRETS.a), 'X-Scope-OrgID': 'team-b' });
  assert.equal(r.status, 204, r.text);
  assert.ok(!(await names(SECRETS.b)).includes('forged_tenant'), "nothing in team-b's store");
  const series = (await json('/api/v1/series?match[]=forged_tenant', SECRETS.a)).data;
  assert.deepEqual(series.map((s) => s.tenant), ['team-a']);
});

test("reads stay within the token's tenant: series, labels, values, samples, metadata, exemplars, query and query_range", async () => {
  const body = encode(
    {
      series: [
        {
          labels: { __name__: 'only_b_total', job: 'b-job', only_b_label: 'x' },
          samples: [{ value: 5, timestamp: T }],
          exemplars: [{ labels: { trace_id: 'b-trace' }, value: 1, timestamp: T }],
          metadata: { type: 'counter', help: 'b-help', unit: '' },
        },
      ],
    },
    { protocol: 'v2' },
  );
  assert.equal((await write(body, bearer(SECRETS.b), true)).status, 204);
  const s = T / 1000;
  const q = encodeURIComponent;
  const reads = [
    `/api/v1/series?match[]=${q('{__name__=~".+"}')}`,
    `/api/v1/series?match[]=${q('{tenant="team-b"}')}`,
    '/api/v1/labels',
    '/api/v1/label/__name__/values',
    '/api/v1/label/job/values',
    '/api/v1/label/tenant/values',
    `/api/v1/samples?match[]=${q('{__name__=~".+"}')}&start=0&end=4000000000`,
    '/api/v1/metadata',
    `/api/v1/query_exemplars?query=${q('{__name__=~".+"}')}&start=${s - 60}&end=${s + 60}`,
    `/api/v1/query?query=${q('{__name__=~".+"}')}&time=${s}`,
    `/api/v1/query?query=${q('{tenant="team-b"}')}&time=${s}`,
    `/api/v1/query?query=${q('label_replace({__name__=~".+"}, "tenant", "team-b", "", "")')}&time=${s}`,
    `/api/v1/query?query=${q('sum by (tenant) (only_b_total) or vector(0)')}&time=${s}`,
    `/api/v1/query_range?query=${q('{__name__=~"only_b.*"}')}&start=${s - 60}&end=${s + 60}&step=15`,
  ];
  const theirs = /only_b|b-job|b-trace|b-help/;
  for (const path of reads) {
    const mine = JSON.stringify(await json(path, SECRETS.a));
    assert.ok(!theirs.test(mine), `${path} shows team-b's data to team-a: ${mine}`);
    // The control: the owner sees it (where the read shows a name, a value or a trace).
    if (!/tenant%2Fvalues|tenant\/values|sum%20by/.test(path)) {
      assert.match(JSON.stringify(await json(path, SECRETS.b)), theirs, `${path} shows team-b its own data`);
    }
  }
  const summed = await json(`/api/v1/query?query=${q('sum by (tenant) (only_b_total) or vector(0)')}&time=${s}`, SECRETS.a);
  assert.deepEqual(summed.data.result, [{ metric: {}, value: [s, '0'] }], 'team-a sums none of team-b');
  assert.deepEqual((await json('/api/v1/label/tenant/values', SECRETS.a)).data, ['team-a']);
  assert.deepEqual((await json('/api/v1/label/tenant/values', SECRETS.b)).data, ['team-b']);
});

test('CORS: an origin not allowed gets a 403 preflight, and no CORS headers on its requests', async () => {
  const preflight = await call('/api/v1/write', {
    method: 'OPTIONS',
    headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-encoding' },
  });
  assert.equal(preflight.status, 403);
  assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  const post = await write(one({ __name__: 'cors_probe' }), { ...bearer(SECRETS.a), Origin: 'https://evil.example' });
  assert.equal(post.headers.get('access-control-allow-origin'), null, 'a browser would not let the page read it');
  const read = await call('/api/v1/labels', { headers: { ...bearer(SECRETS.a), Origin: 'https://evil.example' } });
  assert.equal(read.headers.get('access-control-allow-origin'), null);
  // A page's RUM push from another origin is refused outright (no token to protect it).
  const rum = await call('/api/v1/rum', { method: 'POST', body: one({ __name__: 'rum_page_views_total', route: '/' }), headers: { Origin: 'https://evil.example', 'Content-Type': 'text/plain' } });
  assert.equal(rum.status, 403, rum.text);
  // The control: the allowed origin gets them.
  const allowed = await write(one({ __name__: 'cors_probe' }, 2, T + 1000), { ...bearer(SECRETS.a), Origin: 'https://shop.example' });
  assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://shop.example');
});

test('oversized and repeated headers get a 4xx, never a 5xx, and the Worker keeps serving', async () => {
  const body = one({ __name__: 'header_probe' });
  // (Past a size, the server in front of the Worker answers 431 itself: a 4xx too.)
  const refused = (status) => status >= 400 && status < 500;
  const cases = [
    [{ Authorization: `Bearer ${'x'.repeat(60_000)}` }, refused],
    [{ ...bearer(SECRETS.a), 'X-Filler': 'y'.repeat(60_000) }, (status) => status === 204 || refused(status)],
    [{ ...bearer(SECRETS.a), 'Content-Encoding': 'snappy, gzip' }, (status) => status === 415],
    [{ ...bearer(SECRETS.a), 'Content-Encoding': 'snappy, snappy' }, (status) => status === 415],
    [{ ...bearer(SECRETS.a), 'Content-Type': 'application/x-protobuf, application/json' }, (status) => status === 415],
    [{ ...bearer(SECRETS.a), 'Content-Type': `application/x-protobuf;proto=${'p'.repeat(10_000)}` }, (status) => status === 415],
    [{ ...bearer(SECRETS.a), ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`X-H${i}`, 'v'.repeat(100)])) }, (status) => status === 204 || refused(status)],
  ];
  for (const [headers, expected] of cases) {
    const r = await write(body, headers);
    const shown = Object.entries(headers).map(([k, v]) => `${k}: ${v.slice(0, 40)}`).slice(0, 3);
    assert.ok(expected(r.status), `${shown}: ${r.status} ${r.text.slice(0, 200)}`);
  }
  assert.equal((await call('/healthz')).status, 200);
});

test("edge labels are the edge's: a client's own label of that name is replaced or dropped, and label values cannot break out", async () => {
  const sly = 'x",tenant="team-b';
  assert.equal((await write(one({ __name__: 'edge_probe', edge: 'forged', job: sly }), bearer(SECRETS.a))).status, 204);
  const [s] = (await json('/api/v1/series?match[]=edge_probe', SECRETS.a)).data;
  assert.notEqual(s.edge, 'forged', JSON.stringify(s));
  assert.equal(s.tenant, 'team-a');
  assert.equal(s.job, sly, 'the value is a value, whole');
  const q = encodeURIComponent(`edge_probe{job="x\\",tenant=\\"team-b"}`);
  const found = await json(`/api/v1/query?query=${q}&time=${T / 1000}`, SECRETS.a);
  assert.equal(found.data.result.length, 1);
  assert.equal(found.data.result[0].metric.tenant, 'team-a');
});

test('queries that try to exhaust a shard are refused with a 4xx or 503, and the Worker keeps serving', async () => {
  const s = T / 1000;
  const q = encodeURIComponent;
  const heavy = [
    `/api/v1/query_range?query=up&start=0&end=${s}&step=1`,
    `/api/v1/query_range?query=up&start=${s}&end=${s + 1}&step=0`,
    `/api/v1/query?query=${q('count_over_time({__name__=~".+"}[100y])')}&time=${s}`,
    `/api/v1/query?query=${q('sum(rate({__name__=~".+"}[5m:1ms]))')}&time=${s}`,
    `/api/v1/query?query=${q('{__name__=~"(a+)+(b+)+(c+)+$"}')}&time=${s}`,
    `/api/v1/query?query=${q('1'.padEnd(20_000, '+1'))}&time=${s}`,
    `/api/v1/query?query=${q('('.repeat(5_000) + '1' + ')'.repeat(5_000))}&time=${s}`,
    `/api/v1/series?match[]=${q('{__name__=~".+"}')}&limit=-1`,
  ];
  for (const path of heavy) {
    // As a form body (POST, as Grafana sends long queries): a URL this long would be refused
    // before the Worker (414, 431) and prove nothing.
    const [endpoint, form] = path.split('?');
    const r = await call(endpoint, { method: 'POST', body: form, headers: { ...bearer(SECRETS.a), 'Content-Type': 'application/x-www-form-urlencoded' } });
    const what = `${path.slice(0, 100)}: ${r.status} ${r.text.slice(0, 200)}`;
    assert.ok([200, 400, 422, 503].includes(r.status), what);
    if (r.status !== 200) assert.match(r.text, /"errorType":"(bad_data|execution|timeout)"/, what);
  }
  assert.equal((await json(`/api/v1/query?query=1%2B1`, SECRETS.a)).data.result[1], '2');
});

test('no secret appears in any answer, in /metrics or in the Worker\'s log', async () => {
  // A few more failures: a malformed write, a bad query.
  await write(Buffer.from('not snappy'), bearer(SECRETS.a));
  await call('/api/v1/query?query=rate(', { headers: bearer(SECRETS.b) });
  const metrics = await call('/metrics', { headers: bearer(SECRETS.metrics) });
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /edgewrite_/);
  // The upstream's secret where it is used: a Worker forwarding to an upstream that answers
  // 503, then refuses, which the Worker logs with the upstream's message.
  const upstream = await scriptedReceiver([{ status: 503, body: 'busy' }, { status: 400, body: 'refused here' }]);
  const forwarding = await startWorker({
    AUTH: 'tokens',
    TOKENS: `${SECRETS.a}=team-a`,
    METRICS_TOKEN: SECRETS.metrics,
    BACKEND: 'remote_write',
    UPSTREAM_URL: upstream.url,
    UPSTREAM_AUTHORIZATION: SECRETS.upstream,
  });
  const started = forwarding.log().length;
  try {
    const r = await fetch(`${forwarding.url}/api/v1/write`, { method: 'POST', body: one({ __name__: 'forwarded' }), headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', ...bearer(SECRETS.a) } });
    assert.equal(r.status, 204);
    said.push(await r.text());
    await eventually(() => forwarding.log().includes('refused here'), 30_000, "the Worker's log of the refusal");
    assert.equal(upstream.requests[0].headers.authorization, SECRETS.upstream, 'the secret was sent upstream');
    const logs = [['the log', worker.log().slice(ready)], ["the forwarding Worker's log", forwarding.log().slice(started)]];
    assert.match(logs[1][1], /upstream .* answered/, 'the Worker\'s own messages are in the log searched');
    for (const [name, secret] of Object.entries(SECRETS)) {
      const bare = secret.replace(/^Bearer /, '');
      for (const [where, text] of [['answers', said.join('\n')], ['/metrics', metrics.text], ...logs]) {
        assert.ok(!text.includes(bare), `the ${name} secret appears in ${where}`);
      }
    }
  } finally {
    await forwarding.stop();
    await upstream.close();
  }
});
