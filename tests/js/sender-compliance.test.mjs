// The prometheus/compliance remote-write SENDER suite, written again for edgewrite's npm sender.
//
// The suite: github.com/prometheus/compliance, remotewrite/sender/*_test.go at commit
// 67b8327a2e93dc28f64d4b21bbce00b362f565d5. It runs Prometheus against a mock scrape target
// serving each case's ScrapeData and a MockReceiver, and checks the last request received.
// Here every case of it is one node:test test, named `TestFunction/case` as in the suite, in a
// group per suite file; its RFC level is in brackets and counted in the summary at the end.
//
// The adapter (compliance-sender-adapter.mjs) stands in for Prometheus: it serves the case's data
// as the suite's MockScrapeTarget does, scrapes it three times (so series carry several samples
// and ordering checks check something) into a RemoteWriter configured as the suite configures
// Prometheus (remote write 2.0, one shard as Prometheus starts with, metadata and exemplars
// sent), with job="test", instance="host:port" and the series a scrape adds (up, scrape_*), then
// closes the writer; the MockReceiver decodes each request itself with protobufjs. Response,
// retry, backoff and error cases leave the writer running for a window (under 2 s; backoff
// shortened with minBackoffMs/maxBackoffMs) against a receiver answering as the suite's does.
//
// Where the suite's check cannot fail (`should(t, true, ...)`, `len(x) >= 0`, `... ||
// len(req.Request.Timeseries) > 0`, loops over what may be absent), the case asserts what its
// description asks instead (e.g. the exact value, the receiver's message verbatim, no retry
// after a 4xx, the number of requests); each case says how in a comment.
//
// Where the suite's data is not what it means (its bugs), the case uses what it means:
// - TestFallbackBehavior: FallbackTrackingReceiver records a request before ShouldReturn415()
//   looks at requestCount == 0, so the 415 is never sent. Here the first 2.0 request gets 415;
//   the writer must fall back to 1.0, resend, and stay on 1.0.
// - TestEdgeCases many_timeseries and high_cardinality write values as string(rune(48 + i)),
//   which past i = 9 is ':' ';' '<' ..., not a number, so Prometheus fails the whole scrape;
//   here the values are i. future_timestamp writes string(rune(unixSeconds)), U+FFFD; here
//   the timestamp is now + 24 h in ms (the text format's unit).
// - stale_marker serves `test_metric StaleNaN`, which no exposition format has (Prometheus
//   fails the scrape); the adapter reads it as a stale marker for the series.
// - metadata_unit serves `# UNIT` in the text format 0.0.4, which Prometheus ignores there; the
//   adapter reads it, so the case checks that the writer sends a unit it is given.
//
// Not applicable (skipped, with the reason): the native-histogram cases
// (histogram_positive_buckets, histogram_negative_buckets, histogram_zero_bucket,
// histogram_schema): the text formats cannot carry a native histogram and the writer has no
// API to push one (writer.histogram() writes classic buckets); start_timestamp_for_counters and
// start_timestamp_for_histograms: the writer's API has no start timestamp (and the data has no
// _created lines).
//
// Run: node --test tests/js/sender-compliance.test.mjs (about 7 s).
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import {
  METRIC_TYPE, MockReceiver, MockScrapeTarget, REPORT_SERIES, STALE_NAN, Scraper, bits, isSorted, labelsOf,
  newWriter, recordEvents, requireSeries, runScrapeCase, runWindowCase, seriesOf, sleep, symbol, v1Series,
} from './compliance-sender-adapter.mjs';

// --- running the cases ------------------------------------------------------------------------

const results = [];
let defined = 0;

/**
 * A group of cases, run concurrently. A case: `{ name, level, data, options, validate(req, ctx) }`
 * (a scrape case: `req` is the last request) or `{ name, level, run() }`; `na: 'why'` skips it
 * as not applicable, `todo: 'why'` marks a sender bug.
 */
function group(file, cases) {
  // The retry and backoff cases measure time between requests: one at a time, not beside others.
  const timed = file === 'retry_test.go' || file === 'backoff_test.go';
  describe(file, { concurrency: !timed }, () => {
    for (const c of cases) {
      defined++;
      const name = `${c.name} [${c.level}]`;
      const record = (outcome) => results.push({ name: c.name, level: c.level, outcome });
      if (c.na) {
        record('n/a');
        test(name, { skip: `not applicable: ${c.na}` }, () => {});
        continue;
      }
      test(name, c.todo ? { todo: c.todo } : {}, async () => {
        try {
          if (c.run) await c.run();
          else {
            const ctx = await runScrapeCase(c.data, c.options);
            await c.validate(ctx.last, ctx);
          }
        } catch (err) {
          record(c.todo ? 'todo' : 'fail');
          throw err;
        }
        record(c.todo ? 'todo (passes now)' : 'pass');
      });
    }
  });
}

const M = 'test_metric 42\n';
const ALL_LEVELS = ['MUST', 'SHOULD', 'MAY', 'RECOMMENDED'];
const VERSION = 'X-Prometheus-Remote-Write-Version';
const V2_PROTO = 'proto=io.prometheus.write.v2.Request';

/** Every sample of a request. */
const samplesOf = (req) => req.request.timeseries.flatMap((ts) => ts.samples);
/** Samples a request carried. */
const sampleCount = (req) => samplesOf(req).length;
/** Every exemplar of a request, with its series' and its own labels. */
const exemplarsOf = (req) =>
  seriesOf(req).flatMap(({ ts, labels }) => ts.exemplars.map((ex) => ({ series: labels, ex, labels: labelsOf(ex.labels_refs, req.request.symbols) })));
/** A series by name and labels, required. */
function series(req, name, match = {}) {
  const s = seriesOf(req).find((x) => x.labels.__name__ === name && Object.entries(match).every(([k, v]) => x.labels[k] === v));
  assert.ok(s, `series ${name}${JSON.stringify(match)} must be present`);
  return s;
}
/** The one value a series carried in every scrape (the data's values do not change). */
function valueOf(req, name, match) {
  const { ts } = series(req, name, match);
  assert.ok(ts.samples.length > 0, `${name} must carry samples`);
  return ts.samples[0].value;
}
/** Samples within each series ordered by timestamp; at least one series has several. */
function assertOrdered(req) {
  let several = 0;
  for (const ts of req.request.timeseries) {
    for (const list of [ts.samples, ts.histograms]) {
      for (let i = 1; i < list.length; i++) assert.ok(list[i - 1].timestamp <= list[i].timestamp, 'samples within a series must be ordered by timestamp');
      if (list.length > 1) several++;
    }
  }
  assert.ok(several > 0, 'some series must carry several samples (three scrapes)');
}
const status = (s) => ({ status: s, body: http.STATUS_CODES[s] });
// --- protocol_test.go -------------------------------------------------------------------------

group('protocol_test.go', [
  {
    name: 'TestProtocolCompliance/content_type_protobuf', level: 'MUST', data: M,
    validate: (req) => assert.match(req.header('Content-Type'), /application\/x-protobuf/),
  },
  {
    name: 'TestProtocolCompliance/content_type_with_proto_param', level: 'SHOULD', data: M,
    validate: (req) => assert.ok(req.header('Content-Type').includes(V2_PROTO), req.header('Content-Type')),
  },
  {
    name: 'TestProtocolCompliance/content_encoding_snappy', level: 'MUST', data: M,
    validate: (req) => assert.equal(req.header('Content-Encoding'), 'snappy'),
  },
  {
    name: 'TestProtocolCompliance/version_header_present', level: 'MUST', data: M,
    validate: (req) => assert.ok(req.header(VERSION)),
  },
  {
    name: 'TestProtocolCompliance/version_header_value', level: 'SHOULD', data: M,
    validate: (req) => assert.ok(req.header(VERSION).startsWith('2.0'), req.header(VERSION)),
  },
  {
    name: 'TestProtocolCompliance/user_agent_present', level: 'MUST', data: M,
    validate: (req) => assert.ok(req.header('User-Agent')),
  },
  {
    name: 'TestProtocolCompliance/snappy_block_format', level: 'MUST', data: M,
    validate: (req) => {
      assert.ok(req.body.length > 0);
      const framed = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x50, 0x59]);
      assert.ok(!req.body.subarray(0, 10).equals(framed), 'snappy block format, not framed');
      assert.ok(req.raw.length > 0, 'the body decodes as a snappy block');
    },
  },
  {
    name: 'TestProtocolCompliance/protobuf_parseable', level: 'MUST', data: M,
    validate: (req) => {
      assert.ok(req.request);
      assert.ok(req.request.symbols.length > 0);
    },
  },
  // Suite: a request arrived. Its description: the method is POST.
  { name: 'TestHTTPMethod', level: 'MUST', data: M, validate: (req) => assert.equal(req.method, 'POST') },
]);

// --- samples_test.go --------------------------------------------------------------------------

const exactly = (name, data, metric, value) => ({
  name: `TestSampleEncoding/${name}`, level: 'MUST', data,
  validate: (req) => {
    assert.ok(req.request.timeseries.length > 0);
    assert.equal(valueOf(req, metric), value);
  },
});

