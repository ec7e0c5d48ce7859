// edgewrite/rum's client in Node against a loopback receiver that answers from a script: what
// a push holds, the route normalizer, refusals at the call, and what is kept, retried, held
// and dropped. (In a real browser with the Worker: rum-browser.test.mjs.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { route, rum } from '../../pkg/rum.js';
import { eventually, scriptedReceiver } from './helpers.mjs';

const wasm = readFileSync(new URL('../../pkg/wasm/rum/edgewrite_bg.wasm', import.meta.url));

/** A client with no interval (pushes on flush() only), no page view, pushing to `url`. */
async function client(url, options = {}) {
  const c = rum({ url, wasm, flushEvery: 0, pageView: false, errors: false, ...options });
  await c.ready;
  return c;
}

const samples = (req) =>
  Object.fromEntries(
    req.body.series.map((s) => [
      Object.entries(s.labels).map(([k, v]) => (k === '__name__' ? v : `${k}=${v}`)).join(','),
      s.samples.map((x) => x.value),
    ]),
  );

// First in this file: the wasm glue is loaded once per process, and after a good load
// init() keeps it.
test('a client whose wasm cannot load says so once, rejects ready, and records nothing', async () => {
  const logged = [];
  const error = console.error;
  console.error = (...args) => logged.push(args.join(' '));
  try {
    delete globalThis.edgewriteRum;
    const c = rum({ url: 'http://127.0.0.1:9/', wasm: new Uint8Array([0, 97, 115, 109]), flushEvery: 0, errors: false });
    c.count('rum_page_views_total');
    await assert.rejects(c.ready);
    c.count('rum_page_views_total');
    c.flush();
    assert.equal(c.pending, 0);
    assert.equal(logged.length, 1, logged.join('\n'));
    assert.match(logged[0], /^edgewrite rum: the recorder could not start, nothing is recorded/);
    assert.equal(globalThis.edgewriteRum, undefined, 'the inline snippet still counts this page');
  } finally {
    console.error = error;
  }
});

test('route() turns ids in a path into :id', () => {
  const cases = {
    '/': '/',
    '/user/123': '/user/:id',
    '/user/123/orders/9': '/user/:id/orders/:id',
    '/doc/3f2b8c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b/edit': '/doc/:id/edit',
    '/commit/0123456789abcdef0123': '/commit/:id',
    '/v2/items': '/v2/items',
    '/cafe': '/cafe',
    '/product/42abc': '/product/42abc',
  };
  for (const [path, want] of Object.entries(cases)) assert.equal(route(path), want, path);
});

test('a push holds the deltas since the last one, as remote write 1.0 in text/plain', async () => {
  const receiver = await scriptedReceiver();
  try {
    const c = await client(receiver.url, {
      metrics: { shop_items: { type: 'histogram', labels: ['route'], buckets: [1, 5] }, shop_mood: { type: 'gauge' } },
    });
    c.count('rum_page_views_total', { route: '/a' });
    c.count('rum_page_views_total', { route: '/a' }, 2);
    c.observe('shop_items', 3, { route: '/a' });
    c.set('shop_mood', -0.5);
    c.flush();
    await eventually(() => receiver.requests.length === 1, 5_000, 'the push');
    const [first] = receiver.requests;
    assert.equal(first.headers['content-type'], 'text/plain');
    assert.equal(first.headers['content-encoding'], undefined);
    assert.deepEqual(samples(first), {
      'rum_page_views_total,route=/a': [3],
      'shop_items_bucket,le=1,route=/a': [0],
      'shop_items_bucket,le=5,route=/a': [1],
      'shop_items_bucket,le=+Inf,route=/a': [1],
      'shop_items_sum,route=/a': [3],
      'shop_items_count,route=/a': [1],
      'shop_mood': [-0.5],
    });
    c.flush();
    assert.equal(receiver.requests.length, 1, 'nothing new, nothing sent');
    c.count('rum_page_views_total', { route: '/a' });
    c.flush();
    await eventually(() => receiver.requests.length === 2, 5_000, 'the second push');
    assert.deepEqual(samples(receiver.requests[1]), { 'rum_page_views_total,route=/a': [1] });
  } finally {
    await receiver.close();
  }
});

