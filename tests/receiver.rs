//! The receiver's decisions: statuses and messages for every kind of request, tenants and
//! label rules, partial writes with exact Written headers, stable routing to shards.

mod common;

use edgewrite::codec::{Decoder, Encoder};
use edgewrite::receiver::*;
use edgewrite::*;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

const V1: Request<'static> = Request {
    method: "POST",
    content_type: Some("application/x-protobuf"),
    content_encoding: Some("snappy"),
    authorization: None,
    origin: None,
    received_ms: 0,
    colo: None,
    country: None,
    query: None,
};

fn v2() -> Request<'static> {
    Request { content_type: Some(Version::V2.content_type()), ..V1 }
}

fn body(req: &WriteRequest<'_>, version: Version) -> Vec<u8> {
    let mut req = req.clone();
    if version == Version::V2 {
        convert::to_v2(&mut req);
    }
    Encoder::new().encode(&req, version).to_vec()
}

fn accept(o: Outcome) -> Accepted {
    match o {
        Outcome::Accept(a) => a,
        Outcome::Reply(r) => panic!("refused: {} {}", r.status, r.body),
    }
}

fn refuse(o: Outcome) -> Reply {
    match o {
        Outcome::Reply(r) => r,
        Outcome::Accept(a) => panic!("accepted: {:?}", a.reply),
    }
}

fn header<'a>(r: &'a Reply, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Every series in the batches, decoded.
fn stored(a: &Accepted) -> Vec<Series<'static>> {
    a.batches
        .iter()
        .flat_map(|b| edgewrite::codec::v2::decode(&b.body, &Limits::default()).unwrap().into_owned().series)
        .collect()
}

#[test]
fn a_valid_v1_request_is_routed_to_shards_and_answered_204() {
    let mut rx = Receiver::new(Settings::default());
    let req = synth::realistic_request(200, 1_700_000_000_000);
    let a = accept(rx.receive(&V1, &body(&req, Version::V1)));
    assert_eq!(a.reply.status, 204);
    assert_eq!(a.reply.body, "");
    assert_eq!(header(&a.reply, SAMPLES_WRITTEN), None, "no Written headers for 1.0");
    assert_eq!(a.written.samples, 200);
    assert!(a.batches.len() > 1, "spread over shards");
    let series = stored(&a);
    assert_eq!(series.len(), 200);
    assert!(series.iter().all(|s| s.label("tenant") == Some("anonymous")));
    assert!(
        series.iter().any(|s| s.metadata.metric_type == MetricType::Counter),
        "family metadata travels with the series"
    );
    // The same series goes to the same shard, request after request.
    let again = accept(rx.receive(&V1, &body(&req, Version::V1)));
    let shard_of = |a: &Accepted, name: &str| {
        a.batches
            .iter()
            .find(|b| {
                edgewrite::codec::v2::decode(&b.body, &Limits::default())
                    .unwrap()
                    .series
                    .iter()
                    .any(|s| s.label("pod") == Some(name))
            })
            .map(|b| b.shard)
    };
    let pod = req.series[17].label("pod").unwrap();
    assert_eq!(shard_of(&a, pod), shard_of(&again, pod));
}

const SAMPLES_WRITTEN: &str = "X-Prometheus-Remote-Write-Samples-Written";

#[test]
fn v2_gets_exact_written_headers_also_on_a_partial_write() {
    let mut rx = Receiver::new(Settings::default());
    let mut req = synth::realistic_request(10, 1_700_000_000_000);
    req.series[3].labels.retain(|l| l.name != "__name__");
    req.series[7].samples.push(Sample::new(1.0, 0)); // out of order
    let a = accept(rx.receive(&v2(), &body(&req, Version::V2)));
    assert_eq!(a.reply.status, 400);
    assert_eq!(header(&a.reply, SAMPLES_WRITTEN), Some("8"));
    assert_eq!(header(&a.reply, "X-Prometheus-Remote-Write-Histograms-Written"), Some("0"));
    assert_eq!(header(&a.reply, "X-Prometheus-Remote-Write-Exemplars-Written"), Some("0"));
    assert!(a.reply.body.starts_with("2 of 10 series refused"), "{}", a.reply.body);
    assert!(a.reply.body.contains("series 3 (): series has no __name__ label"), "{}", a.reply.body);
    assert_eq!((a.written.samples, a.refused.samples), (8, 3));
    assert_eq!(stored(&a).len(), 8);
}

