//! The data model users work with: series of sorted labels carrying samples, native histograms
//! and exemplars, plus metric metadata.
//!
//! One model serves both protocol versions. Strings are [`Cow`]s so that a decoded request
//! borrows every label from the decompressed buffer (zero-copy), while a request built by hand
//! can own its strings; [`WriteRequest::into_owned`] detaches a decoded request from its buffer.
//!
//! Version differences, and how the model holds them:
//! - Metadata: remote write 1.0 sends a list of [`MetricMetadata`] per metric family, usually in
//!   requests of their own; 2.0 attaches [`Metadata`] to each series. Decoding keeps what was on
//!   the wire; encoding carries over what the target version can hold (see [`crate::convert`]).
//! - Start timestamps ([`Sample::start_timestamp`], [`Histogram::start_timestamp`]) exist only in
//!   2.0; encoding 1.0 leaves them out.

use std::borrow::Cow;

/// The stale marker's bit pattern: a NaN that tells Prometheus a series ended
/// (`model/value/value.go StaleNaN`). It is carried bit-exact everywhere in edgewrite.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as an `f64`. Compare with [`is_stale_nan`], never with `==` (it is a NaN).
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Prometheus's ordinary NaN (`model/value/value.go NormalNaN`): what edgewrite encodes for a
/// NaN that comes from JavaScript, where NaN payloads cannot be relied on.
pub const NORMAL_NAN: f64 = f64::from_bits(0x7ff8_0000_0000_0001);

/// Whether `value` is exactly the stale marker (not just any NaN).
#[inline]
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// The label that holds the metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// One label: a name and a value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Label<'a> {
    /// The label name, e.g. `job` or `__name__`.
    pub name: Cow<'a, str>,
    /// The label value.
    pub value: Cow<'a, str>,
}

impl<'a> Label<'a> {
    /// A label from anything string-like.
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Self {
        Label { name: name.into(), value: value.into() }
    }

    /// The same label owning its strings.
    pub fn into_owned(self) -> Label<'static> {
        Label { name: Cow::Owned(self.name.into_owned()), value: Cow::Owned(self.value.into_owned()) }
    }
}

/// A float sample.
///
/// `PartialEq` compares values bit for bit, so a stale marker equals only a stale marker and a
/// NaN equals the same NaN: what a codec round trip must preserve.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// The value. May be any `f64`, including NaN, infinities and [`STALE_NAN`].
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// When the counter this sample belongs to started counting, in milliseconds; 0 means unset.
    /// Remote write 2.0 only.
    pub start_timestamp: i64,
}

impl Sample {
    /// A sample without a start timestamp.
    pub fn new(value: f64, timestamp: i64) -> Self {
        Sample { value, timestamp, start_timestamp: 0 }
    }

    /// Whether this sample is a stale marker.
    pub fn is_stale(&self) -> bool {
        is_stale_nan(self.value)
    }
}

impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.value.to_bits() == other.value.to_bits()
            && self.timestamp == other.timestamp
            && self.start_timestamp == other.start_timestamp
    }
}

/// An exemplar: a sample of a trace (usually with a `trace_id` label) attached to a series.
#[derive(Clone, Debug, Default)]
pub struct Exemplar<'a> {
    /// Exemplar labels, e.g. `trace_id`. May be empty.
    pub labels: Vec<Label<'a>>,
    /// The observed value.
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

impl Exemplar<'_> {
    /// The same exemplar owning its strings.
    pub fn into_owned(self) -> Exemplar<'static> {
        Exemplar {
            labels: self.labels.into_iter().map(Label::into_owned).collect(),
            value: self.value,
            timestamp: self.timestamp,
        }
    }
}

impl PartialEq for Exemplar<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.labels == other.labels
            && self.value.to_bits() == other.value.to_bits()
            && self.timestamp == other.timestamp
    }
}

/// A count in a native histogram: integer histograms count in `u64`, float histograms in `f64`.
#[derive(Clone, Copy, Debug)]
pub enum Count {
    /// An integer histogram's count.
    Int(u64),
    /// A float histogram's count.
    Float(f64),
}

impl Default for Count {
    fn default() -> Self {
        Count::Int(0)
    }
}

impl PartialEq for Count {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Count::Int(a), Count::Int(b)) => a == b,
            (Count::Float(a), Count::Float(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        }
    }
}

/// A run of consecutive buckets in a native histogram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketSpan {
    /// Gap to the previous span (or the starting bucket index, for the first span).
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

