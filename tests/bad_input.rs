//! Every kind of bad input gets the right error, status and a message a person can act on.
//! Nothing panics.

use edgewrite::codec::{DecodeError, Decoder, Encoder, v2};
use edgewrite::error::HttpStatus;
use edgewrite::validate::{self, Location, ValidationError};
use edgewrite::{Count, Histogram, Label, Limits, STALE_NAN, Sample, Series, Version, WriteRequest};
#[cfg(all(target_family = "wasm", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn snappy(raw: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(raw).unwrap()
}

fn decode_err(body: &[u8], version: Version) -> DecodeError {
    Decoder::new(Limits::default()).decode(body, version).map(|_| ()).unwrap_err()
}

fn series(pairs: &[(&'static str, &'static str)]) -> Series<'static> {
    Series {
        labels: pairs.iter().map(|&(n, v)| Label::new(n, v)).collect(),
        samples: vec![Sample::new(1.0, 1000)],
        ..Series::default()
    }
}

/// Validates a one-series request as `version` and returns that series' problems.
fn problems(s: Series<'static>, version: Version) -> Vec<ValidationError> {
    let req = WriteRequest { series: vec![s], metadata: vec![] };
    let report = validate::validate(&req, version, &Limits::default());
    report.problems().iter().map(|p| p.error.clone()).collect()
}

#[test]
fn truncated_snappy_is_400() {
    let body = Encoder::new().encode(&edgewrite::synth::realistic_request(50, 1), Version::V1).to_vec();
    let err = decode_err(&body[..body.len() / 2], Version::V1);
    assert!(matches!(err, DecodeError::CorruptSnappy { .. }), "{err:?}");
    assert_eq!(err.status(), 400);
    assert!(err.to_string().starts_with("body is not valid snappy block data"), "{err}");
}

#[test]
fn corrupt_snappy_is_400() {
    let mut body = Encoder::new().encode(&edgewrite::synth::realistic_request(50, 1), Version::V1).to_vec();
    for b in body.iter_mut().skip(3).step_by(7) {
        *b ^= 0x5a;
    }
    let err = decode_err(&body, Version::V1);
    // Either snappy notices, or the garbage it produced fails as protobuf; never a panic.
    assert_eq!(err.status(), 400, "{err}");
    assert!(decode_err(b"", Version::V1).to_string().contains("empty body"));
}

#[test]
fn framed_snappy_is_named_as_such() {
    let mut framed = Vec::new();
    {
        use std::io::Write;
        let mut w = snap::write::FrameEncoder::new(&mut framed);
        w.write_all(b"\x0a\x00").unwrap();
    }
    let err = decode_err(&framed, Version::V1);
    assert_eq!(err, DecodeError::FramedSnappy);
    assert_eq!(err.status(), 400);
    assert!(err.to_string().contains("requires snappy block format"), "{err}");
}

#[test]
fn a_length_header_claiming_4_gib_is_413_without_allocating() {
    let err = decode_err(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0], Version::V1);
    assert_eq!(err, DecodeError::DecodedTooLarge { declared: 4_294_967_295, limit: 32 << 20 });
    assert_eq!(err.status(), 413);
    assert!(err.to_string().contains("declares 4294967295 bytes decompressed, over the limit of 33554432"), "{err}");
}

#[test]
fn a_body_over_the_limit_is_413() {
    let limits = Limits { max_body_bytes: 10, ..Limits::default() };
    let err = Decoder::new(limits).decode(&[0u8; 11], Version::V1).map(|_| ()).unwrap_err();
    assert_eq!(err, DecodeError::BodyTooLarge { size: 11, limit: 10 });
    assert_eq!(err.status(), 413);
}

