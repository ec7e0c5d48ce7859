//! The properties edgewrite's fuzz targets check (issue 12), one function per target, so
//! that the libFuzzer targets (`fuzz_targets/`, nightly) and the regression tests over the
//! seeds and every crash found (`tests/`, stable) run the same code. Each panics when a
//! property fails: not only "no panic" inside edgewrite, but round trips exact, refusals 4xx,
//! allocation within the configured limits, and what the edge emits always valid.

pub mod alloc;
pub mod input;

use edgewrite::codec::{Decoder, Encoder, decode_owned};
use edgewrite::error::HttpStatus;
use edgewrite::model::WriteRequest;
use edgewrite::query::{api, eval};
use edgewrite::receiver::rum::RumOutcome;
use edgewrite::receiver::{Outcome, Receiver, Reply};
use edgewrite::rum::{Aggregator, Config, Recorder, RumSettings};
use edgewrite::store::chunk;
use edgewrite::{Limits, Version, validate};

/// Limits tighter than the defaults, so that a fuzz input can reach them: what a target may
/// allocate follows from these.
pub fn limits() -> Limits {
    Limits {
        max_body_bytes: 1 << 20,
        max_decoded_bytes: 1 << 20,
        max_series_per_request: 1_000,
        max_samples_per_request: 10_000,
        max_labels_per_request: 20_000,
        ..Limits::default()
    }
}

/// Most bytes a decode of a body within [`limits`] may hold at its peak: the decompressed
/// body (1 MiB), and the model it decodes into, bounded by the counts.
const MAX_DECODE_PEAK: usize = 48 << 20;

/// Decodes `body` as remote write `version`: a body the decoder takes is encoded again and
/// reads back equal (what it decoded is what a sender meant); a refusal is a 4xx; the peak
/// of memory stays within what the limits allow, whatever the snappy header or the counts
/// claim.
pub fn decode(body: &[u8], version: Version) {
    let limits = limits();
    let (decoded, peak) = alloc::peak_during(|| decode_owned(body, version, &limits));
    assert!(peak <= MAX_DECODE_PEAK, "decoding {} bytes took {peak} bytes at its peak", body.len());
    match decoded {
        Ok(request) => roundtrip(&request, version),
        Err(e) => assert_4xx(e.status(), &e.to_string()),
    }
}

/// `request` encoded as `version` and decoded again is `request`.
pub fn roundtrip(request: &WriteRequest<'_>, version: Version) {
    let mut encoder = Encoder::new();
    let bytes = encoder.encode(request, version).to_vec();
    let again = decode_owned(&bytes, version, &Limits::unlimited()).expect("what the encoder wrote decodes");
    if &again != request {
        let at = again.series.iter().zip(&request.series).position(|(a, b)| a != b);
        let (a, b) = at.map_or((None, None), |i| (again.series.get(i), request.series.get(i)));
        panic!("a {version:?} round trip changed the request: series {at:?}\n{b:?}\nread back as\n{a:?}");
    }
}

fn assert_4xx(status: u16, message: &str) {
    assert!((400..500).contains(&status), "a refusal with {status}: {message}");
    assert!(!message.trim().is_empty(), "a {status} without a message");
}

/// Validates a decoded body: every problem has a 4xx status; the series it keeps
/// (`retain_valid`) are valid, and counted as the report says.
pub fn validate(body: &[u8], version: Version) {
    let limits = limits();
    let mut decoder = Decoder::new(limits.clone());
    let Ok(mut request) = decoder.decode(body, version) else { return };
    let report = validate::validate(&request, version, &limits);
    if !report.is_valid() {
        assert!(!report.message(&request, 20).trim().is_empty(), "a refusal says why");
    }
    report.retain_valid(&mut request);
    let again = validate::validate(&request, version, &limits);
    assert!(again.is_valid(), "after retain_valid: {}", again.message(&request, 20));
}