/// Whether a histogram's counter was reset (or is a gauge histogram).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResetHint {
    /// Unknown; the receiver finds out.
    #[default]
    Unknown,
    /// The counter was reset.
    Yes,
    /// The counter was not reset.
    No,
    /// A gauge histogram: resets do not apply.
    Gauge,
}

/// A native histogram sample (an integer histogram if `count` is [`Count::Int`], else a float
/// histogram). Schema -4..=8 is exponential; -53 has custom bucket bounds in `custom_values`.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Number of observations.
    pub count: Count,
    /// Sum of observations. [`STALE_NAN`] here makes the histogram a stale marker.
    pub sum: f64,
    /// Resolution: -4..=8 exponential, -53 custom buckets.
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: Count,
    /// Spans of negative buckets.
    pub negative_spans: Vec<BucketSpan>,
    /// Negative bucket counts, delta-encoded (integer histograms).
    pub negative_deltas: Vec<i64>,
    /// Negative bucket counts, absolute (float histograms).
    pub negative_counts: Vec<f64>,
    /// Spans of positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Positive bucket counts, delta-encoded (integer histograms).
    pub positive_deltas: Vec<i64>,
    /// Positive bucket counts, absolute (float histograms).
    pub positive_counts: Vec<f64>,
    /// Counter reset hint.
    pub reset_hint: ResetHint,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Custom bucket upper bounds (schema -53 only).
    pub custom_values: Vec<f64>,
    /// Start of accumulation in milliseconds, 0 for unset. Remote write 2.0 only.
    pub start_timestamp: i64,
}

impl Histogram {
    /// Whether this is a float histogram.
    pub fn is_float(&self) -> bool {
        matches!(self.count, Count::Float(_))
    }

    /// Whether this histogram is a stale marker (its sum is the stale NaN).
    pub fn is_stale(&self) -> bool {
        is_stale_nan(self.sum)
    }
}

fn bits(v: &[f64]) -> impl Iterator<Item = u64> + '_ {
    v.iter().map(|f| f.to_bits())
}

impl PartialEq for Histogram {
    fn eq(&self, o: &Self) -> bool {
        self.count == o.count
            && self.sum.to_bits() == o.sum.to_bits()
            && self.schema == o.schema
            && self.zero_threshold.to_bits() == o.zero_threshold.to_bits()
            && self.zero_count == o.zero_count
            && self.negative_spans == o.negative_spans
            && self.negative_deltas == o.negative_deltas
            && bits(&self.negative_counts).eq(bits(&o.negative_counts))
            && self.positive_spans == o.positive_spans
            && self.positive_deltas == o.positive_deltas
            && bits(&self.positive_counts).eq(bits(&o.positive_counts))
            && self.reset_hint == o.reset_hint
            && self.timestamp == o.timestamp
            && bits(&self.custom_values).eq(bits(&o.custom_values))
            && self.start_timestamp == o.start_timestamp
    }
}

/// The type of a metric, as in the Prometheus exposition formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// Unknown (1.0 `UNKNOWN`) or unspecified (2.0 `METRIC_TYPE_UNSPECIFIED`).
    #[default]
    Unknown,
    /// A counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A histogram.
    Histogram,
    /// A gauge histogram.
    GaugeHistogram,
    /// A summary.
    Summary,
    /// An info metric.
    Info,
    /// A state set.
    StateSet,
}

impl MetricType {
    /// The number the protobuf enums use for this type (the same in 1.0 and 2.0).
    pub fn to_wire(self) -> i32 {
        self as i32
    }

    /// The type for a protobuf enum number; numbers this version does not know are `Unknown`.
    pub fn from_wire(n: i32) -> Self {
        use MetricType::*;
        [Unknown, Counter, Gauge, Histogram, GaugeHistogram, Summary, Info, StateSet]
            .get(n as usize)
            .copied()
            .filter(|_| n >= 0)
            .unwrap_or(Unknown)
    }

    /// The type for its lowercase name (`counter`, `gauge`, ...); unknown names are `Unknown`.
    pub fn from_name(name: &str) -> Self {
        use MetricType::*;
        [Counter, Gauge, Histogram, GaugeHistogram, Summary, Info, StateSet]
            .into_iter()
            .find(|t| t.as_str() == name)
            .unwrap_or(Unknown)
    }

    /// The lowercase name used in the text exposition format (`counter`, `gauge`, ...).
    pub fn as_str(self) -> &'static str {
        use MetricType::*;
        match self {
            Unknown => "unknown",
            Counter => "counter",
            Gauge => "gauge",
            Histogram => "histogram",
            GaugeHistogram => "gaugehistogram",
            Summary => "summary",
            Info => "info",
            StateSet => "stateset",
        }
    }
}