#[test]
fn garbage_protobuf_is_400_with_an_offset() {
    for (garbage, reason) in [
        (&b"\x0a\xff\xff\xff\xff\x0f"[..], "runs past the end"),
        (&b"\x0b"[..], "groups"),
        (&b"\x0f"[..], "invalid wire type"),
        (&b"\x0a\x02\x0a"[..], "runs past the end"),
        (&b"\x80"[..], "varint"),
        (&b"\x00\x01"[..], "invalid field number"),
    ] {
        for version in [Version::V1, Version::V2] {
            let err = decode_err(&snappy(garbage), version);
            assert!(matches!(err, DecodeError::Protobuf { .. }), "{garbage:?}: {err:?}");
            assert_eq!(err.status(), 400);
            assert!(err.to_string().contains(reason), "{garbage:?}: {err}");
            assert!(err.to_string().contains("at byte"), "{err}");
        }
    }
}

#[test]
fn a_known_field_with_the_wrong_wire_type_is_400() {
    // TimeSeries (field 1) sent as a varint.
    let err = decode_err(&snappy(b"\x08\x01"), Version::V1);
    assert!(err.to_string().contains("wrong wire type"), "{err}");
    assert_eq!(err.status(), 400);
}

#[test]
fn invalid_utf8_is_400_and_names_the_field() {
    // WriteRequest{timeseries: [{labels: [{name: "\xff"}]}]}
    let raw = b"\x0a\x05\x0a\x03\x0a\x01\xff";
    let err = decode_err(&snappy(raw), Version::V1);
    assert_eq!(err, DecodeError::InvalidUtf8 { what: "label name", offset: 5 });
    assert_eq!(err.status(), 400);
    assert_eq!(err.to_string(), "label name at byte 5 of the decompressed body is not valid UTF-8");
    // A v2 symbol.
    let err = decode_err(&snappy(b"\x22\x00\x22\x01\xc3"), Version::V2);
    assert!(matches!(err, DecodeError::InvalidUtf8 { what: "symbol", .. }), "{err:?}");
}

#[test]
fn unsorted_and_duplicate_labels_are_refused_per_series() {
    let unsorted = problems(series(&[("__name__", "up"), ("job", "a"), ("instance", "b")]), Version::V1);
    assert_eq!(unsorted, [ValidationError::UnsortedLabels { previous: "job".into(), name: "instance".into() }]);
    assert_eq!(unsorted[0].to_string(), "labels are not sorted by name: \"instance\" comes after \"job\"");
    let dup = problems(series(&[("__name__", "up"), ("job", "a"), ("job", "b")]), Version::V2);
    assert_eq!(dup, [ValidationError::DuplicateLabel { name: "job".into() }]);
    assert_eq!(dup[0].status(), 400);
}

#[test]
fn a_missing_metric_name_is_refused() {
    let p = problems(series(&[("job", "a")]), Version::V1);
    assert_eq!(p, [ValidationError::MissingMetricName]);
    assert_eq!(p[0].to_string(), "series has no __name__ label");
}

#[test]
fn name_rules_depend_on_the_version() {
    let s = series(&[("__name__", "http.requests"), ("ünï", "x")]);
    let v1 = problems(s.clone(), Version::V1);
    assert_eq!(v1.len(), 2, "{v1:?}");
    assert!(v1[0].to_string().contains("[a-zA-Z_:][a-zA-Z0-9_:]*"));
    assert!(problems(s, Version::V2).is_empty(), "2.0 accepts UTF-8 names");
    let empty = problems(series(&[("", "x"), ("__name__", "up")]), Version::V2);
    assert_eq!(empty, [ValidationError::EmptyLabelName]);
}

#[test]
fn limits_on_labels_are_enforced() {
    let limits = Limits { max_labels_per_series: 2, max_label_value_length: 4, ..Limits::default() };
    let req =
        WriteRequest { series: vec![series(&[("__name__", "up"), ("a", "12345"), ("b", "x")])], metadata: vec![] };
    let report = validate::validate(&req, Version::V1, &limits);
    let errors: Vec<String> = report.problems().iter().map(|p| p.error.to_string()).collect();
    assert_eq!(
        errors,
        ["series has 3 labels, over the limit of 2", "value of label \"a\" is 5 bytes, over the limit of 4"]
    );
}

