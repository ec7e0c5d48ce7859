// The command-line tool: decode a captured body, encode JSON, send JSON lines.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import snappy from 'snappyjs';
import { scriptedReceiver } from './helpers.mjs';

const cli = new URL('../../pkg/cli.js', import.meta.url).pathname;
const fixture = new URL('../fixtures/prometheus-2.42/0002.bin', import.meta.url).pathname;

function run(args, input) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [cli, ...args]);
    let stdout = Buffer.alloc(0);
    let stderr = '';
    p.stdout.on('data', (d) => (stdout = Buffer.concat([stdout, d])));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}

test('decode prints a captured Prometheus body as JSON, and encode turns it back into the same body', async () => {
  const json = execFileSync(process.execPath, [cli, 'decode', fixture], { encoding: 'utf8' });
  const req = JSON.parse(json);
  assert.equal(req.series.length, 500);
  assert.equal(req.series[0].labels.__name__, 'go_gc_duration_seconds');
  const dir = mkdtempSync(join(tmpdir(), 'edgewrite-cli-'));
  writeFileSync(join(dir, 'req.json'), json);
  const body = execFileSync(process.execPath, [cli, 'encode', join(dir, 'req.json')]);
  // Snappy encoders differ in how they compress; the protobuf inside is byte for byte the same.
  assert.deepEqual(Buffer.from(snappy.uncompress(body)), Buffer.from(snappy.uncompress(readFileSync(fixture))));
});

test('decode reports a corrupt body with a message and exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgewrite-cli-'));
  writeFileSync(join(dir, 'bad.bin'), Buffer.from('\xff\x06\x00\x00sNaPpY', 'latin1'));
  const { code, stderr } = await run(['decode', join(dir, 'bad.bin')]);
  assert.equal(code, 1);
  assert.match(stderr, /snappy framed/);
  const usage = await run(['frobnicate']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage:/);
});

test('send writes JSON lines to a receiver', async () => {
  const rx = await scriptedReceiver();
  const lines = [
    { labels: { __name__: 'cli_test', n: '1' }, value: 1, timestamp: 1000 },
    { labels: { __name__: 'cli_test', n: '1' }, value: 'NaN', timestamp: 2000, stale: true },
    { labels: { __name__: 'cli_test', n: '2' }, samples: [{ value: 5, timestamp: 1000 }] },
  ].map((l) => JSON.stringify(l)).join('\n');
  const { code, stderr } = await run(['send', rx.url, '--protocol', 'v2'], lines);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /3 samples delivered/);
  const series = rx.requests.flatMap((r) => r.body.series);
  const one = series.find((s) => s.labels.n === '1');
  assert.equal(one.samples[1].stale, true);
  assert.equal(rx.requests[0].protocol, 'v2');
  await rx.close();
});
