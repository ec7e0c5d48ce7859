//! Property tests: round trips in both versions, 1.0 -> 2.0 -> 1.0, byte-exact agreement with
//! prost (an independent protobuf implementation), and no panics on arbitrary input.
#![cfg(not(target_arch = "wasm32"))]

use edgewrite::codec::{Decoder, Encoder, v1, v2};
use edgewrite::proto::{v1 as pb1, v2 as pb2};
use edgewrite::*;
use proptest::prelude::*;
use prost::Message;

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(STALE_NAN),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(0.0),
        (-1e6f64..1e6).boxed(),
    ]
}

fn label_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9_:/.+-]{1,12}", "\\PC{1,8}"]
}

fn labels() -> impl Strategy<Value = Vec<Label<'static>>> {
    ("[a-z_:][a-z0-9_:]{0,12}", prop::collection::btree_map("[a-z_][a-z0-9_]{0,8}", label_value(), 0..6)).prop_map(
        |(name, rest)| {
            let mut v: Vec<Label<'static>> = rest.into_iter().map(|(n, v)| Label::new(n, v)).collect();
            v.retain(|l| l.name != "__name__");
            v.push(Label::new("__name__", name));
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        },
    )
}

fn sample(v2: bool) -> impl Strategy<Value = Sample> {
    (any_f64(), any::<i64>(), any::<i64>()).prop_map(move |(value, timestamp, st)| Sample {
        value,
        timestamp,
        start_timestamp: if v2 { st } else { 0 },
    })
}

fn exemplar() -> impl Strategy<Value = Exemplar<'static>> {
    (prop::collection::btree_map("[a-z_]{1,8}", label_value(), 0..3), any_f64(), any::<i64>()).prop_map(
        |(labels, value, timestamp)| Exemplar {
            labels: labels.into_iter().map(|(n, v)| Label::new(n, v)).collect(),
            value,
            timestamp,
        },
    )
}

fn count() -> impl Strategy<Value = Count> {
    prop_oneof![any::<u64>().prop_map(Count::Int), any_f64().prop_map(Count::Float)]
}

fn spans() -> impl Strategy<Value = Vec<BucketSpan>> {
    prop::collection::vec((any::<i32>(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length }), 0..3)
}

fn histogram(v2: bool) -> impl Strategy<Value = Histogram> {
    let a = (count(), any_f64(), any::<i32>(), any_f64(), count(), spans(), prop::collection::vec(any::<i64>(), 0..4));
    let b = (
        prop::collection::vec(any_f64(), 0..4),
        spans(),
        prop::collection::vec(any::<i64>(), 0..4),
        prop::collection::vec(any_f64(), 0..4),
        0..4u8,
        any::<i64>(),
        prop::collection::vec(any_f64(), 0..4),
        any::<i64>(),
    );
    (a, b).prop_map(move |((count, sum, schema, zt, zc, ns, nd), (nc, ps, pd, pc, hint, ts, cv, st))| Histogram {
        count,
        sum,
        schema,
        zero_threshold: zt,
        zero_count: zc,
        negative_spans: ns,
        negative_deltas: nd,
        negative_counts: nc,
        positive_spans: ps,
        positive_deltas: pd,
        positive_counts: pc,
        reset_hint: [ResetHint::Unknown, ResetHint::Yes, ResetHint::No, ResetHint::Gauge][hint as usize],
        timestamp: ts,
        custom_values: cv,
        start_timestamp: if v2 { st } else { 0 },
    })
}

fn metric_type() -> impl Strategy<Value = MetricType> {
    (0..8i32).prop_map(MetricType::from_wire)
}

fn metadata() -> impl Strategy<Value = Metadata<'static>> {
    (metric_type(), "\\PC{0,20}", "[a-z]{0,6}").prop_map(|(metric_type, help, unit)| Metadata {
        metric_type,
        help: help.into(),
        unit: unit.into(),
    })
}