#[test]
fn out_of_range_symbol_refs_are_400() {
    // symbols ["", "up"]; series labels_refs [0, 7] packed
    let raw = b"\x22\x00\x22\x02up\x2a\x04\x0a\x02\x00\x07";
    let err = decode_err(&snappy(raw), Version::V2);
    assert_eq!(err, DecodeError::SymbolRefOutOfRange { series: 0, reference: 7, symbols: 2 });
    assert_eq!(err.status(), 400);
    assert_eq!(err.to_string(), "time series 0: symbol reference 7 is out of range (the symbol table has 2 entries)");
}

#[test]
fn odd_labels_refs_are_400() {
    let raw = b"\x22\x00\x22\x02up\x2a\x05\x0a\x03\x01\x01\x01";
    let err = decode_err(&snappy(raw), Version::V2);
    assert_eq!(err, DecodeError::OddLabelsRefs { series: 0, len: 3 });
    assert!(err.to_string().contains("even number"), "{err}");
}

#[test]
fn a_first_symbol_that_is_not_empty_is_400() {
    let err = decode_err(&snappy(b"\x22\x02up"), Version::V2);
    assert_eq!(err, DecodeError::FirstSymbolNotEmpty);
}

#[test]
fn a_v2_series_with_samples_and_histograms_is_refused() {
    let mut s = series(&[("__name__", "rpc")]);
    s.histograms.push(Histogram { timestamp: 1000, ..Histogram::default() });
    let p = problems(s.clone(), Version::V2);
    assert_eq!(p, [ValidationError::SamplesAndHistograms]);
    assert!(p[0].to_string().contains("send them as separate series"));
    assert!(problems(s, Version::V1).is_empty(), "1.0 allows both");
}

#[test]
fn a_histogram_whose_count_does_not_match_its_buckets_is_refused() {
    let mut s = series(&[("__name__", "rpc_seconds")]);
    s.samples.clear();
    s.histograms.push(Histogram {
        count: Count::Int(10),
        sum: 3.0,
        positive_spans: vec![edgewrite::BucketSpan { offset: 0, length: 2 }],
        positive_deltas: vec![2, 1],
        timestamp: 5000,
        ..Histogram::default()
    });
    let p = problems(s, Version::V2);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0].to_string(),
        "invalid native histogram at timestamp 5000: count 10 does not match the 5 observations in its buckets"
    );
}

#[test]
fn out_of_order_samples_are_refused() {
    let mut s = series(&[("__name__", "up")]);
    s.samples = vec![Sample::new(1.0, 2000), Sample::new(STALE_NAN, 2000)];
    let p = problems(s, Version::V1);
    assert_eq!(p, [ValidationError::OutOfOrder { kind: "sample", previous: 2000, timestamp: 2000 }]);
}

#[test]
fn partial_write_keeps_the_valid_series_and_counts_the_rest() {
    let mut req = WriteRequest {
        series: vec![
            series(&[("__name__", "a")]),
            series(&[("job", "x")]),
            series(&[("__name__", "c")]),
            series(&[("__name__", "d"), ("z", "1"), ("a", "2")]),
        ],
        metadata: vec![],
    };
    let report = validate::validate(&req, Version::V2, &Limits::default());
    let locations: Vec<Location> = report.problems().iter().map(|p| p.location).collect();
    assert_eq!(locations, [Location::Series(1), Location::Series(3)]);
    let message = report.message(&req, 10);
    assert!(message.starts_with("2 of 4 series refused"), "{message}");
    assert!(message.contains("series 3 (d): labels are not sorted"), "{message}");
    let refused = report.retain_valid(&mut req);
    assert_eq!(refused.samples, 2);
    let names: Vec<_> = req.series.iter().map(|s| s.metric_name().unwrap()).collect();
    assert_eq!(names, ["a", "c"]);
}