/// A whole write request through the receiver, headers included: never a 5xx (senders retry
/// those for ever), a message with every refusal, and what it accepts valid and counted.
pub fn receive(input: &input::Http) {
    let body = input.body();
    let parts = input.parts();
    let request = parts.request();
    let mut receiver = Receiver::new(input.settings());
    match receiver.receive(&request, &body) {
        Outcome::Reply(reply) => assert_reply(&reply),
        Outcome::Accept(accepted) => {
            assert_reply(&accepted.reply);
            let stored: u64 = accepted.batches.iter().map(|b| b.counts.samples).sum();
            assert_eq!(stored, accepted.written.samples, "the batches hold what is written");
            for batch in &accepted.batches {
                // (A batch is raw protobuf: the shard decodes it, snappy would only cost.)
                let back = edgewrite::codec::v2::decode(&batch.body, &Limits::unlimited()).expect("a batch decodes");
                let report = validate::validate(&back, Version::V2, &Limits::default());
                assert!(report.is_valid(), "a stored batch is invalid: {}", report.message(&back, 5));
            }
        }
    }
}

fn assert_reply(reply: &Reply) {
    match reply.status {
        200..=299 => {}
        400..=499 => assert_4xx(reply.status, &reply.body),
        s => panic!("the receiver answered {s}: {}", reply.body),
    }
}

/// A page's push through the RUM endpoint: never a 5xx; what it accepts, aggregated and
/// flushed, is valid remote write that the shards take whole, its timestamps increasing.
pub fn rum(input: &input::RumPush) {
    let settings = RumSettings { schema: input.schema(), ..RumSettings::default() };
    let body = input.body();
    let parts = input.parts();
    let request = parts.request();
    let mut receiver = Receiver::new(edgewrite::receiver::Settings {
        allowed_origins: vec!["https://shop.example".into()],
        ..Default::default()
    });
    let accepted = match receiver.receive_rum(&settings, &request, &body) {
        RumOutcome::Reply(reply) => return assert_reply(&reply),
        RumOutcome::Accept(a) => a,
    };
    assert_reply(&accepted.reply);
    let mut aggregator =
        Aggregator::new(settings.schema.clone(), Config { max_values: 3, max_series: 5, ..Config::default() });
    for (_, deltas) in accepted.pushes {
        aggregator.apply(deltas.clone(), 10_000);
        aggregator.apply(deltas, 20_000);
    }
    for now in [30_000, 30_000, 4_000_000] {
        let mut flush = aggregator.flush(now).request;
        let report = validate::validate(&flush, Version::V2, &Limits::default());
        assert!(report.is_valid(), "a flush is invalid: {}", report.message(&flush, 5));
        for s in &flush.series {
            assert!(s.samples.windows(2).all(|w| w[0].timestamp < w[1].timestamp), "out of order: {s:?}");
        }
        let (_, refused) = receiver.route_own(&mut flush, "web");
        assert!(refused.is_empty(), "the shards refuse a flush: {refused}");
    }
}

