//! Malformed remote-write requests, each with the status and (part of) the message edgewrite's
//! receiver answers it with: one catalogue for testing receivers. (Unsorted labels are not
//! among them: the receiver sorts labels before it validates, as Prometheus does.)
//! `tests/bad_input.rs` runs it through [`crate::receiver::Receiver`];
//! `tests/js/worker-http.test.mjs` sends it to the Worker over HTTP (`cargo run --example
//! bad_requests` prints it as JSON lines).

use crate::codec::Encoder;
use crate::model::{BucketSpan, Count, Histogram, Label, STALE_NAN, Sample, Series, WriteRequest};
use crate::{Version, synth};

/// One bad request.
#[derive(Clone, Debug)]
pub struct BadRequest {
    /// What is wrong with it.
    pub what: &'static str,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `Content-Encoding`.
    pub content_encoding: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// The status it gets.
    pub status: u16,
    /// A part of the message it gets.
    pub message: &'static str,
}

const V1: &str = "application/x-protobuf";
const V2: &str = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

fn snappy(raw: &[u8]) -> Vec<u8> {
    Encoder::new().compress(raw).to_vec()
}

fn one(labels: &[(&'static str, &'static str)], samples: Vec<Sample>) -> WriteRequest<'static> {
    WriteRequest {
        series: vec![Series {
            labels: labels.iter().map(|&(n, v)| Label::new(n, v)).collect(),
            samples,
            ..Series::default()
        }],
        metadata: Vec::new(),
    }
}

fn encoded(req: &WriteRequest<'_>, version: Version) -> Vec<u8> {
    Encoder::new().encode(req, version).to_vec()
}

fn bad(
    what: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    message: &'static str,
) -> BadRequest {
    BadRequest { what, content_type, content_encoding: "snappy", body, status, message }
}