group('samples_test.go', [
  exactly('float_value_encoding', 'test_metric 123.45\n', 'test_metric', 123.45),
  exactly('integer_value_encoding', 'test_counter_total 42\n', 'test_counter_total', 42),
  exactly('zero_value_encoding', 'test_gauge 0\n', 'test_gauge', 0),
  exactly('negative_value_encoding', 'temperature_celsius -15.5\n', 'temperature_celsius', -15.5),
  exactly('positive_infinity_encoding', 'test_gauge +Inf\n', 'test_gauge', Infinity),
  exactly('negative_infinity_encoding', 'test_gauge -Inf\n', 'test_gauge', -Infinity),
  exactly('nan_encoding', 'test_gauge NaN\n', 'test_gauge', NaN),
  {
    name: 'TestSampleEncoding/timestamp_milliseconds_format', level: 'MUST', data: M,
    validate: (req) => {
      const t = series(req, 'test_metric').ts.samples[0].timestamp;
      assert.ok(t > 1e12 && t < 1e16, `${t} is not in milliseconds`);
    },
  },
  {
    name: 'TestSampleEncoding/timestamp_recent', level: 'SHOULD', data: M,
    validate: (req) => assert.ok(Math.abs(Date.now() - series(req, 'test_metric').ts.samples[0].timestamp) < 5 * 60_000),
  },
  {
    // Suite: the series is present. Also: every scrape's sample of it was sent.
    name: 'TestSampleEncoding/multiple_samples_same_series', level: 'MAY', data: 'test_counter_total 100\n',
    validate: (req, { requests, scraper }) => {
      assert.ok(series(req, 'test_counter_total').ts.samples.length > 0);
      const all = requests.flatMap((r) => seriesOf(r).filter((s) => s.labels.__name__ === 'test_counter_total').flatMap((s) => s.ts.samples));
      assert.deepEqual(all.map((s) => [s.value, s.timestamp]), scraper.times.map((t) => [100, t]));
    },
  },
  // Suite: > 1e307, < 1e-307, within 1e-7. Here: the exact doubles.
  exactly('large_float_values', 'test_large 1.7976931348623157e+308\n', 'test_large', Number.MAX_VALUE),
  exactly('small_float_values', 'test_small 2.2250738585072014e-308\n', 'test_small', 2.2250738585072014e-308),
  exactly('scientific_notation', 'test_scientific 1.23e-4\n', 'test_scientific', 0.000123),
  // Suite: samples present. Its description: precision preserved, so the exact double.
  { ...exactly('precision_preservation', 'test_precision 0.123456789012345\n', 'test_precision', 0.123456789012345), level: 'SHOULD' },
  {
    name: 'TestSampleEncoding/job_instance_labels_present', level: 'SHOULD', data: M,
    validate: (req, { scraper }) => {
      const { labels } = series(req, 'test_metric');
      assert.equal(labels.job, 'test');
      assert.equal(labels.instance, scraper.target.instance);
    },
  },
  {
    name: 'TestSampleOrdering', level: 'MUST', data: '# Multiple metrics\nmetric_a 1\nmetric_b 2\nmetric_c 3\n',
    validate: (req) => assertOrdered(req),
  },
]);

// --- labels_test.go ---------------------------------------------------------------------------

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

