//! What a RUM push may write: each series checked against the [`Schema`], turned into
//! [`Delta`]s for the aggregators, or refused with a reason a person can act on (the rest of
//! the push is written, as remote write's partial writes).

use super::schema::{Kind, Metric, Part, Schema};
use crate::model::{Series, WriteRequest};
use crate::query::eval::native::FloatHistogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A series' labels without `__name__` (and `le`), sorted by name.
pub type Labels = Vec<(String, String)>;

/// One series' change, as a page pushed it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Delta {
    /// The declared metric (a histogram's family name).
    pub metric: String,
    /// Its labels, without `__name__` and `le`, sorted.
    pub labels: Labels,
    /// The change.
    pub change: Change,
    /// When the page recorded it (ms): from [`check`], its newest sample's time on the page's
    /// clock; the receiver puts it on the Worker's clock ([`crate::receiver::rum::set_time`]).
    /// Only a gauge's is read: a value set earlier does not replace a later one. Missing (a
    /// Worker older than this field): at its arrival.
    #[serde(default = "at_arrival")]
    pub at_ms: i64,
}

fn at_arrival() -> i64 {
    i64::MAX
}

/// What a push changes of one series.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// A counter's increment.
    Add(f64),
    /// A gauge's new value.
    Set(f64),
    /// A histogram's new observations: the cumulative count per declared bucket (`+Inf`
    /// last), their sum and their count.
    Observe {
        /// Cumulative counts, one per declared bucket, then `+Inf`.
        buckets: Vec<f64>,
        /// The observations' sum.
        sum: f64,
        /// How many observations.
        count: f64,
    },
}

/// A push, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    /// What to aggregate.
    pub deltas: Vec<Delta>,
    /// Samples taken.
    pub written: u64,
    /// Samples refused.
    pub refused: u64,
    /// Why some were refused (empty if none were): one line each, at most 20.
    pub message: String,
}

/// Most observations one histogram series may carry in one push.
const MAX_OBSERVATIONS: f64 = 1_000_000.0;

/// The parts of one pushed classic histogram, gathered across its series.
#[derive(Default)]
struct Parts {
    buckets: Vec<(f64, f64)>,
    sum: Option<f64>,
    count: Option<f64>,
    series: usize,
    samples: u64,
    /// Its newest sample's time.
    at_ms: i64,
    /// Whether it was pushed as a native histogram (its parts are then taken from that).
    native: bool,
    /// Why one of its series cannot be taken (the whole histogram is refused).
    broken: Option<String>,
}

/// Checks a decoded push against `schema`.
pub fn check(request: &WriteRequest<'_>, schema: &Schema) -> Checked {
    let mut out = Checked::default();
    let mut reasons: Vec<String> = Vec::new();
    let mut histograms: BTreeMap<(String, Labels), Parts> = BTreeMap::new();
    for s in &request.series {
        let samples = s.samples.len() as u64 + s.histograms.len() as u64;
        let name = s.metric_name().unwrap_or_default();
        if let Err(why) = one(s, name, schema, &mut out.deltas, &mut histograms) {
            out.refused += samples;
            reasons.push(format!("{name}: {why}"));
        } else if !matches!(schema.family(name), Some((_, m, _)) if m.kind == Kind::Histogram) {
            out.written += samples;
        }
    }
    for ((metric, labels), parts) in histograms {
        let declared = schema.metric(&metric).expect("gathered from declared histograms");
        match histogram(declared, &parts) {
            Ok(change) => {
                out.written += parts.samples;
                out.deltas.push(Delta { metric, labels, change, at_ms: parts.at_ms });
            }
            Err(why) => {
                out.refused += parts.samples;
                reasons.push(format!("{metric} {}: {why} ({} series refused)", show(&labels), parts.series));
            }
        }
    }
    if !reasons.is_empty() {
        let _ = writeln!(out.message, "some series refused; the rest were accepted:");
        for r in reasons.iter().take(20) {
            let _ = writeln!(out.message, "{r}");
        }
        if reasons.len() > 20 {
            let _ = writeln!(out.message, "... and {} more", reasons.len() - 20);
        }
    }
    out
}

fn show(labels: &Labels) -> String {
    let pairs: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", pairs.join(", "))
}

