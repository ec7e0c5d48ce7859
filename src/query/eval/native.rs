//! Native histograms in PromQL, as Prometheus 2.42 computes with them: a float histogram
//! (sparse exponential buckets, or custom bounds) that adds, subtracts and scales across
//! schemas, detects counter resets, and answers `histogram_quantile`, `histogram_fraction`,
//! `histogram_count` and `histogram_sum`.

use crate::model::{BucketSpan, Count, Histogram, ResetHint};
use std::collections::BTreeMap;

/// A native histogram with float counts, its buckets by index.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatHistogram {
    /// Resolution: -4..=8 exponential, -53 custom bounds.
    pub schema: i32,
    /// Width of the zero bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: f64,
    /// Number of observations.
    pub count: f64,
    /// Sum of observations.
    pub sum: f64,
    /// Positive buckets by index.
    pub positive: BTreeMap<i32, f64>,
    /// Negative buckets by index.
    pub negative: BTreeMap<i32, f64>,
    /// Custom bucket upper bounds (schema -53).
    pub custom_values: Vec<f64>,
    /// The sender's counter-reset hint.
    pub reset_hint: ResetHint,
}

/// The schema of custom-bound histograms.
const CUSTOM: i32 = -53;

fn count(c: Count) -> f64 {
    match c {
        Count::Int(n) => n as f64,
        Count::Float(f) => f,
    }
}

/// One bucket: lower and upper bound, and its count.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bucket {
    lower: f64,
    upper: f64,
    count: f64,
}

impl FloatHistogram {
    /// The histogram of a stored sample.
    pub fn from_model(h: &Histogram) -> Self {
        let buckets = |spans: &[BucketSpan], deltas: &[i64], counts: &[f64]| -> BTreeMap<i32, f64> {
            crate::store::render::bucket_counts(spans, deltas, counts).into_iter().collect()
        };
        FloatHistogram {
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count: count(h.zero_count),
            count: count(h.count),
            sum: h.sum,
            positive: buckets(&h.positive_spans, &h.positive_deltas, &h.positive_counts),
            negative: buckets(&h.negative_spans, &h.negative_deltas, &h.negative_counts),
            custom_values: h.custom_values.clone(),
            reset_hint: h.reset_hint,
        }
    }

    /// As a stored-sample histogram (float counts), for rendering.
    pub fn to_model(&self, timestamp: i64) -> Histogram {
        let spans = |buckets: &BTreeMap<i32, f64>| -> (Vec<BucketSpan>, Vec<f64>) {
            let (mut spans, mut counts) = (Vec::<BucketSpan>::new(), Vec::new());
            let mut next: Option<i32> = None;
            for (&i, &c) in buckets {
                match next {
                    Some(n) if n == i => spans.last_mut().expect("a span is open").length += 1,
                    _ => {
                        let offset = match next {
                            None => i,
                            Some(n) => i - n,
                        };
                        spans.push(BucketSpan { offset, length: 1 });
                    }
                }
                counts.push(c);
                next = Some(i + 1);
            }
            (spans, counts)
        };
        let (positive_spans, positive_counts) = spans(&self.positive);
        let (negative_spans, negative_counts) = spans(&self.negative);
        Histogram {
            count: Count::Float(self.count),
            sum: self.sum,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: Count::Float(self.zero_count),
            positive_spans,
            positive_counts,
            negative_spans,
            negative_counts,
            custom_values: self.custom_values.clone(),
            timestamp,
            reset_hint: ResetHint::Gauge,
            ..Histogram::default()
        }
    }

    /// Upper bound of bucket `i`.
    fn bound(&self, i: i32) -> f64 {
        if self.schema == CUSTOM {
            usize::try_from(i).ok().and_then(|i| self.custom_values.get(i).copied()).unwrap_or(f64::INFINITY)
        } else {
            2f64.powf(f64::from(i) * 2f64.powi(-self.schema))
        }
    }

    /// Lower bound of positive bucket `i`.
    fn lower(&self, i: i32) -> f64 {
        if self.schema == CUSTOM && i == 0 { f64::NEG_INFINITY } else { self.bound(i - 1) }
    }

