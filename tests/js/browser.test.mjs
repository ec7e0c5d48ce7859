// The npm package in a real browser: Debian's Chromium, headless, loads the package with
// <script type="module"> from a page on one loopback origin and writes to a receiver on
// another (so CORS preflight is real).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { scriptedReceiver, staticServer, eventually } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
let browser;
let site;

before(async () => {
  site = await staticServer(root);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function openPage() {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${site.origin}/tests/js/browser/page.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 15000 });
  return { page, errors };
}

test('a page writes through the package across origins, v2 and stale markers intact', async () => {
  const rx = await scriptedReceiver([], { cors: true });
  const { page, errors } = await openPage();
  const stats = await page.evaluate(async (url) => {
    const w = new window.edgewrite.RemoteWriter({ url, protocol: 'v2', batchSendDeadlineMs: 50 });
    const s = w.series({ __name__: 'rum_test', page: '/checkout' }, { type: 'gauge', help: 'A test.' });
    s.push(1.5, 1000).push(2.5, 2000).stale(3000);
    await w.flush();
    return w.stats();
  }, rx.url);
  assert.deepEqual(errors, []);
  assert.equal(stats.samples.total, 3);
  assert.ok(rx.preflights.length >= 1, 'the browser sent a CORS preflight');
  assert.equal(rx.requests[0].protocol, 'v2', 'no false fallback to v1 in a browser');
  assert.equal(rx.requests[0].headers['content-encoding'], 'snappy');
  const [series] = rx.requests[0].body.series;
  assert.deepEqual(series.labels, { __name__: 'rum_test', page: '/checkout' });
  assert.deepEqual(series.samples.map((x) => [x.timestamp, x.stale ?? false]), [[1000, false], [2000, false], [3000, true]]);
  assert.equal(series.metadata.help, 'A test.');
  await page.close();
  await rx.close();
});

test('what is pending when the page goes away is sent with keepalive', async () => {
  const rx = await scriptedReceiver([], { cors: true });
  const { page } = await openPage();
  await page.evaluate((url) => {
    // A long deadline: nothing would be sent for a minute...
    window.w = new window.edgewrite.RemoteWriter({ url, batchSendDeadlineMs: 60_000 });
    window.w.series({ __name__: 'rum_unload' }).push(7, 1000);
  }, rx.url);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(rx.requests.length, 0);
  // ... but leaving the page fires pagehide, and the writer sends at once.
  await page.goto('about:blank');
  await eventually(() => rx.requests.length === 1, 10000, 'the keepalive request');
  assert.deepEqual(rx.requests[0].body.series[0].samples, [{ value: 7, timestamp: 1000 }]);
  await page.close();
  await rx.close();
});
