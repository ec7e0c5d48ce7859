//! The page's side of RUM, sans-I/O: what a page observed since its last push, kept as
//! deltas per series, and the push that carries them (remote write 1.0, snappy), which the
//! edge's [`check`](super::check()) takes as it is.
//!
//! The npm package's RUM client (`edgewrite/rum`) runs this in a small wasm of its own; its
//! JavaScript only listens for events and sends the bytes.
//!
//! ```
//! use edgewrite::rum::{Recorder, Schema};
//!
//! let mut page = Recorder::new(Schema::default());
//! let views = page.series("rum_page_views_total", &[("route", "/checkout")]).unwrap();
//! let lcp = page.series("rum_lcp_seconds", &[("route", "/checkout"), ("rating", "good")]).unwrap();
//! page.add(views, 1.0).unwrap();
//! page.observe(lcp, 1.2).unwrap();
//! let body = page.take(1_700_000_000_000, 60_000).expect("something to push").to_vec();
//! // POST body to /api/v1/rum as text/plain (no CORS preflight); then nothing is pending:
//! assert!(page.take(1_700_000_015_000, 60_000).is_none());
//! ```

use super::aggregate::OTHER;
use super::schema::{Kind, Metric, Schema, le};
use crate::model::{METRIC_NAME_LABEL, Sample};
use std::fmt;

/// A series' labels as the recorder keeps them: `__name__` and the given ones, sorted by name.
type SeriesLabels = Vec<(String, String)>;

/// A series the recorder keeps: the number [`Recorder::series`] gave it.
pub type SeriesId = u32;

/// A call the schema does not allow: the page's code is wrong (the edge would refuse the same
/// push with 400).
#[derive(Clone, Debug, PartialEq)]
pub enum RecordError {
    /// The metric is not declared (neither built in nor added with [`Recorder::declare`]).
    Undeclared(String),
    /// A label the metric's declaration does not allow.
    Label {
        /// The metric.
        metric: String,
        /// The label name given.
        label: String,
        /// The label names it allows.
        allowed: Vec<String>,
    },
    /// A call that does not fit the metric's type (`observe` on a counter, say).
    Kind {
        /// The metric.
        metric: String,
        /// What it is.
        is: Kind,
        /// What the call wanted.
        wanted: Kind,
    },
    /// A value that is not allowed: NaN or infinite, a negative increment.
    Value {
        /// The metric.
        metric: String,
        /// What it is.
        is: Kind,
    },
    /// A value outside the metric's declared range (the Worker would refuse it).
    Range(String),
    /// A series number this recorder never gave.
    NoSuchSeries(SeriesId),
}

