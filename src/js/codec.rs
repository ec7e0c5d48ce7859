//! `encode` and `decode` for JavaScript: requests as plain objects, the shape the CLI prints as
//! JSON:
//!
//! ```text
//! { series: [{ labels: { __name__: "up", job: "api" },
//!              samples: [{ value: 1, timestamp: 1700000000000 }, { value: NaN, timestamp: ..., stale: true }],
//!              exemplars: [{ labels: { trace_id: "..." }, value: 0.5, timestamp: ... }],
//!              histograms: [{ count, sum, schema, zeroThreshold, zeroCount, float, positiveSpans: [{ offset, length }],
//!                             positiveDeltas, positiveCounts, negative..., resetHint, timestamp, customValues, startTimestamp }],
//!              metadata: { type: "counter", help: "...", unit: "" } }],
//!   metadata: [{ type: "counter", metricFamilyName: "...", help: "...", unit: "" }] }
//! ```
//!
//! Values may also be the strings `"NaN"`, `"+Inf"`, `"-Inf"` (what JSON can carry); a stale
//! marker is `stale: true`, since a NaN's bits do not survive JSON or JS arrays. Any other NaN
//! is encoded as Prometheus's ordinary NaN, [`NORMAL_NAN`].

use super::writer::{ms, sample};
use crate::codec::{Decoder, Encoder, Version};
use crate::model::*;
use crate::{Limits, convert};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    let _ = Reflect::set(o, &JsValue::from_str(k), &v.into());
}

fn version(v: u8) -> Version {
    if v == 2 { Version::V2 } else { Version::V1 }
}

/// Decodes a snappy body of remote write `v` (1 or 2) into a plain object.
#[wasm_bindgen]
pub fn decode(body: &[u8], v: u8) -> Result<Object, JsError> {
    let mut d = Decoder::new(Limits::default());
    let req = d.decode(body, version(v)).map_err(|e| JsError::new(&e.to_string()))?;
    let o = Object::new();
    set(&o, "series", req.series.iter().map(series_object).collect::<Array>());
    let metadata: Array = req
        .metadata
        .iter()
        .map(|m| {
            let x = metadata_object(&m.metadata);
            set(&x, "metricFamilyName", &*m.metric_family_name);
            x
        })
        .collect();
    set(&o, "metadata", metadata);
    Ok(o)
}

/// Encodes a plain object (the shape `decode` returns) as a snappy body of remote write `v`.
/// 1.0 carries per-series metadata as family metadata, 2.0 the reverse.
#[wasm_bindgen]
pub fn encode(request: &JsValue, v: u8) -> Result<Vec<u8>, JsError> {
    Ok(encode_as(request_from(request)?, version(v)))
}

