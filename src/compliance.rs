//! The cases of the prometheus/compliance remote-write receiver suite
//! (`remotewrite/receiver/`, read at commit `67b8327`), written again as requests with the
//! answer the suite expects: one catalogue that `tests/compliance.rs` runs through
//! [`crate::receiver::Receiver`] and `tests/js/worker-http.test.mjs` sends to the Worker
//! over HTTP (`cargo run --example compliance` prints it as JSON lines).
//!
//! Stricter than the suite where it is lenient: it takes any 400 in place of a success, while
//! here a success is a 204 with exactly the Written counts (its "returns 204" variant), and a
//! refusal is exactly the status named. As the suite's requests do, label references come in
//! the order the case writes them, not sorted (a receiver sorts them, as Prometheus does).

use crate::codec::Encoder;
use crate::codec::wire::{Reader, WireType, put_message, put_varint_field};
use crate::model::{
    BucketSpan, Count, Counts, Exemplar, Histogram, Label, Metadata, MetricType, STALE_NAN, Sample, Series,
    WriteRequest,
};
use crate::{Version, convert};

/// One request of the suite.
#[derive(Clone, Debug)]
pub struct Case {
    /// The suite's test and case (and value, where it tries several).
    pub name: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Content-Encoding`.
    pub content_encoding: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// The answer the suite expects.
    pub expect: Expect,
}

/// What a case expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// 204 with exactly these Written counts (a 1.0 request: no Written headers).
    Written(Counts),
    /// Exactly this status, with at most these Written counts (the valid part of a partial
    /// write).
    Refused(u16, Counts),
}

/// The protocol of a request in the catalogue.
const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";
const V1: &str = "application/x-protobuf";

fn counts(samples: u64, exemplars: u64, histograms: u64) -> Counts {
    Counts { samples, exemplars, histograms }
}

fn ok(samples: u64, exemplars: u64, histograms: u64) -> Expect {
    Expect::Written(counts(samples, exemplars, histograms))
}

fn refused(samples: u64, exemplars: u64, histograms: u64) -> Expect {
    Expect::Refused(400, counts(samples, exemplars, histograms))
}

/// Labels in the order given (the suite's are not sorted either).
fn labels(pairs: &[(&str, &str)]) -> Vec<Label<'static>> {
    pairs.iter().map(|&(n, v)| Label::new(n.to_string(), v.to_string())).collect()
}

fn series(pairs: &[(&str, &str)]) -> Series<'static> {
    Series { labels: labels(pairs), ..Series::default() }
}

fn with_sample(mut s: Series<'static>, value: f64, ts: i64) -> Series<'static> {
    s.samples.push(Sample::new(value, ts));
    s
}

fn with_exemplar(mut s: Series<'static>, pairs: &[(&str, &str)], value: f64, ts: i64) -> Series<'static> {
    s.exemplars.push(Exemplar { labels: labels(pairs), value, timestamp: ts });
    s
}

fn with_meta(mut s: Series<'static>, metric_type: MetricType, help: &str, unit: &str) -> Series<'static> {
    s.metadata = Metadata { metric_type, help: help.to_string().into(), unit: unit.to_string().into() };
    s
}

fn with_histogram(mut s: Series<'static>, h: Histogram) -> Series<'static> {
    s.histograms.push(h);
    s
}

/// The suite's histogram with positive, negative and zero buckets (27 observations).
fn full_histogram(ts: i64) -> Histogram {
    Histogram {
        count: Count::Int(27),
        sum: 1.0,
        zero_count: Count::Int(1),
        positive_spans: vec![BucketSpan { offset: 0, length: 3 }, BucketSpan { offset: 2, length: 2 }],
        positive_deltas: vec![1, 2, 1, 3, 1],
        negative_spans: vec![BucketSpan { offset: 0, length: 2 }],
        negative_deltas: vec![1, 1],
        timestamp: ts,
        ..Histogram::default()
    }
}

/// Positive buckets only (23 observations) and a zero bucket of `zero`.
fn positive_histogram(count: u64, zero: u64, ts: i64) -> Histogram {
    Histogram {
        count: Count::Int(count),
        sum: 100.0,
        zero_count: Count::Int(zero),
        negative_spans: Vec::new(),
        negative_deltas: Vec::new(),
        ..full_histogram(ts)
    }
}

/// Custom buckets (schema -53): 30 observations over six bounds.
fn custom_histogram(ts: i64) -> Histogram {
    Histogram {
        count: Count::Int(30),
        sum: 60.0,
        schema: -53,
        custom_values: vec![0.1, 0.5, 1.0, 2.5, 5.0, 10.0],
        positive_spans: vec![BucketSpan { offset: 0, length: 6 }],
        positive_deltas: vec![2, 1, 2, 3, -1, -2],
        timestamp: ts,
        ..Histogram::default()
    }
}

/// The body of `series` as remote write `version`, snappy-compressed.
fn body(series: Vec<Series<'static>>, version: Version) -> Vec<u8> {
    let mut req = WriteRequest { series, metadata: Vec::new() };
    if version == Version::V1 {
        convert::to_v1(&mut req);
    }
    Encoder::new().encode(&req, version).to_vec()
}

/// The body of `series` with the older 2.0 layout's `created_timestamp` (TimeSeries field 6,
/// since replaced by the samples' `start_timestamp`) on each series: an unknown field now.
fn body_with_created(series: Vec<Series<'static>>, created_ms: i64) -> Vec<u8> {
    let req = WriteRequest { series, metadata: Vec::new() };
    let mut encoder = Encoder::new();
    let raw = encoder.encode_uncompressed(&req, Version::V2).to_vec();
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut r = Reader::new(&raw);
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key().expect("encoded above");
        let value = r.bytes().expect("encoded above");
        if (field, wt) == (5, WireType::Len) {
            put_message(&mut out, 5, |b| {
                b.extend_from_slice(value);
                put_varint_field(b, 6, created_ms as u64);
            });
        } else {
            out.extend_from_slice(&raw[at..r.offset()]);
        }
    }
    encoder.compress(&out).to_vec()
}

/// One 2.0 case with the suite's headers.
fn v2(name: impl Into<String>, series: Vec<Series<'static>>, expect: Expect) -> Case {
    Case { name: name.into(), content_type: V2, content_encoding: "snappy", body: body(series, Version::V2), expect }
}

/// The values the suite tries each single-metric case with.
fn values() -> [(&'static str, f64); 5] {
    [("1.0", 1.0), ("StaleNaN", STALE_NAN), ("NaN", f64::NAN), ("Inf", f64::INFINITY), ("-Inf", f64::NEG_INFINITY)]
}

/// Every case of the suite, timed around `now_ms`.
pub fn receiver_cases(now_ms: i64) -> Vec<Case> {
    let mut cases = Vec::new();
    request_cases(now_ms, &mut cases);
    metric_cases(now_ms, &mut cases);
    metadata_cases(now_ms, &mut cases);
    exemplar_cases(now_ms, &mut cases);
    histogram_cases(now_ms, &mut cases);
    combined_cases(now_ms, &mut cases);
    rw1_cases(now_ms, &mut cases);
    cases
}

/// `request_test.go`: headers and bodies a receiver cannot read.
fn request_cases(now: i64, out: &mut Vec<Case>) {
    let mut corrupt = body(vec![with_sample(series(&[("__name__", "up")]), 1.0, now)], Version::V2);
    corrupt[0] = b'0';
    for content_type in ["application/json", "image/png"] {
        out.push(Case {
            name: format!("TestBadContentTypes/{content_type}"),
            content_type,
            content_encoding: "snappy",
            body: corrupt.clone(),
            expect: Expect::Refused(415, Counts::default()),
        });
    }
    for encoding in ["gzip", "deflate"] {
        out.push(Case {
            name: format!("TestBadContentEncodings/{encoding}"),
            content_type: V2,
            content_encoding: encoding,
            body: corrupt.clone(),
            expect: Expect::Refused(415, Counts::default()),
        });
    }
    out.push(Case {
        name: "TestCorruptRequestBody".into(),
        content_type: V2,
        content_encoding: "snappy",
        body: corrupt,
        expect: refused(0, 0, 0),
    });
}

/// `metric_test.go`: single and multiple metrics, each with the five values.
fn metric_cases(now: i64, out: &mut Vec<Case>) {
    for (i, (value_name, v)) in values().into_iter().enumerate() {
        // (A millisecond apart: the same series is not written twice at one time.)
        let now = now + i as i64;
        let one = |pairs: &[(&str, &str)]| vec![with_sample(series(pairs), v, now)];
        let single = [
            ("simple metric", one(&[("__name__", "up")]), ok(1, 0, 0)),
            (
                "simple metric with multiple labels",
                one(&[("__name__", "up"), ("job", "testjob"), ("instance", "localhost:9090")]),
                ok(1, 0, 0),
            ),
            (
                "simple metric with newlines",
                one(&[("__name__", "up"), ("job", "test\njob\n"), ("instance", "localhost:9090")]),
                ok(1, 0, 0),
            ),
            (
                "simple metric with dots",
                one(&[("__name__", "resource.cpu.usage"), ("job.name", "testjob"), ("instance.name", "localhost")]),
                ok(1, 0, 0),
            ),
            (
                "simple metric with spaces",
                one(&[("__name__", "resource cpu usage"), ("job name", "testjob"), ("instance name", "localhost")]),
                ok(1, 0, 0),
            ),
            (
                "simple metric without name label",
                one(&[("job", "testjob"), ("instance", "localhost:9090")]),
                refused(0, 0, 0),
            ),
            ("empty metric", one(&[]), refused(0, 0, 0)),
        ];
        for (case, s, expect) in single {
            out.push(v2(format!("TestSingleMetric/{case}/{value_name}"), s, expect));
        }
        let four = |name: Option<&str>, unnamed: usize| -> Vec<Series<'static>> {
            (0..4)
                .map(|i| {
                    let instance = format!("localhost:909{i}");
                    let mut pairs = vec![("job", "testjob"), ("instance", instance.as_str())];
                    if let (Some(n), false) = (name, i < unnamed) {
                        pairs.insert(0, ("__name__", n));
                    }
                    with_sample(series(&pairs), v, now)
                })
                .collect()
        };
        let multiple = [
            ("multiple metrics", four(Some("up"), 0), ok(4, 0, 0)),
            ("multiple metrics, without name label", four(None, 4), refused(0, 0, 0)),
            ("multiple metrics, 1 without name label", four(Some("up"), 1), refused(3, 0, 0)),
        ];
        for (case, s, expect) in multiple {
            out.push(v2(format!("TestMultipleMetrics/{case}/{value_name}"), s, expect));
        }
    }
    let counter = with_sample(series(&[("__name__", "http_requests_total"), ("job", "api")]), 100.0, now);
    out.push(Case {
        name: "TestCounterWithCreatedTimestamp".into(),
        content_type: V2,
        content_encoding: "snappy",
        body: body_with_created(vec![counter], now - 3_600_000),
        expect: ok(1, 0, 0),
    });
}

/// `metadata_test.go`: metadata of every type on a sample (a histogram for histograms).
fn metadata_cases(now: i64, out: &mut Vec<Case>) {
    let sample = |name: &str| with_sample(series(&[("__name__", name), ("job", "test")]), 42.0, now);
    let typed = [
        ("counter_metadata", MetricType::Counter, "Total number of requests", ""),
        ("gauge_metadata", MetricType::Gauge, "Current memory usage", "bytes"),
        ("metadata_no_help_no_unit", MetricType::Counter, "", ""),
        ("metadata_with_special_chars", MetricType::Gauge, "Metric with\nnewlines and \"quotes\"", "bytes/sec"),
        ("unspecified_metadata_type", MetricType::Unknown, "Unspecified type", ""),
        ("info_metadata_type", MetricType::Info, "Build information", ""),
        ("stateset_metadata_type", MetricType::StateSet, "Feature states", ""),
        ("summary_metadata_type", MetricType::Summary, "Request latency summary", "seconds"),
        ("gauge_histogram_metadata_type", MetricType::GaugeHistogram, "Queue length distribution", ""),
    ];
    for (case, t, help, unit) in typed {
        out.push(v2(
            format!("TestMetadata/{case}"),
            vec![with_meta(sample("test_metric"), t, help, unit)],
            ok(1, 0, 0),
        ));
    }
    let histogram = with_histogram(series(&[("__name__", "request_duration"), ("job", "test")]), full_histogram(now));
    out.push(v2(
        "TestMetadata/histogram_metadata",
        vec![with_meta(histogram, MetricType::Histogram, "Request duration", "seconds")],
        ok(0, 0, 1),
    ));
    let counter = with_sample(series(&[("__name__", "http_requests_total"), ("job", "api")]), 100.0, now);
    out.push(Case {
        name: "TestCounterMetadataWithCreatedTimestamp".into(),
        content_type: V2,
        content_encoding: "snappy",
        body: body_with_created(
            vec![with_meta(counter, MetricType::Counter, "Total HTTP requests", "")],
            now - 3_600_000,
        ),
        expect: ok(1, 0, 0),
    });
    out.push(v2(
        "TestMetadataWithSamples",
        vec![with_meta(sample("http_requests_total"), MetricType::Counter, "Total requests", "")],
        ok(1, 0, 0),
    ));
    let gauges = [("cpu_usage", "percent"), ("memory_usage", "bytes")]
        .into_iter()
        .map(|(n, unit)| with_meta(sample(n), MetricType::Gauge, "Resource usage", unit))
        .chain([with_meta(
            with_sample(series(&[("__name__", "disk_usage"), ("device", "sda1")]), 70.0, now),
            MetricType::Gauge,
            "Disk usage",
            "bytes",
        )])
        .collect();
    out.push(v2("TestMultipleMetadata", gauges, ok(3, 0, 0)));
    let complex = series(&[
        ("__name__", "http_request_duration_seconds"),
        ("method", "POST"),
        ("handler", "/api/v1/write"),
        ("status", "200"),
        ("instance", "localhost:9090"),
        ("job", "prometheus"),
    ]);
    out.push(v2(
        "TestMetadataWithComplexLabels",
        vec![with_meta(
            with_histogram(complex, full_histogram(now)),
            MetricType::Histogram,
            "Request duration",
            "seconds",
        )],
        ok(0, 0, 1),
    ));
    let validation = [
        ("metadata_without_name_label", with_sample(series(&[("job", "test")]), 1.0, now), refused(0, 0, 0)),
        ("metadata_with_empty_name", with_sample(series(&[("__name__", "")]), 1.0, now), refused(0, 0, 0)),
        ("metadata_with_valid_name", sample("valid_metric"), ok(1, 0, 0)),
    ];
    for (case, s, expect) in validation {
        out.push(v2(
            format!("TestMetadataValidation/{case}"),
            vec![with_meta(s, MetricType::Gauge, "Help", "")],
            expect,
        ));
    }
}

/// `exemplar_test.go`: exemplars on samples.
fn exemplar_cases(now: i64, out: &mut Vec<Case>) {
    let counter = |name: &str| with_sample(series(&[("__name__", name), ("job", "test")]), 10.0, now);
    let shapes: [(&str, &[(&str, &str)]); 7] = [
        ("basic_exemplar", &[("trace_id", "abc123")]),
        ("exemplar_with_span_id", &[("trace_id", "abc123"), ("span_id", "def456")]),
        ("exemplar_without_trace_id", &[("user_id", "user123")]),
        ("exemplar_with_multiple_labels", &[("trace_id", "abc123"), ("span_id", "def456"), ("service", "api")]),
        ("exemplar_no_labels", &[]),
        ("exemplar_with_special_chars", &[("trace_id", "abc-123_def.456"), ("path", "/api/v1/query?x=1&y=2")]),
        ("exemplar_with_unicode", &[("trace_id", "unicode_trace_测试")]),
    ];
    for (case, exemplar) in shapes {
        let mut s = with_exemplar(counter("http_requests_total"), exemplar, 10.0, now);
        if case == "exemplar_with_unicode" {
            s.labels.push(Label::new("region", "🌍"));
        }
        out.push(v2(format!("TestExemplars/{case}"), vec![s], ok(1, 1, 0)));
    }
    let ids = [("trace_id", "abc123"), ("span_id", "def456")];
    let created = with_exemplar(counter("http_requests_total"), &ids, 10.0, now);
    out.push(Case {
        name: "TestExemplarWithCreatedTimestamp".into(),
        content_type: V2,
        content_encoding: "snappy",
        body: body_with_created(vec![created], now - 7_200_000),
        expect: ok(1, 1, 0),
    });
    let three = ["requests_a_total", "requests_b_total", "requests_c_total"]
        .map(|n| with_exemplar(counter(n), &[("trace_id", n)], 10.0, now))
        .to_vec();
    out.push(v2("TestMultipleExemplars", three, ok(3, 3, 0)));
    // The same series in three entries, an hour, a minute and no time ago.
    let times = [now - 3_600_000, now - 60_000, now]
        .map(|t| {
            with_exemplar(with_sample(series(&[("__name__", "latency_hist")]), 0.5, t), &[("trace_id", "t")], 0.5, t)
        })
        .to_vec();
    out.push(v2("TestExemplarTimestamps", times, ok(3, 3, 0)));
    let validation = [
        ("exemplar_without_name_label", series(&[("job", "test")]), refused(0, 0, 0)),
        ("exemplar_with_empty_name", series(&[("__name__", "")]), refused(0, 0, 0)),
        ("exemplar_with_valid_name", series(&[("__name__", "valid_metric")]), ok(1, 1, 0)),
    ];
    for (case, s, expect) in validation {
        let s = with_exemplar(with_sample(s, 1.0, now), &[("trace_id", "abc")], 1.0, now);
        out.push(v2(format!("TestExemplarValidation/{case}"), vec![s], expect));
    }
    let special = [
        ("zero_value", 0.0),
        ("negative_value", -123.456),
        ("large_value", 1e10),
        ("small_value", 1e-10),
        ("nan_value", f64::NAN),
        ("inf_value", f64::INFINITY),
        ("-inf_value", f64::NEG_INFINITY),
    ];
    for (case, v) in special {
        let s = with_sample(series(&[("__name__", "test_metric")]), v, now);
        out.push(v2(format!("TestExemplarSpecialValues/{case}"), vec![with_exemplar(s, &ids, v, now)], ok(1, 1, 0)));
    }
}

/// `histograms_test.go`: native histograms (and custom buckets), with metadata and exemplars.
fn histogram_cases(now: i64, out: &mut Vec<Case>) {
    let hist = |name: &str, h: Histogram| with_histogram(series(&[("__name__", name), ("job", "test")]), h);
    let negative = Histogram {
        count: Count::Int(3),
        sum: -5.0,
        negative_spans: vec![BucketSpan { offset: 0, length: 2 }],
        negative_deltas: vec![1, 1],
        timestamp: now,
        ..Histogram::default()
    };
    let minimal = Histogram { count: Count::Int(1), zero_count: Count::Int(1), timestamp: now, ..Histogram::default() };
    let shapes = [
        ("basic_histogram", full_histogram(now), ok(0, 0, 1)),
        ("custom_buckets_histogram", custom_histogram(now), ok(0, 0, 1)),
        ("positive_only_histogram", positive_histogram(24, 1, now), ok(0, 0, 1)),
        ("negative_only_histogram", negative, ok(0, 0, 1)),
        ("minimal_histogram", minimal, ok(0, 0, 1)),
        ("bad_count_histogram", positive_histogram(99, 0, now), refused(0, 0, 0)),
    ];
    for (case, h, expect) in shapes {
        out.push(v2(format!("TestHistograms/{case}"), vec![hist("test_histogram", h)], expect));
    }
    out.push(Case {
        name: "TestHistogramWithCreatedTimestamp".into(),
        content_type: V2,
        content_encoding: "snappy",
        body: body_with_created(vec![hist("request_duration", full_histogram(now))], now - 1_800_000),
        expect: ok(0, 0, 1),
    });
    let two = ["latency_a", "latency_b"].map(|n| hist(n, full_histogram(now))).to_vec();
    out.push(v2("TestMultipleHistograms", two, ok(0, 0, 2)));
    let empty = Histogram { timestamp: now, ..Histogram::default() };
    out.push(v2("TestEmptyHistogram", vec![hist("empty_histogram", empty)], ok(0, 0, 1)));
    let meta = |s| with_meta(s, MetricType::Histogram, "Request duration", "seconds");
    let ids = [("trace_id", "abc123"), ("span_id", "def456")];
    let exemplar = |s| with_exemplar(s, &ids, 0.5, now);
    out.push(v2("TestHistogramWithMetadata", vec![meta(hist("request_duration", full_histogram(now)))], ok(0, 0, 1)));
    out.push(v2(
        "TestHistogramWithExemplar",
        vec![exemplar(hist("request_duration", full_histogram(now)))],
        ok(0, 1, 1),
    ));
    out.push(v2(
        "TestHistogramWithMetadataAndExemplar",
        vec![exemplar(meta(hist("request_duration", full_histogram(now))))],
        ok(0, 1, 1),
    ));
    let two = ["latency_a", "latency_b"].map(|n| meta(hist(n, full_histogram(now)))).to_vec();
    out.push(v2("TestMultipleHistogramsWithMetadata", two, ok(0, 0, 2)));
    out.push(v2(
        "TestCustomBucketsHistogramWithExemplar",
        vec![exemplar(hist("custom_histogram", custom_histogram(now)))],
        ok(0, 1, 1),
    ));
}

/// `combined_test.go`: metadata, exemplars and data together, edge cases and many series.
fn combined_cases(now: i64, out: &mut Vec<Case>) {
    let ids = [("trace_id", "abc123"), ("span_id", "def456")];
    let counter = |name: &str| {
        with_meta(
            with_sample(series(&[("__name__", name), ("job", "test")]), 10.0, now),
            MetricType::Counter,
            "A counter",
            "",
        )
    };
    let gauge = |name: &str| {
        with_meta(
            with_sample(series(&[("__name__", name), ("job", "test")]), 3.0, now),
            MetricType::Gauge,
            "A gauge",
            "",
        )
    };
    let hist = |name: &str| {
        with_meta(
            with_histogram(series(&[("__name__", name), ("job", "test")]), full_histogram(now)),
            MetricType::Histogram,
            "A histogram",
            "seconds",
        )
    };
    let exemplar = |s| with_exemplar(s, &ids, 0.5, now);
    out.push(v2("TestSamplesWithMetadataAndExemplars", vec![exemplar(counter("requests_total"))], ok(1, 1, 0)));
    out.push(v2("TestHistogramsWithMetadataAndExemplars", vec![exemplar(hist("latency"))], ok(0, 1, 1)));
    out.push(v2("TestComplexSamplesRequest", vec![exemplar(gauge("temperature")), gauge("humidity")], ok(2, 1, 0)));
    out.push(v2("TestComplexHistogramsRequest", vec![exemplar(hist("latency_a")), hist("latency_b")], ok(0, 1, 2)));
    out.push(v2(
        "TestMultipleMetricFamiliesSamples",
        vec![exemplar(counter("requests_total")), gauge("in_flight")],
        ok(2, 1, 0),
    ));
    out.push(v2("TestMultipleMetricFamiliesHistograms", vec![exemplar(hist("latency"))], ok(0, 1, 1)));
    let orphan = with_meta(series(&[("__name__", "orphan_metric")]), MetricType::Counter, "Metadata alone", "");
    out.push(v2("TestEdgeCaseCombinations/metadata_without_data", vec![orphan], ok(0, 0, 0)));
    let lonely = with_exemplar(series(&[("__name__", "exemplar_only")]), &ids, 1.0, now);
    out.push(v2("TestEdgeCaseCombinations/exemplars_without_data", vec![lonely], ok(0, 1, 0)));
    let old = with_exemplar(
        with_sample(series(&[("__name__", "old_metric")]), 1.0, now - 3_600_000),
        &ids,
        1.0,
        now - 1_800_000,
    );
    let new = with_sample(series(&[("__name__", "new_metric")]), 2.0, now);
    out.push(v2("TestEdgeCaseCombinations/mixed_timestamp_data", vec![old, new], ok(2, 1, 0)));
    let many: Vec<_> = (0..50).map(|i| exemplar(counter(&format!("many_samples_{i}_total")))).collect();
    out.push(v2("TestManySamples", many, ok(50, 50, 0)));
    let many: Vec<_> = (0..50)
        .map(|i| {
            let mut s = exemplar(hist(&format!("many_histograms_{i}")));
            if i % 2 == 1 {
                s.histograms[0] = positive_histogram(24, 1, now);
            }
            s
        })
        .collect();
    out.push(v2("TestManyHistograms", many, ok(0, 50, 50)));
    let special = with_exemplar(
        with_meta(
            with_sample(
                series(&[
                    ("__name__", "special_metric"),
                    ("job", "test-job_with.special@chars"),
                    ("environment", "test🚀"),
                ]),
                1.0,
                now,
            ),
            MetricType::Gauge,
            "Help with äöü,\nnewlines and \"quotes\"",
            "special/units",
        ),
        &[("trace.id", "äbc"), ("span_id", "dëf")],
        1.0,
        now,
    );
    out.push(v2("TestSpecialCharactersCombined", vec![special], ok(1, 1, 0)));
}

/// `rw1_compat_test.go`: a 1.0 request (no Written headers) and a corrupt one.
fn rw1_cases(now: i64, out: &mut Vec<Case>) {
    let two = vec![
        with_sample(series(&[("__name__", "test_metric"), ("job", "test"), ("instance", "localhost")]), 1.0, now),
        with_sample(series(&[("__name__", "test_metric_2"), ("job", "test"), ("instance", "localhost")]), 2.0, now),
    ];
    let good = body(two, Version::V1);
    let mut corrupt = good.clone();
    corrupt[0] = 0xFF;
    out.push(Case {
        name: "TestRW1BasicCompatibility".into(),
        content_type: V1,
        content_encoding: "snappy",
        body: good,
        expect: ok(0, 0, 0),
    });
    out.push(Case {
        name: "TestRW1ErrorHandling".into(),
        content_type: V1,
        content_encoding: "snappy",
        body: corrupt,
        expect: refused(0, 0, 0),
    });
}