/// The catalogue.
pub fn bad_requests() -> Vec<BadRequest> {
    let real = encoded(&synth::realistic_request(50, 1_700_000_000_000), Version::V1);
    let s1 = || vec![Sample::new(1.0, 1_700_000_000_000)];
    let mut framed = Vec::new();
    {
        use std::io::Write;
        let mut w = snap::write::FrameEncoder::new(&mut framed);
        let _ = w.write_all(b"\x0a\x00");
    }
    let histogram = |count| Histogram {
        count: Count::Int(count),
        sum: 3.0,
        positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
        positive_deltas: vec![2, 1],
        timestamp: 1_700_000_000_000,
        ..Histogram::default()
    };
    let mut both = one(&[("__name__", "rpc")], s1());
    both.series[0].histograms.push(histogram(5));
    let mut miscounted = one(&[("__name__", "rpc_seconds")], Vec::new());
    miscounted.series[0].histograms.push(histogram(10));
    const NAMES: [&str; 30] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v",
        "w", "x", "y", "z", "za", "zb", "zc", "zd",
    ];
    let many_labels: Vec<(&str, &str)> = std::iter::once(("__name__", "wide")).chain(NAMES.map(|n| (n, "1"))).collect();
    let mut long_value = one(&[("__name__", "up")], s1());
    long_value.series[0].labels.push(Label::new("job", "x".repeat(2049)));
    let mut long_name = one(&[("__name__", "up")], s1());
    long_name.series[0].labels.push(Label::new("x".repeat(1025), "1"));
    let flood: Vec<u8> = std::iter::repeat_n([0x0a, 0x00], 30_000).flatten().collect();
    vec![
        bad("truncated snappy", V1, real[..real.len() / 2].to_vec(), 400, "not valid snappy block data"),
        bad("empty body", V1, Vec::new(), 400, "empty body"),
        bad("framed snappy", V1, framed, 400, "requires snappy block format"),
        bad("snappy header claiming 4 GiB", V1, vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0], 413, "over the limit"),
        bad(
            "snappy header larger than the body can hold",
            V1,
            vec![0x80, 0x80, 0x40, 0x00],
            400,
            "more than 4 bytes of input can hold",
        ),
        bad("length-delimited field past the end", V1, snappy(b"\x0a\xff\xff\xff\xff\x0f"), 400, "runs past the end"),
        bad("protobuf group", V1, snappy(b"\x0b"), 400, "groups"),
        bad("invalid wire type", V2, snappy(b"\x0f"), 400, "invalid wire type"),
        bad("cut-off varint", V1, snappy(b"\x80"), 400, "varint"),
        bad("field number 0", V2, snappy(b"\x00\x01"), 400, "invalid field number"),
        bad("known field with the wrong wire type", V1, snappy(b"\x08\x01"), 400, "wrong wire type"),
        bad("label name not UTF-8", V1, snappy(b"\x0a\x05\x0a\x03\x0a\x01\xff"), 400, "is not valid UTF-8"),
        bad("symbol not UTF-8", V2, snappy(b"\x22\x00\x22\x01\xc3"), 400, "is not valid UTF-8"),
        bad(
            "symbol reference out of range",
            V2,
            snappy(b"\x22\x00\x22\x02up\x2a\x04\x0a\x02\x00\x07"),
            400,
            "out of range",
        ),
        bad(
            "odd number of label references",
            V2,
            snappy(b"\x22\x00\x22\x02up\x2a\x05\x0a\x03\x01\x01\x01"),
            400,
            "even number",
        ),
        bad("first symbol not empty", V2, snappy(b"\x22\x02up"), 400, "symbols[0]"),
        bad(
            "duplicate label",
            V2,
            encoded(&one(&[("__name__", "up"), ("job", "a"), ("job", "b")], s1()), Version::V2),
            400,
            "job",
        ),
        bad(
            "no metric name",
            V1,
            encoded(&one(&[("job", "a")], s1()), Version::V1),
            400,
            "series has no __name__ label",
        ),
        bad(
            "1.0 metric name outside the legacy characters",
            V1,
            encoded(&one(&[("__name__", "http.requests")], s1()), Version::V1),
            400,
            "[a-zA-Z_:][a-zA-Z0-9_:]*",
        ),
        bad(
            "empty label value",
            V2,
            encoded(&one(&[("__name__", "up"), ("job", "")], s1()), Version::V2),
            400,
            "empty",
        ),
        bad("empty label name", V2, encoded(&one(&[("", "x"), ("__name__", "up")], s1()), Version::V2), 400, "empty"),
        bad("label name too long", V1, encoded(&long_name, Version::V1), 400, "over the limit of 1024"),
        bad("too many labels", V1, encoded(&one(&many_labels, s1()), Version::V1), 400, "over the limit of 30"),
        bad("label value too long", V1, encoded(&long_value, Version::V1), 400, "over the limit of 2048"),
        bad(
            "2.0 series with samples and histograms",
            V2,
            encoded(&both, Version::V2),
            400,
            "send them as separate series",
        ),
        bad(
            "histogram count not matching its buckets",
            V2,
            encoded(&miscounted, Version::V2),
            400,
            "does not match the 5 observations in its buckets",
        ),
        bad(
            "samples out of order",
            V1,
            encoded(
                &one(&[("__name__", "up")], vec![Sample::new(1.0, 2000), Sample::new(STALE_NAN, 2000)]),
                Version::V1,
            ),
            400,
            "out of order",
        ),
        bad("a flood of empty series", V1, snappy(&flood), 413, "series"),
        BadRequest {
            content_type: "application/json",
            ..bad("unsupported Content-Type", V1, real.clone(), 415, "Content-Type")
        },
        BadRequest {
            content_encoding: "gzip",
            ..bad("unsupported Content-Encoding", V1, real.clone(), 415, "Content-Encoding")
        },
        bad(
            "unknown proto= message",
            "application/x-protobuf;proto=io.prometheus.write.v9.Request",
            real,
            415,
            "proto",
        ),
    ]
}