fn series(v2: bool) -> impl Strategy<Value = Series<'static>> {
    (
        labels(),
        prop::collection::vec(sample(v2), 0..4),
        prop::collection::vec(histogram(v2), 0..2),
        prop::collection::vec(exemplar(), 0..2),
        metadata(),
    )
        .prop_map(move |(labels, samples, histograms, exemplars, metadata)| Series {
            labels,
            samples,
            histograms,
            exemplars,
            metadata: if v2 { metadata } else { Metadata::default() },
        })
}

fn v1_request() -> impl Strategy<Value = WriteRequest<'static>> {
    let family = ("[a-z_]{1,10}", metadata())
        .prop_map(|(name, metadata)| MetricMetadata { metric_family_name: name.into(), metadata });
    (prop::collection::vec(series(false), 0..6), prop::collection::vec(family, 0..3))
        .prop_map(|(series, metadata)| WriteRequest { series, metadata })
}

fn v2_request() -> impl Strategy<Value = WriteRequest<'static>> {
    prop::collection::vec(series(true), 0..6).prop_map(|series| WriteRequest { series, metadata: vec![] })
}

fn encode(req: &WriteRequest<'_>, version: Version) -> Vec<u8> {
    Encoder::new().encode(req, version).to_vec()
}

fn decode(body: &[u8], version: Version) -> WriteRequest<'static> {
    Decoder::new(Limits::default()).decode(body, version).unwrap().into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn v1_round_trips(req in v1_request()) {
        prop_assert_eq!(decode(&encode(&req, Version::V1), Version::V1), req);
    }

    #[test]
    fn v2_round_trips(req in v2_request()) {
        prop_assert_eq!(decode(&encode(&req, Version::V2), Version::V2), req);
    }

    /// 1.0 -> 2.0 -> 1.0 keeps every series and the metadata of every family that has series.
    #[test]
    fn v1_to_v2_to_v1_preserves_data(mut req in v1_request(), types in prop::collection::vec(1..3i32, 6)) {
        // Family metadata for series names, as Prometheus sends for counters and gauges.
        req.metadata.clear();
        for (s, t) in req.series.iter().zip(types) {
            let name = s.metric_name().unwrap().to_string();
            if req.metadata.iter().all(|m| m.metric_family_name != name) {
                let metadata = Metadata { metric_type: MetricType::from_wire(t), help: format!("{name} help").into(), unit: "".into() };
                req.metadata.push(MetricMetadata { metric_family_name: name.into(), metadata });
            }
        }
        let mut v2_req = decode(&encode(&req, Version::V1), Version::V1);
        prop_assert_eq!(convert::to_v2(&mut v2_req), 0);
        let mut back = decode(&encode(&v2_req, Version::V2), Version::V2);
        convert::to_v1(&mut back);
        prop_assert_eq!(decode(&encode(&back, Version::V1), Version::V1), req);
    }

    /// prost, an independent implementation, decodes our bytes to the same data, and its own
    /// encoding of that data is byte-identical to ours (both canonical).
    #[test]
    fn v1_agrees_with_prost_byte_for_byte(req in v1_request()) {
        let mut ours = Vec::new();
        v1::encode(&req, &mut ours);
        let expected = to_prost_v1(&req).encode_to_vec();
        let theirs = pb1::WriteRequest::decode(&ours[..]).unwrap();
        prop_assert_eq!(theirs.encode_to_vec(), expected.clone());
        if !has_negative_zero(&req) {
            // prost drops -0.0 as a default value; edgewrite keeps its bits.
            prop_assert_eq!(&ours, &expected);
            prop_assert_eq!(v1::decode(&expected, &Limits::default()).unwrap(), req);
        }
    }

    #[test]
    fn v2_agrees_with_prost(req in v2_request()) {
        let mut ours = Vec::new();
        v2::encode(&req, &mut ours, &mut Vec::new());
        let theirs = pb2::Request::decode(&ours[..]).unwrap();
        prop_assert_eq!(theirs.symbols.first().map(String::as_str), Some(""));
        let mut sorted = theirs.symbols.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), theirs.symbols.len(), "symbols are deduplicated");
        if !has_negative_zero(&req) {
            let again = theirs.encode_to_vec();
            prop_assert_eq!(&ours, &again, "prost re-encodes our bytes identically");
            prop_assert_eq!(v2::decode(&again, &Limits::default()).unwrap(), req);
        }
    }

    /// Valid requests with bytes flipped, cut or spliced reach deep into the decoders: whatever
    /// comes out is an error or a request, never a panic.
    #[test]
    fn mutated_requests_never_panic(
        req in v2_request(),
        v1 in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..8),
    ) {
        let version = if v1 { Version::V1 } else { Version::V2 };
        let mut raw = Encoder::new().encode_uncompressed(&req, version).to_vec();
        for (at, byte, kind) in edits {
            if raw.is_empty() {
                break;
            }
            let i = at.index(raw.len());
            match kind {
                0 => raw[i] ^= byte | 1,
                1 => raw.truncate(i),
                _ => raw.insert(i, byte),
            }
        }
        let limits = Limits::default();
        if let Ok(decoded) = if v1 { v1::decode(&raw, &limits) } else { v2::decode(&raw, &limits) } {
            let _ = validate::validate(&decoded, version, &limits).message(&decoded, 5);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_the_clients_fault(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        use edgewrite::error::HttpStatus;
        let mut d = Decoder::new(Limits::default());
        let statuses = [
            v1::decode(&bytes, &Limits::default()).err().map(|e| e.status()),
            v2::decode(&bytes, &Limits::default()).err().map(|e| e.status()),
            d.decode(&bytes, Version::V1).err().map(|e| e.status()),
            d.decode(&bytes, Version::V2).err().map(|e| e.status()),
        ];
        for status in statuses.into_iter().flatten() {
            prop_assert!(status == 400 || status == 413, "status {}", status);
        }
    }
}

fn has_negative_zero(req: &WriteRequest<'_>) -> bool {
    let nz = |f: f64| f.to_bits() == (-0.0f64).to_bits();
    req.series.iter().any(|s| {
        s.samples.iter().any(|x| nz(x.value))
            || s.exemplars.iter().any(|e| nz(e.value))
            || s.histograms.iter().any(|h| nz(h.sum) || nz(h.zero_threshold))
    })
}

fn s(c: &str) -> String {
    c.to_string()
}

fn to_prost_v1(req: &WriteRequest<'_>) -> pb1::WriteRequest {
    let labels = |ls: &[Label<'_>]| ls.iter().map(|l| pb1::Label { name: s(&l.name), value: s(&l.value) }).collect();
    pb1::WriteRequest {
        timeseries: req
            .series
            .iter()
            .map(|x| pb1::TimeSeries {
                labels: labels(&x.labels),
                samples: x.samples.iter().map(|y| pb1::Sample { value: y.value, timestamp: y.timestamp }).collect(),
                exemplars: x
                    .exemplars
                    .iter()
                    .map(|e| pb1::Exemplar { labels: labels(&e.labels), value: e.value, timestamp: e.timestamp })
                    .collect(),
                histograms: x.histograms.iter().map(to_prost_histogram).collect(),
            })
            .collect(),
        metadata: req
            .metadata
            .iter()
            .map(|m| pb1::MetricMetadata {
                r#type: m.metadata.metric_type.to_wire(),
                metric_family_name: s(&m.metric_family_name),
                help: s(&m.metadata.help),
                unit: s(&m.metadata.unit),
            })
            .collect(),
    }
}

fn to_prost_histogram(h: &Histogram) -> pb1::Histogram {
    use pb1::histogram::{Count as C, ZeroCount as Z};
    let spans = |v: &[BucketSpan]| v.iter().map(|s| pb1::BucketSpan { offset: s.offset, length: s.length }).collect();
    pb1::Histogram {
        count: Some(match h.count {
            Count::Int(n) => C::CountInt(n),
            Count::Float(n) => C::CountFloat(n),
        }),
        sum: h.sum,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: Some(match h.zero_count {
            Count::Int(n) => Z::ZeroCountInt(n),
            Count::Float(n) => Z::ZeroCountFloat(n),
        }),
        negative_spans: spans(&h.negative_spans),
        negative_deltas: h.negative_deltas.clone(),
        negative_counts: h.negative_counts.clone(),
        positive_spans: spans(&h.positive_spans),
        positive_deltas: h.positive_deltas.clone(),
        positive_counts: h.positive_counts.clone(),
        reset_hint: h.reset_hint as i32,
        timestamp: h.timestamp,
        custom_values: h.custom_values.clone(),
    }
}

/// The sender's own encoder (`sender::batch`, written apart from `codec::Encoder` for speed)
/// writes the same bytes as `codec::Encoder` for the same data, in both versions, so the two
/// cannot drift: what the sender sends decodes to what was pushed, and encoding that again
/// with `codec::Encoder` gives the sender's body byte for byte.
fn sender_agrees_with_the_codec(series: Vec<Series<'static>>, version: Version) -> Result<(), TestCaseError> {
    use edgewrite::sender::{Config, Sender};
    let mut s = Sender::new(Config { protocol: version, shards: 1, ..Config::default() }, 1).unwrap();
    let mut pushed: Vec<Series<'static>> = Vec::new();
    for x in series {
        if pushed.iter().any(|p| p.labels == x.labels) {
            continue; // one entry per series: the sender merges equal label sets
        }
        let pairs: Vec<(&str, &str)> = x.labels.iter().map(|l| (l.name.as_ref(), l.value.as_ref())).collect();
        let r = s.series_with_metadata(&pairs, x.metadata.clone()).unwrap();
        for sample in &x.samples {
            s.push(r, *sample, 0).unwrap();
        }
        for h in &x.histograms {
            s.push_histogram(r, h.clone(), 0).unwrap();
        }
        for e in &x.exemplars {
            let labels: Vec<(&str, &str)> = e.labels.iter().map(|l| (l.name.as_ref(), l.value.as_ref())).collect();
            s.push_exemplar(r, &labels, e.value, e.timestamp, 0).unwrap();
        }
        pushed.push(x);
    }
    s.flush();
    let Some(t) = s.poll_transmit(0) else {
        prop_assert!(pushed.iter().all(|x| x.samples.is_empty() && x.histograms.is_empty() && x.exemplars.is_empty()));
        return Ok(());
    };
    prop_assert!(s.poll_transmit(0).is_none(), "one request");
    let sent = decode(&t.body, version);
    prop_assert_eq!(encode(&sent, version), t.body.clone(), "the sender's bytes are the codec's");
    // 2.0 carries samples and histograms of one series in separate time series: join them.
    let mut got: Vec<Series<'static>> = Vec::new();
    for x in sent.series {
        match got.iter_mut().find(|g| g.labels == x.labels) {
            Some(g) => {
                g.samples.extend(x.samples);
                g.histograms.extend(x.histograms);
                g.exemplars.extend(x.exemplars);
                if g.metadata.is_empty() {
                    g.metadata = x.metadata;
                }
            }
            None => got.push(x),
        }
    }
    let with_data: Vec<&Series<'static>> = pushed
        .iter()
        .filter(|x| !(x.samples.is_empty() && x.histograms.is_empty() && x.exemplars.is_empty()))
        .collect();
    prop_assert_eq!(got.len(), with_data.len());
    for (got, want) in got.iter().zip(with_data) {
        prop_assert_eq!(&got.labels, &want.labels);
        let bits =
            |v: &[Sample]| v.iter().map(|s| (s.value.to_bits(), s.timestamp, s.start_timestamp)).collect::<Vec<_>>();
        prop_assert_eq!(bits(&got.samples), bits(&want.samples));
        prop_assert_eq!(got.histograms.len(), want.histograms.len());
        prop_assert_eq!(got.exemplars.len(), want.exemplars.len());
        if version == Version::V2 {
            prop_assert_eq!(&got.metadata, &want.metadata);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_senders_v1_bytes_are_the_codecs(series in prop::collection::vec(series(false), 0..6)) {
        sender_agrees_with_the_codec(series, Version::V1)?;
    }

    #[test]
    fn the_senders_v2_bytes_are_the_codecs(series in prop::collection::vec(series(true), 0..6)) {
        sender_agrees_with_the_codec(series, Version::V2)?;
    }
}
