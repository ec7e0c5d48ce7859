//! Native histogram consistency, the checks Prometheus's `Histogram.Validate` and
//! `FloatHistogram.Validate` make: schema, spans against bucket counts, non-negative bucket
//! counts, count against buckets (integer histograms only: float rounding makes it inexact),
//! and the custom-bucket (schema -53) rules.

use crate::model::{BucketSpan, Count, Histogram};

/// The schema of native histograms with custom bucket bounds (NHCB).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// Checks one histogram; `Err` holds what is wrong, in words.
pub fn check(h: &Histogram) -> Result<(), String> {
    let custom = h.schema == CUSTOM_BUCKETS_SCHEMA;
    if !custom && !(-4..=8).contains(&h.schema) {
        return Err(format!("schema {} is not supported (use -4 to 8, or -53 for custom buckets)", h.schema));
    }
    let float = h.is_float();
    let (neg_len, pos_len) = if float {
        if !h.negative_deltas.is_empty() || !h.positive_deltas.is_empty() {
            return Err("a float histogram (count_float) must carry *_counts, not *_deltas".into());
        }
        (h.negative_counts.len(), h.positive_counts.len())
    } else {
        if !h.negative_counts.is_empty() || !h.positive_counts.is_empty() {
            return Err("an integer histogram (count_int) must carry *_deltas, not *_counts".into());
        }
        (h.negative_deltas.len(), h.positive_deltas.len())
    };
    spans(&h.positive_spans, pos_len, "positive")?;
    if custom {
        custom_bounds(h, pos_len)?;
    } else {
        spans(&h.negative_spans, neg_len, "negative")?;
        if !h.custom_values.is_empty() {
            return Err("custom_values are only allowed with schema -53".into());
        }
    }
    match (h.count, h.zero_count) {
        (Count::Int(count), Count::Int(zero)) => {
            let buckets = bucket_counts_int(&h.negative_deltas, "negative")?
                + bucket_counts_int(&h.positive_deltas, "positive")?
                + u128::from(zero);
            let count = u128::from(count);
            if h.sum.is_nan() {
                // A NaN observation lands in no bucket: count may exceed the buckets, never the reverse.
                if count < buckets {
                    return Err(format!("count {count} is less than the {buckets} observations in its buckets"));
                }
            } else if count != buckets {
                return Err(format!("count {count} does not match the {buckets} observations in its buckets"));
            }
        }
        (Count::Float(_), Count::Float(zero)) => {
            bucket_counts_float(&h.negative_counts, "negative")?;
            bucket_counts_float(&h.positive_counts, "positive")?;
            if zero.is_nan() || zero < 0.0 {
                return Err(format!("zero bucket count {zero} is negative or NaN"));
            }
            // Like Prometheus, no check of count against the buckets: float rounding makes it
            // differ in valid histograms.
        }
        (Count::Int(_), Count::Float(_)) => return Err("an integer histogram must use zero_count_int".into()),
        (Count::Float(_), Count::Int(n)) if n != 0 => {
            return Err("a float histogram must use zero_count_float".into());
        }
        (Count::Float(_), Count::Int(_)) => {
            bucket_counts_float(&h.negative_counts, "negative")?;
            bucket_counts_float(&h.positive_counts, "positive")?;
        }
    }
    Ok(())
}

fn bucket_counts_int(deltas: &[i64], side: &str) -> Result<u128, String> {
    let (mut current, mut total) = (0i128, 0i128);
    for (i, d) in deltas.iter().enumerate() {
        current += i128::from(*d);
        if current < 0 {
            return Err(format!("{side} bucket {i} has a negative count ({current})"));
        }
        total += current;
    }
    Ok(total as u128)
}

fn bucket_counts_float(counts: &[f64], side: &str) -> Result<(), String> {
    match counts.iter().position(|c| c.is_nan() || *c < 0.0) {
        Some(i) => Err(format!("{side} bucket {i} has a negative or NaN count ({})", counts[i])),
        None => Ok(()),
    }
}

fn spans(spans: &[BucketSpan], buckets: usize, side: &str) -> Result<(), String> {
    let mut covered: u64 = 0;
    for (i, s) in spans.iter().enumerate() {
        if i > 0 && s.offset < 0 {
            return Err(format!("{side} span {i} has a negative offset ({})", s.offset));
        }
        covered += u64::from(s.length);
    }
    if covered != buckets as u64 {
        return Err(format!("{side} spans cover {covered} buckets but {buckets} bucket counts were sent"));
    }
    Ok(())
}

