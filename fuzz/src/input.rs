//! Structure-aware inputs (`arbitrary`): requests built from parts that are mostly valid
//! (names picked from the ones edgewrite knows, sorted labels), then encoded and flipped here
//! and there, so the fuzzer spends its time past the first checks.

use arbitrary::Arbitrary;
use edgewrite::Version;
use edgewrite::codec::Encoder;
use edgewrite::model::{
    BucketSpan, Count, Exemplar, Histogram, Label, ResetHint, STALE_NAN, Sample, Series, WriteRequest,
};
use edgewrite::query::eval;
use edgewrite::receiver::{Auth, Request, Settings, Token};
use edgewrite::rum::Schema;

const NAMES: &[&str] = &["__name__", "job", "instance", "le", "route", "rating", "kind", "step", "", "0bad", "__x"];
const METRICS: &[&str] = &[
    "up",
    "http_requests_total",
    "rum_page_views_total",
    "rum_errors_total",
    "rum_lcp_seconds",
    "rum_lcp_seconds_bucket",
    "rum_lcp_seconds_sum",
    "rum_lcp_seconds_count",
    "rum_cls",
    "shop_mood",
    "shop_items",
    "shop_items_bucket",
    "shop_items_sum",
    "shop_items_count",
    "bad name",
];
const VALUES: &[&str] = &["/", "/home", "good", "poor", "error", "0.5", "1", "2.5", "+Inf", "10", "other", ""];

/// A string: one edgewrite knows (most of the time), or any.
#[derive(Arbitrary, Debug)]
pub enum Text {
    /// One of a list.
    Pick(u8),
    /// Anything.
    Any(String),
}

impl Text {
    fn of(&self, from: &[&str]) -> String {
        match self {
            Text::Pick(i) => from[usize::from(*i) % from.len()].to_string(),
            Text::Any(s) => s.clone(),
        }
    }
}

/// A series, as parts.
#[derive(Arbitrary, Debug)]
pub struct ArbSeries {
    name: Text,
    labels: Vec<(Text, Text)>,
    /// Sorted by name, as the spec requires (else as given).
    sorted: bool,
    samples: Vec<(f64, i64, i64)>,
    histograms: Vec<ArbHistogram>,
    exemplars: Vec<ArbExemplar>,
}

/// An exemplar: labels, value, timestamp.
#[derive(Arbitrary, Debug)]
pub struct ArbExemplar(Vec<(Text, Text)>, f64, i64);

/// A native histogram, as parts.
#[derive(Arbitrary, Debug)]
pub struct ArbHistogram {
    float: bool,
    count: u32,
    sum: f64,
    stale: bool,
    schema: i8,
    zero_threshold: f64,
    zero_count: u32,
    spans: Vec<(i8, u8)>,
    deltas: Vec<i16>,
    counts: Vec<f64>,
    negative: Vec<(i8, u8)>,
    negative_deltas: Vec<i16>,
    reset: u8,
    timestamp: i64,
    custom: Vec<f64>,
    start: i64,
}

impl ArbHistogram {
    fn histogram(&self, v2: bool) -> Histogram {
        let spans = |s: &[(i8, u8)]| -> Vec<BucketSpan> {
            s.iter().map(|&(o, l)| BucketSpan { offset: i32::from(o), length: u32::from(l % 8) }).collect()
        };
        let deltas = |d: &[i16]| -> Vec<i64> { d.iter().map(|&x| i64::from(x)).collect() };
        Histogram {
            count: if self.float { Count::Float(f64::from(self.count)) } else { Count::Int(u64::from(self.count)) },
            sum: if self.stale { STALE_NAN } else { self.sum },
            schema: if self.schema == i8::MIN { -53 } else { i32::from(self.schema % 10) },
            zero_threshold: self.zero_threshold,
            zero_count: if self.float {
                Count::Float(f64::from(self.zero_count))
            } else {
                Count::Int(u64::from(self.zero_count))
            },
            positive_spans: spans(&self.spans),
            positive_deltas: if self.float { Vec::new() } else { deltas(&self.deltas) },
            positive_counts: if self.float { self.counts.clone() } else { Vec::new() },
            negative_spans: spans(&self.negative),
            negative_deltas: if self.float { Vec::new() } else { deltas(&self.negative_deltas) },
            negative_counts: Vec::new(),
            reset_hint: [ResetHint::Unknown, ResetHint::Yes, ResetHint::No, ResetHint::Gauge]
                [usize::from(self.reset % 4)],
            timestamp: self.timestamp,
            custom_values: self.custom.clone(),
            // 1.0 has no start timestamps.
            start_timestamp: if v2 { self.start } else { 0 },
        }
    }
}

