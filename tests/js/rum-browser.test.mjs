// Browser RUM end to end, in Debian's Chromium against the Worker under `wrangler dev`: the
// demo shop in www/ measures itself with the npm package's RUM client (edgewrite/rum) and
// web-vitals; 20 sessions (some closed while a push is on its way, the Worker restarted
// halfway) add up exactly; the RUM dashboard draws them; idle series end with a stale marker.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { initSync, Rum } from '../../pkg/wasm/rum/edgewrite.js';
import { eventually, sleep, startWorker } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
const vars = {
  // The demo shop's metrics, and the README example's.
  RUM_SCHEMA: JSON.stringify({
    ...JSON.parse(readFileSync(`${root}www/rum-demo-schema.json`, 'utf8')),
    shop_checkout_total: { type: 'counter', labels: ['route', 'step'], range: [0, 100] },
  }),
  RUM_FLUSH_EVERY: '1s',
  COMPACT_EVERY: '1s',
  SHARD_COUNT: '2',
};
const state = mkdtempSync(join(tmpdir(), 'edgewrite-rum-browser-'));
const VITALS = ['rum_lcp_seconds', 'rum_inp_seconds', 'rum_cls', 'rum_fcp_seconds', 'rum_ttfb_seconds'];
// A test that hangs fails (a page waiting for something that never comes) instead of stalling CI.
const LIMIT = 10 * 60_000;
/** A RUM push's URL (with its push id and age). */
const RUM_PUSH = /\/api\/v1\/rum(\?|$)/;
let worker;
let browser;
let context;

before(async () => {
  worker = await startWorker(vars, { state });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic'],
  });
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  rmSync(state, { recursive: true, force: true });
});

async function value(query) {
  const result = await worker.query(query);
  return result.length ? Number(result[0].value[1]) : undefined;
}

/**
 * Waits until the page's last interaction is taken in: the browser times an interaction after
 * the next frame, and web-vitals takes the timing in at the next idle period (within a
 * second); a tab closed before then reports no INP (web-vitals' own behaviour, seen here once
 * in ten sessions).
 */
async function interactionTaken(page) {
  await page.waitForFunction(() => performance.getEntriesByType('first-input').length > 0);
  await page.evaluate(() => new Promise((idle) => requestIdleCallback(idle, { timeout: 2000 })));
}

/** Opens the demo shop (pushing every `flush` ms) and waits for its RUM client. */
async function open(flush = 10_000) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${worker.url}/rum-demo.html?flush=${flush}`);
  await page.waitForFunction(() => window.rumClient, null, { timeout: 15_000 });
  await page.evaluate(() => window.rumClient.ready);
  return { page, errors };
}

/** Closes a page as a tab is closed: pagehide and visibilitychange run, then it is gone. */
async function close(page) {
  const closed = new Promise((resolve) => page.once('close', resolve));
  await page.close({ runBeforeUnload: true });
  await closed;
}

/**
 * One session: `carts` clicks on "Add to cart", a visit to a product page (another page view
 * and a cart add there) if `product`, an uncaught error if `error`. `midFlush`: it pushes every
 * 100 ms and the tab is closed the moment a push has started.
 */
async function session({ carts, product, error, midFlush }) {
  const { page, errors } = await open(midFlush ? 100 : 10_000);
  for (let i = 0; i < carts; i++) await page.click('#cart');
  // Every session reports INP: see interactionTaken.
  await interactionTaken(page);
  if (product) {
    await page.click(`button[data-product="${product}"]`);
    await page.click('#cart');
  }
  if (error) {
    await page.click('#error');
    await eventually(() => errors.includes('a demo error'), 5_000, 'the error thrown');
  }
  if (midFlush) {
    const pushing = page.waitForRequest(RUM_PUSH);
    await page.click('#cart');
    await pushing;
  }
  await close(page);
  return {
    views: 1 + (product ? 1 : 0),
    carts: carts + (product ? 1 : 0) + (midFlush ? 1 : 0),
    errors: error ? 1 : 0,
    pageErrors: errors.filter((e) => e !== 'a demo error'),
  };
}

const expected = { views: 0, carts: 0, errors: 0 };

async function sessions(from, to) {
  for (let i = from; i < to; i++) {
    const s = await session({ carts: 1 + (i % 3), product: i % 4 === 0 ? (i % 8 === 0 ? '17' : '42') : undefined, error: i % 5 === 1, midFlush: i % 3 === 2 });
    assert.deepEqual(s.pageErrors, [], `session ${i}`);
    expected.views += s.views;
    expected.carts += s.carts;
    expected.errors += s.errors;
  }
}

async function totalsAre(n) {
  const want = {
    'sum(rum_page_views_total)': expected.views,
    'sum(demo_cart_adds_total)': expected.carts,
    'sum(rum_errors_total{kind="error"})': expected.errors,
  };
  // Each session observes each Web Vital once (INP and CLS as its tab closes).
  for (const h of VITALS) {
    want[`sum(${h}_count)`] = n;
    want[`sum(${h}_bucket{le="+Inf"})`] = n;
  }
  let got;
  await eventually(async () => {
    got = {};
    for (const q of Object.keys(want)) got[q] = await value(q);
    return Object.keys(want).every((q) => got[q] === want[q]);
  }, 30_000, 'the totals').catch(() => assert.deepEqual(got, want));
}

test('20 sessions of the demo shop add up exactly across a Worker restart, in order and never reset', { timeout: LIMIT }, async () => {
  await sessions(0, 10);
  await totalsAre(10);
  await worker.stop();
  worker = await startWorker(vars, { state });
  await sessions(10, 20);
  await totalsAre(20);
  assert.ok(expected.errors > 0 && expected.views > 20, JSON.stringify(expected));

  // Every aggregated series: timestamps strictly increase and values never go down.
  const end = Date.now() / 1000;
  const match = '{__name__=~"rum_.+|demo_.+"}';
  const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': match, start: String(end - 900), end: String(end + 60) })}`);
  const series = (await res.json()).data.result;
  assert.ok(series.length > 40, `${series.length} series`);
  for (const s of series) {
    const ts = s.values.map(([t]) => t);
    assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]), `in order: ${JSON.stringify(s.metric)}`);
    const vs = s.values.map(([, v]) => Number(v));
    assert.ok(vs.every((v, i) => i === 0 || v >= vs[i - 1]), `no reset: ${JSON.stringify(s.metric)} ${vs}`);
  }
  // The product pages are one route, whatever their id.
  assert.ok((await value('sum(rum_page_views_total{route="/shop/product/:id"})')) >= 5);
});