/// [`encode`] for requests of plain samples, flattened by the JavaScript side so that it
/// crosses the boundary once: each series' labels as name, value, ... in `strings`, joined by
/// NUL characters (counts in `label_counts`), its samples in the number arrays (counts in
/// `sample_counts`), its metadata as type, help, unit in `series_meta` (empty when no series
/// has any), and 1.0 family metadata as type, family, help, unit in `family_meta`.
///
/// One joined string, not an array of strings: each string of an array crosses on its own, which
/// cost more than the whole encode (20,000 label strings for 2000 series).
#[wasm_bindgen]
#[allow(clippy::too_many_arguments)]
pub fn encode_columns(
    v: u8,
    joined: &str,
    label_counts: &[u32],
    sample_counts: &[u32],
    values: &[f64],
    timestamps: &[f64],
    start_timestamps: &[f64],
    stale: &[u8],
    series_meta: Vec<String>,
    family_meta: Vec<String>,
) -> Result<Vec<u8>, JsError> {
    let strings: Vec<&str> = if joined.is_empty() { Vec::new() } else { joined.split('\0').collect() };
    let n = label_counts.len();
    let total: usize = sample_counts.iter().map(|&c| c as usize).sum();
    let pairs: usize = label_counts.iter().map(|&c| c as usize).sum();
    if sample_counts.len() != n
        || strings.len() != 2 * pairs
        || [values.len(), timestamps.len(), start_timestamps.len(), stale.len()].iter().any(|&l| l != total)
        || !(series_meta.is_empty() || series_meta.len() == 3 * n)
        || !family_meta.len().is_multiple_of(4)
    {
        return Err(JsError::new("encodeColumns: column lengths do not match"));
    }
    let mut req = WriteRequest { series: Vec::with_capacity(n), metadata: Vec::new() };
    let (mut li, mut si) = (0, 0);
    for i in 0..n {
        let mut labels: Vec<Label<'_>> =
            strings[li..li + 2 * label_counts[i] as usize].chunks_exact(2).map(|p| Label::new(p[0], p[1])).collect();
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        li += 2 * label_counts[i] as usize;
        let samples = (si..si + sample_counts[i] as usize)
            .map(|j| Sample {
                start_timestamp: ms(start_timestamps[j]),
                ..sample(values[j], timestamps[j], stale[j] != 0)
            })
            .collect();
        si += sample_counts[i] as usize;
        let metadata = match series_meta.get(3 * i..3 * i + 3) {
            Some([t, help, unit]) => Metadata {
                metric_type: MetricType::from_name(t),
                help: help.as_str().into(),
                unit: unit.as_str().into(),
            },
            _ => Metadata::default(),
        };
        req.series.push(Series { labels, samples, metadata, ..Series::default() });
    }
    for m in family_meta.chunks_exact(4) {
        req.metadata.push(MetricMetadata {
            metric_family_name: m[1].as_str().into(),
            metadata: Metadata {
                metric_type: MetricType::from_name(&m[0]),
                help: m[2].as_str().into(),
                unit: m[3].as_str().into(),
            },
        });
    }
    Ok(encode_as(req, version(v)))
}

/// Moves metadata to the shape of `version` (1.0 family metadata, 2.0 per series) and encodes.
fn encode_as(mut req: WriteRequest<'_>, version: Version) -> Vec<u8> {
    match version {
        Version::V1 => convert::to_v1(&mut req),
        Version::V2 => {
            convert::to_v2(&mut req);
        }
    }
    Encoder::new().encode(&req, version).to_vec()
}