/// Decodes `raw` (uncompressed) with `limits`, as both versions.
fn decode_raw_err(raw: &[u8], version: Version, limits: Limits) -> DecodeError {
    Decoder::new(limits).decode(&snappy(raw), version).map(|_| ()).unwrap_err()
}

#[test]
fn too_many_samples_refuses_the_whole_request_with_413() {
    let req = edgewrite::synth::realistic_request(20, 1);
    let limits = Limits { max_samples_per_request: 10, ..Limits::default() };
    for version in [Version::V1, Version::V2] {
        let body = Encoder::new().encode(&req, version).to_vec();
        let err = Decoder::new(limits.clone()).decode(&body, version).map(|_| ()).unwrap_err();
        assert_eq!(err, DecodeError::TooManySamples { limit: 10 });
        assert_eq!(err.status(), 413);
        assert!(err.to_string().contains("lower max_samples_per_send"), "{err}");
    }
}

#[test]
fn a_flood_of_empty_series_is_413_before_anything_is_allocated_for_it() {
    // 2 bytes per empty TimeSeries: a 1 MiB body would otherwise cost ~80 MB of Series.
    let raw: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 500_000).flatten().collect();
    let err = decode_raw_err(&raw, Version::V1, Limits::default());
    assert_eq!(err, DecodeError::TooManySeries { limit: 20_000 });
    assert_eq!(err.status(), 413);
    let raw: Vec<u8> = [0x22, 0x00].into_iter().chain(std::iter::repeat_n([0x2a, 0x00], 500_000).flatten()).collect();
    assert_eq!(decode_raw_err(&raw, Version::V2, Limits::default()), DecodeError::TooManySeries { limit: 20_000 });
}

#[test]
fn a_flood_of_labels_histograms_or_buckets_is_413() {
    let limits = Limits { max_samples_per_request: 1000, max_labels_per_request: 1000, ..Limits::default() };
    // One series with 2000 empty labels.
    let labels: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 2000).flatten().collect();
    let mut raw = vec![0x0a, 0xa0, 0x1f];
    raw.extend(&labels);
    assert_eq!(decode_raw_err(&raw, Version::V1, limits.clone()), DecodeError::TooManyLabels { limit: 1000 });
    // One series with 200 empty histograms (8 each).
    let mut raw = vec![0x0a, 0x90, 0x03];
    raw.extend(std::iter::repeat_n([0x22, 0x00], 200).flatten());
    assert_eq!(decode_raw_err(&raw, Version::V1, limits.clone()), DecodeError::TooManySamples { limit: 1000 });
    // One histogram with 5000 packed deltas.
    let deltas = vec![0x02u8; 5000];
    let mut histogram = vec![0x62, 0x88, 0x27];
    histogram.extend(&deltas);
    let mut series = vec![0x22];
    prost::encoding::encode_varint(histogram.len() as u64, &mut series);
    series.extend(&histogram);
    let mut raw = vec![0x0a];
    prost::encoding::encode_varint(series.len() as u64, &mut raw);
    raw.extend(&series);
    assert_eq!(decode_raw_err(&raw, Version::V1, limits), DecodeError::TooManySamples { limit: 1000 });
}

#[test]
fn a_snappy_header_larger_than_the_body_can_hold_is_400() {
    // Declares 1 MiB (under the limit) from 4 bytes of input.
    let err = decode_err(&[0x80, 0x80, 0x40, 0x00], Version::V1);
    assert!(matches!(err, DecodeError::CorruptSnappy { .. }), "{err:?}");
    assert!(err.to_string().contains("more than 4 bytes of input can hold"), "{err}");
}

