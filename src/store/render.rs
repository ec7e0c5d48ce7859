//! The read API's JSON, in the shapes of Prometheus's HTTP API, so its clients and habits carry
//! over: `{"status":"success","data":...}`, times as Unix seconds with millisecond decimals,
//! values as strings (`"1.5"`, `"NaN"`, `"+Inf"`). One addition: the store keeps stale markers,
//! and prints them as the value `"stale"` (Prometheus's query API hides them).

use super::SeriesData;
use crate::model::{BucketSpan, Count, Histogram, is_stale_nan};
use std::fmt::Write as _;

/// Appends `s` as a JSON string.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A value as Prometheus prints it: shortest exact decimal, `NaN`, `+Inf`, `-Inf`; stale
/// markers as `stale`.
pub fn format_value(v: f64) -> String {
    if is_stale_nan(v) {
        "stale".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else {
        // Rust's Display is the shortest decimal that reads back exactly, without exponent,
        // like Go's FormatFloat(v, 'f', -1, 64).
        v.to_string()
    }
}

/// A millisecond timestamp as Unix seconds (`1700000000.123`, `1700000000`).
pub fn format_time(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let (secs, frac) = (ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000);
    if frac == 0 {
        format!("{sign}{secs}")
    } else {
        format!("{sign}{secs}.{frac:03}").trim_end_matches('0').to_string()
    }
}

/// `/api/v1/metadata`: type, help and unit per metric name, for series that carried them.
pub fn metadata(results: &[SeriesData]) -> String {
    let mut by_name: std::collections::BTreeMap<String, (&str, &str, &str)> = Default::default();
    for r in results.iter().filter(|r| !r.metadata.is_empty()) {
        let name = super::parse_key(&r.key)
            .ok()
            .and_then(|labels| labels.into_iter().find(|l| l.name == "__name__").map(|l| l.value.into_owned()))
            .unwrap_or_default();
        by_name.insert(name, (r.metadata.metric_type.as_str(), &r.metadata.help, &r.metadata.unit));
    }
    let mut out = String::from(r#"{"status":"success","data":{"#);
    for (i, (name, (kind, help, unit))) in by_name.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, name);
        out.push_str(r#":[{"type":"#);
        json_string(&mut out, kind);
        out.push_str(r#","help":"#);
        json_string(&mut out, help);
        out.push_str(r#","unit":"#);
        json_string(&mut out, unit);
        out.push_str("}]");
    }
    out.push_str("}}");
    out
}

/// `/api/v1/samples`: every selected series with its samples, as a Prometheus range-query
/// matrix (`values`, and `histograms` for native histograms).
pub fn matrix(results: &[SeriesData]) -> String {
    let mut out = String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
    for (i, r) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        out.push_str(&r.key);
        if !r.samples.is_empty() {
            out.push_str(r#","values":["#);
            for (j, s) in r.samples.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},\"{}\"]", format_time(s.timestamp), format_value(s.value));
            }
            out.push(']');
        }
        if !r.histograms.is_empty() {
            out.push_str(r#","histograms":["#);
            for (j, h) in r.histograms.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},", format_time(h.timestamp));
                histogram(&mut out, h);
                out.push(']');
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push_str("]}}");
    out
}

/// An error answer: `{"status":"error","errorType":"bad_data","error":"..."}`.
pub fn error(kind: &str, message: &str) -> String {
    let mut out = String::from(r#"{"status":"error","errorType":"#);
    json_string(&mut out, kind);
    out.push_str(r#","error":"#);
    json_string(&mut out, message);
    out.push('}');
    out
}

fn count(c: Count) -> f64 {
    match c {
        Count::Int(n) => n as f64,
        Count::Float(f) => f,
    }
}

/// A native histogram as Prometheus's API prints it: count, sum, and the non-empty buckets as
/// `[boundary rule, lower, upper, count]` (rule 0: (lower, upper], 1: [lower, upper),
/// 3: [lower, upper]). A stale marker prints as `"stale"`.
pub(crate) fn histogram(out: &mut String, h: &Histogram) {
    if is_stale_nan(h.sum) {
        out.push_str("\"stale\"");
        return;
    }
    let _ = write!(out, r#"{{"count":"{}","sum":"{}","buckets":["#, format_value(count(h.count)), format_value(h.sum));
    let mut buckets: Vec<(u8, f64, f64, f64)> = Vec::new();
    let custom = h.schema == -53;
    let bound = |i: i32| -> f64 {
        if custom {
            usize::try_from(i).ok().and_then(|i| h.custom_values.get(i).copied()).unwrap_or(f64::INFINITY)
        } else {
            2f64.powf(f64::from(i) * 2f64.powi(-h.schema))
        }
    };
    let lower = |i: i32| if custom && i == 0 { f64::NEG_INFINITY } else { bound(i - 1) };
    for (i, c) in bucket_counts(&h.negative_spans, &h.negative_deltas, &h.negative_counts).into_iter().rev() {
        buckets.push((1, -bound(i), -lower(i), c));
    }
    let zero = count(h.zero_count);
    if zero != 0.0 {
        buckets.push((3, -h.zero_threshold, h.zero_threshold, zero));
    }
    for (i, c) in bucket_counts(&h.positive_spans, &h.positive_deltas, &h.positive_counts) {
        buckets.push((0, lower(i), bound(i), c));
    }
    for (j, (rule, lo, hi, c)) in buckets.into_iter().filter(|b| b.3 != 0.0).enumerate() {
        if j > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"[{rule},"{}","{}","{}"]"#, format_value(lo), format_value(hi), format_value(c));
    }
    out.push_str("]}");
}

/// Bucket index and absolute count for each bucket the spans cover.
pub(crate) fn bucket_counts(spans: &[BucketSpan], deltas: &[i64], counts: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::new();
    let (mut index, mut k, mut running) = (0i32, 0usize, 0i64);
    for (n, span) in spans.iter().enumerate() {
        index = if n == 0 { span.offset } else { index.saturating_add(span.offset) };
        for _ in 0..span.length {
            let c = if let Some(d) = deltas.get(k) {
                running = running.wrapping_add(*d);
                running as f64
            } else {
                counts.get(k).copied().unwrap_or(0.0)
            };
            out.push((index, c));
            index = index.saturating_add(1);
            k += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Metadata, MetricType, STALE_NAN, Sample};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn values_and_times_print_as_prometheus_prints_them() {
        let cases = [(1.5, "1.5"), (1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (-0.0, "-0")];
        for (v, s) in cases {
            assert_eq!(format_value(v), s);
        }
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(STALE_NAN), "stale");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_time(1_700_000_000_120), "1700000000.12");
        assert_eq!(format_time(1_700_000_000_000), "1700000000");
        assert_eq!(format_time(-1), "-0.001");
        assert_eq!(format_time(-1500), "-1.5");
        assert_eq!(format_time(i64::MIN), "-9223372036854775.808");
    }

    #[test]
    fn matrix_series_and_metadata_are_valid_json() {
        let r = SeriesData {
            key: r#"{"__name__":"m","q":"a\"b"}"#.into(),
            samples: vec![Sample::new(1.0, 1_000), Sample::new(STALE_NAN, 2_500)],
            histograms: vec![Histogram {
                count: Count::Int(6),
                sum: 10.0,
                schema: 0,
                zero_threshold: 0.001,
                zero_count: Count::Int(1),
                positive_spans: vec![BucketSpan { offset: 1, length: 2 }],
                positive_deltas: vec![2, 1],
                negative_spans: vec![BucketSpan { offset: 0, length: 1 }],
                negative_deltas: vec![0],
                timestamp: 3_000,
                ..Histogram::default()
            }],
            metadata: Metadata { metric_type: MetricType::Gauge, help: "Line\nbreak.".into(), unit: "".into() },
            exemplars: vec![],
        };
        let m: serde_json::Value = serde_json::from_str(&matrix(std::slice::from_ref(&r))).unwrap();
        let series = &m["data"]["result"][0];
        assert_eq!(series["metric"]["q"], "a\"b");
        assert_eq!(series["values"], serde_json::json!([[1, "1"], [2.5, "stale"]]));
        // Buckets (1,2] with 2 and (2,4] with 3; the zero bucket holds 1; an empty negative one
        // is left out.
        assert_eq!(
            series["histograms"][0],
            serde_json::json!([3, {"count": "6", "sum": "10", "buckets": [
                [3, "-0.001", "0.001", "1"], [0, "1", "2", "2"], [0, "2", "4", "3"]]}])
        );
        let s: serde_json::Value = serde_json::from_str(&series_json(&r)).unwrap();
        assert_eq!(s["data"][0]["__name__"], "m");
        let md: serde_json::Value = serde_json::from_str(&metadata(&[r])).unwrap();
        assert_eq!(md["data"]["m"][0]["type"], "gauge");
        assert_eq!(md["data"]["m"][0]["help"], "Line\nbreak.");
        let e: serde_json::Value = serde_json::from_str(&error("bad_data", "no \"x\"")).unwrap();
        assert_eq!(e["error"], "no \"x\"");
    }

    fn series_json(r: &SeriesData) -> String {
        use crate::query::lookup::{Lookup, What};
        Lookup::from_params(What::Series, []).unwrap().answer(std::slice::from_ref(r))
    }

    #[test]
    fn custom_buckets_use_their_bounds() {
        let h = Histogram {
            count: Count::Float(3.0),
            schema: -53,
            custom_values: vec![0.1, 1.0],
            positive_spans: vec![BucketSpan { offset: 0, length: 3 }],
            positive_counts: vec![1.0, 0.0, 2.0],
            ..Histogram::default()
        };
        let mut out = String::new();
        histogram(&mut out, &h);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["buckets"], serde_json::json!([[0, "-Inf", "0.1", "1"], [0, "1", "+Inf", "2"]]));
    }
}