test('a push refused with 503 and 429 is sent again, and an undeclared metric is refused at the call', { timeout: LIMIT }, async () => {
  const { page } = await open();
  const before = (await value('sum(demo_cart_adds_total)')) ?? 0;
  const flush = () => page.evaluate(() => window.rumClient.flush());
  // What the page has to say anyway goes first (web-vitals reports LCP at the first input):
  // afterwards, the only thing recorded is the cart add below.
  await page.click('#cart');
  await interactionTaken(page);
  const pushed = page.waitForResponse(RUM_PUSH);
  await flush();
  assert.equal((await pushed).status(), 204);
  const answers = [503, 429];
  const tries = [];
  const tryUrls = [];
  await page.route(RUM_PUSH, (route) => {
    tries.push(route.request().postDataBuffer());
    tryUrls.push(route.request().url());
    const status = answers.shift();
    const headers = { 'Access-Control-Allow-Origin': '*', ...(status === 429 ? { 'Retry-After': '1' } : {}) };
    return status ? route.fulfill({ status, headers, body: 'try later' }) : route.continue();
  });
  const pending = (n) => eventually(() => page.evaluate((n) => window.rumClient.pending === n, n), 5_000, `${n} push(es) pending`);
  await page.click('#cart');
  await flush();
  await pending(1);
  assert.equal(tries.length, 1, 'the first try, answered 503');
  await flush();
  await pending(1);
  assert.equal(tries.length, 2, 'the second try, answered 429 with Retry-After: 1');
  // Within the 429's Retry-After, an interval flush waits; after it, the push goes again.
  assert.equal(await page.evaluate(() => (window.rumClient.flush(), window.rumClient.pending)), 1, 'Retry-After honoured');
  await sleep(1_100);
  await flush();
  await eventually(() => tries.length === 3, 5_000, 'the third try');
  assert.ok(tries[1].equals(tries[0]) && tries[2].equals(tries[0]), 'the same push each time');
  const ids = tryUrls.map((u) => new URL(u).searchParams.get('push'));
  assert.ok(ids[0] && ids.every((id) => id === ids[0]), `with the same id: ${tryUrls}`);
  await page.unroute(RUM_PUSH);
  const refused = await page.evaluate(() => {
    try {
      window.rumClient.count('shop_secret_total');
    } catch (e) {
      return e.message;
    }
  });
  assert.equal(refused, "edgewrite: shop_secret_total is not a declared RUM metric (declare it, and add it to the Worker's RUM_SCHEMA)");
  await close(page);
  await eventually(async () => (await value('sum(demo_cart_adds_total)')) === before + 2, 20_000, 'both cart adds, once each');
});

