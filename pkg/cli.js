#!/usr/bin/env node
// edgewrite's command line: decode a captured body to JSON, encode JSON to a body, send JSON
// lines to a remote-write URL.
import { readFileSync, writeSync } from 'node:fs';
import { number } from './codec-api.js';
import { RemoteWriter, decode, encode } from './node.js';

const USAGE = `usage:
  edgewrite decode [--protocol v1|v2] FILE        print a remote-write body as JSON
  edgewrite encode [--protocol v1|v2] FILE.json   write the body for a JSON request to stdout
  edgewrite send URL [--protocol v1|v2] [--bearer-token TOKEN] [FILE.jsonl]
      send JSON lines (from FILE or stdin), each {"labels": {...}, "value": 1, "timestamp": ms}
      or {"labels": {...}, "samples": [{"value": 1, "timestamp": ms}]}`;

function fail(message) {
  process.stderr.write(`edgewrite: ${message}\n`);
  process.exit(message === USAGE ? 2 : 1);
}

// JSON has no NaN or Inf: write them as the strings Prometheus's API uses.
const replacer = (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf') : v);

function parse(argv) {
  const opts = { protocol: 'v1', args: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--protocol') opts.protocol = argv[++i];
    else if (argv[i] === '--bearer-token') opts.bearerToken = argv[++i];
    else opts.args.push(argv[i]);
  }
  if (!['v1', 'v2'].includes(opts.protocol)) fail('--protocol must be v1 or v2');
  return opts;
}

const [command, ...rest] = process.argv.slice(2);
const opts = parse(rest);
try {
  if (command === 'decode' && opts.args.length === 1) {
    const req = decode(readFileSync(opts.args[0]), { protocol: opts.protocol });
    process.stdout.write(`${JSON.stringify(req, replacer, 2)}\n`);
  } else if (command === 'encode' && opts.args.length === 1) {
    const body = encode(JSON.parse(readFileSync(opts.args[0], 'utf8')), { protocol: opts.protocol });
    writeSync(1, body);
  } else if (command === 'send' && opts.args.length >= 1) {
    const text = readFileSync(opts.args[1] ?? 0, 'utf8');
    const writer = new RemoteWriter({ url: opts.args[0], protocol: opts.protocol, bearerToken: opts.bearerToken, batchSendDeadlineMs: 100 });
    let failed = 0;
    writer.on('error', (e) => {
      failed += e.counts.samples;
      process.stderr.write(`edgewrite: dropped ${e.counts.samples} samples: HTTP ${e.status ?? '-'} ${e.message}\n`);
    });
    let lines = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      lines++;
      const x = JSON.parse(line);
      const samples = (x.samples ?? [{ value: x.value, timestamp: x.timestamp, stale: x.stale }]).map((s, j) => ({
        value: s.stale ? NaN : number(s.value, `line ${lines}, sample ${j}: value`),
        timestamp: s.timestamp ?? Date.now(),
        stale: !!s.stale,
      }));
      writer.push({ labels: x.labels, samples });
      // Back-pressure: let the queue drain before it fills.
      if (lines % 1000 === 0) await writer.flush();
    }
    await writer.close({ timeoutMs: 60_000 });
    const s = writer.stats().samples;
    process.stderr.write(`edgewrite: ${lines} lines, ${s.total} samples delivered, ${s.failed} failed, ${s.pending} not delivered\n`);
    if (failed > 0 || s.pending > 0) process.exit(1);
  } else {
    fail(USAGE);
  }
} catch (err) {
  fail(err?.message ?? String(err));
}