group('labels_test.go', [
  {
    name: 'TestLabelValidation/label_lexicographic_ordering', level: 'MUST', data: 'test_metric{aaa="1",bbb="2",zzz="3"} 42\n',
    validate: (req) => {
      for (const { ts } of seriesOf(req)) assert.ok(isSorted(ts.labels_refs, req.request.symbols), 'labels must be sorted');
      assert.deepEqual(Object.keys(series(req, 'test_metric').labels), ['__name__', 'aaa', 'bbb', 'instance', 'job', 'zzz']);
    },
  },
  {
    name: 'TestLabelValidation/metric_name_label_present', level: 'MUST', data: M,
    validate: (req) => {
      assert.ok(req.request.timeseries.length > 0);
      for (const { labels } of seriesOf(req)) assert.ok(labels.__name__, 'every series has __name__');
    },
  },
  {
    name: 'TestLabelValidation/metric_name_format_valid', level: 'MUST', data: 'valid_metric_name:subsystem_total 42\n',
    validate: (req) => {
      for (const { labels } of seriesOf(req)) assert.match(labels.__name__, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      requireSeries(req, 'valid_metric_name:subsystem_total');
    },
  },
  {
    name: 'TestLabelValidation/label_name_format_valid', level: 'MUST', data: 'test_metric{valid_label="value",another_1="val2"} 42',
    validate: (req) => {
      for (const { labels } of seriesOf(req)) for (const k of Object.keys(labels)) assert.match(k, LABEL_NAME);
      assert.equal(series(req, 'test_metric').labels.another_1, 'val2');
    },
  },
  {
    name: 'TestLabelValidation/no_duplicate_label_names', level: 'MUST', data: 'test_metric{foo="bar",baz="qux"} 42',
    validate: (req) => {
      for (const { ts, labels } of seriesOf(req)) assert.equal(Object.keys(labels).length, ts.labels_refs.length / 2);
    },
  },
  {
    name: 'TestLabelValidation/label_names_not_empty', level: 'MUST', data: 'test_metric{label="value"} 42',
    validate: (req) => {
      for (const ts of req.request.timeseries) {
        for (let i = 0; i < ts.labels_refs.length; i += 2) assert.ok(req.request.symbols[ts.labels_refs[i]], 'label names must not be empty');
      }
    },
  },
  {
    // Suite: `len(value) >= 0`. Here: the series arrives, its `empty` label sent empty or left
    // out (Prometheus drops a label with an empty value; an empty value means no label).
    name: 'TestLabelValidation/label_values_may_be_empty', level: 'MAY', data: 'test_metric{empty=""} 42',
    validate: (req) => {
      const { labels } = series(req, 'test_metric');
      assert.ok(labels.empty === undefined || labels.empty === '', `empty="" arrived as ${JSON.stringify(labels.empty)}`);
      assert.equal(valueOf(req, 'test_metric'), 42);
    },
  },
  {
    name: 'TestLabelValidation/reserved_label_prefix', level: 'SHOULD', data: 'test_metric{normal="value"} 42',
    validate: (req) => {
      for (const { labels } of seriesOf(req)) for (const k of Object.keys(labels)) assert.ok(k === '__name__' || !k.startsWith('__'), k);
    },
  },
  // Suite: Unicode values non-empty. Here: the exact strings.
  {
    name: 'TestLabelValidation/unicode_in_label_values', level: 'MUST', data: 'test_metric{emoji="🚀",chinese="测试"} 42',
    validate: (req) => assert.deepEqual([series(req, 'test_metric').labels.emoji, series(req, 'test_metric').labels.chinese], ['🚀', '测试']),
  },
  {
    name: 'TestLabelValidation/special_chars_in_label_values', level: 'MUST', data: 'test_metric{path="/api/v1/users",query="foo=bar&baz=qux"} 42',
    validate: (req) => {
      const { labels } = series(req, 'test_metric');
      assert.equal(labels.path, '/api/v1/users');
      assert.equal(labels.query, 'foo=bar&baz=qux');
    },
  },
  {
    name: 'TestLabelValidation/very_long_label_names', level: 'SHOULD', data: 'test_metric{very_long_label_name_that_exceeds_normal_length_but_is_still_valid="value"} 42',
    validate: (req) => assert.equal(series(req, 'test_metric').labels.very_long_label_name_that_exceeds_normal_length_but_is_still_valid, 'value'),
  },
  {
    name: 'TestLabelValidation/very_long_label_values', level: 'SHOULD',
    data: 'test_metric{description="This is a very long label value that contains a lot of text to test how senders handle long strings in label values which might be common in real-world scenarios"} 42',
    validate: (req) => assert.equal(series(req, 'test_metric').labels.description,
      'This is a very long label value that contains a lot of text to test how senders handle long strings in label values which might be common in real-world scenarios'),
  },
  {
    name: 'TestLabelValidation/many_labels_per_series', level: 'SHOULD',
    data: 'test_metric{l1="v1",l2="v2",l3="v3",l4="v4",l5="v5",l6="v6",l7="v7",l8="v8",l9="v9",l10="v10"} 42',
    validate: (req) => {
      const { labels } = series(req, 'test_metric');
      for (let i = 1; i <= 10; i++) assert.equal(labels[`l${i}`], `v${i}`);
    },
  },
]);

// --- symbols_test.go --------------------------------------------------------------------------

/** Non-empty symbols that appear more than once. */
const duplicateSymbols = (req) => req.request.symbols.filter((s, i, all) => s !== '' && all.indexOf(s) !== i);
const uniqueSymbols = (req) => new Set(req.request.symbols.filter((s) => s !== '')).size;

group('symbols_test.go', [
  {
    name: 'TestSymbolTable/empty_string_at_index_zero', level: 'MUST', data: M,
    validate: (req) => assert.equal(req.request.symbols[0], ''),
  },
  {
    name: 'TestSymbolTable/string_deduplication', level: 'RECOMMENDED',
    data: '# Multiple metrics with same label keys/values\ntest_metric{foo="bar",baz="qux"} 1\ntest_metric{foo="bar",baz="qux"} 2\nanother_metric{foo="bar"} 3\n',
    validate: (req) => {
      assert.ok(req.request.symbols.length > 0);
      assert.deepEqual(duplicateSymbols(req), []);
    },
  },
  {
    name: 'TestSymbolTable/labels_refs_valid_indices', level: 'MUST', data: 'test_metric{label="value"} 42\n',
    validate: (req) => {
      assert.ok(req.request.timeseries.length > 0);
      for (const ts of req.request.timeseries) for (const ref of ts.labels_refs) assert.ok(ref < req.request.symbols.length);
    },
  },
  {
    name: 'TestSymbolTable/labels_refs_even_length', level: 'MUST', data: 'test_metric{label="value"} 42\n',
    validate: (req) => {
      assert.ok(req.request.timeseries.length > 0);
      for (const ts of req.request.timeseries) assert.equal(ts.labels_refs.length % 2, 0);
    },
  },
  {
    // At most 30 unique symbols. With job, instance and the scrape's own series (five names
    // and their HELP texts) added to the data's 10 strings there are 25: 5 to spare.
    name: 'TestSymbolTableEfficiency', level: 'RECOMMENDED',
    data: `# Multiple series with shared labels
http_requests_total{method="GET",status="200",handler="/api/v1"} 100
http_requests_total{method="POST",status="200",handler="/api/v1"} 50
http_requests_total{method="GET",status="404",handler="/api/v1"} 10
http_requests_total{method="GET",status="200",handler="/api/v2"} 75
`,
    validate: (req) => assert.ok(uniqueSymbols(req) <= 30, `${uniqueSymbols(req)} unique symbols`),
  },
]);

// --- metadata_test.go -------------------------------------------------------------------------

// The suite accepts a missing type or HELP for all of these (`|| len(req.Request.Timeseries) > 0`);
// here the metadata must be there and right.
const typed = (name, data, names, type) => ({
  name: `TestMetadataEncoding/${name}`, level: 'SHOULD', data,
  validate: (req) => {
    for (const n of names) {
      for (const s of seriesOf(req).filter((x) => x.labels.__name__ === n)) assert.equal(s.ts.metadata.type, type, `${n}'s type`);
      requireSeries(req, n);
    }
  },
});
const helpOf = (req, name, match) => symbol(req, series(req, name, match).ts.metadata.help_ref);

group('metadata_test.go', [
  typed('metadata_type_counter', '# HELP http_requests_total Total HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total 100\n',
    ['http_requests_total'], METRIC_TYPE.COUNTER),
  typed('metadata_type_gauge', '# HELP memory_usage_bytes Current memory usage\n# TYPE memory_usage_bytes gauge\nmemory_usage_bytes 1048576\n',
    ['memory_usage_bytes'], METRIC_TYPE.GAUGE),
  typed('metadata_type_histogram', `# HELP request_duration_seconds Request duration
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="+Inf"} 100
request_duration_seconds_sum 50.0
request_duration_seconds_count 100
`, ['request_duration_seconds_bucket', 'request_duration_seconds_sum', 'request_duration_seconds_count'], METRIC_TYPE.HISTOGRAM),
  typed('metadata_type_summary', `# HELP rpc_duration_seconds RPC duration
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.05
rpc_duration_seconds{quantile="0.9"} 0.1
rpc_duration_seconds_sum 100.0
rpc_duration_seconds_count 1000
`, ['rpc_duration_seconds', 'rpc_duration_seconds_sum', 'rpc_duration_seconds_count'], METRIC_TYPE.SUMMARY),
  {
    name: 'TestMetadataEncoding/metadata_help_text', level: 'SHOULD',
    data: '# HELP http_requests_total The total number of HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total 100\n',
    validate: (req) => assert.equal(helpOf(req, 'http_requests_total'), 'The total number of HTTP requests'),
  },
  {
    name: 'TestMetadataEncoding/metadata_unit', level: 'MAY',
    data: '# HELP memory_usage_bytes Memory usage\n# TYPE memory_usage_bytes gauge\n# UNIT memory_usage_bytes bytes\nmemory_usage_bytes 1048576\n',
    validate: (req) => assert.equal(symbol(req, series(req, 'memory_usage_bytes').ts.metadata.unit_ref), 'bytes'),
  },
  {
    // The exposition has no multi-line HELP; the second line replaces the first (as in
    // Prometheus's metadata cache). The writer must send the HELP it was given.
    name: 'TestMetadataEncoding/metadata_help_with_newlines', level: 'SHOULD',
    data: '# HELP multiline_metric This is a help text\n# HELP multiline_metric that spans multiple lines\n# TYPE multiline_metric gauge\nmultiline_metric 42\n',
    validate: (req) => assert.equal(helpOf(req, 'multiline_metric'), 'that spans multiple lines'),
  },
  {
    // `\b` and a final `\` are not escapes in HELP (only `\\` and `\n` are): they stay.
    name: 'TestMetadataEncoding/metadata_help_with_special_chars', level: 'SHOULD',
    data: '# HELP special_metric This help contains "quotes" and \\backslashes\\\n# TYPE special_metric counter\nspecial_metric 100\n',
    validate: (req) => assert.equal(helpOf(req, 'special_metric'), 'This help contains "quotes" and \\backslashes\\'),
  },
  {
    name: 'TestMetadataEncoding/metadata_help_refs_valid', level: 'MUST',
    data: '# HELP test_metric Test metric description\n# TYPE test_metric counter\ntest_metric 42\n',
    validate: (req) => {
      for (const { metadata: m } of req.request.timeseries) {
        assert.ok(m.help_ref < req.request.symbols.length);
        assert.ok(m.unit_ref < req.request.symbols.length);
      }
      // So that the check above has a non-zero ref to check.
      assert.equal(helpOf(req, 'test_metric'), 'Test metric description');
    },
  },
  {
    name: 'TestMetadataEncoding/metadata_consistent_across_series', level: 'SHOULD',
    data: '# HELP http_requests_total Total HTTP requests\n# TYPE http_requests_total counter\nhttp_requests_total{method="GET"} 100\nhttp_requests_total{method="POST"} 50\n',
    validate: (req) => {
      const [a, b] = ['GET', 'POST'].map((method) => series(req, 'http_requests_total', { method }).ts.metadata);
      assert.equal(a.type, METRIC_TYPE.COUNTER);
      assert.deepEqual(a, b);
    },
  },
  {
    // Suite: `HelpRef >= 0`. Here: the series arrives, typed, with no HELP.
    name: 'TestMetadataEncoding/metadata_empty_help_allowed', level: 'MAY', data: '# TYPE no_help_metric counter\nno_help_metric 42\n',
    validate: (req) => {
      const { metadata } = series(req, 'no_help_metric').ts;
      assert.equal(metadata.help_ref, 0);
      assert.equal(metadata.type, METRIC_TYPE.COUNTER);
    },
  },
]);

// --- timestamps_test.go -----------------------------------------------------------------------

/** Every sample's start timestamp is unset (0) or valid milliseconds not after the sample. */
function assertStartTimestamps(req) {
  const all = samplesOf(req);
  assert.ok(all.length > 0);
  for (const s of all) assert.ok(s.start_timestamp === 0 || (s.start_timestamp > 1e12 && s.start_timestamp <= s.timestamp), `start ${s.start_timestamp}, sample ${s.timestamp}`);
}
const NO_START = 'the writer has no start timestamp to send (Series.push takes a value and a timestamp), and the data has no _created line';

group('timestamps_test.go', [
  {
    name: 'TestTimestampEncoding/timestamp_int64_milliseconds', level: 'MUST', data: 'test_counter_total 42\n',
    validate: (req) => {
      assert.ok(req.request.timeseries.length > 0);
      for (const s of samplesOf(req)) assert.ok(s.timestamp > 1e12 && s.timestamp < 1e16, String(s.timestamp));
    },
  },
  {
    name: 'TestTimestampEncoding/timestamp_ordering_within_series', level: 'MUST', data: '# Multiple metrics over time\nmetric_a 1\nmetric_b 2\nmetric_c 3\n',
    validate: (req) => assertOrdered(req),
  },
  { name: 'TestTimestampEncoding/start_timestamp_for_counters', level: 'MAY', na: NO_START },
  { name: 'TestTimestampEncoding/start_timestamp_for_histograms', level: 'MAY', na: NO_START },
  {
    name: 'TestTimestampEncoding/start_timestamp_zero_handling', level: 'SHOULD', data: '# TYPE test_counter counter\ntest_counter_total 50\n',
    validate: (req) => assertStartTimestamps(req),
  },
  {
    // Suite: within 10 minutes of now. Also: the millisecond the scrape gave, unchanged.
    name: 'TestTimestampEncoding/timestamp_precision', level: 'SHOULD', data: M,
    validate: (req, { scraper }) => {
      const stamps = series(req, 'test_metric').ts.samples.map((s) => s.timestamp);
      assert.ok(Math.abs(Date.now() - stamps[0]) < 10 * 60_000);
      assert.deepEqual(stamps, scraper.times);
    },
  },
  {
    // Suite: a timestamp ahead of now is at most 5 minutes ahead (checked only if one is).
    // Here: for every sample.
    name: 'TestTimestampEncoding/timestamp_future_values', level: 'SHOULD', data: M,
    validate: (req) => {
      const now = Date.now();
      for (const s of samplesOf(req)) assert.ok(s.timestamp - now < 5 * 60_000);
    },
  },
  {
    name: 'TestTimestampEncoding/start_timestamp_before_sample_timestamp', level: 'SHOULD', data: '# TYPE test_counter counter\ntest_counter_total 100\n',
    validate: (req) => assertStartTimestamps(req),
  },
]);

// --- histograms_test.go -----------------------------------------------------------------------

const NATIVE = 'native histograms: the text formats cannot carry one and the writer has no API to push one (writer.histogram() writes classic _bucket/_sum/_count series)';
const H = (count, sum, buckets = '') => `# TYPE test_histogram histogram\ntest_histogram_count ${count}\ntest_histogram_sum ${sum}\n${buckets}`;

group('histograms_test.go', [
  {
    // Suite: some _count, _sum or _bucket series (or a native histogram). Here: all of them,
    // with their values.
    name: 'TestHistogramEncoding/native_histogram_structure', level: 'MUST',
    data: H(10, 25.5, 'test_histogram_bucket{le="1"} 2\ntest_histogram_bucket{le="5"} 7\ntest_histogram_bucket{le="+Inf"} 10\n'),
    validate: (req) => {
      assert.equal(valueOf(req, 'test_histogram_count'), 10);
      assert.equal(valueOf(req, 'test_histogram_sum'), 25.5);
      assert.deepEqual(['1', '5', '+Inf'].map((le) => valueOf(req, 'test_histogram_bucket', { le })), [2, 7, 10]);
    },
  },
  {
    name: 'TestHistogramEncoding/histogram_count_present', level: 'MUST', data: H(100, 250.5, 'test_histogram_bucket{le="+Inf"} 100\n'),
    validate: (req) => assert.equal(valueOf(req, 'test_histogram_count'), 100),
  },
  {
    name: 'TestHistogramEncoding/histogram_sum_present', level: 'MUST', data: H(100, 250.5, 'test_histogram_bucket{le="+Inf"} 100\n'),
    validate: (req) => assert.equal(valueOf(req, 'test_histogram_sum'), 250.5),
  },
  {
    // Suite: any series. Here: every bucket, cumulative counts not decreasing with le.
    name: 'TestHistogramEncoding/histogram_buckets_ordered', level: 'SHOULD',
    data: `# TYPE request_duration histogram
request_duration_bucket{le="0.1"} 10
request_duration_bucket{le="0.5"} 50
request_duration_bucket{le="1.0"} 100
request_duration_bucket{le="5.0"} 200
request_duration_bucket{le="+Inf"} 250
request_duration_sum 500.0
request_duration_count 250
`,
    validate: (req) => {
      const counts = ['0.1', '0.5', '1.0', '5.0', '+Inf'].map((le) => valueOf(req, 'request_duration_bucket', { le }));
      assert.deepEqual(counts, [10, 50, 100, 200, 250]);
      assert.equal(valueOf(req, 'request_duration_count'), 250);
    },
  },
  { name: 'TestHistogramEncoding/histogram_positive_buckets', level: 'MAY', na: NATIVE },
  { name: 'TestHistogramEncoding/histogram_negative_buckets', level: 'MAY', na: NATIVE },
  { name: 'TestHistogramEncoding/histogram_zero_bucket', level: 'MAY', na: NATIVE },
  { name: 'TestHistogramEncoding/histogram_schema', level: 'MUST', na: NATIVE },
  {
    name: 'TestHistogramEncoding/histogram_timestamp', level: 'MUST', data: H(100, '250.0', 'test_histogram_bucket{le="+Inf"} 100\n'),
    validate: (req, { scraper }) => assert.deepEqual(series(req, 'test_histogram_count').ts.samples.map((s) => s.timestamp), scraper.times),
  },
  {
    // Suite: no series has both. Also: the family's series are there, as float samples.
    name: 'TestHistogramEncoding/histogram_no_mixed_with_samples', level: 'MUST', data: H(100, '250.0'),
    validate: (req) => {
      for (const ts of req.request.timeseries) assert.ok(!(ts.samples.length > 0 && ts.histograms.length > 0));
      for (const n of ['test_histogram_count', 'test_histogram_sum']) {
        const { ts } = series(req, n);
        assert.ok(ts.samples.length > 0 && ts.histograms.length === 0);
      }
    },
  },
  {
    name: 'TestHistogramEncoding/histogram_empty_buckets', level: 'SHOULD', data: H(0, 0, 'test_histogram_bucket{le="+Inf"} 0\n'),
    validate: (req) => {
      assert.equal(valueOf(req, 'test_histogram_count'), 0);
      assert.equal(valueOf(req, 'test_histogram_bucket', { le: '+Inf' }), 0);
    },
  },
  {
    name: 'TestHistogramEncoding/histogram_large_counts', level: 'MUST', data: H(1000000000, '5000000000.0', 'test_histogram_bucket{le="+Inf"} 1000000000\n'),
    validate: (req) => {
      assert.equal(valueOf(req, 'test_histogram_count'), 1e9);
      assert.equal(valueOf(req, 'test_histogram_sum'), 5e9);
    },
  },
]);

// --- exemplars_test.go ------------------------------------------------------------------------

// The suite's MUST checks loop over exemplars, which may be absent; edgewrite sends them, so
// here they must be there, with the exact labels, value and timestamp (OpenMetrics seconds
// become milliseconds).
function oneExemplar(req, seriesName, labels, value, timestamp) {
  const found = exemplarsOf(req).filter((e) => e.series.__name__ === seriesName);
  assert.equal(found.length, 1, `one exemplar on ${seriesName}, got ${found.length}`);
  assert.deepEqual(found[0].labels, labels);
  assert.equal(found[0].ex.value, value);
  assert.equal(found[0].ex.timestamp, timestamp);
  return found[0];
}
const C = (ex) => `# TYPE test_counter counter\ntest_counter 100 # ${ex}\n`;

group('exemplars_test.go', [
  {
    name: 'TestExemplarEncoding/exemplar_with_trace_id', level: 'MAY',
    data: `# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} 50 # {trace_id="abc123xyz"} 0.05 1234567890.123
http_request_duration_seconds_bucket{le="+Inf"} 100
http_request_duration_seconds_sum 10.5
http_request_duration_seconds_count 100
`,
    validate: (req) => {
      const e = oneExemplar(req, 'http_request_duration_seconds_bucket', { trace_id: 'abc123xyz' }, 0.05, 1234567890123);
      assert.equal(e.series.le, '0.1');
    },
  },
  {
    name: 'TestExemplarEncoding/exemplar_with_span_id', level: 'MAY',
    data: '# TYPE http_requests_total counter\nhttp_requests_total 1000 # {trace_id="abc123",span_id="def456"} 999 1234567890.5\n',
    validate: (req) => oneExemplar(req, 'http_requests_total', { trace_id: 'abc123', span_id: 'def456' }, 999, 1234567890500),
  },
  {
    name: 'TestExemplarEncoding/exemplar_value_valid', level: 'MUST', data: C('{trace_id="test123"} 99.5 1234567890.0'),
    validate: (req) => oneExemplar(req, 'test_counter', { trace_id: 'test123' }, 99.5, 1234567890000),
  },
  {
    name: 'TestExemplarEncoding/exemplar_timestamp_valid', level: 'MUST', data: C('{trace_id="test123"} 99 1234567890.123'),
    validate: (req) => {
      for (const { ex } of exemplarsOf(req)) assert.ok(ex.timestamp > 1e12);
      oneExemplar(req, 'test_counter', { trace_id: 'test123' }, 99, 1234567890123);
    },
  },
  {
    name: 'TestExemplarEncoding/exemplar_labels_valid_refs', level: 'MUST',
    data: '# TYPE test_metric counter\ntest_metric 100 # {trace_id="xyz"} 99 1234567890.0\n',
    validate: (req) => {
      const all = exemplarsOf(req);
      assert.ok(all.length > 0);
      for (const { ex } of all) for (const ref of ex.labels_refs) assert.ok(ref < req.request.symbols.length);
      oneExemplar(req, 'test_metric', { trace_id: 'xyz' }, 99, 1234567890000);
    },
  },
  {
    name: 'TestExemplarEncoding/exemplar_custom_labels', level: 'MAY', data: '# TYPE test_counter counter\ntest_counter 50 # {user_id="user123",request_id="req456"} 49 1234567890.0\n',
    validate: (req) => oneExemplar(req, 'test_counter', { user_id: 'user123', request_id: 'req456' }, 49, 1234567890000),
  },
  {
    name: 'TestExemplarEncoding/exemplar_on_histogram', level: 'MAY',
    data: `# TYPE request_duration histogram
request_duration_bucket{le="0.1"} 10 # {trace_id="hist123"} 0.05 1234567890.0
request_duration_bucket{le="+Inf"} 100
request_duration_sum 50.0
request_duration_count 100
`,
    validate: (req) => assert.equal(oneExemplar(req, 'request_duration_bucket', { trace_id: 'hist123' }, 0.05, 1234567890000).series.le, '0.1'),
  },
  {
    name: 'TestExemplarEncoding/exemplar_labels_even_length', level: 'MUST', data: C('{trace_id="test"} 99 1234567890.0'),
    validate: (req) => {
      const all = exemplarsOf(req);
      assert.ok(all.length > 0);
      for (const { ex } of all) assert.equal(ex.labels_refs.length % 2, 0);
    },
  },
  {
    // Suite: some series with more than one exemplar. The data has one per bucket, and a scrape
    // repeating the same exemplar adds none (Prometheus's exemplar storage drops duplicates),
    // so that cannot happen with it; here each exemplar must arrive on its own bucket.
    name: 'TestExemplarEncoding/multiple_exemplars_per_series', level: 'MAY',
    data: `# TYPE test_histogram histogram
test_histogram_bucket{le="0.1"} 10 # {trace_id="ex1"} 0.05 1234567890.0
test_histogram_bucket{le="0.5"} 50 # {trace_id="ex2"} 0.3 1234567891.0
test_histogram_bucket{le="+Inf"} 100
test_histogram_sum 50.0
test_histogram_count 100
`,
    validate: (req) => {
      const got = exemplarsOf(req).map((e) => [e.series.le, e.labels.trace_id, e.ex.value, e.ex.timestamp]).sort();
      assert.deepEqual(got, [['0.1', 'ex1', 0.05, 1234567890000], ['0.5', 'ex2', 0.3, 1234567891000]]);
    },
  },
]);

// --- combined_test.go -------------------------------------------------------------------------

group('combined_test.go', [
  {
    name: 'TestCombinedFeatures/samples_with_metadata', level: 'SHOULD',
    data: `# HELP http_requests_total Total HTTP requests received
# TYPE http_requests_total counter
http_requests_total{method="GET",status="200"} 1000
http_requests_total{method="POST",status="201"} 500
`,
    validate: (req) => {
      const found = seriesOf(req).filter((s) => s.labels.__name__ === 'http_requests_total');
      assert.equal(found.length, 2);
      for (const { ts } of found) {
        assert.ok(ts.samples.length > 0);
        assert.equal(ts.metadata.type, METRIC_TYPE.COUNTER);
        assert.ok(symbol(req, ts.metadata.help_ref).includes('HTTP requests'));
      }
    },
  },
  {
    name: 'TestCombinedFeatures/samples_with_exemplars', level: 'MAY',
    data: '# TYPE request_count counter\nrequest_count 1000 # {trace_id="abc123",span_id="def456"} 999 1234567890.123\n',
    validate: (req) => {
      assert.equal(valueOf(req, 'request_count'), 1000);
      oneExemplar(req, 'request_count', { trace_id: 'abc123', span_id: 'def456' }, 999, 1234567890123);
    },
  },
  {
    name: 'TestCombinedFeatures/histogram_with_metadata_and_exemplars', level: 'MAY',
    data: `# HELP request_duration_seconds Request duration in seconds
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="0.1"} 100 # {trace_id="hist123"} 0.05 1234567890.0
request_duration_seconds_bucket{le="0.5"} 250
request_duration_seconds_bucket{le="1.0"} 500
request_duration_seconds_bucket{le="+Inf"} 1000
request_duration_seconds_sum 450.5
request_duration_seconds_count 1000
`,
    validate: (req) => {
      const family = seriesOf(req).filter((s) => s.labels.__name__.startsWith('request_duration_seconds_'));
      assert.equal(family.length, 6);
      for (const { ts } of family) assert.equal(ts.metadata.type, METRIC_TYPE.HISTOGRAM);
      oneExemplar(req, 'request_duration_seconds_bucket', { trace_id: 'hist123' }, 0.05, 1234567890000);
    },
  },
  {
    // Suite: some of the metrics. Its description: all three types in the same request.
    name: 'TestCombinedFeatures/multiple_metric_types', level: 'MUST',
    data: `# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 123.45

# TYPE process_memory_bytes gauge
process_memory_bytes 1048576

# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{le="+Inf"} 100
request_duration_seconds_sum 50.0
request_duration_seconds_count 100
`,
    validate: (req) => {
      assert.equal(valueOf(req, 'process_cpu_seconds_total'), 123.45);
      assert.equal(valueOf(req, 'process_memory_bytes'), 1048576);
      assert.equal(valueOf(req, 'request_duration_seconds_count'), 100);
    },
  },
  {
    name: 'TestCombinedFeatures/high_cardinality_labels', level: 'RECOMMENDED',
    data: `# TYPE http_requests_total counter
http_requests_total{method="GET",path="/api/v1/users",status="200"} 100
http_requests_total{method="GET",path="/api/v1/posts",status="200"} 200
http_requests_total{method="POST",path="/api/v1/users",status="201"} 50
http_requests_total{method="POST",path="/api/v1/posts",status="201"} 75
http_requests_total{method="GET",path="/api/v1/comments",status="200"} 300
http_requests_total{method="DELETE",path="/api/v1/users",status="204"} 10
`,
    validate: (req) => {
      assert.ok(uniqueSymbols(req) > 0);
      assert.ok(seriesOf(req).filter((s) => s.labels.__name__ === 'http_requests_total').length >= 6);
    },
  },
  {
    // Suite: _count present, or any series. Its description: all of the family together.
    name: 'TestCombinedFeatures/complete_metric_family', level: 'MUST',
    data: `# HELP api_request_duration_seconds API request duration
# TYPE api_request_duration_seconds histogram
api_request_duration_seconds_bucket{le="0.1"} 50
api_request_duration_seconds_bucket{le="0.5"} 150
api_request_duration_seconds_bucket{le="1.0"} 250
api_request_duration_seconds_bucket{le="+Inf"} 300
api_request_duration_seconds_sum 200.5
api_request_duration_seconds_count 300
`,
    validate: (req) => {
      assert.deepEqual(['0.1', '0.5', '1.0', '+Inf'].map((le) => valueOf(req, 'api_request_duration_seconds_bucket', { le })), [50, 150, 250, 300]);
      assert.equal(valueOf(req, 'api_request_duration_seconds_sum'), 200.5);
      assert.equal(valueOf(req, 'api_request_duration_seconds_count'), 300);
    },
  },
  {
    name: 'TestCombinedFeatures/mixed_labels_and_metadata', level: 'SHOULD',
    data: `# HELP api_calls_total Total API calls with detailed labels
# TYPE api_calls_total counter
api_calls_total{service="auth",method="POST",endpoint="/login",region="us-east",status="200"} 1000
api_calls_total{service="auth",method="POST",endpoint="/logout",region="us-east",status="200"} 500
api_calls_total{service="users",method="GET",endpoint="/profile",region="eu-west",status="200"} 2000
`,
    validate: (req) => {
      const found = seriesOf(req).filter((s) => s.labels.__name__ === 'api_calls_total');
      assert.ok(found.length >= 3);
      for (const { ts, labels } of found) {
        assert.ok(labels.service && labels.method && labels.endpoint);
        assert.equal(ts.metadata.type, METRIC_TYPE.COUNTER);
      }
    },
  },
  {
    name: 'TestCombinedFeatures/real_world_scenario', level: 'MUST',
    data: `# Realistic scrape output with multiple metric types
# TYPE up gauge
up 1

# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 45.67

# TYPE go_memstats_alloc_bytes gauge
go_memstats_alloc_bytes 2097152

# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 100
http_request_duration_seconds_bucket{le="0.1"} 200
http_request_duration_seconds_bucket{le="0.5"} 450
http_request_duration_seconds_bucket{le="1.0"} 480
http_request_duration_seconds_bucket{le="+Inf"} 500
http_request_duration_seconds_sum 125.5
http_request_duration_seconds_count 500

# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 5000
http_requests_total{method="POST",code="201"} 1000
`,
    validate: (req) => {
      const names = new Set();
      for (const { ts, labels } of seriesOf(req)) {
        assert.ok(labels.__name__);
        assert.ok(!(ts.samples.length > 0 && ts.histograms.length > 0));
        names.add(labels.__name__);
      }
      assert.ok(names.size >= 3);
    },
  },
]);

// --- batching_test.go -------------------------------------------------------------------------

group('batching_test.go', [
  {
    name: 'TestBatchingBehavior/multiple_series_per_request', level: 'RECOMMENDED',
    data: `# Multiple metrics to batch
http_requests_total{method="GET",status="200"} 1000
http_requests_total{method="POST",status="200"} 500
http_requests_total{method="GET",status="404"} 50
cpu_usage_percent 45.2
memory_usage_bytes 1048576
disk_io_bytes_total 1000000
`,
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 3);
      assert.ok(new Set(seriesOf(req).map((s) => s.labels.__name__)).size >= 2);
    },
  },
  {
    name: 'TestBatchingBehavior/batch_size_reasonable', level: 'RECOMMENDED',
    data: `# Large scrape to test batch size handling\n${Array.from({ length: 12000 }, (_, i) => `metric{label="${i}"} 1\n`).join('')}`,
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 1);
      assert.ok(req.request.timeseries.length <= 10000, `${req.request.timeseries.length} series in one request`);
    },
  },
  {
    name: 'TestBatchingBehavior/handles_varying_cardinality', level: 'RECOMMENDED',
    data: `# High cardinality metrics
api_calls{endpoint="/users",method="GET",region="us-east",status="200"} 100
api_calls{endpoint="/users",method="POST",region="us-east",status="201"} 50
api_calls{endpoint="/posts",method="GET",region="us-west",status="200"} 200
api_calls{endpoint="/posts",method="DELETE",region="eu-west",status="204"} 10
api_calls{endpoint="/comments",method="GET",region="ap-south",status="200"} 500
low_cardinality_metric 42
`,
    validate: (req) => {
      assert.ok(uniqueSymbols(req) > 0);
      assert.ok(req.request.timeseries.length >= 2);
    },
  },
  {
    name: 'TestBatchingBehavior/efficient_symbol_reuse', level: 'RECOMMENDED',
    data: `# Metrics with shared labels
http_requests{service="api",method="GET"} 100
http_requests{service="api",method="POST"} 50
http_requests{service="web",method="GET"} 200
http_duration{service="api",method="GET"} 0.5
http_duration{service="api",method="POST"} 0.3
`,
    validate: (req) => assert.deepEqual(duplicateSymbols(req), []),
  },
  {
    // Suite: at least 2 series. Also: each carries its family's metadata.
    name: 'TestBatchingBehavior/metadata_batching', level: 'RECOMMENDED',
    data: `# HELP http_requests_total Total HTTP requests
# TYPE http_requests_total counter
http_requests_total{method="GET"} 1000
http_requests_total{method="POST"} 500

# HELP memory_usage_bytes Current memory usage
# TYPE memory_usage_bytes gauge
memory_usage_bytes 1048576
`,
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 2);
      assert.equal(series(req, 'http_requests_total', { method: 'POST' }).ts.metadata.type, METRIC_TYPE.COUNTER);
      assert.equal(helpOf(req, 'memory_usage_bytes'), 'Current memory usage');
    },
  },
  {
    // Suite: a request arrived. Its description: requests in parallel. edgewrite sends one
    // request at a time per shard, shards in parallel: with its default 4 shards, a batch of
    // one sample each and a receiver that answers after 150 ms, several are in flight at once.
    name: 'TestConcurrentRequests', level: 'MAY',
    run: async () => {
      const ctx = await runScrapeCase('# Multiple metrics\nmetric_1 1\nmetric_2 2\nmetric_3 3\nmetric_4 4\nmetric_5 5\n', {
        writer: { shards: 4, maxSamplesPerSend: 1 }, response: { status: 204, delayMs: 150 }, scrapes: 1,
      });
      assert.ok(ctx.receiver.maxInFlight >= 2, `at most ${ctx.receiver.maxInFlight} request in flight`);
    },
  },
]);