/// A request, as parts.
#[derive(Arbitrary, Debug)]
pub struct ArbRequest {
    series: Vec<ArbSeries>,
}

impl ArbRequest {
    /// The request (`v2`: with what only 2.0 carries).
    pub fn request(&self, v2: bool) -> WriteRequest<'static> {
        let pair = |(n, v): &(Text, Text)| Label::new(n.of(NAMES), v.of(VALUES));
        let series = self
            .series
            .iter()
            .map(|s| {
                let mut labels: Vec<Label<'static>> = s.labels.iter().map(pair).collect();
                labels.push(Label::new("__name__", s.name.of(METRICS)));
                if s.sorted {
                    labels.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Series {
                    labels,
                    samples: s
                        .samples
                        .iter()
                        .map(|&(value, timestamp, start)| Sample {
                            value,
                            timestamp,
                            start_timestamp: if v2 { start } else { 0 },
                        })
                        .collect(),
                    histograms: s.histograms.iter().map(|h| h.histogram(v2)).collect(),
                    exemplars: s
                        .exemplars
                        .iter()
                        .map(|ArbExemplar(l, value, timestamp)| Exemplar {
                            labels: l.iter().map(pair).collect(),
                            value: *value,
                            timestamp: *timestamp,
                        })
                        .collect(),
                    ..Series::default()
                }
            })
            .collect();
        WriteRequest { series, metadata: Vec::new() }
    }
}

/// A body: any bytes, or a request encoded and then changed at a few places.
#[derive(Arbitrary, Debug)]
pub enum Body {
    /// Any bytes.
    Raw(Vec<u8>),
    /// An encoded request, with bytes XORed at offsets.
    Encoded {
        /// The request.
        request: ArbRequest,
        /// 2.0, else 1.0.
        v2: bool,
        /// (offset, XOR) pairs, offsets modulo the length.
        flips: Vec<(u16, u8)>,
    },
}

impl Body {
    /// Its bytes.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(b) => b.clone(),
            Body::Encoded { request, v2, flips } => {
                let version = if *v2 { Version::V2 } else { Version::V1 };
                let mut bytes = Encoder::new().encode(&request.request(*v2), version).to_vec();
                for &(at, x) in flips {
                    if !bytes.is_empty() {
                        let i = usize::from(at) % bytes.len();
                        bytes[i] ^= x;
                    }
                }
                bytes
            }
        }
    }
}

const METHODS: &[&str] = &["POST", "OPTIONS", "GET", "PUT", "post"];
const CONTENT_TYPES: &[&str] = &[
    "application/x-protobuf",
    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
    "application/x-protobuf;proto=prometheus.WriteRequest",
    "application/x-protobuf;proto=io.prometheus.write.v3.Request",
    "text/plain;charset=UTF-8",
    "application/json",
    "application/octet-stream",
];
const ENCODINGS: &[&str] = &["snappy", "gzip", "deflate", "identity", "SNAPPY"];
const AUTHORIZATIONS: &[&str] = &[
    "Bearer s3cret-token",
    "Bearer s3cret-toke",
    "Bearer s3cret-tokenX",
    "bearer s3cret-token",
    "Basic czNjcmV0",
    "Bearer ",
];
const ORIGINS: &[&str] = &["https://shop.example", "https://evil.example", "null"];