impl RecordError {
    /// What went wrong, for the page's developer. Built by concatenation, not `format!`: the
    /// formatting machinery it would bring is a KiB of the page's wasm.
    pub fn message(&self) -> String {
        match self {
            RecordError::Undeclared(m) => {
                [m, " is not a declared RUM metric (declare it, and add it to the Worker's RUM_SCHEMA)"].concat()
            }
            RecordError::Label { metric, label, allowed } => {
                ["label \"", label, "\" is not allowed on ", metric, " (allowed: ", &allowed.join(", "), ")"].concat()
            }
            RecordError::Kind { metric, is, wanted } => {
                [metric, " is a ", is.name(), ", not a ", wanted.name()].concat()
            }
            // Not the value itself: float formatting would be most of the page's wasm.
            RecordError::Value { metric, is: Kind::Counter } => {
                [metric, " is a counter: its increments are finite numbers, at least 0"].concat()
            }
            RecordError::Value { metric, .. } => [metric, " takes finite numbers only"].concat(),
            RecordError::Range(metric) => {
                [metric, ": the value is outside the range declared for it (the Worker would refuse it)"].concat()
            }
            // Not the number: integer formatting is most of a KiB of the page's wasm.
            RecordError::NoSuchSeries(_) => "no such series (a number series() did not give)".into(),
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RecordError {}

/// What a page observed of one series since its last push.
#[derive(Debug)]
struct Pending {
    /// `__name__` and the given labels, sorted by name.
    labels: SeriesLabels,
    metric: String,
    kind: Kind,
    /// A histogram's bucket bounds, then `+Inf`.
    bounds: Vec<f64>,
    /// A counter's increments, a gauge's last value.
    value: f64,
    /// A histogram's observations per bucket (not cumulative), with `+Inf` last.
    counts: Vec<u64>,
    sum: f64,
    /// Observations, increments or sets since the last push.
    touched: u64,
    /// The declared range: of each increment, value or observation.
    lo: f64,
    hi: f64,
}

/// The most samples a counter's increments since the last push are split into (each within
/// the declared range); what is left goes with the next push.
const MAX_SPLIT: usize = 100;

/// The most series of one metric a recorder keeps apart: past it, a new series of the
/// metric takes [`OTHER`] for every label (as the Worker folds past `RUM_MAX_SERIES`).
pub const MAX_SERIES: usize = 1000;

/// A page's deltas since its last push, per series.
#[derive(Debug)]
pub struct Recorder {
    schema: Schema,
    series: Vec<Pending>,
    raw: Vec<u8>,
    body: Vec<u8>,
    /// The series the next take starts from.
    next: usize,
}

impl Recorder {
    /// A recorder for the metrics `schema` declares (the built-in schema, [`Schema::default`],
    /// is what the Worker takes unless its `RUM_SCHEMA` adds more).
    pub fn new(schema: Schema) -> Self {
        Recorder { schema, series: Vec::new(), raw: Vec::new(), body: Vec::new(), next: 0 }
    }

    /// Declares a metric of the page's own, as the Worker's `RUM_SCHEMA` declares it.
    ///
    /// # Errors
    /// As [`Schema::declare`].
    pub fn declare(&mut self, name: &str, metric: Metric) -> Result<(), super::SchemaError> {
        self.schema.declare(name, metric)
    }

    /// The series of `metric` with `labels` (an empty value is no label), the same number for
    /// the same series every time.
    ///
    /// # Errors
    /// [`RecordError::Undeclared`], [`RecordError::Label`].
    ///
    /// Past [`MAX_SERIES`] series of the metric (labels the page makes up without end: an id
    /// in a route), a new series' label values are all [`OTHER`], as the edge folds values
    /// past its caps: the page's memory and its pushes stay bounded.
    pub fn series(&mut self, metric: &str, labels: &[(&str, &str)]) -> Result<SeriesId, RecordError> {
        let (mut all, declared) = Self::labels(&self.schema, metric, labels)?;
        let find = |all: &SeriesLabels, series: &[Pending]| series.iter().position(|p| p.labels == *all);
        let mut found = find(&all, &self.series);
        if found.is_none() && self.series.iter().filter(|p| p.metric == metric).count() >= MAX_SERIES {
            all.iter_mut().skip(1).for_each(|l| l.1 = OTHER.to_string());
            found = find(&all, &self.series);
        }
        if let Some(at) = found {
            return Ok(at as SeriesId);
        }
        let bounds = declared.bounds();
        self.series.push(Pending {
            labels: all,
            metric: metric.into(),
            kind: declared.kind,
            counts: vec![0; if declared.kind == Kind::Histogram { bounds.len() } else { 0 }],
            bounds,
            value: 0.0,
            sum: 0.0,
            touched: 0,
            lo: declared.range.0,
            hi: declared.range.1,
        });
        Ok((self.series.len() - 1) as SeriesId)
    }

    /// `metric`'s labels as a series keeps them (an empty value is no label), each allowed
    /// by its declaration, and the declaration.
    fn labels<'s>(
        schema: &'s Schema,
        metric: &str,
        labels: &[(&str, &str)],
    ) -> Result<(SeriesLabels, &'s Metric), RecordError> {
        let declared = schema.metric(metric).ok_or_else(|| RecordError::Undeclared(metric.into()))?;
        let mut all = vec![(METRIC_NAME_LABEL.to_string(), metric.to_string())];
        for &(name, value) in labels.iter().filter(|l| !l.1.is_empty()) {
            if !declared.labels.iter().any(|a| a == name) {
                return Err(RecordError::Label {
                    metric: metric.into(),
                    label: name.into(),
                    allowed: declared.labels.clone(),
                });
            }
            // Kept sorted by name as it grows (a few labels; no sort in the page's wasm).
            let label = (name.to_string(), value.to_string());
            match all.iter().position(|l| l.0 >= label.0) {
                Some(at) if all[at].0 == label.0 => all[at] = label,
                Some(at) => all.insert(at, label),
                None => all.push(label),
            }
        }
        Ok((all, declared))
    }

    fn pending(&mut self, id: SeriesId, wanted: Kind, value: f64) -> Result<&mut Pending, RecordError> {
        let p = self.series.get_mut(id as usize).ok_or(RecordError::NoSuchSeries(id))?;
        if p.kind != wanted {
            return Err(RecordError::Kind { metric: p.metric.clone(), is: p.kind, wanted });
        }
        if !value.is_finite() || (wanted == Kind::Counter && value < 0.0) {
            return Err(RecordError::Value { metric: p.metric.clone(), is: p.kind });
        }
        if !(p.lo..=p.hi).contains(&value) {
            return Err(RecordError::Range(p.metric.clone()));
        }
        p.touched += 1;
        Ok(p)
    }

    /// Adds `by` (at least 0) to a counter.
    ///
    /// # Errors
    /// [`RecordError::Kind`] if not a counter, [`RecordError::Value`] for a negative or
    /// non-finite increment, [`RecordError::Range`] for one outside the declared range,
    /// [`RecordError::NoSuchSeries`].
    pub fn add(&mut self, id: SeriesId, by: f64) -> Result<(), RecordError> {
        self.pending(id, Kind::Counter, by)?.value += by;
        Ok(())
    }

    /// Sets a gauge (the last value before a push is the one pushed).
    ///
    /// # Errors
    /// As [`Recorder::add`], for gauges.
    pub fn set(&mut self, id: SeriesId, value: f64) -> Result<(), RecordError> {
        self.pending(id, Kind::Gauge, value)?.value = value;
        Ok(())
    }

    /// Observes `value` into a histogram: it counts in the first bucket whose bound is at
    /// least `value` (Prometheus's `le`).
    ///
    /// # Errors
    /// As [`Recorder::add`], for histograms.
    pub fn observe(&mut self, id: SeriesId, value: f64) -> Result<(), RecordError> {
        let p = self.pending(id, Kind::Histogram, value)?;
        let at = p.bounds.iter().position(|&b| value <= b).unwrap_or(p.bounds.len() - 1);
        p.counts[at] += 1;
        p.sum += value;
        Ok(())
    }

    /// Whether anything was recorded since the last [`Recorder::take`].
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|p| p.touched == 0)
    }

