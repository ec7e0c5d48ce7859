//! How a shard hands read results to the Worker: a compact binary frame per series (its key,
//! metadata, and its samples, histograms and exemplars as [`chunk`](super::chunk)s), so nothing is
//! rendered twice and stale markers cross bit for bit. [`merge`] joins the answers of several
//! shards (after a change of `SHARD_COUNT`, one series can live in two).

use super::chunk::{self, Chunk};
use super::{SeriesData, merge_exemplars, merge_histograms, merge_samples};
use crate::codec::DecodeError;
use crate::codec::wire::{Reader, put_varint};
use crate::model::{Metadata, MetricType};
use std::borrow::Cow;
use std::collections::BTreeMap;

fn put_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    put_varint(buf, b.len() as u64);
    buf.extend_from_slice(b);
}

/// Encodes one shard's answer.
pub fn encode(results: &[SeriesData]) -> Vec<u8> {
    let mut buf = Vec::new();
    for r in results {
        put_bytes(&mut buf, r.key.as_bytes());
        put_varint(&mut buf, r.metadata.metric_type.to_wire() as u64);
        put_bytes(&mut buf, r.metadata.help.as_bytes());
        put_bytes(&mut buf, r.metadata.unit.as_bytes());
        put_bytes(&mut buf, &chunk::encode_samples(&r.samples));
        put_bytes(&mut buf, &chunk::encode_histograms(&r.histograms));
        put_bytes(&mut buf, &chunk::encode_exemplars(&r.exemplars));
    }
    buf
}

/// Decodes one shard's answer.
///
/// # Errors
/// [`DecodeError`] if the frame is damaged.
pub fn decode(bytes: &[u8]) -> Result<Vec<SeriesData>, DecodeError> {
    let mut r = Reader::new(bytes);
    let mut out = Vec::new();
    while r.has_more() {
        let key = r.string("series key")?.to_string();
        let metric_type = MetricType::from_wire(r.varint()? as i32);
        let help = Cow::Owned(r.string("help")?.to_string());
        let unit = Cow::Owned(r.string("unit")?.to_string());
        let samples = match chunk::decode(r.bytes()?)? {
            Chunk::Samples(s) => s,
            _ => return Err(DecodeError::Protobuf { offset: r.offset(), reason: "expected samples" }),
        };
        let histograms = match chunk::decode(r.bytes()?)? {
            Chunk::Histograms(h) => h,
            _ => return Err(DecodeError::Protobuf { offset: r.offset(), reason: "expected histograms" }),
        };
        let exemplars = match chunk::decode(r.bytes()?)? {
            Chunk::Exemplars(e) => e,
            _ => return Err(DecodeError::Protobuf { offset: r.offset(), reason: "expected exemplars" }),
        };
        out.push(SeriesData { key, samples, histograms, exemplars, metadata: Metadata { metric_type, help, unit } });
    }
    Ok(out)
}

/// Joins the answers of several shards, given oldest shard layout first: one entry per series,
/// in key order, samples merged (first write wins).
pub fn merge(answers: impl IntoIterator<Item = Vec<SeriesData>>) -> Vec<SeriesData> {
    let mut by_key: BTreeMap<String, Vec<SeriesData>> = BTreeMap::new();
    for answer in answers {
        for s in answer {
            by_key.entry(s.key.clone()).or_default().push(s);
        }
    }
    by_key
        .into_iter()
        .map(|(key, parts)| {
            let metadata = parts.iter().rev().map(|p| &p.metadata).find(|m| !m.is_empty()).cloned().unwrap_or_default();
            let (mut samples, mut histograms, mut exemplars) = (Vec::new(), Vec::new(), Vec::new());
            for p in parts {
                samples.push(p.samples);
                histograms.push(p.histograms);
                exemplars.push(p.exemplars);
            }
            SeriesData {
                key,
                samples: merge_samples(samples),
                histograms: merge_histograms(histograms),
                exemplars: merge_exemplars(exemplars),
                metadata,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Exemplar, Histogram, Label, STALE_NAN, Sample};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn answers_round_trip_and_merge_by_series() {
        let a = SeriesData {
            key: r#"{"__name__":"a"}"#.into(),
            samples: vec![Sample::new(1.0, 1), Sample::new(STALE_NAN, 2)],
            histograms: vec![],
            metadata: Metadata { metric_type: MetricType::Counter, help: "A.".into(), unit: "".into() },
            exemplars: vec![],
        };
        let b = SeriesData {
            key: r#"{"__name__":"b"}"#.into(),
            histograms: vec![Histogram { timestamp: 5, ..Histogram::default() }],
            exemplars: vec![Exemplar { labels: vec![Label::new("trace_id", "t1")], value: 2.0, timestamp: 5 }],
            ..SeriesData::default()
        };
        let bytes = encode(&[a.clone(), b.clone()]);
        assert_eq!(decode(&bytes).unwrap(), vec![a.clone(), b.clone()]);
        // A cut answer is an error or the whole series before the cut, never a half series.
        for cut in 0..bytes.len() {
            if let Ok(partial) = decode(&bytes[..cut]) {
                assert!(partial.len() < 2 && partial[..] == [a.clone(), b.clone()][..partial.len()], "cut at {cut}");
            }
        }
        // The same series from a second shard (after resharding): merged, first write wins.
        let a2 = SeriesData {
            samples: vec![Sample::new(9.0, 2), Sample::new(3.0, 3)],
            metadata: Metadata::default(),
            ..a.clone()
        };
        let merged = merge([vec![b.clone(), a], vec![a2]]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].samples, [Sample::new(1.0, 1), Sample::new(STALE_NAN, 2), Sample::new(3.0, 3)]);
        assert_eq!(merged[0].metadata.metric_type, MetricType::Counter);
        assert_eq!(merged[1], b);
        // Exemplars merge the same way: the first write of a timestamp wins.
        let later = |value, timestamp| Exemplar { labels: vec![Label::new("trace_id", "t2")], value, timestamp };
        let b2 = SeriesData { exemplars: vec![later(9.0, 5), later(3.0, 7)], ..b.clone() };
        let merged = merge([vec![b.clone()], vec![b2]]);
        assert_eq!(merged[0].exemplars, [b.exemplars[0].clone(), later(3.0, 7)]);
    }
}