#[test]
fn with_a_reorder_window_samples_older_than_it_are_refused_before_acknowledging() {
    let now = 1_700_000_060_000;
    let mut rx = Receiver::new(Settings { reorder_window_ms: Some(10_000), ..Settings::default() });
    let mut req = synth::realistic_request(4, now - 5_000);
    req.series[1].samples = vec![Sample::new(1.0, now - 20_000), Sample::new(2.0, now - 1_000)];
    req.series[2].samples = vec![Sample::new(1.0, now - 10_001)];
    let a = accept(rx.receive(&Request { received_ms: now, ..v2() }, &body(&req, Version::V2)));
    assert_eq!(a.reply.status, 400);
    assert_eq!(header(&a.reply, SAMPLES_WRITTEN), Some("3"));
    assert_eq!((a.written.samples, a.refused.samples), (3, 2));
    assert!(a.reply.body.contains("1 samples older than the reorder window (oldest accepted timestamp 1700000050000)"));
    assert_eq!(stored(&a).len(), 3, "the series left without samples is not stored");
    // Without a window nothing is too old.
    let mut open = Receiver::new(Settings::default());
    assert_eq!(
        accept(open.receive(&Request { received_ms: now, ..v2() }, &body(&req, Version::V2))).written.samples,
        5
    );
}

#[test]
fn a_v1_series_with_floats_and_histograms_is_stored_as_two_valid_v2_series() {
    let histogram = Histogram {
        count: model::Count::Int(1),
        sum: 0.5,
        zero_count: model::Count::Int(1),
        timestamp: 1_000,
        ..Histogram::default()
    };
    let mixed = Series {
        samples: vec![Sample::new(1.0, 1_000)],
        histograms: vec![histogram.clone()],
        ..Series::from_pairs([("__name__", "rpc_seconds"), ("job", "api")])
    };
    let plain = Series { samples: vec![Sample::new(2.0, 1_000)], ..Series::from_pairs([("__name__", "up")]) };
    let req = WriteRequest { series: vec![mixed, plain], metadata: Vec::new() };
    let a = accept(Receiver::new(Settings::default()).receive(&V1, &body(&req, Version::V1)));
    assert_eq!((a.reply.status, a.written.samples, a.written.histograms), (204, 2, 1));
    let stored = stored(&a);
    let names: Vec<(&str, usize, usize)> =
        stored.iter().map(|s| (s.metric_name().unwrap(), s.samples.len(), s.histograms.len())).collect();
    let rpc: Vec<_> = names.iter().filter(|n| n.0 == "rpc_seconds").collect();
    assert_eq!(rpc, [&("rpc_seconds", 1, 0), &("rpc_seconds", 0, 1)], "floats, then histograms, in one shard");
    assert!(names.contains(&("up", 1, 0)));
    for b in &a.batches {
        let back = edgewrite::codec::v2::decode(&b.body, &Limits::default()).unwrap();
        assert!(validate::validate(&back, Version::V2, &Limits::default()).is_valid(), "valid 2.0");
    }
}

#[test]
fn family_metadata_sent_on_its_own_travels_as_a_series_of_its_own() {
    let mut rx = Receiver::new(Settings::default());
    let req = WriteRequest {
        series: Vec::new(),
        metadata: vec![MetricMetadata {
            metric_family_name: "http_requests".into(),
            metadata: Metadata { metric_type: MetricType::Counter, help: "Requests.".into(), unit: "".into() },
        }],
    };
    let a = accept(rx.receive(&V1, &body(&req, Version::V1)));
    assert_eq!(a.reply.status, 204, "{}", a.reply.body);
    let series = stored(&a);
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].metric_name(), Some("http_requests"));
    assert_eq!(series[0].label("tenant"), Some("anonymous"));
    assert!(series[0].samples.is_empty());
    assert_eq!(series[0].metadata.metric_type, MetricType::Counter);
    assert_eq!(series[0].metadata.help, "Requests.");
}