    /// The push of what was recorded since the last take, stamped `now_ms`, as the body of a
    /// `POST /api/v1/rum` (remote write 1.0, snappy), at most `max_bytes` long (keep it within
    /// the Worker's `RUM_MAX_BODY_BYTES`, and a browser's 64 KiB of keepalive requests in
    /// flight): the series that do not fit wait for the next take (a series is never split;
    /// one alone over `max_bytes` goes alone). `None` when nothing was recorded. What it holds
    /// is cleared: a push that fails must be sent again as these bytes.
    pub fn take(&mut self, now_ms: i64, max_bytes: usize) -> Option<&[u8]> {
        if self.is_empty() {
            return None;
        }
        let max_raw = crate::codec::snappy::max_literal_input(max_bytes);
        // 1.0 alone, series by series (Encoder::encode would bring 2.0's encoder into the
        // page's wasm, v1::encode the histogram encoder), and snappy's literal form: a push is a
        // few KiB, and the compressor would be a sixth of the page's wasm.
        self.raw.clear();
        // From where the last take stopped for size, so that every series gets its turn.
        let n = self.series.len();
        for i in (self.next..n).chain(0..self.next) {
            let Some(p) = self.series.get_mut(i).filter(|p| p.touched > 0) else { continue };
            // A counter's increments since the last push, as samples within its declared
            // range (the edge checks each): 2,500 errors with a range up to 1,000 are three
            // samples of 1,000, 1,000 and 500. Past MAX_SPLIT samples the rest waits.
            let mut left = p.value;
            let mut samples = Vec::new();
            loop {
                let part = if p.kind == Kind::Counter && p.hi > 0.0 { left.min(p.hi) } else { left };
                samples.push(Sample::new(part, 0));
                left -= part;
                if left <= 0.0 || samples.len() == MAX_SPLIT {
                    break;
                }
            }
            // Stamped up to now, a millisecond apart.
            let mut ts = now_ms - samples.len() as i64;
            for s in &mut samples {
                ts += 1;
                s.timestamp = ts;
            }
            let q = &*p;
            let mark = self.raw.len();
            let mut put = |suffix: &str, le: Option<&str>, samples: &[Sample]| {
                let name = [q.metric.as_str(), suffix].concat();
                let labels = q
                    .labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), if n == METRIC_NAME_LABEL { name.as_str() } else { v.as_str() }));
                // Labels stay sorted: `le` goes where it sorts.
                let at = q.labels.partition_point(|l| l.0.as_str() < "le");
                let labels = labels.clone().take(at).chain(le.map(|le| ("le", le))).chain(labels.skip(at));
                crate::codec::v1::put_plain_series(&mut self.raw, labels, samples);
            };
            if q.kind != Kind::Histogram {
                put("", None, &samples);
            } else {
                let one = |v: f64| [Sample::new(v, now_ms)];
                let mut cumulative = 0;
                for (bound, n) in q.bounds.iter().zip(&q.counts) {
                    cumulative += n;
                    put("_bucket", Some(&le(*bound)), &one(cumulative as f64));
                }
                put("_sum", None, &one(q.sum));
                put("_count", None, &one(cumulative as f64));
            }
            if self.raw.len() > max_raw && mark > 0 {
                self.raw.truncate(mark);
                self.next = i;
                break;
            }
            p.touched = u64::from(left > 0.0);
            p.value = left.max(0.0);
            p.sum = 0.0;
            p.counts.iter_mut().for_each(|c| *c = 0);
        }
        crate::codec::snappy::literal_into(&self.raw, &mut self.body);
        let body = &self.body[..];
        Some(body)
    }
}