// --- edge_cases_test.go -----------------------------------------------------------------------

const FUTURE = Date.now() + 24 * 3600_000;

group('edge_cases_test.go', [
  {
    // Suite: passes whatever happens. Here: the scrape's own series only, up = 1, 0 scraped.
    name: 'TestEdgeCases/empty_scrape', level: 'SHOULD', data: '# No metrics\n',
    validate: (req, { events }) => {
      assert.deepEqual(seriesOf(req).map((s) => s.labels.__name__).sort(), [...REPORT_SERIES].sort());
      assert.equal(valueOf(req, 'up'), 1);
      assert.equal(valueOf(req, 'scrape_samples_scraped'), 0);
      assert.equal(events.of('error').length, 0);
    },
  },
  {
    name: 'TestEdgeCases/huge_label_values', level: 'SHOULD', data: `test_metric{large_label="${'x'.repeat(10000)}"} 42\n`,
    validate: (req) => assert.equal(series(req, 'test_metric').labels.large_label, 'x'.repeat(10000)),
  },
  {
    name: 'TestEdgeCases/unicode_in_labels', level: 'MUST', data: 'test_metric{emoji="🚀",chinese="测试",arabic="مرحبا",vietnamese="tôi yêu việt nam"} 42\n',
    validate: (req) => {
      const { labels } = series(req, 'test_metric');
      assert.deepEqual([labels.emoji, labels.chinese, labels.arabic, labels.vietnamese], ['🚀', '测试', 'مرحبا', 'tôi yêu việt nam']);
    },
  },
  {
    name: 'TestEdgeCases/many_timeseries', level: 'RECOMMENDED',
    data: Array.from({ length: 100 }, (_, i) => `metric_${String(i).padStart(3, '0')} ${i}\n`).join(''),
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 10);
      assert.ok(req.request.symbols.length > 0);
    },
  },
  {
    name: 'TestEdgeCases/high_cardinality', level: 'RECOMMENDED',
    data: Array.from({ length: 50 }, (_, i) => `http_requests{path="/api/v1/endpoint_${String(i).padStart(2, '0')}",method="GET"} ${i}\n`).join(''),
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 20);
      assert.ok(uniqueSymbols(req) > 0);
    },
  },
  {
    name: 'TestEdgeCases/very_long_metric_name', level: 'SHOULD', data: `metric_${'very_long_name_'.repeat(50)} 42\n`,
    validate: (req) => requireSeries(req, `metric_${'very_long_name_'.repeat(50)}`),
  },
  {
    // Suite: at least one of the five. Its description: all of them.
    name: 'TestEdgeCases/special_float_combinations', level: 'MUST',
    data: 'special_values{type="nan"} NaN\nspecial_values{type="inf"} +Inf\nspecial_values{type="ninf"} -Inf\nspecial_values{type="zero"} 0\nspecial_values{type="negative"} -123.45\n',
    validate: (req) => {
      const got = ['nan', 'inf', 'ninf', 'zero', 'negative'].map((type) => valueOf(req, 'special_values', { type }));
      assert.deepEqual(got, [NaN, Infinity, -Infinity, 0, -123.45]);
    },
  },
  {
    // Suite: non-negative timestamps. Also: the sample keeps its timestamp 0 (edgewrite drops
    // old data only with sampleAgeLimitMs).
    name: 'TestEdgeCases/zero_timestamp', level: 'SHOULD', data: 'test_metric 42 0\n',
    validate: (req) => {
      for (const s of samplesOf(req)) assert.ok(s.timestamp >= 0);
      assert.deepEqual(series(req, 'test_metric').ts.samples.map((s) => [s.value, s.timestamp]), [[42, 0]]);
    },
  },
  {
    name: 'TestEdgeCases/future_timestamp', level: 'SHOULD', data: `test_metric 42 ${FUTURE}\n`,
    validate: (req) => assert.deepEqual(series(req, 'test_metric').ts.samples.map((s) => s.timestamp), [FUTURE]),
  },
  {
    name: 'TestEdgeCases/metric_name_with_colons', level: 'MUST', data: 'http:request:duration:seconds 0.5\n',
    validate: (req) => assert.equal(valueOf(req, 'http:request:duration:seconds'), 0.5),
  },
  {
    // Suite: a NaN. Also: the stale marker's exact bits, in every scrape's sample.
    name: 'TestEdgeCases/stale_marker', level: 'SHOULD', data: 'test_metric StaleNaN\n',
    validate: (req) => {
      const { samples } = series(req, 'test_metric').ts;
      assert.equal(samples.length, 3);
      for (const s of samples) assert.equal(bits(s.value), STALE_NAN);
    },
  },
  {
    // Suite: two of the four kinds. Its description: all of them.
    name: 'TestEdgeCases/mixed_sample_and_histogram_families', level: 'MUST',
    data: `# Counter
requests_total 100

# Gauge
temperature_celsius 22.5

# Histogram
response_time_bucket{le="0.1"} 50
response_time_bucket{le="+Inf"} 100
response_time_sum 10.5
response_time_count 100

# Summary
rpc_duration{quantile="0.5"} 0.05
rpc_duration{quantile="0.9"} 0.1
rpc_duration_sum 50.0
rpc_duration_count 1000
`,
    validate: (req) => {
      assert.equal(valueOf(req, 'requests_total'), 100);
      assert.equal(valueOf(req, 'temperature_celsius'), 22.5);
      assert.equal(valueOf(req, 'response_time_count'), 100);
      assert.equal(valueOf(req, 'rpc_duration', { quantile: '0.9' }), 0.1);
    },
  },
  {
    name: 'TestRobustnessUnderLoad', level: 'SHOULD',
    data: Array.from({ length: 200 }, (_, i) => `load_test_metric_${String(i).padStart(3, '0')}{label="value_${i % 10}"} ${i % 10}\n`).join(''),
    validate: (req) => {
      assert.ok(req.request.timeseries.length >= 50);
      assert.equal(seriesOf(req).filter((s) => s.labels.__name__.startsWith('load_test_metric_')).length, 200);
    },
  },
]);

