//! The demo `bash .ci/start` runs until the Worker exists: encode a realistic request in both
//! versions, decode and validate it again, and show what a receiver would answer.
//!
//! `cargo run --release --example demo -- FILE.bin [v1|v2]` decodes a captured request body
//! instead and prints its series in the Prometheus text format.

use edgewrite::codec::{Decoder, Encoder};
use edgewrite::error::HttpStatus;
use edgewrite::{Limits, STALE_NAN, Sample, Version, WriteRequest, convert, synth, validate};
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(path) = args.first() {
        let version = if args.get(1).map(String::as_str) == Some("v2") { Version::V2 } else { Version::V1 };
        let body = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let mut decoder = Decoder::new(Limits::default());
        match decoder.decode(&body, version) {
            Ok(req) => print_text(&req, usize::MAX),
            Err(e) => {
                eprintln!("{} {e}", e.status());
                std::process::exit(1);
            }
        }
        return;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut req = synth::realistic_request(2000, now);
    req.series[0].samples.push(Sample::new(STALE_NAN, now + 15_000));
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new(Limits::default());

    println!("edgewrite demo: a realistic remote-write request, {} series", req.series.len());
    let v1_raw = encoder.encode_uncompressed(&req, Version::V1).len();
    let v1 = encoder.encode(&req, Version::V1).to_vec();
    println!("  v1 (prometheus.WriteRequest):      {v1_raw:>7} bytes protobuf, {:>6} bytes snappy", v1.len());
    let mut v2_req = req.clone();
    convert::to_v2(&mut v2_req);
    let v2_raw = encoder.encode_uncompressed(&v2_req, Version::V2).len();
    let v2 = encoder.encode(&v2_req, Version::V2).to_vec();
    println!("  v2 (io.prometheus.write.v2.Request): {v2_raw:>7} bytes protobuf, {:>6} bytes snappy", v2.len());
    for (version, body) in [(Version::V1, &v1), (Version::V2, &v2)] {
        println!("\nPOST /api/v1/write with");
        for (name, value) in version.request_headers() {
            println!("  {name}: {value}");
        }
        let decoded = decoder.decode(body, version).expect("round trip");
        let report = validate::validate(&decoded, version, &Limits::default());
        let c = decoded.counts();
        println!(
            "-> decoded {} series, {} samples ({} stale), valid: {}",
            decoded.series.len(),
            c.samples,
            decoded.series.iter().flat_map(|s| &s.samples).filter(|s| s.is_stale()).count(),
            report.is_valid()
        );
    }
    let decoded = decoder.decode(&v2, Version::V2).unwrap();
    println!("\nFirst series, in the text format:");
    print_text(&decoded, 3);

    println!("\nWhat a sender gets for bad input:");
    let mut bad = WriteRequest::default();
    bad.series.push(edgewrite::Series {
        samples: vec![Sample::new(1.0, now), Sample::new(2.0, now - 1000)],
        ..edgewrite::Series::from_pairs([("job", "api"), ("instance", "a:1")])
    });
    let body = encoder.encode(&bad, Version::V1).to_vec();
    let decoded = decoder.decode(&body, Version::V1).unwrap();
    let report = validate::validate(&decoded, Version::V1, &Limits::default());
    print!("  400 {}", report.message(&decoded, 10).replace('\n', "\n      "));
    let err = decoder.decode(b"\xff\x06\x00\x00sNaPpY", Version::V1).unwrap_err();
    println!("\n  {} {err}", err.status());
    let err = Version::from_content_type(Some("application/json")).unwrap_err();
    println!("  {} {err}", err.status());
}

fn print_text(req: &WriteRequest<'_>, max_series: usize) {
    for m in &req.metadata {
        println!("# TYPE {} {}", m.metric_family_name, m.metadata.metric_type.as_str());
    }
    for s in req.series.iter().take(max_series) {
        let labels: Vec<String> =
            s.labels.iter().filter(|l| l.name != "__name__").map(|l| format!("{}={:?}", l.name, l.value)).collect();
        let name = s.metric_name().unwrap_or("");
        for x in &s.samples {
            let value = if x.is_stale() { "StaleNaN".to_string() } else { x.value.to_string() };
            println!("{name}{{{}}} {value} {}", labels.join(","), x.timestamp);
        }
        for e in &s.exemplars {
            println!("{name}{{{}}} # exemplar {} {}", labels.join(","), e.value, e.timestamp);
        }
        for h in &s.histograms {
            println!(
                "{name}{{{}}} # native histogram count={:?} sum={} {}",
                labels.join(","),
                h.count,
                h.sum,
                h.timestamp
            );
        }
    }
}