fn labels_object(labels: &[Label<'_>]) -> Object {
    let o = Object::new();
    for l in labels {
        set(&o, &l.name, &*l.value);
    }
    o
}

fn metadata_object(m: &Metadata<'_>) -> Object {
    let o = Object::new();
    set(&o, "type", m.metric_type.as_str());
    set(&o, "help", &*m.help);
    set(&o, "unit", &*m.unit);
    o
}

fn series_object(s: &Series<'_>) -> Object {
    let o = Object::new();
    set(&o, "labels", labels_object(&s.labels));
    let samples: Array = s
        .samples
        .iter()
        .map(|x| {
            let y = Object::new();
            set(&y, "value", x.value);
            set(&y, "timestamp", x.timestamp as f64);
            if x.is_stale() {
                set(&y, "stale", true);
            }
            if x.start_timestamp != 0 {
                set(&y, "startTimestamp", x.start_timestamp as f64);
            }
            y
        })
        .collect();
    set(&o, "samples", samples);
    if !s.exemplars.is_empty() {
        let ex: Array = s
            .exemplars
            .iter()
            .map(|e| {
                let y = Object::new();
                set(&y, "labels", labels_object(&e.labels));
                set(&y, "value", e.value);
                set(&y, "timestamp", e.timestamp as f64);
                y
            })
            .collect();
        set(&o, "exemplars", ex);
    }
    if !s.histograms.is_empty() {
        set(&o, "histograms", s.histograms.iter().map(histogram_object).collect::<Array>());
    }
    if !s.metadata.is_empty() {
        set(&o, "metadata", metadata_object(&s.metadata));
    }
    o
}

fn count_value(c: Count) -> f64 {
    match c {
        Count::Int(n) => n as f64,
        Count::Float(f) => f,
    }
}

fn numbers<T: Copy + Into<f64>>(v: &[T]) -> Array {
    v.iter().map(|&x| JsValue::from(x.into())).collect()
}

fn spans_array(spans: &[BucketSpan]) -> Array {
    spans
        .iter()
        .map(|s| {
            let o = Object::new();
            set(&o, "offset", s.offset);
            set(&o, "length", s.length);
            o
        })
        .collect()
}

fn histogram_object(h: &Histogram) -> Object {
    let o = Object::new();
    set(&o, "count", count_value(h.count));
    set(&o, "float", h.is_float());
    set(&o, "sum", h.sum);
    if h.is_stale() {
        set(&o, "stale", true);
    }
    set(&o, "schema", h.schema);
    set(&o, "zeroThreshold", h.zero_threshold);
    set(&o, "zeroCount", count_value(h.zero_count));
    set(&o, "negativeSpans", spans_array(&h.negative_spans));
    set(&o, "negativeDeltas", h.negative_deltas.iter().map(|&d| JsValue::from(d as f64)).collect::<Array>());
    set(&o, "negativeCounts", numbers(&h.negative_counts));
    set(&o, "positiveSpans", spans_array(&h.positive_spans));
    set(&o, "positiveDeltas", h.positive_deltas.iter().map(|&d| JsValue::from(d as f64)).collect::<Array>());
    set(&o, "positiveCounts", numbers(&h.positive_counts));
    set(&o, "resetHint", h.reset_hint as u8);
    set(&o, "timestamp", h.timestamp as f64);
    set(&o, "customValues", numbers(&h.custom_values));
    if h.start_timestamp != 0 {
        set(&o, "startTimestamp", h.start_timestamp as f64);
    }
    o
}

// ---- from JavaScript objects

fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn number(o: &JsValue, k: &str, what: &str) -> Result<f64, JsError> {
    let v = get(o, k);
    if let Some(n) = v.as_f64() {
        return Ok(n);
    }
    if v.is_undefined() {
        return Ok(0.0);
    }
    if v.is_null() {
        return Err(JsError::new(&format!(
            "{what}.{k} is null (JSON has no NaN or Inf: write \"NaN\", \"+Inf\" or \"-Inf\")"
        )));
    }
    match v.as_string().as_deref().map(str::trim) {
        Some("NaN") => Ok(f64::NAN),
        Some("+Inf" | "Inf") => Ok(f64::INFINITY),
        Some("-Inf") => Ok(f64::NEG_INFINITY),
        Some(s) => s.parse().map_err(|_| JsError::new(&format!("{what}.{k}: {s:?} is not a number"))),
        None => Err(JsError::new(&format!("{what}.{k} must be a number"))),
    }
}

fn string(o: &JsValue, k: &str) -> String {
    get(o, k).as_string().unwrap_or_default()
}

fn array(o: &JsValue, k: &str) -> Vec<JsValue> {
    let v = get(o, k);
    if Array::is_array(&v) { Array::from(&v).iter().collect() } else { Vec::new() }
}

fn labels_from(o: &JsValue) -> Result<Vec<Label<'static>>, JsError> {
    if !o.is_object() {
        return Err(JsError::new("labels must be an object of name: value"));
    }
    let mut labels = Vec::new();
    for entry in Object::entries(&Object::from(o.clone())).iter() {
        let pair = Array::from(&entry);
        let name = pair.get(0).as_string().unwrap_or_default();
        let value =
            pair.get(1).as_string().ok_or_else(|| JsError::new(&format!("label {name:?}: value must be a string")))?;
        labels.push(Label::new(name, value));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(labels)
}

fn metadata_from(o: &JsValue) -> Metadata<'static> {
    Metadata {
        metric_type: MetricType::from_name(&string(o, "type")),
        help: string(o, "help").into(),
        unit: string(o, "unit").into(),
    }
}