test('a page with many series pushes in parts of at most maxPushBytes, and folds series past 1000 into other', async () => {
  const receiver = await scriptedReceiver();
  try {
    const c = await client(receiver.url, { maxPushBytes: 4_000 });
    for (let i = 0; i < 1200; i++) c.count('rum_page_views_total', { route: `/made-up/${i}` });
    c.count('rum_page_views_total', { route: '/made-up/7' }, 2);
    c.flush();
    await eventually(() => receiver.requests.length === 8, 5_000, 'eight pushes in one flush');
    // About 70 KB in all: the rest with the next flushes.
    for (let n = 8; ; ) {
      c.flush();
      await new Promise((r) => setTimeout(r, 200));
      if (receiver.requests.length === n) break;
      n = receiver.requests.length;
    }
    assert.ok(receiver.requests.length >= 17, `${receiver.requests.length} pushes`);
    const views = {};
    for (const r of receiver.requests) {
      assert.ok(r.raw.length <= 4_000, `${r.raw.length} bytes`);
      for (const [k, [v]] of Object.entries(samples(r))) views[k] = (views[k] ?? 0) + v;
    }
    assert.equal(views['rum_page_views_total,route=/made-up/7'], 3);
    assert.equal(views['rum_page_views_total,route=other'], 200, 'the 200 series past the cap, as one');
    assert.equal(Object.values(views).reduce((a, b) => a + b, 0), 1202, 'every count once');
    assert.equal(new Set(receiver.requests.map((r) => r.url)).size, receiver.requests.length, 'an id each');

    // A push is never past what keepalive can carry, whatever maxPushBytes says.
    const before = receiver.requests.length;
    const big = await client(receiver.url, { maxPushBytes: 1_000_000 });
    for (let i = 0; i < 1000; i++) big.count('rum_page_views_total', { route: `/made-up/${i}` });
    big.flush();
    await eventually(() => receiver.requests.length === before + 2, 5_000, 'two pushes');
    assert.ok(receiver.requests.slice(before).every((r) => r.raw.length <= 60_000));
  } finally {
    await receiver.close();
  }
});

test('what the schema does not allow is refused at the call, with a message', async () => {
  const c = await client('http://127.0.0.1:9/', { metrics: { shop_total: { type: 'counter', labels: ['step'], range: [0, 10] } } });
  const say = (f) => {
    try {
      f();
    } catch (e) {
      return e.message;
    }
  };
  assert.equal(say(() => c.count('nope_total')), "edgewrite: nope_total is not a declared RUM metric (declare it, and add it to the Worker's RUM_SCHEMA)");
  assert.equal(say(() => c.count('shop_total', { user: '1' })), 'edgewrite: label "user" is not allowed on shop_total (allowed: step)');
  assert.equal(say(() => c.observe('shop_total', 1)), 'edgewrite: shop_total is a counter, not a histogram');
  assert.equal(say(() => c.count('shop_total', {}, -1)), 'edgewrite: shop_total is a counter: its increments are finite numbers, at least 0');
  assert.equal(say(() => c.observe('rum_lcp_seconds', NaN)), 'edgewrite: rum_lcp_seconds takes finite numbers only');
  assert.equal(say(() => c.count('shop_total', {}, 11)), 'edgewrite: shop_total: the value is outside the range declared for it (the Worker would refuse it)');
  // A declaration the Worker would refuse is refused here too (the same check, in the core):
  // logged, and the other metrics still count.
  const logged = [];
  const error = console.error;
  console.error = (e) => logged.push(e.message);
  try {
    const bad = rum({ wasm, flushEvery: 0, pageView: false, errors: false, metrics: { shop_odd: { type: 'histogram', buckets: [5, 1] }, shop_ok_total: { type: 'counter' } } });
    await bad.ready;
    assert.deepEqual(logged, ['edgewrite: metric "shop_odd": buckets must be finite and ascending (+Inf is implied)']);
    bad.count('shop_ok_total');
    assert.match(say(() => bad.observe('shop_odd', 1)), /shop_odd is not a declared RUM metric/);
  } finally {
    console.error = error;
  }
});