test('the inline snippet counts a page whose bundle never ran, with the recorder\'s own bytes', { timeout: LIMIT }, async () => {
  // The snippet's bytes are what the RUM recorder writes for that push.
  initSync({ module: readFileSync(`${root}pkg/wasm/rum/edgewrite_bg.wasm`) });
  const rec = new Rum();
  rec.add(rec.series('rum_errors_total', 'kind\0no_bundle'), 1);
  const b64 = Buffer.from(rec.take(0, 60_000)).toString('base64');
  for (const file of ['www/rum-demo.html', 'README.md']) {
    assert.ok(readFileSync(`${root}${file}`, 'utf8').includes(`atob("${b64}")`), `${file} carries the snippet`);
  }
  const page = await context.newPage();
  await page.route('**/rum-demo.js', (route) => route.abort());
  await page.goto(`${worker.url}/rum-demo.html`);
  assert.equal(await page.evaluate(() => window.edgewriteRum), undefined, 'the bundle did not run');
  await close(page);
  await eventually(async () => (await value('sum(rum_errors_total{kind="no_bundle"})')) === 1, 20_000, 'no_bundle counted');
});

test('the RUM dashboard draws page views, errors and the p75 of each vital per route', { timeout: LIMIT }, async () => {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${worker.url}/rum.html`);
  await page.waitForFunction(() => document.querySelectorAll('#vitals tbody tr').length >= 2, null, { timeout: 20_000 });
  const table = await page.$$eval('#vitals tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
  const home = table.find((r) => r[0] === '/rum-demo');
  assert.ok(home, JSON.stringify(table));
  for (const [i, vital] of [[1, 'LCP'], [4, 'FCP'], [5, 'TTFB']]) {
    assert.ok(Number(home[i]) > 0 && Number(home[i]) < 10, `${vital} p75 of /rum-demo: ${home[i]}`);
  }
  // Totals are increase() over the hour: extrapolated as Prometheus does, so close, not exact.
  const views = Number(await page.textContent('#views-total'));
  assert.ok(Math.abs(views - expected.views) <= expected.views * 0.2, `${views} page views shown, ${expected.views} pushed`);
  assert.ok(Number(await page.textContent('#errors-total')) >= 1);
  // Each chart has series with points, and its canvas has lines drawn on it: over the last 15
  // minutes, so the few minutes of data this run pushed span more than a few pixels.
  await page.$eval('#inp', (el) => delete el.dataset.points);
  await page.selectOption('#range', '900');
  await page.waitForSelector('#inp[data-points]', { timeout: 20_000 });
  for (const id of ['views', 'errors', 'lcp', 'inp']) {
    const drawn = await page.$eval(`#${id}`, (el) => {
      const canvas = el.querySelector('canvas');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let coloured = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured++;
      return { series: Number(el.dataset.series), points: Number(el.dataset.points), coloured };
    });
    assert.ok(drawn.series >= 1 && drawn.points >= 1 && drawn.coloured > 20, `${id}: ${JSON.stringify(drawn)}`);
  }
  await page.screenshot({ path: join(tmpdir(), 'edgewrite-rum-dashboard.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the README's example works as written, in a page served by the Worker", { timeout: LIMIT }, async () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const example = readme.match(/```js\n(import \{ rum \} from 'edgewrite\/rum';[\s\S]*?)```/)[1];
  const code = example
    .replace("'edgewrite/rum'", "'/vendor/edgewrite/rum.js'")
    .replace("'web-vitals'", "'/vendor/web-vitals.js'")
    .replace("'https://metrics.example.com/api/v1/rum'", "'/api/v1/rum'");
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'warning' && errors.push(m.text()));
  await page.route('**/shop/checkout', (route) =>
    route.fulfill({ contentType: 'text/html', body: `<!doctype html><button id="buy">Buy</button><script type="module">${code}</script>` }),
  );
  await page.goto(`${worker.url}/shop/checkout`);
  await page.waitForFunction(() => window.edgewriteRum);
  await page.evaluate(() => window.edgewriteRum.ready);
  await page.click('#buy');
  await close(page);
  await eventually(
    async () => (await value('sum(shop_checkout_total{route="/shop/checkout", step="buy"})')) === 1 && (await value('sum(rum_page_views_total{route="/shop/checkout"})')) === 1,
    20_000,
    'the checkout and the page view',
  );
  assert.deepEqual(errors, []);
});

test('idle RUM series end with a stale marker and leave instant queries', { timeout: LIMIT }, async () => {
  assert.ok((await value('sum(rum_page_views_total)')) > 0);
  await worker.stop();
  worker = await startWorker({ ...vars, RUM_IDLE: '3s' }, { state });
  await eventually(async () => (await value('count({__name__=~"rum_.+|demo_.+|shop_.+"})')) === undefined, 30_000, 'every RUM series gone');
  const end = Date.now() / 1000;
  const res = await fetch(`${worker.url}/api/v1/samples?${new URLSearchParams({ 'match[]': 'rum_page_views_total', start: String(end - 900), end: String(end + 60) })}`);
  for (const s of (await res.json()).data.result) assert.equal(s.values.at(-1)[1], 'stale', JSON.stringify(s.metric));
});