/// What the page's recorder takes, the edge takes whole: every push it writes decodes and is
/// refused nothing.
pub fn rum_recorder(input: &input::Recording) {
    let schema = input.schema();
    let mut page = Recorder::new(schema.clone());
    let mut ids = Vec::new();
    for op in &input.ops {
        match op {
            input::RecordOp::Series { metric, labels } => {
                let labels = input.labels(labels);
                let pairs: Vec<(&str, &str)> = labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                if let Ok(id) = page.series(&input.metric(*metric), &pairs) {
                    ids.push(id);
                }
            }
            input::RecordOp::Add(i, v) | input::RecordOp::Set(i, v) | input::RecordOp::Observe(i, v) => {
                let Some(&id) = ids.get(*i as usize % ids.len().max(1)) else { continue };
                let _ = match op {
                    input::RecordOp::Add(..) => page.add(id, *v),
                    input::RecordOp::Set(..) => page.set(id, *v),
                    _ => page.observe(id, *v),
                };
            }
            input::RecordOp::Take(max) => {
                if let Some(body) = page.take(1_000_000, usize::from(*max)) {
                    let request = decode_owned(body, Version::V1, &Limits::default()).expect("a push decodes");
                    // Over its size only when one series alone is (a histogram's parts are
                    // one series of the page's).
                    let families: std::collections::BTreeSet<Vec<(String, String)>> =
                        request.series.iter().map(family).collect();
                    assert!(body.len() <= usize::from(*max) || families.len() == 1, "{} bytes for {max}", body.len());
                    let report = validate::validate(&request, Version::V1, &Limits::default());
                    assert!(report.is_valid(), "{}", report.message(&request, 5));
                    let checked = edgewrite::rum::check(&request, &schema);
                    assert_eq!(checked.message, "", "the edge refuses what the page recorded");
                }
            }
        }
    }
}

/// A series' labels without `le`, its name without a histogram part's suffix.
fn family(s: &edgewrite::model::Series<'_>) -> Vec<(String, String)> {
    s.labels
        .iter()
        .filter(|l| l.name != "le")
        .map(|l| {
            let v = if l.name == "__name__" {
                ["_bucket", "_sum", "_count"].iter().fold(l.value.as_ref(), |v, s| v.strip_suffix(s).unwrap_or(v))
            } else {
                l.value.as_ref()
            };
            (l.name.to_string(), v.to_string())
        })
        .collect()
}

/// A query over a small fixed store: it parses or is refused with 400; it evaluates (instant
/// and range, within a small budget of work) or is refused with 422 or 503.
pub fn promql(query: &str, store: &[eval::Series]) {
    for (start, end, step) in [(600_000, 600_000, 0), (0, 600_000, 15_000)] {
        let expr = match api::prepare(query, start, end, step) {
            Ok(e) => e,
            Err(e) => return assert_eq!(e.status(), 400, "{e}"),
        };
        let work = eval::MAX_WORK / 10_000;
        let answer = if step == 0 {
            api::instant(&expr, store, end, work)
        } else {
            api::range(&expr, store, start, end, step, work)
        };
        if let Err(e) = answer {
            assert!(matches!(e.status(), 400 | 422 | 503), "{} for {query:?}: {e}", e.status());
        }
    }
}

/// A chunk's bytes: decoded, or refused as corruption; what decodes encodes again to what
/// decodes the same. And chunks written from samples read back bit for bit.
pub fn chunk(input: &input::ChunkInput) {
    match input {
        input::ChunkInput::Bytes(bytes) => {
            if let Ok(c) = chunk::decode(bytes) {
                let again = match &c {
                    chunk::Chunk::Samples(s) => chunk::encode_samples(s),
                    chunk::Chunk::Histograms(h) => chunk::encode_histograms(h),
                    chunk::Chunk::Exemplars(e) => chunk::encode_exemplars(e),
                };
                assert_eq!(chunk::decode(&again).ok().as_ref(), Some(&c), "encoded again, it decodes the same");
            }
        }
        input::ChunkInput::Samples(samples) => {
            let samples: Vec<edgewrite::model::Sample> = samples
                .iter()
                .map(|&(bits, timestamp, start_timestamp)| edgewrite::model::Sample {
                    value: f64::from_bits(bits),
                    timestamp,
                    start_timestamp,
                })
                .collect();
            let decoded = chunk::decode(&chunk::encode_samples(&samples)).expect("a chunk written decodes");
            assert_eq!(decoded, chunk::Chunk::Samples(samples));
        }
    }
}

/// The store [`promql`] queries: counters, a gauge, a classic and a native histogram, ten
/// minutes of them every 15 s, one series with a gap and a stale marker.
pub fn store() -> Vec<eval::Series> {
    input::store()
}
