//! The RUM schema: the metrics pages may push, and what each may hold. Browsers cannot keep a
//! secret, so the RUM endpoint trusts nothing a page sends beyond what is declared here.
//!
//! The built-in schema declares what edgewrite's RUM client sends (page views, JS errors and
//! the five Core Web Vitals as histograms with buckets around their published thresholds);
//! the `RUM_SCHEMA` setting adds metrics or replaces built-in ones, as JSON:
//!
//! ```
//! use edgewrite::rum::{Kind, Schema};
//!
//! let schema = Schema::with(r#"{
//!   "shop_checkout_total": { "type": "counter", "labels": ["route", "step"], "range": [0, 100] },
//!   "shop_cart_items": { "type": "histogram", "buckets": [1, 2, 5, 10], "labels": ["route"], "range": [0, 500] }
//! }"#).unwrap();
//! assert_eq!(schema.metric("shop_cart_items").unwrap().kind, Kind::Histogram);
//! assert!(schema.metric("rum_lcp_seconds").is_some(), "the built-in metrics stay declared");
//! ```

use std::collections::BTreeMap;
use std::fmt;

/// What a declared metric is, and so what a push of it means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Each sample is an increment (at least 0); the aggregate is the running total.
    Counter,
    /// Pushed as a classic histogram's deltas (`_bucket{le}` for every declared bucket and
    /// `+Inf`, `_sum`, `_count`), or as native histogram samples under the metric's own name
    /// (taken at the declared buckets): observations to merge into the running buckets.
    Histogram,
    /// Each sample is the current value; the aggregate keeps the last.
    Gauge,
}

impl Kind {
    /// Its name in the schema and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Gauge => "gauge",
        }
    }

    /// The range a page's declaration takes when it gives none: any value the kind allows (a
    /// counter's increments, a histogram's observations from 0). The Worker's `RUM_SCHEMA`
    /// gives every metric its range, and refuses what falls outside it.
    pub fn widest_range(self) -> (f64, f64) {
        match self {
            Kind::Gauge => (f64::MIN, f64::MAX),
            Kind::Counter | Kind::Histogram => (0.0, f64::MAX),
        }
    }
}

/// One declared metric.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// Counter, histogram or gauge.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The label names a push may carry (besides `__name__`, and `le` for histogram buckets).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Histograms: the upper bounds of the buckets, ascending (`+Inf` is implied).
    #[serde(default)]
    pub buckets: Vec<f64>,
    /// The values allowed: a counter's increment, a gauge's value, a histogram's observations
    /// (checked on their mean: `_sum` within `_count` times the range).
    pub range: (f64, f64),
}

impl Metric {
    /// A histogram's bucket bounds with `+Inf` last (a counter's or gauge's: `+Inf` alone).
    pub fn bounds(&self) -> Vec<f64> {
        self.buckets.iter().copied().chain([f64::INFINITY]).collect()
    }
}

/// The metrics pages may push, by name (a histogram by its family name).
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// Sorted by name (a few metrics: a sorted list is smaller in the page's wasm than a map).
    metrics: Vec<(String, Metric)>,
}

/// A `RUM_SCHEMA` setting that cannot be used: the operator's to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError(pub String);

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RUM_SCHEMA: {}", self.0)
    }
}

impl std::error::Error for SchemaError {}

/// Buckets of the Web Vitals' histograms, in their units, around the published thresholds
/// (good / poor): LCP 2.5 / 4 s, INP 200 / 500 ms, CLS 0.1 / 0.25, FCP 1.8 / 3 s, TTFB
/// 0.8 / 1.8 s.
const LCP: &[f64] = &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0];
const INP: &[f64] = &[0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0];
const CLS: &[f64] = &[0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0];
const FCP: &[f64] = &[0.5, 1.0, 1.5, 1.8, 2.0, 2.5, 3.0, 4.0, 6.0];
const TTFB: &[f64] = &[0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 1.8, 2.5, 4.0];

impl Default for Schema {
    /// The built-in schema: what edgewrite's RUM client sends.
    fn default() -> Self {
        let labels = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        let counter = |names: &[&str], max| Metric {
            kind: Kind::Counter,
            labels: labels(names),
            buckets: vec![],
            range: (0.0, max),
        };
        let vital = |buckets: &[f64], max| Metric {
            kind: Kind::Histogram,
            labels: labels(&["route", "rating"]),
            buckets: buckets.to_vec(),
            range: (0.0, max),
        };
        // By name.
        let metrics = [
            ("rum_cls", vital(CLS, 100.0)),
            ("rum_errors_total", counter(&["route", "kind"], 1_000.0)),
            ("rum_fcp_seconds", vital(FCP, 600.0)),
            ("rum_inp_seconds", vital(INP, 600.0)),
            ("rum_lcp_seconds", vital(LCP, 600.0)),
            ("rum_page_views_total", counter(&["route"], 1_000.0)),
            ("rum_ttfb_seconds", vital(TTFB, 600.0)),
        ];
        Schema { metrics: metrics.into_iter().map(|(n, m)| (n.to_string(), m)).collect() }
    }
}