/// One series: a counter's or gauge's delta, or a part of a histogram gathered for later.
fn one(
    s: &Series<'_>,
    name: &str,
    schema: &Schema,
    deltas: &mut Vec<Delta>,
    histograms: &mut BTreeMap<(String, Labels), Parts>,
) -> Result<(), String> {
    let Some((metric, declared, part)) = schema.family(name) else {
        let names: Vec<&str> = schema.names().collect();
        return Err(format!("not a declared RUM metric (declared: {}; add it to RUM_SCHEMA)", names.join(", ")));
    };
    let mut labels = Labels::new();
    let mut le = None;
    for l in &s.labels {
        match &*l.name {
            "__name__" => {}
            "le" if part == Part::Bucket => le = Some(l.value.to_string()),
            n if declared.labels.iter().any(|a| a == n) => labels.push((n.to_string(), l.value.to_string())),
            n => {
                return Err(format!(
                    "label {n:?} is not allowed on {metric} (allowed: {})",
                    if declared.labels.is_empty() { "none".into() } else { declared.labels.join(", ") }
                ));
            }
        }
    }
    if !s.histograms.is_empty() {
        if (declared.kind, part) != (Kind::Histogram, Part::Value) || !s.samples.is_empty() {
            return Err(format!(
                "native histogram samples go under a declared histogram's own name, alone ({metric} is a {}{})",
                declared.kind.name(),
                if part == Part::Value { "" } else { ", and this is one of its classic parts" }
            ));
        }
        let parts = histograms.entry((metric.to_string(), labels)).or_default();
        parts.series += 1;
        parts.samples += s.histograms.len() as u64;
        if let Err(why) = native(s, declared, parts) {
            parts.broken.get_or_insert(why);
        }
        return Ok(());
    }
    if s.samples.is_empty() {
        return Err("no samples".into());
    }
    let (lo, hi) = declared.range;
    let values = || s.samples.iter().map(|x| x.value);
    let at_ms = s.samples.iter().map(|x| x.timestamp).max().unwrap_or_default();
    // A histogram's counts: whole numbers of observations, at most a million in one push.
    let sum = |what: &str| -> Result<f64, String> {
        match values().find(|v| !(0.0..=MAX_OBSERVATIONS).contains(v) || v.fract() != 0.0) {
            Some(v) => Err(format!("{what} {v} must be a whole number of observations from 0 to {MAX_OBSERVATIONS}")),
            None => Ok(values().sum()),
        }
    };
    match (declared.kind, part) {
        (Kind::Counter, Part::Value) => {
            if let Some(v) = values().find(|v| !(lo..=hi).contains(v)) {
                return Err(format!("increment {v} is outside the allowed range [{lo}, {hi}]"));
            }
            deltas.push(Delta { metric: metric.to_string(), labels, change: Change::Add(values().sum()), at_ms });
        }
        (Kind::Gauge, Part::Value) => {
            if let Some(v) = values().find(|v| !(lo..=hi).contains(v)) {
                return Err(format!("value {v} is outside the allowed range [{lo}, {hi}]"));
            }
            let last = s.samples.iter().max_by_key(|x| x.timestamp).map_or(f64::NAN, |x| x.value);
            deltas.push(Delta { metric: metric.to_string(), labels, change: Change::Set(last), at_ms });
        }
        (Kind::Histogram, Part::Value) => {
            return Err(format!("a histogram: push its {metric}_bucket, {metric}_sum and {metric}_count series"));
        }
        (Kind::Histogram, part) => {
            let parts = histograms.entry((metric.to_string(), labels)).or_default();
            parts.series += 1;
            parts.samples += s.samples.len() as u64;
            parts.at_ms = parts.at_ms.max(at_ms);
            // A bad part refuses the whole histogram (counted with it, below).
            if parts.native {
                parts.broken.get_or_insert_with(|| "pushed both as a native and as a classic histogram".into());
            }
            let taken = match part {
                Part::Bucket => le
                    .ok_or_else(|| "a bucket series needs its le label".to_string())
                    .and_then(|le| parse_le(&le).ok_or_else(|| format!("le={le:?} is not a number")))
                    .and_then(|bound| sum("bucket count").map(|n| parts.buckets.push((bound, n)))),
                Part::Sum => {
                    // A sum of observations may be negative when the range allows it.
                    let v: f64 = values().sum();
                    if v.is_finite() { Ok(v) } else { Err(format!("sum {v} is not a number")) }
                        .map(|v| parts.sum = Some(parts.sum.unwrap_or(0.0) + v))
                }
                Part::Count => sum("count").map(|v| parts.count = Some(parts.count.unwrap_or(0.0) + v)),
                Part::Value => unreachable!("matched above"),
            };
            if let Err(why) = taken {
                parts.broken.get_or_insert(why);
            }
        }
        (kind, _) => return Err(format!("a {}, not a histogram's part", kind.name())),
    }
    Ok(())
}