fn custom_bounds(h: &Histogram, buckets: usize) -> Result<(), String> {
    if !h.negative_spans.is_empty() || !h.negative_deltas.is_empty() || !h.negative_counts.is_empty() {
        return Err("custom-bucket histograms (schema -53) have no negative buckets".into());
    }
    let zero_count = match h.zero_count {
        Count::Int(n) => n as f64,
        Count::Float(n) => n,
    };
    if zero_count != 0.0 || h.zero_threshold != 0.0 {
        return Err("custom-bucket histograms (schema -53) have no zero bucket".into());
    }
    let mut prev = f64::NEG_INFINITY;
    for (i, &b) in h.custom_values.iter().enumerate() {
        if !b.is_finite() || b <= prev {
            return Err(format!("custom bound {i} ({b}) must be finite and greater than the one before"));
        }
        prev = b;
    }
    // Buckets are numbered from 0, one per bound plus the +Inf bucket; each span starts
    // `offset` after the end of the one before.
    let mut index: i64 = -1;
    for s in &h.positive_spans {
        if s.offset < 0 {
            return Err("custom-bucket histograms (schema -53) cannot have negative span offsets".into());
        }
        index += i64::from(s.offset) + i64::from(s.length);
    }
    if buckets > 0 && index > h.custom_values.len() as i64 {
        return Err(format!(
            "spans reach bucket {index} but only {} custom bounds (plus +Inf) were sent",
            h.custom_values.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn int_histogram() -> Histogram {
        // buckets 2, 1, 3 (deltas 2, -1, 2) + zero bucket 1 = 7
        Histogram {
            count: Count::Int(7),
            sum: 12.5,
            schema: 0,
            zero_threshold: 1e-128,
            zero_count: Count::Int(1),
            positive_spans: vec![BucketSpan { offset: 0, length: 2 }, BucketSpan { offset: 1, length: 1 }],
            positive_deltas: vec![2, -1, 2],
            ..Histogram::default()
        }
    }

    #[test]
    fn accepts_a_consistent_integer_histogram() {
        assert_eq!(check(&int_histogram()), Ok(()));
    }

    #[test]
    fn refuses_a_count_that_does_not_match_its_buckets() {
        let h = Histogram { count: Count::Int(8), ..int_histogram() };
        let err = check(&h).unwrap_err();
        assert!(err.contains("count 8 does not match the 7 observations"), "{err}");
        // With a NaN sum, more observations than buckets is fine.
        assert_eq!(check(&Histogram { sum: f64::NAN, ..h }), Ok(()));
    }

    #[test]
    fn refuses_spans_that_do_not_cover_the_buckets() {
        let h = Histogram { positive_spans: vec![BucketSpan { offset: 0, length: 2 }], ..int_histogram() };
        assert!(check(&h).unwrap_err().contains("cover 2 buckets but 3"));
    }

    #[test]
    fn refuses_negative_bucket_counts_and_bad_schemas() {
        let h = Histogram { positive_deltas: vec![2, -3, 4], count: Count::Int(4), ..int_histogram() };
        assert!(check(&h).unwrap_err().contains("negative count"));
        let h = Histogram { schema: 9, ..int_histogram() };
        assert!(check(&h).unwrap_err().contains("schema 9"));
    }

    #[test]
    fn a_float_histogram_with_rounding_error_is_accepted() {
        let h = Histogram {
            count: Count::Float(0.3),
            sum: 1.0,
            zero_count: Count::Float(0.0),
            positive_spans: vec![BucketSpan { offset: 0, length: 2 }],
            positive_counts: vec![0.1, 0.2],
            ..Histogram::default()
        };
        // The buckets add up to 0.30000000000000004: the count is not held to them.
        assert_eq!(check(&h), Ok(()));
        // What is checked in a float histogram: no negative or NaN bucket, zero count included.
        for zero in [-0.5, f64::NAN] {
            let bad_zero = Histogram { zero_count: Count::Float(zero), ..h.clone() };
            assert!(check(&bad_zero).unwrap_err().contains("zero bucket count"), "{zero}");
        }
        let nan = Histogram { positive_counts: vec![0.1, f64::NAN], ..h.clone() };
        assert!(check(&nan).is_err());
        let negative = Histogram { positive_counts: vec![0.1, -0.2], ..h };
        assert!(check(&negative).unwrap_err().contains("positive bucket 1 has a negative"));
    }

    #[test]
    fn integer_counts_compare_exactly_above_2_pow_53() {
        let big = 1u64 << 60;
        let h = Histogram {
            count: Count::Int(big + 1),
            sum: 1.0,
            positive_spans: vec![BucketSpan { offset: 0, length: 1 }],
            positive_deltas: vec![big as i64],
            ..Histogram::default()
        };
        assert!(check(&h).unwrap_err().contains("does not match"), "as f64 both are 2^60");
    }

    #[test]
    fn checks_custom_bucket_histograms() {
        let h = Histogram {
            count: Count::Int(3),
            sum: 1.0,
            schema: CUSTOM_BUCKETS_SCHEMA,
            positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
            positive_deltas: vec![1, 0, 0],
            custom_values: vec![0.1, 0.5],
            ..Histogram::default()
        };
        assert_eq!(check(&h), Ok(()));
        let bad = Histogram { custom_values: vec![0.5, 0.1], ..h.clone() };
        assert!(check(&bad).unwrap_err().contains("greater than the one before"));
        let short = Histogram { custom_values: vec![0.1], ..h };
        assert!(check(&short).unwrap_err().contains("custom bounds"));
    }
}