fn request_from(v: &JsValue) -> Result<WriteRequest<'static>, JsError> {
    let mut req = WriteRequest::default();
    for s in array(v, "series") {
        let mut series = Series { labels: labels_from(&get(&s, "labels"))?, ..Series::default() };
        for x in array(&s, "samples") {
            let stale = get(&x, "stale").as_bool() == Some(true);
            let value = if stale { 0.0 } else { number(&x, "value", "sample")? };
            series.samples.push(Sample {
                start_timestamp: number(&x, "startTimestamp", "sample")? as i64,
                ..sample(value, number(&x, "timestamp", "sample")?, stale)
            });
        }
        for e in array(&s, "exemplars") {
            let labels = get(&e, "labels");
            series.exemplars.push(Exemplar {
                labels: if labels.is_undefined() { Vec::new() } else { labels_from(&labels)? },
                value: number(&e, "value", "exemplar")?,
                timestamp: number(&e, "timestamp", "exemplar")? as i64,
            });
        }
        for h in array(&s, "histograms") {
            series.histograms.push(histogram_from(&h)?);
        }
        let m = get(&s, "metadata");
        if m.is_object() {
            series.metadata = metadata_from(&m);
        }
        req.series.push(series);
    }
    for m in array(v, "metadata") {
        req.metadata.push(MetricMetadata {
            metric_family_name: string(&m, "metricFamilyName").into(),
            metadata: metadata_from(&m),
        });
    }
    Ok(req)
}

fn floats(o: &JsValue, k: &str) -> Result<Vec<f64>, JsError> {
    array(o, k)
        .iter()
        .map(|x| x.as_f64().ok_or_else(|| JsError::new(&format!("histogram.{k} must hold numbers"))))
        .collect()
}

fn spans_from(o: &JsValue, k: &str) -> Result<Vec<BucketSpan>, JsError> {
    array(o, k)
        .iter()
        .map(|s| {
            Ok(BucketSpan { offset: number(s, "offset", "span")? as i32, length: number(s, "length", "span")? as u32 })
        })
        .collect()
}

fn histogram_from(o: &JsValue) -> Result<Histogram, JsError> {
    let float = get(o, "float").as_bool() == Some(true);
    let count = |k: &str| -> Result<Count, JsError> {
        let n = number(o, k, "histogram")?;
        Ok(if float { Count::Float(n) } else { Count::Int(n as u64) })
    };
    let ints = |k: &str| -> Result<Vec<i64>, JsError> { Ok(floats(o, k)?.into_iter().map(|x| x as i64).collect()) };
    Ok(Histogram {
        count: count("count")?,
        sum: match number(o, "sum", "histogram")? {
            _ if get(o, "stale").as_bool() == Some(true) => STALE_NAN,
            x if x.is_nan() => NORMAL_NAN,
            x => x,
        },
        schema: number(o, "schema", "histogram")? as i32,
        zero_threshold: number(o, "zeroThreshold", "histogram")?,
        zero_count: count("zeroCount")?,
        negative_spans: spans_from(o, "negativeSpans")?,
        negative_deltas: ints("negativeDeltas")?,
        negative_counts: floats(o, "negativeCounts")?,
        positive_spans: spans_from(o, "positiveSpans")?,
        positive_deltas: ints("positiveDeltas")?,
        positive_counts: floats(o, "positiveCounts")?,
        reset_hint: match number(o, "resetHint", "histogram")? as u8 {
            1 => ResetHint::Yes,
            2 => ResetHint::No,
            3 => ResetHint::Gauge,
            _ => ResetHint::Unknown,
        },
        timestamp: number(o, "timestamp", "histogram")? as i64,
        custom_values: floats(o, "customValues")?,
        start_timestamp: number(o, "startTimestamp", "histogram")? as i64,
    })
}