impl Schema {
    /// The built-in schema with `json`'s metrics added (or replacing built-in ones of the same
    /// name).
    ///
    /// # Errors
    /// [`SchemaError`]: not JSON of the documented shape, a metric name or label name that
    /// is not valid, histogram buckets that are not finite and ascending, a range that is
    /// empty or not finite.
    pub fn with(json: &str) -> Result<Self, SchemaError> {
        let mut schema = Schema::default();
        let extra: BTreeMap<String, Metric> =
            serde_json::from_str(json).map_err(|e| SchemaError(format!("{e} (see the README's RUM section)")))?;
        for (name, metric) in extra {
            schema.declare(&name, metric)?;
        }
        Ok(schema)
    }

    /// Declares `metric` as `name` (replacing a metric of that name).
    ///
    /// # Errors
    /// [`SchemaError`], as [`Schema::with`].
    pub fn declare(&mut self, name: &str, metric: Metric) -> Result<(), SchemaError> {
        check(name, &metric)?;
        match self.find(name) {
            Ok(at) => self.metrics[at].1 = metric,
            Err(at) => self.metrics.insert(at, (name.to_string(), metric)),
        }
        Ok(())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.metrics.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    fn get(&self, name: &str) -> Option<(&str, &Metric)> {
        self.find(name).ok().map(|at| (self.metrics[at].0.as_str(), &self.metrics[at].1))
    }

    /// The declared metric called `name` (a histogram by its family name).
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.get(name).map(|(_, m)| m)
    }

    /// The declared metric a series called `series_name` belongs to, and which part of it the
    /// series is: a histogram's `_bucket`, `_sum` or `_count`, or the metric itself.
    pub fn family(&self, series_name: &str) -> Option<(&str, &Metric, Part)> {
        for (suffix, part) in [("_bucket", Part::Bucket), ("_sum", Part::Sum), ("_count", Part::Count)] {
            if let Some(base) = series_name.strip_suffix(suffix)
                && let Some((name, m)) = self.get(base)
                && m.kind == Kind::Histogram
            {
                return Some((name, m, part));
            }
        }
        self.get(series_name).map(|(name, m)| (name, m, Part::Value))
    }

    /// The declared metric names, for messages.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.metrics.iter().map(|(n, _)| n.as_str())
    }
}

/// A histogram bucket's `le` label: `+Inf`, or the bound as the shortest decimal that reads
/// back as it exactly (what Rust's `Display` writes, for every bound a schema takes).
pub fn le(bound: f64) -> String {
    if bound == f64::INFINITY { "+Inf".into() } else { decimal(bound).unwrap_or_else(|| "NaN".into()) }
}

/// `v` as a decimal with the fewest fractional digits (at most 15) that reads back as `v`
/// exactly, or `None` (NaN, infinite, 2^53 or more, more digits). Written by hand, without
/// Rust's float formatting, which would be most of the page's RUM wasm.
fn decimal(v: f64) -> Option<String> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let a = v.abs();
    for (places, p) in POW10.iter().enumerate() {
        let m = (a * p).round();
        // Also NaN and infinities.
        if m.is_nan() || m >= 9_007_199_254_740_992.0 {
            return None;
        }
        // m and p are exact, so m / p is the correctly rounded value of the decimal, as
        // parsing it is: equal to `a` exactly when the decimal reads back as `a`.
        if m / p == a {
            // Digits from the last, a point after `places` of them, at least one before it.
            let (mut m, mut out) = (m as u64, Vec::new());
            while m > 0 || out.len() <= places {
                if out.len() == places && places > 0 {
                    out.push(b'.');
                }
                out.push(b'0' + (m % 10) as u8);
                m /= 10;
            }
            if v < 0.0 {
                out.push(b'-');
            }
            // ASCII as chars: no UTF-8 validation in the page's wasm.
            return Some(out.iter().rev().map(|&b| char::from(b)).collect());
        }
    }
    None
}

/// Which series of a declared metric a pushed series is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// A counter's or gauge's own series (or, wrongly, a histogram's family name).
    Value,
    /// A histogram's `_bucket{le}`.
    Bucket,
    /// A histogram's `_sum`.
    Sum,
    /// A histogram's `_count`.
    Count,
}