#[test]
fn decoding_every_prefix_of_a_real_request_never_panics() {
    let req = edgewrite::synth::realistic_request(5, 1);
    let mut enc = Encoder::new();
    for version in [Version::V1, Version::V2] {
        let raw = enc.encode_uncompressed(&req, version).to_vec();
        let (mut refused, mut shorter) = (0, 0);
        for end in 0..raw.len() {
            let decoded = match version {
                Version::V1 => edgewrite::codec::v1::decode(&raw[..end], &Limits::default()),
                Version::V2 => v2::decode(&raw[..end], &Limits::default()),
            };
            match decoded {
                // A cut at a message boundary is a valid, shorter request: its series are the
                // first ones, whole (the last may have lost trailing fields).
                Ok(r) => {
                    shorter += 1;
                    assert!(r.series.len() <= req.series.len(), "{version:?} cut at {end}");
                    let whole = r.series.len().saturating_sub(1);
                    for (got, want) in r.series[..whole].iter().zip(&req.series) {
                        assert_eq!(got.labels, want.labels, "{version:?} cut at {end}");
                    }
                }
                // Anything else is the client's fault, said as such.
                Err(e) => {
                    refused += 1;
                    assert_eq!(e.status(), 400, "{version:?} cut at {end}: {e}");
                }
            }
        }
        assert!(refused > raw.len() / 2, "{version:?}: most cuts fall inside a field");
        assert!(shorter > 0, "{version:?}: some cuts fall between messages");
    }
}

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    // WriteRequest{ 9: varint, timeseries: [{ 7: fixed64, labels: [{__name__: up, 5: varint}],
    // 6: fixed32, samples: [{value: 1.0, 9: len}] }], 15: fixed32 }
    let raw = b"\x48\x01\x0a\x2e\x39\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x10\x0a\x08__name__\x12\x02up\x28\x07\x35\x01\x02\x03\x04\x12\x0c\x09\x00\x00\x00\x00\x00\x00\xf0\x3f\x4a\x01\x00\x7d\x00\x00\x00\x00";
    let req = Decoder::new(Limits::default()).decode(&snappy(raw), Version::V1).unwrap().into_owned();
    assert_eq!(req.series.len(), 1);
    assert_eq!(req.series[0].metric_name(), Some("up"));
    assert_eq!(req.series[0].samples, [Sample::new(1.0, 0)]);
}

#[test]
fn unpacked_repeated_fields_are_accepted() {
    // v2: symbols ["", "__name__", "up"]; series with labels_refs sent unpacked (1, 2 as two
    // varint fields) and a histogram with unpacked positive_deltas (2, then -1) and spans.
    let histogram = b"\x08\x03\x5a\x04\x08\x00\x10\x02\x60\x04\x60\x01";
    let mut series = b"\x08\x01\x08\x02\x1a".to_vec();
    series.push(histogram.len() as u8);
    series.extend(histogram);
    let mut raw = b"\x22\x00\x22\x08__name__\x22\x02up\x2a".to_vec();
    raw.push(series.len() as u8);
    raw.extend(&series);
    let req = Decoder::new(Limits::default()).decode(&snappy(&raw), Version::V2).unwrap().into_owned();
    assert_eq!(req.series[0].metric_name(), Some("up"));
    let h = &req.series[0].histograms[0];
    assert_eq!(h.positive_deltas, [2, -1]);
    assert_eq!(h.count, Count::Int(3));
    assert!(validate::validate(&req, Version::V2, &Limits::default()).is_valid());
}

#[test]
fn every_catalogued_bad_request_gets_its_status_and_message_from_the_receiver() {
    use edgewrite::receiver::{Outcome, Receiver, Request, Settings};
    let mut rx = Receiver::new(Settings::default());
    let catalogue = edgewrite::conformance::bad_requests();
    assert!(catalogue.len() >= 30);
    for bad in catalogue {
        let req = Request {
            method: "POST",
            content_type: Some(bad.content_type),
            content_encoding: Some(bad.content_encoding),
            ..Request::default()
        };
        let (status, message) = match rx.receive(&req, &bad.body) {
            Outcome::Reply(r) => (r.status, r.body),
            Outcome::Accept(a) => (a.reply.status, a.reply.body),
        };
        assert_eq!(status, bad.status, "{}: {message}", bad.what);
        assert!(message.contains(bad.message), "{}: {message:?} lacks {:?}", bad.what, bad.message);
    }
}