test('a push answered 5xx or 429 is kept and sent again with its id (after Retry-After), a 400 is not, past 32 they are dropped and counted', async () => {
  const receiver = await scriptedReceiver([503, { status: 429, headers: { 'Retry-After': '1' } }, { status: 400, body: 'no' }]);
  const warnings = [];
  const warn = console.warn;
  console.warn = (m) => warnings.push(m);
  try {
    const c = await client(receiver.url);
    const push = () => c.count('rum_page_views_total', { route: '/' });
    push();
    c.flush();
    await eventually(() => c.pending === 1, 5_000, 'the 503 kept');
    c.flush();
    await eventually(() => c.pending === 1 && receiver.requests.length === 2, 5_000, 'the 429 kept');
    assert.ok(receiver.requests[1].raw.equals(receiver.requests[0].raw), 'the same bytes again');
    c.flush();
    assert.equal(c.pending, 1, 'held for Retry-After (a send would have taken it)');
    c.flush(true);
    await eventually(() => c.pending === 0 && warnings.length === 1, 5_000, 'the 400 logged');
    assert.equal(warnings[0], 'edgewrite rum: 400 no');
    assert.equal(c.pending, 0, 'a 400 is not sent again');
    // Every try of a push carries its id (the Worker adds it once); the next push has another.
    const ids = receiver.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('push'));
    assert.match(ids[0], /^\d{1,10}(-\d{1,10}){3}$/);
    assert.deepEqual(ids, [ids[0], ids[0], ids[0]]);
    // ... and its age at each try (ms since it was taken): the Worker times it by that.
    const ages = receiver.requests.map((r) => Number(new URL(r.url, 'http://x').searchParams.get('age')));
    assert.ok(ages.every((a, i) => Number.isInteger(a) && a >= 0 && (i === 0 || a >= ages[i - 1])), `${ages}`);
    assert.ok(ages[2] > ages[0], `${ages}`);
    push();
    c.flush(true);
    await eventually(() => receiver.requests.length === 4, 5_000, 'the next push');
    assert.notEqual(new URL(receiver.requests[3].url, 'http://x').searchParams.get('push'), ids[0]);
    await receiver.close();

    // Nobody listening: every push is kept, up to 32.
    const gone = await client(receiver.url);
    for (let i = 0; i < 40; i++) {
      gone.count('rum_page_views_total', { route: '/' });
      gone.flush();
      await eventually(() => gone.pending === Math.min(i + 1, 32), 5_000, `push ${i} kept`);
    }
    assert.equal(gone.dropped, 8);
  } finally {
    console.warn = warn;
    await receiver.close().catch(() => {});
  }
});

test('while a 429 holds, what is recorded waits in the recorder; as the page goes away the newest push goes first', async () => {
  const receiver = await scriptedReceiver([{ status: 429, headers: { 'Retry-After': '60' } }]);
  // What the client asks fetch for, in order (the requests themselves go to the receiver).
  const fetch = globalThis.fetch;
  const asked = [];
  globalThis.fetch = (url, init) => {
    asked.push({ id: new URL(url, 'http://x').searchParams.get('push'), keepalive: init.keepalive });
    return fetch(url, init);
  };
  try {
    const c = await client(receiver.url);
    c.count('rum_page_views_total', { route: '/' });
    c.flush();
    await eventually(() => c.pending === 1 && receiver.requests.length === 1, 5_000, 'the 429 kept');
    for (let i = 0; i < 40; i++) {
      c.count('rum_page_views_total', { route: '/' }, 2);
      c.flush();
    }
    assert.equal(c.pending, 1, 'nothing taken while held');
    assert.equal(c.dropped, 0);
    assert.equal(asked.length, 1);
    c.flush(true);
    await eventually(() => receiver.requests.length === 3 && c.pending === 0, 5_000, 'both sent');
    assert.notEqual(asked[1].id, asked[0].id, 'the newest first');
    assert.equal(asked[2].id, asked[0].id, 'then the held one');
    assert.ok(asked.every((a) => a.keepalive));
    const views = receiver.requests.slice(1).map((r) => samples(r)['rum_page_views_total,route=/'][0]).sort();
    assert.deepEqual(views, [1, 80], 'the held push, and the forty merged');
  } finally {
    globalThis.fetch = fetch;
    await receiver.close();
  }
});

test("the recorder's memory stays flat over a long page life (the small allocator reuses what is freed)", async () => {
  // The same wasm instance pkg/rum.js uses (the module is loaded once).
  const { initSync, Rum } = await import('../../pkg/wasm/rum/edgewrite.js');
  const { memory } = initSync({ module: wasm });
  const rec = new Rum();
  const round = (i) => {
    for (let r = 0; r < 20; r++) {
      const lcp = rec.series('rum_lcp_seconds', `route\0/page/${r}\0rating\0good`);
      rec.observe(lcp, (i % 50) / 10);
      rec.add(rec.series('rum_page_views_total', `route\0/page/${r}`), 1);
    }
    assert.ok(rec.take(i, 60_000).length > 1000);
  };
  for (let i = 0; i < 200; i++) round(i);
  const warm = memory.buffer.byteLength;
  for (let i = 200; i < 5_000; i++) round(i);
  assert.equal(memory.buffer.byteLength, warm, `grew from ${warm} to ${memory.buffer.byteLength} bytes`);
  rec.free();
});
