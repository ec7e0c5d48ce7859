//! Every request a real Prometheus sent decodes to the totals an independent decoder counted,
//! validates cleanly, and re-encodes byte for byte.

mod common;

use common::corpus;
use edgewrite::codec::{Decoder, Encoder, v1};
use edgewrite::{Limits, Version, convert, validate};
use std::collections::BTreeSet;
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Default, Debug, PartialEq)]
struct Totals {
    series: usize,
    samples: usize,
    stale: usize,
    exemplars: usize,
    exemplar_only: usize,
    histograms: usize,
    metadata: usize,
    names: BTreeSet<String>,
}

fn totals(bodies: &[&[u8]]) -> Totals {
    let mut t = Totals::default();
    let mut d = Decoder::new(Limits::default());
    for body in bodies {
        let req = d.decode(body, Version::V1).expect("corpus decodes");
        t.series += req.series.len();
        t.metadata += req.metadata.len();
        for s in &req.series {
            t.samples += s.samples.len();
            t.stale += s.samples.iter().filter(|x| x.is_stale()).count();
            t.exemplars += s.exemplars.len();
            t.histograms += s.histograms.len();
            t.exemplar_only += usize::from(s.samples.is_empty() && !s.exemplars.is_empty());
            t.names.insert(s.metric_name().expect("every series is named").to_string());
        }
    }
    t
}

#[test]
fn sample_corpus_totals_match_the_independent_count() {
    let t = totals(corpus::SAMPLES);
    assert_eq!((t.series, t.samples, t.stale), (9_265, 9_265, 8));
    assert_eq!((t.metadata, t.exemplars, t.histograms), (1_424, 0, 0));
    assert_eq!(t.names.len(), 246);
}

#[test]
fn exemplar_corpus_totals_match_the_independent_count() {
    let t = totals(corpus::EXEMPLARS);
    assert_eq!((t.series, t.samples, t.exemplars, t.exemplar_only), (91, 77, 14, 14));
    assert_eq!((t.metadata, t.names.len()), (4, 9));
}

#[test]
fn non_ascii_label_values_survive() {
    let mut d = Decoder::new(Limits::default());
    let found = corpus::SAMPLES.iter().any(|body| {
        let req = d.decode(body, Version::V1).unwrap();
        req.series.iter().any(|s| s.label("route") == Some("/api/ünï"))
    });
    assert!(found, "the captured counter with route=\"/api/ünï\" is in the corpus");
}

#[test]
fn every_captured_request_is_valid() {
    let mut d = Decoder::new(Limits::default());
    for (i, body) in corpus::SAMPLES.iter().chain(corpus::EXEMPLARS).enumerate() {
        let req = d.decode(body, Version::V1).unwrap();
        let report = validate::validate(&req, Version::V1, &Limits::default());
        assert!(report.is_valid(), "request {i}: {}", report.message(&req, 5));
    }
}

#[test]
fn re_encoding_reproduces_prometheus_bytes_exactly() {
    let mut d = Decoder::new(Limits::default());
    for (i, body) in corpus::SAMPLES.iter().chain(corpus::EXEMPLARS).enumerate() {
        let raw = d.decompress(body).unwrap().to_vec();
        let req = v1::decode(&raw, &Limits::default()).unwrap();
        let mut again = Vec::new();
        v1::encode(&req, &mut again);
        assert!(again == raw, "request {i}: re-encoded bytes differ from what Prometheus sent");
    }
}

#[test]
fn corpus_survives_v1_to_v2_to_v1() {
    let mut d = Decoder::new(Limits::default());
    let mut enc = Encoder::new();
    let mut metadata_only = 0;
    for body in corpus::SAMPLES.iter().chain(corpus::EXEMPLARS) {
        let original = d.decode(body, Version::V1).unwrap().into_owned();
        let mut req = original.clone();
        let lost = convert::to_v2(&mut req);
        let v2_body = enc.encode(&req, Version::V2).to_vec();
        let mut back = d.decode(&v2_body, Version::V2).unwrap().into_owned();
        convert::to_v1(&mut back);
        let v1_body = enc.encode(&back, Version::V1).to_vec();
        let back = d.decode(&v1_body, Version::V1).unwrap().into_owned();
        // Series data (labels, samples, stale markers, exemplars) is unchanged.
        assert_eq!(back.series, original.series);
        if original.series.is_empty() {
            // Prometheus sends metadata in requests of their own; 2.0 cannot carry them alone.
            assert_eq!(lost, original.metadata.len());
            metadata_only += 1;
        }
    }
    assert!(metadata_only > 0, "the corpus has metadata-only requests");
}
