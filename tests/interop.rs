//! Interoperability with an implementation that is not ours: protobufjs + snappyjs, driven
//! through tests/interop/peer.mjs (needs Node and `npm ci`, which `bash .ci/setup` runs).
//!
//! - edgewrite encodes; the peer decodes (its view must equal ours, stale markers bit-exact)
//!   and re-encodes, byte for byte what edgewrite wrote (both encoders are canonical).
//! - The peer encodes cases of its own; edgewrite decodes them to what the peer says is there.
#![cfg(not(target_arch = "wasm32"))]

use edgewrite::codec::{Decoder, Encoder};
use edgewrite::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn peer(args: &[&str]) {
    assert!(
        root().join("node_modules/protobufjs").exists(),
        "the interop peer needs its npm packages: run `npm ci` (or `bash .ci/setup`) first"
    );
    let out = Command::new("node").arg(root().join("tests/interop/peer.mjs")).args(args).output().expect("node runs");
    assert!(out.status.success(), "peer {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgewrite-interop-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn bits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn count(c: Count) -> String {
    match c {
        Count::Int(n) => format!("i:{n}"),
        Count::Float(f) => format!("f:{}", bits(f)),
    }
}

fn pairs(labels: &[Label<'_>]) -> Value {
    labels.iter().map(|l| json!([l.name, l.value])).collect()
}

fn spans(s: &[BucketSpan]) -> Value {
    s.iter().map(|s| json!([s.offset, s.length])).collect()
}

/// The same shape as peer.mjs's dump.
fn dump(req: &WriteRequest<'_>) -> Value {
    let histogram = |h: &Histogram| {
        json!({
            "count": count(h.count), "sum": bits(h.sum), "schema": h.schema,
            "zero_threshold": bits(h.zero_threshold), "zero_count": count(h.zero_count),
            "negative_spans": spans(&h.negative_spans),
            "negative_deltas": h.negative_deltas.iter().map(i64::to_string).collect::<Vec<_>>(),
            "negative_counts": h.negative_counts.iter().map(|&f| bits(f)).collect::<Vec<_>>(),
            "positive_spans": spans(&h.positive_spans),
            "positive_deltas": h.positive_deltas.iter().map(i64::to_string).collect::<Vec<_>>(),
            "positive_counts": h.positive_counts.iter().map(|&f| bits(f)).collect::<Vec<_>>(),
            "reset_hint": h.reset_hint as i32, "timestamp": h.timestamp.to_string(),
            "custom_values": h.custom_values.iter().map(|&f| bits(f)).collect::<Vec<_>>(),
            "start_timestamp": h.start_timestamp.to_string(),
        })
    };
    json!({
        "series": req.series.iter().map(|s| json!({
            "labels": pairs(&s.labels),
            "samples": s.samples.iter().map(|x| json!([bits(x.value), x.timestamp.to_string(), x.start_timestamp.to_string()])).collect::<Vec<_>>(),
            "histograms": s.histograms.iter().map(histogram).collect::<Vec<_>>(),
            "exemplars": s.exemplars.iter().map(|e| json!({"labels": pairs(&e.labels), "value": bits(e.value), "timestamp": e.timestamp.to_string()})).collect::<Vec<_>>(),
            "metadata": [s.metadata.metric_type.to_wire(), s.metadata.help, s.metadata.unit],
        })).collect::<Vec<_>>(),
        "metadata": req.metadata.iter().map(|m| json!([m.metadata.metric_type.to_wire(), m.metric_family_name, m.metadata.help, m.metadata.unit])).collect::<Vec<_>>(),
    })
}

/// A request with everything: histograms of each kind, exemplars, stale markers (sample and
/// histogram), NaN payloads, -0.0, infinities, non-ASCII labels, extreme integers.
fn rich_request(v2: bool) -> WriteRequest<'static> {
    let st = if v2 { 1_763_990_000_000 } else { 0 };
    let mut orders = Series::from_pairs([("__name__", "shop_orders_total"), ("route", "/api/ünï"), ("zone", "東京")]);
    orders.samples = vec![
        Sample { value: 42.0, timestamp: 1_764_000_000_000, start_timestamp: st },
        Sample::new(STALE_NAN, 1_764_000_015_000),
        Sample::new(f64::from_bits(0x7ff8_0000_0000_0001), 1_764_000_030_000),
        Sample::new(-0.0, i64::MAX),
        Sample::new(f64::NEG_INFINITY, i64::MIN),
    ];
    orders.exemplars =
        vec![Exemplar { labels: vec![Label::new("trace_id", "4bf92f3577b34da6")], value: 0.25, timestamp: 1 }];
    let int_h = Histogram {
        count: Count::Int(9),
        sum: 21.5,
        schema: 1,
        zero_threshold: 0.001,
        zero_count: Count::Int(1),
        negative_spans: vec![BucketSpan { offset: -2, length: 1 }],
        negative_deltas: vec![2],
        positive_spans: vec![BucketSpan { offset: 0, length: 2 }, BucketSpan { offset: 3, length: 1 }],
        positive_deltas: vec![1, 2, -1],
        reset_hint: ResetHint::No,
        timestamp: 1_764_000_000_000,
        start_timestamp: st,
        ..Histogram::default()
    };
    let float_h = Histogram {
        count: Count::Float(6.5),
        sum: STALE_NAN,
        schema: -53,
        zero_count: Count::Float(0.0),
        positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
        positive_counts: vec![1.5, 2.0, 3.0],
        custom_values: vec![0.1, 0.5, 2.5],
        reset_hint: ResetHint::Gauge,
        timestamp: 1_764_000_015_000,
        ..Histogram::default()
    };
    let mut rpc = Series::from_pairs([("__name__", "rpc_seconds")]);
    rpc.histograms = vec![int_h, float_h];
    let mut exemplar_only = Series::from_pairs([("__name__", "rpc_seconds"), ("le", "0.25")]);
    exemplar_only.exemplars = vec![Exemplar { labels: vec![], value: 3.0, timestamp: 1_764_000_000_001 }];
    let mut req = WriteRequest {
        series: vec![orders, rpc, exemplar_only],
        metadata: vec![
            MetricMetadata {
                metric_family_name: "shop_orders".into(),
                metadata: Metadata { metric_type: MetricType::Counter, help: "Orders placed.".into(), unit: "".into() },
            },
            MetricMetadata {
                metric_family_name: "rpc_seconds".into(),
                metadata: Metadata { metric_type: MetricType::Histogram, help: "".into(), unit: "seconds".into() },
            },
        ],
    };
    if v2 {
        convert::to_v2(&mut req);
    }
    req
}

fn realistic(v2: bool) -> WriteRequest<'static> {
    let mut req = synth::realistic_request(300, 1_764_000_000_000);
    if v2 {
        convert::to_v2(&mut req);
    }
    req
}