/// A series' native histogram samples, summed, as the parts of the declared classic histogram
/// (each bucket at the first declared bound at or above its upper bound: exact where the
/// declared bounds are bucket bounds).
fn native(s: &Series<'_>, declared: &Metric, parts: &mut Parts) -> Result<(), String> {
    if parts.native || !parts.buckets.is_empty() || parts.sum.is_some() || parts.count.is_some() {
        return Err("pushed twice, or both as a native and as a classic histogram".into());
    }
    parts.native = true;
    let bounds = declared.bounds();
    let (mut buckets, mut sum, mut count) = (vec![0.0; bounds.len()], 0.0, 0.0);
    for sample in &s.histograms {
        parts.at_ms = parts.at_ms.max(sample.timestamp);
        let h = FloatHistogram::from_model(sample);
        if !h.sum.is_finite() {
            return Err(format!("sum {} is not a number", h.sum));
        }
        if !(0.0..=MAX_OBSERVATIONS).contains(&h.count) || h.count.fract() != 0.0 {
            return Err(format!(
                "count {} must be a whole number of observations from 0 to {MAX_OBSERVATIONS}",
                h.count
            ));
        }
        let cumulative = h.cumulative(&bounds);
        if let Some(c) = cumulative.iter().find(|c| c.fract() != 0.0) {
            return Err(format!("its buckets must hold whole numbers of observations (one holds {c})"));
        }
        let total = cumulative.last().copied().unwrap_or(0.0);
        if total != h.count {
            return Err(format!("its buckets hold {total} observations, its count says {}", h.count));
        }
        buckets.iter_mut().zip(cumulative).for_each(|(b, c)| *b += c);
        sum += h.sum;
        count += h.count;
    }
    parts.buckets = bounds.into_iter().zip(buckets).collect();
    parts.sum = Some(sum);
    parts.count = Some(count);
    Ok(())
}

fn parse_le(le: &str) -> Option<f64> {
    match le {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => le.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

/// A pushed classic histogram's parts as one change: every declared bucket and `+Inf`
/// present once, cumulative counts that never decrease, `+Inf` equal to `_count`, and a mean
/// inside the declared range.
fn histogram(declared: &Metric, parts: &Parts) -> Result<Change, String> {
    if let Some(why) = &parts.broken {
        return Err(why.clone());
    }
    let mut buckets = parts.buckets.clone();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err("a bucket pushed twice".into());
    }
    let bounds = declared.bounds();
    if let Some(b) = buckets.iter().find(|b| !bounds.contains(&b.0)) {
        let declared: Vec<String> = declared.buckets.iter().map(f64::to_string).collect();
        return Err(format!("le={} is not a declared bucket (declared: {}, +Inf)", b.0, declared.join(", ")));
    }
    if buckets.len() != bounds.len() {
        return Err(format!("push every declared bucket and +Inf ({} of {} pushed)", buckets.len(), bounds.len()));
    }
    if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
        return Err("bucket counts must not decrease as le grows (they are cumulative)".into());
    }
    let (Some(sum), Some(count)) = (parts.sum, parts.count) else {
        return Err("push _sum and _count with the buckets".into());
    };
    let total = buckets.last().map_or(0.0, |b| b.1);
    if total != count {
        return Err(format!("the +Inf bucket ({total}) must equal _count ({count})"));
    }
    let (lo, hi) = declared.range;
    if count > 0.0 && !(count * lo..=count * hi).contains(&sum) {
        return Err(format!("the mean observation {} is outside the allowed range [{lo}, {hi}]", sum / count));
    }
    if count == 0.0 && sum != 0.0 {
        return Err("a sum without observations".into());
    }
    Ok(Change::Observe { buckets: buckets.into_iter().map(|b| b.1).collect(), sum, count })
}