// --- response_test.go -------------------------------------------------------------------------

/** A 2xx taken as delivered: one request, no retry, nothing dropped. */
async function acceptedAsSuccess(response) {
  const ctx = await runWindowCase(M, { response, windowMs: 300 });
  assert.equal(ctx.all.length, 1);
  assert.ok(ctx.flushedAt, 'flush() ended');
  assert.deepEqual(ctx.events.filter((e) => e.on !== 'partial'), []);
  assert.equal(ctx.stats.requestsSucceeded, 1);
  assert.equal(ctx.stats.requestsFailed, 0);
  return ctx;
}
/** A 4xx: one request, the batch reported dropped with the receiver's status and message. */
async function refused(response) {
  const ctx = await runWindowCase(M, { response, windowMs: 300 });
  assert.equal(ctx.all.length, 1, 'no retry');
  const errors = ctx.events.of('error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].status, response.status);
  assert.equal(errors[0].counts.samples, sampleCount(ctx.all[0]));
  return { ctx, error: errors[0] };
}
const largeError = `Error details: ${'detailed error information; '.repeat(1000)}`;

group('response_test.go', [
  {
    // Suite: passes whatever happens. Here: taken as delivered (Node, as Go, drops a 204's body).
    name: 'TestResponseProcessing/ignore_response_body_on_success', level: 'SHOULD',
    run: () => acceptedAsSuccess({ status: 204, body: 'This body should be ignored', samplesWritten: 1 }),
  },
  {
    // Suite: passes whatever happens. edgewrite reads the headers: a 'partial' event says what
    // was written of what was sent, and the rest counts as failed.
    name: 'TestResponseProcessing/process_written_count_headers', level: 'MAY',
    run: async () => {
      const ctx = await runWindowCase('# Multiple samples\ntest_counter_total{label="a"} 100\ntest_counter_total{label="b"} 200\ntest_gauge{label="c"} 50\n', {
        response: { status: 204, samplesWritten: 3 }, windowMs: 300,
      });
      const sent = sampleCount(ctx.all[0]);
      assert.deepEqual(ctx.events.of('partial').map((e) => [e.sent.samples, e.written.samples]), [[sent, 3]]);
      assert.equal(ctx.stats.samples.total, 3);
      assert.equal(ctx.stats.samples.failed, sent - 3);
    },
  },
  {
    // Suite: passes whatever happens. Here: refused, not retried, the message passed on.
    name: 'TestResponseProcessing/handle_partial_write_response', level: 'SHOULD',
    run: async () => {
      const { ctx, error } = await refused({ status: 400, body: 'Rejected 1 sample', samplesWritten: 2 });
      assert.equal(error.message, 'Rejected 1 sample');
      assert.equal(ctx.stats.samples.total, 0);
    },
  },
  {
    // Suite: passes whatever happens. Here: nothing counted as written, all as failed.
    name: 'TestResponseProcessing/handle_missing_written_headers', level: 'SHOULD',
    run: async () => {
      const { ctx } = await refused({ status: 400, body: 'Bad request' });
      assert.equal(ctx.stats.samples.total, 0);
      assert.equal(ctx.stats.samples.failed, sampleCount(ctx.all[0]));
    },
  },
  {
    // Suite: `True(true)`. Here: the error event carries the body unchanged.
    name: 'TestResponseProcessing/log_error_messages_verbatim', level: 'MUST',
    run: async () => {
      const { error } = await refused({ status: 400, body: "Error: Invalid label name '__invalid__'" });
      assert.equal(error.message, "Error: Invalid label name '__invalid__'");
    },
  },
  {
    name: 'TestResponseProcessing/handle_large_error_body', level: 'SHOULD',
    run: async () => {
      const { error } = await refused({ status: 400, body: largeError });
      assert.equal(error.message, largeError.slice(0, 1024));
    },
  },
  {
    name: 'TestResponseProcessing/handle_204_no_content', level: 'MUST',
    run: () => acceptedAsSuccess({ status: 204, samplesWritten: 1 }),
  },
  {
    name: 'TestResponseProcessing/handle_200_ok', level: 'MUST',
    run: () => acceptedAsSuccess({ status: 200, body: 'OK', samplesWritten: 1 }),
  },
  {
    name: 'TestContentTypeNegotiation', level: 'SHOULD',
    run: async () => {
      const ctx = await runWindowCase(M, { response: { status: 204, samplesWritten: 1 }, windowMs: 100 });
      assert.match(ctx.all[0].header('Content-Type'), /application\/x-protobuf/);
    },
  },
]);

// --- retry_test.go ----------------------------------------------------------------------------

const noRetry = (code, level) => ({
  name: `TestRetryBehavior/no_retry_on_${code}`,
  level,
  // Suite: at most 2 requests in 8 s. Also: no retry at all (no Retry-Attempt, no retry event),
  // and the batch reported dropped with the status.
  run: async () => {
    const ctx = await runWindowCase(M, { response: status(code), windowMs: 600 });
    assert.ok(ctx.all.length <= 2, `got ${ctx.all.length} requests`);
    assert.equal(ctx.all.length, 1, `${code} must not be retried`);
    assert.equal(ctx.all[0].header('Retry-Attempt'), undefined);
    assert.equal(ctx.events.of('retry').length, 0);
    assert.deepEqual(ctx.events.of('error').map((e) => e.status), [code]);
  },
});
const retried = (code, level) => ({
  name: `TestRetryBehavior/retry_on_${code}`,
  level,
  // Suite: at least one request. Its description asks for retries: several requests for the
  // same batch, numbered by Retry-Attempt, nothing dropped.
  run: async () => {
    const ctx = await runWindowCase(M, { response: status(code), windowMs: 600 });
    assert.ok(ctx.all.length >= 3, `expected retries, got ${ctx.all.length} requests`);
    assert.deepEqual(ctx.all.slice(0, 3).map((r) => r.header('Retry-Attempt')), [undefined, '1', '2']);
    assert.ok(ctx.all.every((r) => r.body.equals(ctx.all[0].body)), 'a retry resends the same request');
    assert.ok(ctx.events.of('retry').every((e) => e.status === code));
    assert.equal(ctx.events.of('error').length, 0);
  },
});

group('retry_test.go', [
  noRetry(400, 'MUST'),
  noRetry(401, 'MUST'),
  noRetry(404, 'MUST'),
  {
    // Suite: at least one request. edgewrite retries 429 (retryOn429), after Retry-After.
    name: 'TestRetryBehavior/may_retry_on_429', level: 'MAY',
    run: async () => {
      const ctx = await runWindowCase(M, { response: { status: 429, headers: { 'Retry-After': '1' }, body: 'Too many requests' }, windowMs: 1400 });
      assert.equal(ctx.all.length, 2);
      assert.ok(ctx.all[1].at - ctx.all[0].at >= 990, `retried after ${ctx.all[1].at - ctx.all[0].at} ms`);
      assert.equal(ctx.events.of('retry')[0].delayMs, 1000);
    },
  },
  retried(500, 'MUST'),
  retried(503, 'MUST'),
  retried(502, 'SHOULD'),
  retried(504, 'SHOULD'),
  noRetry(413, 'SHOULD'),
]);

// --- backoff_test.go --------------------------------------------------------------------------

const intervals = (reqs) => reqs.slice(1).map((r, i) => r.at - reqs[i].at);
const backoffCase = (code, writer, windowMs) => runWindowCase(M, { response: status(code), writer, windowMs });

group('backoff_test.go', [
  {
    // As the suite: each interval at least 0.8 of the one before. edgewrite draws each delay in
    // [step/2, step) with the step doubling from minBackoffMs (200 ms here, so that the time
    // to answer is small beside it) to maxBackoffMs.
    name: 'TestBackoffBehavior/exponential_backoff_on_retries', level: 'SHOULD',
    run: async () => {
      const ctx = await backoffCase(503, { minBackoffMs: 200, maxBackoffMs: 5000 }, 1600);
      const gaps = intervals(ctx.all);
      assert.ok(ctx.all.length >= 3, `${ctx.all.length} requests`);
      for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] / gaps[i - 1] >= 0.8, `intervals ${gaps}`);
    },
  },
  {
    // As the suite: at least 2 requests, at least 1 ms apart. Also: at least the smallest delay
    // the backoff can draw (minBackoffMs / 2).
    name: 'TestBackoffBehavior/backoff_required', level: 'MUST',
    run: async () => {
      const ctx = await backoffCase(503, { minBackoffMs: 100, maxBackoffMs: 5000 }, 1000);
      assert.ok(ctx.all.length >= 2);
      for (const gap of intervals(ctx.all)) assert.ok(gap >= 1 && gap >= 49, `interval ${gap} ms`);
    },
  },
  {
    // Suite: no interval over 60 s in its window (any short run passes). Here the cap is made
    // small (maxBackoffMs 80) and reached: no interval exceeds it (plus the time to answer).
    // Uncapped, the sixth interval would be at least 320 ms.
    name: 'TestBackoffBehavior/backoff_max_delay', level: 'SHOULD',
    run: async () => {
      const ctx = await backoffCase(502, { minBackoffMs: 20, maxBackoffMs: 80 }, 1000);
      const gaps = intervals(ctx.all);
      assert.ok(gaps.length >= 6, `${ctx.all.length} requests`);
      for (const gap of gaps) assert.ok(gap <= 60_000 && gap <= 80 + 100, `interval ${gap} ms`);
    },
  },
  {
    // Suite: intervals exist. Its description: jitter. The delays edgewrite chose (its retry
    // events) are not a plain doubling.
    name: 'TestBackoffBehavior/backoff_with_jitter', level: 'RECOMMENDED',
    run: async () => {
      const ctx = await backoffCase(503, { minBackoffMs: 100, maxBackoffMs: 5000 }, 1000);
      assert.ok(ctx.all.length >= 3);
      const delays = ctx.events.of('retry').map((e) => e.delayMs);
      assert.ok(delays.length >= 3);
      assert.ok(delays.some((d, i) => i > 0 && d !== 2 * delays[i - 1]), `delays ${delays}`);
      assert.ok(!delays.every((d, i) => d === 100 * 2 ** i || d === 50 * 2 ** i), `delays ${delays}`);
    },
  },
]);