/// A write request as it arrives over HTTP.
#[derive(Arbitrary, Debug)]
pub struct Http {
    method: Text,
    content_type: Option<Text>,
    encoding: Option<Text>,
    authorization: Option<Text>,
    origin: Option<Text>,
    /// Bearer tokens, else open.
    tokens: bool,
    /// The reorder window on.
    reorder: bool,
    shards: u8,
    received_ms: i64,
    body: Body,
}

/// The strings of a request, owned.
#[derive(Debug)]
pub struct Parts {
    method: String,
    content_type: Option<String>,
    encoding: Option<String>,
    authorization: Option<String>,
    origin: Option<String>,
    query: Option<String>,
    received_ms: i64,
}

impl Parts {
    /// The request the receiver reads.
    pub fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            content_type: self.content_type.as_deref(),
            content_encoding: self.encoding.as_deref(),
            authorization: self.authorization.as_deref(),
            origin: self.origin.as_deref(),
            received_ms: self.received_ms,
            colo: Some("FRA"),
            country: Some("DE"),
            query: self.query.as_deref(),
        }
    }
}

impl Http {
    /// Its body's bytes.
    pub fn body(&self) -> Vec<u8> {
        self.body.bytes()
    }

    /// Its headers.
    pub fn parts(&self) -> Parts {
        Parts {
            method: self.method.of(METHODS),
            content_type: self.content_type.as_ref().map(|t| t.of(CONTENT_TYPES)),
            encoding: self.encoding.as_ref().map(|t| t.of(ENCODINGS)),
            authorization: self.authorization.as_ref().map(|t| t.of(AUTHORIZATIONS)),
            origin: self.origin.as_ref().map(|t| t.of(ORIGINS)),
            query: None,
            received_ms: self.received_ms,
        }
    }

    /// The receiver's settings.
    pub fn settings(&self) -> Settings {
        Settings {
            limits: super::limits(),
            auth: if self.tokens {
                Auth::Tokens(vec![Token { secret: "s3cret-token".into(), tenant: "team".into() }])
            } else {
                Auth::Open
            },
            allowed_origins: vec!["https://shop.example".into()],
            shards: u32::from(self.shards % 8).max(1),
            reorder_window_ms: self.reorder.then_some(60_000),
            edge_labels: vec![("region".into(), "eu".into())],
            drop_labels: vec!["session".into()],
            refuse_labels: vec!["step".into()],
            ..Settings::default()
        }
    }
}

const QUERIES: &[&str] = &["push=a1", "push=a1&age=10", "age=99999999999", "push=&age=-1", "push=a%20b", "age=5"];

/// A page's RUM push as it arrives.
#[derive(Arbitrary, Debug)]
pub struct RumPush {
    method: Text,
    content_type: Option<Text>,
    encoding: Option<Text>,
    origin: Option<Text>,
    query: Option<Text>,
    /// The page's own metrics declared too.
    custom: bool,
    received_ms: i64,
    body: Body,
}

/// The schema with the page's own metrics (as a Worker's `RUM_SCHEMA` declares them).
fn custom_schema() -> Schema {
    Schema::with(
        r#"{"shop_mood": {"type": "gauge", "labels": ["route"], "range": [-1, 1]},
            "shop_items": {"type": "histogram", "buckets": [1, 2, 5], "labels": ["route", "step"], "range": [0, 100]}}"#,
    )
    .expect("a valid schema")
}

impl RumPush {
    /// Its body's bytes.
    pub fn body(&self) -> Vec<u8> {
        self.body.bytes()
    }

    /// The schema the Worker holds.
    pub fn schema(&self) -> Schema {
        if self.custom { custom_schema() } else { Schema::default() }
    }