/// Metadata attached to one series (remote write 2.0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata<'a> {
    /// The metric type.
    pub metric_type: MetricType,
    /// HELP text; empty means unset.
    pub help: Cow<'a, str>,
    /// Unit; empty means unset.
    pub unit: Cow<'a, str>,
}

impl Metadata<'_> {
    /// Whether nothing is set (what a 2.0 series without metadata decodes to).
    pub fn is_empty(&self) -> bool {
        self.metric_type == MetricType::Unknown && self.help.is_empty() && self.unit.is_empty()
    }

    /// The same metadata owning its strings.
    pub fn into_owned(self) -> Metadata<'static> {
        Metadata {
            metric_type: self.metric_type,
            help: Cow::Owned(self.help.into_owned()),
            unit: Cow::Owned(self.unit.into_owned()),
        }
    }
}

/// Metadata of one metric family (remote write 1.0 `MetricMetadata`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricMetadata<'a> {
    /// The family name, e.g. `http_request_duration_seconds` for a histogram whose series are
    /// `..._bucket`, `..._sum` and `..._count`.
    pub metric_family_name: Cow<'a, str>,
    /// Type, help and unit.
    pub metadata: Metadata<'a>,
}

impl MetricMetadata<'_> {
    /// The same metadata owning its strings.
    pub fn into_owned(self) -> MetricMetadata<'static> {
        MetricMetadata {
            metric_family_name: Cow::Owned(self.metric_family_name.into_owned()),
            metadata: self.metadata.into_owned(),
        }
    }
}

/// One time series: its label set and the data that goes with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series<'a> {
    /// Labels sorted by name, names unique, including `__name__`.
    pub labels: Vec<Label<'a>>,
    /// Float samples in timestamp order.
    pub samples: Vec<Sample>,
    /// Native histogram samples in timestamp order.
    pub histograms: Vec<Histogram>,
    /// Exemplars.
    pub exemplars: Vec<Exemplar<'a>>,
    /// Per-series metadata (2.0). Empty for series decoded from 1.0.
    pub metadata: Metadata<'a>,
}

impl<'a> Series<'a> {
    /// A series from `(name, value)` pairs, sorted by name, with no data yet.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<Cow<'a, str>>,
        V: Into<Cow<'a, str>>,
    {
        let mut labels: Vec<Label<'a>> = pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        Series { labels, ..Series::default() }
    }

    /// The value of the label called `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.iter().find(|l| l.name == name).map(|l| &*l.value)
    }

    /// The metric name (the `__name__` label), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.label(METRIC_NAME_LABEL)
    }

    /// The same series owning its strings.
    pub fn into_owned(self) -> Series<'static> {
        Series {
            labels: self.labels.into_iter().map(Label::into_owned).collect(),
            samples: self.samples,
            histograms: self.histograms,
            exemplars: self.exemplars.into_iter().map(Exemplar::into_owned).collect(),
            metadata: self.metadata.into_owned(),
        }
    }
}

/// A remote-write request of either version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WriteRequest<'a> {
    /// The series, in the order they were sent.
    pub series: Vec<Series<'a>>,
    /// Per-family metadata (1.0 field 3). Always empty when decoded from 2.0.
    pub metadata: Vec<MetricMetadata<'a>>,
}

/// How much of each kind of data a request holds: what the 2.0 `*-Written` headers count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Float samples.
    pub samples: u64,
    /// Native histogram samples.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.samples += o.samples;
        self.histograms += o.histograms;
        self.exemplars += o.exemplars;
    }
}

impl Series<'_> {
    /// Samples, histograms and exemplars in this series.
    pub fn counts(&self) -> Counts {
        Counts {
            samples: self.samples.len() as u64,
            histograms: self.histograms.len() as u64,
            exemplars: self.exemplars.len() as u64,
        }
    }
}

impl WriteRequest<'_> {
    /// The request owning all its strings, detached from any decode buffer.
    pub fn into_owned(self) -> WriteRequest<'static> {
        WriteRequest {
            series: self.series.into_iter().map(Series::into_owned).collect(),
            metadata: self.metadata.into_iter().map(MetricMetadata::into_owned).collect(),
        }
    }

    /// Samples, histograms and exemplars in the request.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for s in &self.series {
            c += s.counts();
        }
        c
    }
}