#[test]
fn the_peer_reads_what_edgewrite_writes_and_writes_it_back_byte_for_byte() {
    let dir = temp_dir("reencode");
    let mut enc = Encoder::new();
    let mut dec = Decoder::new(Limits::default());
    for (name, version, req) in [
        ("rich-v1", Version::V1, rich_request(false)),
        ("rich-v2", Version::V2, rich_request(true)),
        ("realistic-v1", Version::V1, realistic(false)),
        ("realistic-v2", Version::V2, realistic(true)),
    ] {
        let raw = enc.encode_uncompressed(&req, version).to_vec();
        let (input, output, dump_path) =
            (dir.join(format!("{name}.bin")), dir.join(format!("{name}.out")), dir.join(format!("{name}.json")));
        std::fs::write(&input, enc.encode(&req, version)).unwrap();
        let v = if version == Version::V1 { "v1" } else { "v2" };
        peer(&["reencode", v, input.to_str().unwrap(), output.to_str().unwrap(), dump_path.to_str().unwrap()]);
        let theirs: Value = serde_json::from_slice(&std::fs::read(&dump_path).unwrap()).unwrap();
        assert_eq!(theirs, dump(&req), "{name}: the peer decoded something else");
        let back = dec.decompress(&std::fs::read(&output).unwrap()).unwrap().to_vec();
        assert!(back == raw, "{name}: the peer's re-encoding differs from edgewrite's bytes");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn edgewrite_reads_what_the_peer_writes() {
    let dir = temp_dir("generate");
    peer(&["generate", dir.to_str().unwrap()]);
    let mut dec = Decoder::new(Limits::default());
    for (file, version) in [("mixed.v1", Version::V1), ("mixed.v2", Version::V2)] {
        let body = std::fs::read(dir.join(format!("{file}.bin"))).unwrap();
        let expected: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{file}.json"))).unwrap()).unwrap();
        let req = dec.decode(&body, version).unwrap();
        assert_eq!(dump(&req), expected, "{file}");
        assert!(req.series[0].samples[1].is_stale(), "{file}: the stale marker arrived bit-exact");
        assert!(req.series[1].histograms[1].is_stale(), "{file}: the histogram stale marker arrived bit-exact");
        assert_eq!(req.series[0].label("route"), Some("/api/ünï"));
        let report = validate::validate(&req, version, &Limits::default());
        assert!(report.is_valid(), "{file}: {}", report.message(&req, 10));
    }
    std::fs::remove_dir_all(&dir).ok();
}