    /// Its headers.
    pub fn parts(&self) -> Parts {
        Parts {
            method: self.method.of(METHODS),
            content_type: self.content_type.as_ref().map(|t| t.of(CONTENT_TYPES)),
            encoding: self.encoding.as_ref().map(|t| t.of(ENCODINGS)),
            authorization: None,
            origin: self.origin.as_ref().map(|t| t.of(ORIGINS)),
            query: self.query.as_ref().map(|t| t.of(QUERIES)),
            received_ms: self.received_ms,
        }
    }
}

/// One call a page makes on its recorder.
#[derive(Arbitrary, Debug)]
pub enum RecordOp {
    /// `series(metric, labels)`.
    Series {
        /// The metric, from [`METRICS`].
        metric: u8,
        /// Its labels.
        labels: Vec<(Text, Text)>,
    },
    /// `add(the i-th series, v)`.
    Add(u8, f64),
    /// `set`.
    Set(u8, f64),
    /// `observe`.
    Observe(u8, f64),
    /// `take(now, max_bytes)`.
    Take(u16),
}

/// A page's calls on its recorder.
#[derive(Arbitrary, Debug)]
pub struct Recording {
    /// The page's own metrics declared too.
    custom: bool,
    /// The calls.
    pub ops: Vec<RecordOp>,
}

impl Recording {
    /// The schema both the page and the Worker hold.
    pub fn schema(&self) -> Schema {
        if self.custom { custom_schema() } else { Schema::default() }
    }

    /// A metric name.
    pub fn metric(&self, i: u8) -> String {
        METRICS[usize::from(i) % METRICS.len()].to_string()
    }

    /// Labels.
    pub fn labels(&self, labels: &[(Text, Text)]) -> Vec<(String, String)> {
        labels.iter().map(|(n, v)| (n.of(NAMES), v.of(VALUES))).collect()
    }
}

/// A chunk to decode, or samples to write as one.
#[derive(Arbitrary, Debug)]
pub enum ChunkInput {
    /// Bytes as stored (maybe corrupt).
    Bytes(Vec<u8>),
    /// Samples: (value bits, timestamp, start timestamp).
    Samples(Vec<(u64, i64, i64)>),
}

/// See [`crate::store`].
pub fn store() -> Vec<eval::Series> {
    let labels = |pairs: &[(&str, &str)]| -> eval::Labels {
        let mut l: eval::Labels = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        l.sort();
        l
    };
    let every = |f: &dyn Fn(i64) -> f64| -> Vec<Sample> { (0..=40).map(|i| Sample::new(f(i), i * 15_000)).collect() };
    let mut out = Vec::new();
    for (job, rate) in [("api", 2.0), ("web", 0.5)] {
        out.push(eval::Series {
            labels: labels(&[("__name__", "http_requests_total"), ("job", job), ("code", "200")]),
            samples: every(&|i| rate * i as f64),
            histograms: Vec::new(),
        });
    }
    let mut gappy = every(&|i| (i % 7) as f64 - 3.0);
    gappy.retain(|s| !(10..20).contains(&(s.timestamp / 15_000)));
    gappy.push(Sample::new(STALE_NAN, 41 * 15_000));
    out.push(eval::Series {
        labels: labels(&[("__name__", "temperature"), ("room", "a")]),
        samples: gappy,
        histograms: Vec::new(),
    });
    for (le, share) in [("0.5", 0.3), ("1", 0.7), ("+Inf", 1.0)] {
        out.push(eval::Series {
            labels: labels(&[("__name__", "latency_seconds_bucket"), ("le", le)]),
            samples: every(&|i| (share * 10.0 * i as f64).floor()),
            histograms: Vec::new(),
        });
    }
    let native = (0..=40)
        .map(|i| Histogram {
            count: Count::Int(3 * i as u64),
            sum: 1.5 * i as f64,
            schema: 0,
            zero_count: Count::Int(0),
            positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
            positive_deltas: vec![i, 0, 0],
            timestamp: i * 15_000,
            ..Histogram::default()
        })
        .collect();
    out.push(eval::Series { labels: labels(&[("__name__", "rpc_seconds")]), samples: Vec::new(), histograms: native });
    out
}