    /// Every bucket in order, from the most negative up: negative buckets, the zero bucket
    /// (when it holds observations), positive buckets.
    fn buckets(&self) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self
            .negative
            .iter()
            .rev()
            .map(|(&i, &c)| Bucket { lower: -self.bound(i), upper: -self.lower(i), count: c })
            .collect();
        if self.zero_count > 0.0 {
            out.push(Bucket { lower: -self.zero_threshold, upper: self.zero_threshold, count: self.zero_count });
        }
        out.extend(self.positive.iter().map(|(&i, &c)| Bucket {
            lower: self.lower(i),
            upper: self.bound(i),
            count: c,
        }));
        out
    }

    /// The zero bucket's bounds as Prometheus reads them: from 0 when there are only positive
    /// buckets, up to 0 when only negative ones.
    fn clamp_zero(&self, b: &mut Bucket) {
        if b.lower < 0.0 && b.upper > 0.0 {
            if self.negative.is_empty() && !self.positive.is_empty() {
                b.lower = 0.0;
            } else if self.positive.is_empty() && !self.negative.is_empty() {
                b.upper = 0.0;
            }
        }
    }

    /// This histogram at a lower resolution (`schema` at most this one's).
    fn to_schema(&self, schema: i32) -> Self {
        if schema == self.schema || self.schema == CUSTOM {
            return self.clone();
        }
        let delta = self.schema - schema;
        let reduce = |buckets: &BTreeMap<i32, f64>| {
            let mut out = BTreeMap::new();
            for (&i, &c) in buckets {
                *out.entry(((i - 1) >> delta) + 1).or_insert(0.0) += c;
            }
            out
        };
        FloatHistogram { schema, positive: reduce(&self.positive), negative: reduce(&self.negative), ..self.clone() }
    }

    /// `self + sign * other`, at the lower of the two resolutions and the wider zero bucket.
    fn combine(&self, other: &Self, sign: f64) -> Self {
        let schema = self.schema.min(other.schema);
        let (mut a, b) = (self.to_schema(schema), other.to_schema(schema));
        a.zero_threshold = a.zero_threshold.max(b.zero_threshold);
        a.zero_count += sign * b.zero_count;
        a.count += sign * b.count;
        a.sum += sign * b.sum;
        for (i, c) in b.positive {
            *a.positive.entry(i).or_insert(0.0) += sign * c;
        }
        for (i, c) in b.negative {
            *a.negative.entry(i).or_insert(0.0) += sign * c;
        }
        a
    }

    /// The sum of two histograms.
    pub fn add(&self, other: &Self) -> Self {
        self.combine(other, 1.0)
    }

    /// The difference of two histograms.
    pub fn sub(&self, other: &Self) -> Self {
        self.combine(other, -1.0)
    }

    /// Every count and the sum multiplied by `factor`.
    pub fn scale(&self, factor: f64) -> Self {
        let mut h = self.clone();
        h.count *= factor;
        h.sum *= factor;
        h.zero_count *= factor;
        h.positive.values_mut().for_each(|c| *c *= factor);
        h.negative.values_mut().for_each(|c| *c *= factor);
        h
    }

    /// Whether going from `prev` to this one resets the counter: the sender says so, or a
    /// count went down, the resolution went up, or the zero bucket changed width.
    pub fn is_reset_from(&self, prev: &Self) -> bool {
        match self.reset_hint {
            ResetHint::Yes => return true,
            ResetHint::No | ResetHint::Gauge => return false,
            ResetHint::Unknown => {}
        }
        if self.count < prev.count
            || self.zero_count < prev.zero_count
            || self.schema > prev.schema
            || self.zero_threshold != prev.zero_threshold
        {
            return true;
        }
        let (now, before) =
            (self.to_schema(self.schema.min(prev.schema)), prev.to_schema(self.schema.min(prev.schema)));
        let dropped = |a: &BTreeMap<i32, f64>, b: &BTreeMap<i32, f64>| {
            b.iter().any(|(i, c)| a.get(i).copied().unwrap_or(0.0) < *c)
        };
        dropped(&now.positive, &before.positive) || dropped(&now.negative, &before.negative)
    }

    /// Its observations as a classic histogram's cumulative counts at `bounds` (ascending,
    /// `+Inf` last): a bucket counts at the first bound at or above its upper bound. Exact
    /// where every bound is a bucket bound (custom bounds the same, or powers of 2 for any
    /// exponential schema from 0 up); a bucket that straddles a bound counts above it.
    pub fn cumulative(&self, bounds: &[f64]) -> Vec<f64> {
        let mut counts = vec![0.0; bounds.len()];
        for mut b in self.buckets() {
            self.clamp_zero(&mut b);
            let at = bounds.partition_point(|&bound| bound < b.upper).min(bounds.len().saturating_sub(1));
            if let Some(c) = counts.get_mut(at) {
                *c += b.count;
            }
        }
        let mut total = 0.0;
        for c in &mut counts {
            total += *c;
            *c = total;
        }
        counts
    }

    /// `histogram_quantile` of a native histogram.
    pub fn quantile(&self, q: f64) -> f64 {
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        if self.count == 0.0 || q.is_nan() {
            return f64::NAN;
        }
        let rank = q * self.count;
        let (mut seen, mut bucket) = (0.0, None);
        for b in self.buckets() {
            seen += b.count;
            bucket = Some(b);
            if seen >= rank {
                break;
            }
        }
        let Some(mut b) = bucket else { return f64::NAN };
        self.clamp_zero(&mut b);
        let seen = seen.min(self.count);
        if seen < rank {
            return b.upper;
        }
        let rank = rank - (seen - b.count);
        b.lower + (b.upper - b.lower) * (rank / b.count)
    }

    /// `histogram_fraction`: the share of observations between `lower` and `upper`,
    /// interpolated linearly inside buckets.
    pub fn fraction(&self, lower: f64, upper: f64) -> f64 {
        if self.count == 0.0 || lower.is_nan() || upper.is_nan() {
            return f64::NAN;
        }
        if lower >= upper {
            return 0.0;
        }
        let (mut rank, mut lower_rank, mut upper_rank) = (0.0, None, None);
        for mut b in self.buckets() {
            self.clamp_zero(&mut b);
            if lower_rank.is_none() && b.lower >= lower {
                lower_rank = Some(rank);
            }
            if upper_rank.is_none() && b.lower >= upper {
                upper_rank = Some(rank);
            }
            if lower_rank.is_some() && upper_rank.is_some() {
                break;
            }
            let inside = |x: f64| rank + b.count * (x - b.lower) / (b.upper - b.lower);
            if lower_rank.is_none() && b.lower < lower && b.upper > lower {
                lower_rank = Some(inside(lower));
            }
            if upper_rank.is_none() && b.lower < upper && b.upper > upper {
                upper_rank = Some(inside(upper));
            }
            if lower_rank.is_some() && upper_rank.is_some() {
                break;
            }
            rank += b.count;
        }
        let at_most = |r: Option<f64>| r.filter(|r| *r <= self.count).unwrap_or(self.count);
        (at_most(upper_rank) - at_most(lower_rank)) / self.count
    }
}

