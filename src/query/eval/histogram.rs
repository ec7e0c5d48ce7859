//! `histogram_quantile` over classic histograms (one series per `le` bucket), as Prometheus
//! 2.42's `bucketQuantile`: buckets sorted by upper bound, equal bounds merged, counts made
//! monotonic, the quantile interpolated linearly inside its bucket.

use super::{Labels, drop_name};
use std::collections::BTreeMap;

/// The φ-quantile of each histogram in `input`: its series grouped by their labels without
/// `le` (the name dropped from the result); series without a parseable `le` are skipped.
pub(super) fn quantile(q: f64, input: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let mut histograms: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for (mut labels, count) in input {
        let Some(i) = labels.iter().position(|(n, _)| n == "le") else { continue };
        // Rust reads bounds as Go's ParseFloat does (`+Inf`, `inf`, `1e3`, signs), hex aside.
        let Ok(bound) = labels[i].1.parse::<f64>() else { continue };
        // Out of range (`1e400`): Go refuses it, so the bucket is skipped.
        if bound.is_infinite() && !labels[i].1.to_ascii_lowercase().contains("inf") {
            continue;
        }
        labels.remove(i);
        histograms.entry(labels).or_default().push((bound, count));
    }
    histograms.into_iter().map(|(labels, buckets)| (drop_name(labels), bucket_quantile(q, buckets))).collect()
}

fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Equal bounds (from differently written `le` values) are one bucket.
    buckets.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    // Counts that go down (scrapes of buckets at different moments) are raised to the
    // largest count before them.
    let mut most = f64::NEG_INFINITY;
    for b in &mut buckets {
        // (A NaN count stays NaN, as in Go.)
        if b.1 > most {
            most = b.1;
        } else if b.1 < most {
            b.1 = most;
        }
    }
    if buckets.len() < 2 {
        return f64::NAN;
    }
    let observations = buckets[buckets.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let b = buckets[..buckets.len() - 1].partition_point(|x| x.1 < rank);
    if b == buckets.len() - 1 {
        return buckets[buckets.len() - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (mut start, end, mut count) = (0.0, buckets[b].0, buckets[b].1);
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn bucket(le: &str, job: &str, count: f64) -> (Labels, f64) {
        (vec![("__name__".into(), "h_bucket".into()), ("job".into(), job.into()), ("le".into(), le.into())], count)
    }

    #[test]
    fn interpolates_inside_the_bucket() {
        // 10 observations <= 0.1, 10 more <= 0.5, none above.
        let input = vec![bucket("0.1", "a", 10.0), bucket("0.5", "a", 20.0), bucket("+Inf", "a", 20.0)];
        let out = quantile(0.75, input.clone());
        assert_eq!(out, vec![(vec![("job".into(), "a".into())], 0.1 + 0.4 * 0.5)]);
        assert_eq!(quantile(0.5, input.clone())[0].1, 0.1);
        assert_eq!(quantile(1.0, input.clone())[0].1, 0.5, "the top rank lands in the last finite bucket");
        assert_eq!(quantile(-1.0, input.clone())[0].1, f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, input.clone())[0].1, f64::INFINITY);
        assert!(quantile(f64::NAN, input)[0].1.is_nan());
    }

    #[test]
    fn merges_bounds_raises_counts_and_needs_inf() {
        // "1" and "1.0" are one bucket; the "+Inf" count below its predecessor is raised.
        let input =
            vec![bucket("1", "a", 2.0), bucket("1.0", "a", 2.0), bucket("2", "a", 8.0), bucket("+Inf", "a", 6.0)];
        assert_eq!(quantile(0.5, input)[0].1, 1.0);
        let no_inf = vec![bucket("1", "b", 2.0), bucket("2", "b", 4.0)];
        assert!(quantile(0.5, no_inf)[0].1.is_nan());
        let empty = vec![bucket("1", "c", 0.0), bucket("+Inf", "c", 0.0)];
        assert!(quantile(0.5, empty)[0].1.is_nan());
        let negative = vec![bucket("-1", "d", 5.0), bucket("+Inf", "d", 10.0)];
        assert_eq!(quantile(0.1, negative)[0].1, -1.0);
        assert!(quantile(0.5, vec![bucket("x", "e", 1.0)]).is_empty(), "a bad le is skipped");
    }
}