#[test]
fn requests_that_cannot_be_written_get_their_4xx() {
    let mut rx = Receiver::new(Settings::default());
    let good = body(&synth::realistic_request(3, 1), Version::V1);
    let r = refuse(rx.receive(&Request { method: "GET", ..V1 }, &good));
    assert_eq!(r.status, 405);
    assert_eq!(header(&r, "Allow"), Some("POST, OPTIONS"));
    let r = refuse(rx.receive(&Request { content_type: Some("application/json"), ..V1 }, &good));
    assert_eq!(r.status, 415);
    assert!(r.body.contains("unsupported Content-Type"));
    let r = refuse(rx.receive(&Request { content_encoding: Some("gzip"), ..V1 }, &good));
    assert_eq!(r.status, 415);
    let r = refuse(rx.receive(&V1, b"\xff\x06\x00\x00sNaPpY"));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("snappy framed"));
    let r = refuse(rx.receive(&V1, &[0xff, 0xff, 0xff, 0xff, 0x0f]));
    assert_eq!(r.status, 413);
    let r = refuse(rx.receive(&v2(), &snap::raw::Encoder::new().compress_vec(b"\x22\x02up").unwrap()));
    assert_eq!(r.status, 400);
    assert!(r.body.contains("symbols[0]"));
}

#[test]
fn bearer_tokens_choose_the_tenant_and_nobody_else_gets_in() {
    let settings = Settings {
        auth: Auth::Tokens(vec![Token { secret: "s3cret".into(), tenant: "team-a".into() }]),
        ..Settings::default()
    };
    let mut rx = Receiver::new(settings);
    let mut req = synth::realistic_request(5, 1);
    req.series[0].labels.push(Label::new("tenant", "forged"));
    req.series[0].labels.sort();
    let b = body(&req, Version::V1);
    let r = refuse(rx.receive(&V1, &b));
    assert_eq!(r.status, 401);
    assert_eq!(header(&r, "WWW-Authenticate"), Some("Bearer"));
    let r = refuse(rx.receive(&Request { authorization: Some("Bearer wrong"), ..V1 }, &b));
    assert_eq!(r.status, 401);
    let a = accept(rx.receive(&Request { authorization: Some("Bearer s3cret"), ..V1 }, &b));
    assert_eq!(a.tenant, "team-a");
    assert!(stored(&a).iter().all(|s| s.label("tenant") == Some("team-a")), "the client's tenant label is replaced");
}

#[test]
fn label_rules_drop_refuse_and_add() {
    let settings = Settings {
        edge_labels: vec![("edge".into(), "fra".into())],
        drop_labels: vec!["pod".into()],
        refuse_labels: vec!["session".into()],
        tenant: TenantPlacement::Header,
        ..Settings::default()
    };
    let mut rx = Receiver::new(settings);
    let mut req = synth::realistic_request(4, 1);
    req.series[2].labels.push(Label::new("session", "abc"));
    req.series[2].labels.sort();
    let a = accept(rx.receive(&V1, &body(&req, Version::V1)));
    assert_eq!(a.reply.status, 400);
    assert!(a.reply.body.contains("label \"session\" is not accepted"), "{}", a.reply.body);
    let series = stored(&a);
    assert_eq!(series.len(), 3);
    assert!(
        series
            .iter()
            .all(|s| s.label("edge") == Some("fra") && s.label("pod").is_none() && s.label("tenant").is_none())
    );
}

#[test]
fn browsers_get_cors_for_allowed_origins_only() {
    let settings = Settings { allowed_origins: vec!["https://shop.example".into()], ..Settings::default() };
    let mut rx = Receiver::new(settings);
    let pre = rx.preflight(&Request { method: "OPTIONS", origin: Some("https://shop.example"), ..V1 });
    assert_eq!(pre.status, 204);
    let allowed = header(&pre, "Access-Control-Allow-Headers").unwrap();
    for h in ["Content-Encoding", "Content-Type", "X-Prometheus-Remote-Write-Version", "Authorization"] {
        assert!(allowed.contains(h), "{h}");
    }
    assert_eq!(rx.preflight(&Request { method: "OPTIONS", origin: Some("https://evil.example"), ..V1 }).status, 403);
    let a = accept(rx.receive(
        &Request { origin: Some("https://shop.example"), ..v2() },
        &body(&synth::realistic_request(2, 1), Version::V2),
    ));
    assert_eq!(header(&a.reply, "Access-Control-Allow-Origin"), Some("https://shop.example"));
    assert!(header(&a.reply, "Access-Control-Expose-Headers").unwrap().contains(SAMPLES_WRITTEN));
}

#[test]
fn every_request_prometheus_sent_is_accepted() {
    let mut rx = Receiver::new(Settings::default());
    let mut d = Decoder::new(Limits::default());
    for b in common::corpus::SAMPLES.iter().chain(common::corpus::EXEMPLARS) {
        let expected = d.decode(b, Version::V1).unwrap().counts();
        let a = accept(rx.receive(&V1, b));
        assert_eq!(a.reply.status, 204, "{}", a.reply.body);
        assert_eq!(a.written, expected);
    }
}