// --- fallback_test.go -------------------------------------------------------------------------

/**
 * The suite's fallback scenario as it means it: the first 2.0 request gets 415 (the suite never
 * sends it: FallbackTrackingReceiver records a request before ShouldReturn415() looks for
 * requestCount == 0), everything else 204 with SamplesWritten 1. `rounds` scrapes, each flushed.
 */
async function fallbackScenario({ rounds = 3, return415First = true } = {}) {
  const receiver = await MockReceiver.start({ status: 204, samplesWritten: 1 });
  let sent415 = false;
  receiver.handler = (rec, res) => {
    if (!return415First || sent415 || !rec.header(VERSION)?.startsWith('2.0')) return false;
    sent415 = true;
    res.writeHead(415).end('RW 2.0 not supported, please use RW 1.0');
    return true;
  };
  const target = await MockScrapeTarget.start(M);
  const writer = newWriter(receiver.url);
  const events = recordEvents(writer);
  const scraper = new Scraper(writer, target.url);
  try {
    for (let i = 0; i < rounds; i++) {
      await scraper.scrape();
      await writer.flush();
    }
    await writer.close();
  } finally {
    await target.close();
    await receiver.close();
  }
  return { all: receiver.all, versions: receiver.all.map((r) => r.header(VERSION)), events, writer, stats: writer.stats() };
}
/** A request's series as sorted `labels => [value, timestamp]...` strings, from 2.0 or 1.0. */
function content(req) {
  const list = req.protocol === 'v2' ? seriesOf(req).map((s) => [s.labels, s.ts.samples]) : v1Series(req).map((s) => [s.labels, s.samples]);
  return list.map(([labels, samples]) => `${JSON.stringify(Object.entries(labels).sort())} ${samples.map((s) => `${s.value}@${s.timestamp}`)}`).sort();
}