fn check(name: &str, m: &Metric) -> Result<(), SchemaError> {
    // No formatting here (no floats, no `{:?}`, not even `format!`): the page's wasm declares
    // metrics too, and is smaller without it.
    let bad = |why: &str| Err(SchemaError(["metric \"", name, "\": ", why].concat()));
    // By bytes: only ASCII is valid, and `chars()` would bring UTF-8 decoding into the page.
    let valid = |s: &str, colon: bool| {
        let mut bytes = s.bytes();
        bytes.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || (colon && c == b':'))
            && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_' || (colon && c == b':'))
    };
    if !valid(name, true) {
        return bad("not a valid metric name");
    }
    for l in &m.labels {
        if !valid(l, false) || l.starts_with("__") || l == "le" {
            return bad(&["\"", l, "\" cannot be a label name here"].concat());
        }
    }
    let (lo, hi) = m.range;
    if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
        return bad("its range must be two finite numbers, the first not above the second");
    }
    match m.kind {
        Kind::Histogram if m.buckets.is_empty() => bad("a histogram needs buckets"),
        Kind::Histogram if !m.buckets.iter().all(|b| b.is_finite()) || !m.buckets.windows(2).all(|w| w[0] < w[1]) => {
            bad("buckets must be finite and ascending (+Inf is implied)")
        }
        Kind::Histogram if m.buckets.iter().any(|b| decimal(*b).is_none()) => {
            bad("a bucket bound that cannot be an le label exactly: use at most 15 decimal places, below 2^53")
        }
        Kind::Counter if lo < 0.0 => bad("a counter's increments cannot be negative"),
        Kind::Counter | Kind::Gauge if !m.buckets.is_empty() => bad(&["a ", m.kind.name(), " has no buckets"].concat()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_built_in_schema_declares_what_the_client_sends() {
        let s = Schema::default();
        assert_eq!(s.family("rum_lcp_seconds_bucket").map(|f| (f.0, f.2)), Some(("rum_lcp_seconds", Part::Bucket)));
        assert_eq!(s.family("rum_cls_count").map(|f| f.2), Some(Part::Count));
        assert_eq!(s.family("rum_page_views_total").map(|f| f.2), Some(Part::Value));
        assert_eq!(s.family("rum_page_views_total_sum").map(|f| f.0), None, "a counter has no parts");
        assert!(s.family("nope").is_none());
        for name in s.names() {
            let m = s.metric(name).unwrap();
            check(name, m).unwrap();
        }
    }

    #[test]
    fn bad_settings_say_which_metric_and_why() {
        for (json, says) in [
            ("[]", "invalid type"),
            (r#"{"a": {"type": "counter"}}"#, "missing field `range`"),
            (r#"{"a": {"type": "summary", "range": [0, 1]}}"#, "unknown variant"),
            (r#"{"a": {"type": "counter", "range": [0, 1], "lables": []}}"#, "unknown field `lables`"),
            (r#"{"1a": {"type": "counter", "range": [0, 1]}}"#, "not a valid metric name"),
            (r#"{"a": {"type": "counter", "range": [0, 1], "labels": ["le"]}}"#, "\"le\" cannot be a label name"),
            (r#"{"a": {"type": "gauge", "range": [2, 1]}}"#, "the first not above the second"),
            (r#"{"a": {"type": "histogram", "range": [0, 1], "buckets": [1e-16]}}"#, "cannot be an le label exactly"),
            (r#"{"a": {"type": "histogram", "range": [0, 1], "buckets": [1e16]}}"#, "cannot be an le label exactly"),
            (r#"{"a": {"type": "counter", "range": [-1, 1]}}"#, "cannot be negative"),
            (r#"{"a": {"type": "histogram", "range": [0, 1]}}"#, "needs buckets"),
            (r#"{"a": {"type": "histogram", "range": [0, 1], "buckets": [2, 1]}}"#, "ascending"),
            (r#"{"a": {"type": "gauge", "range": [0, 1], "buckets": [1]}}"#, "a gauge has no buckets"),
        ] {
            let e = Schema::with(json).unwrap_err().to_string();
            assert!(e.starts_with("RUM_SCHEMA: ") && e.contains(says), "{json}: {e}");
        }
        let s = Schema::with(r#"{"rum_cls": {"type": "gauge", "range": [0, 5]}}"#).unwrap();
        assert_eq!(s.metric("rum_cls").unwrap().kind, Kind::Gauge, "a setting replaces a built-in metric");
        let e = Schema::with(r#"{"a\"b": {"type": "counter", "range": [0, 1]}}"#).unwrap_err().to_string();
        assert_eq!(e, "RUM_SCHEMA: metric \"a\"b\": not a valid metric name");
    }

    #[test]
    fn le_labels_read_back_as_their_bounds_as_rust_writes_them() {
        let mut bounds: Vec<f64> = Schema::default().metrics.iter().flat_map(|(_, m)| m.buckets.clone()).collect();
        bounds.extend([0.0, 1.0, -2.5, 1e-15, 123_456.789, 9.007e15, 0.000_001_5]);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..10_000 {
            // Random decimals of up to 15 places and 15 digits.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bounds.push((x % 1_000_000_000_000_000) as f64 / 10f64.powi((x >> 60) as i32));
        }
        for b in bounds {
            let le = le(b);
            assert_eq!(le.parse::<f64>().ok(), Some(b), "{le}");
            assert_eq!(le, b.to_string(), "as Display writes it");
        }
        assert_eq!(le(f64::INFINITY), "+Inf");
        for b in [1e16, 1e-16, 0.1 + 0.2, 1.0 / 3.0, f64::NAN] {
            assert_eq!(decimal(b), None, "{b}: too many digits to write exactly here");
        }
    }
}