/// The increase over a window of histograms (oldest first), counter resets added back when
/// `counter`: Prometheus's `histogramRate` before extrapolation.
pub fn increase(window: &[FloatHistogram], counter: bool) -> Option<FloatHistogram> {
    let (first, last) = (window.first()?, window.last()?);
    let schema = window.iter().map(|h| h.schema).min()?;
    let mut h = last.to_schema(schema).sub(first);
    if counter {
        for w in window.windows(2) {
            if w[1].is_reset_from(&w[0]) {
                h = h.add(&w[0]);
            }
        }
    }
    h.reset_hint = ResetHint::Gauge;
    h.positive.retain(|_, c| *c != 0.0);
    h.negative.retain(|_, c| *c != 0.0);
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Schema 0 (bounds 1, 2, 4, 8, ...): positive buckets by index, a zero bucket.
    fn h(zero: f64, positive: &[(i32, f64)]) -> FloatHistogram {
        let positive: BTreeMap<i32, f64> = positive.iter().copied().collect();
        let count = zero + positive.values().sum::<f64>();
        FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: zero,
            count,
            sum: 10.0,
            positive,
            negative: BTreeMap::new(),
            custom_values: Vec::new(),
            reset_hint: ResetHint::Unknown,
        }
    }

    #[test]
    fn quantiles_interpolate_inside_buckets_computed_by_hand() {
        // 1 in the zero bucket, 2 in (1, 2], 3 in (2, 4].
        let x = h(1.0, &[(1, 2.0), (2, 3.0)]);
        // Rank 0.5 * 6 = 3: the second bucket's end exactly.
        assert_eq!(x.quantile(0.5), 2.0);
        // Rank 4.5: (2, 4] holds ranks 3..6; 1.5 of 3 into it.
        assert_eq!(x.quantile(0.75), 2.0 + 2.0 * 0.5);
        // Rank 0.6: inside the zero bucket, read from 0 (no negative buckets) to 0.001.
        assert!((x.quantile(0.1) - 0.001 * 0.6).abs() < 1e-15);
        assert_eq!(x.quantile(-0.1), f64::NEG_INFINITY);
        assert_eq!(x.quantile(1.1), f64::INFINITY);
        assert!(h(0.0, &[]).quantile(0.5).is_nan());
    }

    #[test]
    fn fractions_interpolate_linearly() {
        let x = h(1.0, &[(1, 2.0), (2, 3.0)]);
        assert_eq!(x.fraction(0.0, f64::INFINITY), 1.0);
        // Up to 2: the zero bucket and (1, 2]: 3 of 6.
        assert_eq!(x.fraction(f64::NEG_INFINITY, 2.0), 0.5);
        // (2, 3]: half of (2, 4]'s 3 observations: 1.5 of 6.
        assert_eq!(x.fraction(2.0, 3.0), 0.25);
        assert_eq!(x.fraction(3.0, 3.0), 0.0);
        assert!(x.fraction(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn resolutions_combine_at_the_lower() {
        // Schema 1 buckets 1 and 2 ((1, 1.41], (1.41, 2]) are schema 0's bucket 1, and schema
        // 1's bucket 3 ((2, 2.83]) is schema 0's bucket 2.
        let fine = FloatHistogram {
            schema: 1,
            positive: [(1, 1.0), (2, 2.0), (3, 4.0)].into_iter().collect(),
            count: 7.0,
            ..h(0.0, &[])
        };
        let coarse = h(0.0, &[(1, 10.0)]);
        let sum = coarse.add(&fine);
        assert_eq!(sum.schema, 0);
        assert_eq!(sum.positive, [(1, 13.0), (2, 4.0)].into_iter().collect());
        assert_eq!(sum.count, 17.0);
        let back = sum.sub(&fine).scale(0.5);
        assert_eq!(back.positive, [(1, 5.0), (2, 0.0)].into_iter().collect());
        assert_eq!(back.sum, 5.0);
    }

    #[test]
    fn increases_add_back_what_a_reset_took() {
        let a = h(0.0, &[(1, 5.0)]);
        let b = h(0.0, &[(1, 8.0)]);
        let reset = h(0.0, &[(1, 2.0)]);
        assert!(reset.is_reset_from(&b));
        assert!(!b.is_reset_from(&a));
        let d = increase(&[a.clone(), b.clone(), reset], true).unwrap();
        // 8 - 5, then the reset: 8 more, then 2: 3 + 8 + 2 - ... = (2 - 5) + 8 = 5.
        assert_eq!(d.positive.get(&1), Some(&5.0));
        assert_eq!(d.count, 5.0);
        // Gauge-style (delta): no resets.
        let g = increase(&[a, b], false).unwrap();
        assert_eq!(g.count, 3.0);
    }

    #[test]
    fn model_round_trip() {
        let x = FloatHistogram {
            negative: [(-2, 1.0), (3, 2.0)].into_iter().collect(),
            ..h(1.0, &[(1, 2.0), (2, 3.0), (5, 1.0)])
        };
        let m = x.to_model(7);
        assert_eq!(m.positive_spans, [BucketSpan { offset: 1, length: 2 }, BucketSpan { offset: 2, length: 1 }]);
        let back = FloatHistogram::from_model(&m);
        assert_eq!(back.positive, x.positive);
        assert_eq!(back.negative, x.negative);
        assert_eq!((back.count, back.zero_count, back.sum), (x.count, x.zero_count, x.sum));
    }
}