group('fallback_test.go', [
  {
    name: 'TestFallbackBehavior/fallback_on_415_unsupported_media_type', level: 'SHOULD',
    run: async () => {
      const { versions, events } = await fallbackScenario();
      assert.ok(versions[0].startsWith('2.0'));
      assert.equal(versions[1], '0.1.0');
      assert.deepEqual(events.of('fallback').map((e) => e.status), [415]);
    },
  },
  {
    // Also: the 1.0 request resends what the refused 2.0 request carried.
    name: 'TestFallbackBehavior/retry_with_different_version', level: 'SHOULD',
    run: async () => {
      const { all, versions } = await fallbackScenario();
      assert.deepEqual(versions.slice(0, 2), ['2.0.0', '0.1.0']);
      assert.deepEqual(content(all[1]), content(all[0]));
    },
  },
  {
    name: 'TestFallbackBehavior/fallback_header_changes', level: 'MUST',
    run: async () => {
      const { all } = await fallbackScenario();
      const [first, later] = [all[0].header('Content-Type'), all[1].header('Content-Type')];
      assert.notEqual(first, later);
      assert.ok(first.includes(V2_PROTO));
      assert.match(later, /^application\/x-protobuf/);
      assert.ok(!later.includes('io.prometheus.write.v2'));
    },
  },
  {
    // Suite: at least one request. Here: after the fallback every round is delivered.
    name: 'TestFallbackBehavior/accept_success_after_fallback', level: 'SHOULD',
    run: async () => {
      const { all, events, stats } = await fallbackScenario();
      assert.equal(events.of('error').length, 0);
      assert.equal(stats.requestsSucceeded, 3);
      assert.equal(stats.samples.failed, 0);
      assert.equal(stats.samples.total, all.slice(1).reduce((n, r) => n + r.v1.timeseries.reduce((m, ts) => m + ts.samples.length, 0), 0));
    },
  },
  {
    name: 'TestFallbackBehavior/persistent_fallback_choice', level: 'SHOULD',
    run: async () => {
      const { versions, writer } = await fallbackScenario();
      assert.deepEqual(versions, ['2.0.0', '0.1.0', '0.1.0', '0.1.0']);
      assert.equal(writer.protocol, 'v1');
    },
  },
  {
    name: 'TestNoFallbackOn2xx', level: 'MUST',
    run: async () => {
      const { versions, events, writer } = await fallbackScenario({ return415First: false });
      assert.ok(versions.length >= 2);
      assert.deepEqual(versions, versions.map(() => '2.0.0'));
      assert.equal(events.of('fallback').length, 0);
      assert.equal(writer.protocol, 'v2');
    },
  },
]);

// --- error_handling_test.go -------------------------------------------------------------------

/** A URL nobody listens on. */
async function refusedUrl() {
  const s = http.createServer();
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${s.address().port}/api/v1/write`;
  await new Promise((resolve) => s.close(resolve));
  return url;
}
/** A receiver answering `status` and `body` to anything, as the suite's httptest servers. */
const answer = (code, body = '') => (_rec, res) => {
  res.writeHead(code).end(body);
  return true;
};
/** The writer kept the data (retrying), dropped nothing and delivered nothing. */
function keptForRetry(ctx, message) {
  const retries = ctx.events.of('retry');
  assert.ok(retries.length >= 1, 'the failure is retried');
  for (const e of retries) {
    assert.equal(e.status, undefined);
    assert.match(e.message, message);
  }
  assert.equal(ctx.events.of('error').length, 0);
  assert.equal(ctx.stats.samples.total, 0);
  assert.ok(ctx.stats.samples.pending > 0, 'the data is still queued');
}
/**
 * A 2xx without Written headers to a 2.0 request: for edgewrite in Node (as for Prometheus),
 * the mark of a 1.0 receiver: it resends as 1.0, which that answer delivers; nothing dropped.
 */
async function v1Receiver(handler) {
  const ctx = await runWindowCase(M, { handler, windowMs: 300 });
  assert.deepEqual(ctx.all.map((r) => r.protocol), ['v2', 'v1']);
  assert.ok(ctx.flushedAt, 'flush() ended');
  assert.equal(ctx.events.of('error').length, 0);
  assert.equal(ctx.stats.samples.total, sampleCount(ctx.all[0]));
}

group('error_handling_test.go', [
  // The suite's checks are all `should(t, true, ...)`: each case here asserts what its
  // description asks of a sender that handles the failure gracefully.
  {
    name: 'TestErrorHandling/handle_connection_refused', level: 'SHOULD',
    run: async () => keptForRetry(await runWindowCase(M, { url: await refusedUrl(), windowMs: 400 }), /ECONNREFUSED|connect|fetch failed/i),
  },
  {
    // A receiver that never answers: each request times out (timeoutMs 150) and is retried.
    name: 'TestErrorHandling/handle_timeout', level: 'SHOULD',
    run: async () => {
      const ctx = await runWindowCase(M, { handler: (_rec, res, rx) => (rx.hold(res), true), writer: { timeoutMs: 150 }, windowMs: 700 });
      assert.ok(ctx.all.length >= 2, `${ctx.all.length} requests`);
      keptForRetry(ctx, /no response within 150 ms/);
    },
  },
  { name: 'TestErrorHandling/handle_partial_write', level: 'SHOULD', run: () => v1Receiver(answer(200, 'partial')) },
  { name: 'TestErrorHandling/handle_malformed_response', level: 'SHOULD', run: () => v1Receiver(answer(200, 'Not valid response headers\r\n')) },
  {
    // The receiver always answers 500: the writer keeps retrying, keeps taking new data, and
    // drops nothing.
    name: 'TestErrorHandling/sender_continues_after_errors', level: 'MUST',
    run: async () => {
      const ctx = await runWindowCase(M, {
        handler: answer(500, 'Internal server error'), writer: { minBackoffMs: 20, maxBackoffMs: 100 }, windowMs: 700,
        during: async (c) => {
          await sleep(300);
          c.secondScrape = await c.scraper.scrape();
        },
      });
      assert.ok(ctx.all.length >= 3, `${ctx.all.length} requests`);
      assert.ok(ctx.all.at(-1).at > ctx.secondScrape, 'still sending after the second scrape');
      const attempts = ctx.events.of('retry').map((e) => e.attempt);
      assert.deepEqual(attempts, attempts.map((_a, i) => i + 1));
      assert.equal(ctx.events.of('error').length, 0);
      assert.equal(ctx.stats.samples.pending, 12);
    },
  },
  {
    // A status no HTTP defines: refused for good and reported, not retried.
    name: 'TestErrorHandling/handle_invalid_status_code', level: 'SHOULD',
    run: async () => {
      const ctx = await runWindowCase(M, { handler: answer(999), windowMs: 300 });
      assert.equal(ctx.all.length, 1);
      assert.ok(ctx.flushedAt, 'flush() ended');
      assert.deepEqual(ctx.events.of('error').map((e) => e.status), [999]);
    },
  },
  { name: 'TestErrorHandling/handle_empty_response', level: 'SHOULD', run: () => v1Receiver(answer(200)) },
  {
    name: 'TestErrorHandling/handle_large_error_response', level: 'SHOULD',
    run: async () => {
      const ctx = await runWindowCase(M, { handler: answer(400, 'x'.repeat(1024 * 1024)), windowMs: 300 });
      assert.equal(ctx.all.length, 1);
      assert.deepEqual(ctx.events.of('error').map((e) => [e.status, e.message]), [[400, 'x'.repeat(1024)]]);
    },
  },
  {
    name: 'TestNetworkErrors/dns_resolution_failure', level: 'SHOULD',
    run: async () => keptForRetry(await runWindowCase(M, { url: 'http://nonexistent.invalid.domain:9999/api/v1/write', windowMs: 1000 }), /ENOTFOUND|EAI_AGAIN|getaddrinfo|fetch failed/i),
  },
  {
    // Refused at construction with a TypeError that says why (never retried forever).
    name: 'TestNetworkErrors/invalid_url_scheme', level: 'SHOULD',
    run: async () => {
      await assert.rejects(runWindowCase(M, { url: 'invalid://localhost:9999', windowMs: 300 }), (e) => e instanceof TypeError && /not http or https/.test(e.message));
    },
  },
]);

// --- rw1_compat_test.go -----------------------------------------------------------------------

// The suite runs these against its 2.0 configuration and skips them when the version is 2.0;
// edgewrite can be configured for 1.0 (protocol: 'v1'), so they run against such a writer here,
// with the request decoded as 1.0.
const RW1 = { writer: { protocol: 'v1' } };
const v1Find = (req, name) => {
  const s = v1Series(req).find((x) => x.labels.__name__ === name);
  assert.ok(s, `1.0 series ${name} must be present`);
  return s;
};

group('rw1_compat_test.go', [
  {
    name: 'TestRemoteWrite1Compatibility/rw1_version_header', level: 'SHOULD', data: M, options: RW1,
    validate: (req) => assert.equal(req.header(VERSION), '0.1.0'),
  },
  {
    name: 'TestRemoteWrite1Compatibility/rw1_content_type', level: 'SHOULD', data: M, options: RW1,
    validate: (req) => {
      assert.match(req.header('Content-Type'), /application\/x-protobuf/);
      assert.ok(!req.header('Content-Type').includes('proto=io.prometheus.write.v2'));
    },
  },
  {
    name: 'TestRemoteWrite1Compatibility/rw1_samples_encoding', level: 'MUST', data: 'test_counter_total 100\n', options: RW1,
    validate: (req, { scraper }) => assert.deepEqual(v1Find(req, 'test_counter_total').samples.map((s) => [s.value, s.timestamp]), scraper.times.map((t) => [100, t])),
  },
  {
    name: 'TestRemoteWrite1Compatibility/rw1_labels_encoding', level: 'MUST', data: 'test_metric{label="value"} 42', options: RW1,
    validate: (req, { scraper }) => {
      const s = v1Find(req, 'test_metric');
      assert.deepEqual(s.labels, { __name__: 'test_metric', instance: scraper.target.instance, job: 'test', label: 'value' });
      assert.deepEqual(s.labels, Object.fromEntries(Object.entries(s.labels).sort()), 'sorted by name');
      assert.equal(s.samples[0].value, 42);
    },
  },
  {
    name: 'TestRemoteWrite1Compatibility/rw1_no_native_histograms', level: 'MUST', data: H(100, '250.0', 'test_histogram_bucket{le="+Inf"} 100\n'), options: RW1,
    validate: (req) => {
      for (const ts of req.v1.timeseries) assert.equal(ts.histograms.length, 0);
      for (const n of ['test_histogram_count', 'test_histogram_sum', 'test_histogram_bucket']) assert.ok(v1Find(req, n).samples.length > 0);
    },
  },
  {
    // Read with a start_timestamp field (3) added to 1.0's Sample: never set.
    name: 'TestRemoteWrite1Compatibility/rw1_no_start_timestamp', level: 'MUST', data: '# TYPE test_counter counter\ntest_counter_total 100\n', options: RW1,
    validate: (req) => {
      const all = req.v1Probe.timeseries.flatMap((ts) => ts.samples);
      assert.ok(all.length > 0);
      for (const s of all) assert.equal(s.start_timestamp, 0);
    },
  },
  {
    // Suite: the request parses. 1.0 carries metadata per family in the request.
    name: 'TestRemoteWrite1Compatibility/rw1_metadata_handling', level: 'MAY',
    data: '# HELP test_metric Test metric description\n# TYPE test_metric counter\ntest_metric 42\n', options: RW1,
    validate: (_last, { requests }) => {
      const meta = requests.flatMap((r) => r.v1.metadata).find((m) => m.metric_family_name === 'test_metric');
      assert.ok(meta, 'metadata for test_metric');
      assert.equal(meta.type, 1); // COUNTER
      assert.equal(meta.help, 'Test metric description');
    },
  },
  {
    // Suite: the request parses. Here: read as 2.0 it has no symbol table; read as 1.0 its
    // labels are inline strings.
    name: 'TestRemoteWrite1Compatibility/rw1_symbol_table_not_used', level: 'MUST',
    data: 'http_requests{method="GET",status="200"} 100\nhttp_requests{method="POST",status="200"} 50\n', options: RW1,
    validate: (req) => {
      assert.deepEqual(req.request.symbols, []);
      assert.deepEqual(v1Series(req).filter((s) => s.labels.__name__ === 'http_requests').map((s) => s.labels.method).sort(), ['GET', 'POST']);
    },
  },
  {
    // Suite: logs the version. Here: configured for 1.0 it sends 0.1.0, for 2.0 2.0.0.
    name: 'TestRemoteWrite1Configuration', level: 'SHOULD',
    run: async () => {
      for (const [protocol, version] of [['v1', '0.1.0'], ['v2', '2.0.0']]) {
        const { requests } = await runScrapeCase(M, { writer: { protocol }, scrapes: 1 });
        assert.deepEqual(requests.map((r) => r.header(VERSION)), [version]);
      }
    },
  },
]);

// --- summary ----------------------------------------------------------------------------------

test('summary: every case of the suite ran once', (t) => {
  for (const level of ALL_LEVELS) {
    const of = results.filter((r) => r.level === level);
    const count = (o) => of.filter((r) => r.outcome === o).length;
    t.diagnostic(`${level}: ${count('pass')} of ${of.length} pass, ${count('todo')} todo, ${count('n/a')} not applicable, ${count('fail')} fail`);
  }
  assert.equal(defined, 157);
  assert.equal(results.length, defined);
  assert.equal(new Set(results.map((r) => r.name)).size, results.length);
});
