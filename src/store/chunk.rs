//! Chunks: the samples of one series over a stretch of time, as one compact BLOB (one SQLite
//! row), so the store writes a row per series per compaction instead of a row per sample.
//!
//! Layout: a kind byte, a varint count, then per entry:
//! - floats (kind 0): the timestamp as a zigzag varint delta-of-delta (the change of the gap
//!   since the previous sample: 0, one byte, for a regular scrape interval), and the value's bits XOR the previous value's bits (the first XOR 0), written as
//!   the XOR's trailing-zero count (one byte, 64 for "same value") and the XOR shifted right by
//!   it as a varint: a repeated value costs one byte, an integer-valued counter step a few;
//!   then the start timestamp (2.0's created timestamp, 0 if unset) as a zigzag varint delta
//!   from the previous one, one byte while it stays the same;
//! - histograms (kind 1): the length-prefixed remote-write 2.0 `Histogram` message (timestamp
//!   included), so every field survives;
//! - exemplars (kind 2): the timestamp as a zigzag varint delta from the previous one, the
//!   value's 8 bytes (little-endian), a varint label count, and each label's name and value as
//!   length-prefixed UTF-8. Exemplars are few (one per scrape at most): plain beats clever.
//!
//! Stale markers and NaN payloads survive bit for bit.

use crate::Limits;
use crate::codec::DecodeError;
use crate::codec::histogram;
use crate::codec::pool::Budget;
use crate::codec::wire::{Reader, put_varint, unzigzag64, zigzag64};
use crate::model::{Exemplar, Histogram, Label, Sample};

const FLOATS: u8 = 0;
const HISTOGRAMS: u8 = 1;
const EXEMPLARS: u8 = 2;
/// The XOR trailing-zero byte that means "the same bits as the previous value".
const SAME: u8 = 64;

/// Encodes float samples (in the order given) as one chunk.
pub fn encode_samples(samples: &[Sample]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(2 + samples.len() * 4);
    buf.push(FLOATS);
    put_varint(&mut buf, samples.len() as u64);
    let (mut ts, mut gap, mut bits, mut st) = (0i64, 0i64, 0u64, 0i64);
    for s in samples {
        let new_gap = s.timestamp.wrapping_sub(ts);
        put_varint(&mut buf, zigzag64(new_gap.wrapping_sub(gap)));
        gap = new_gap;
        let xor = s.value.to_bits() ^ bits;
        if xor == 0 {
            buf.push(SAME);
        } else {
            let tz = xor.trailing_zeros();
            buf.push(tz as u8);
            put_varint(&mut buf, xor >> tz);
        }
        put_varint(&mut buf, zigzag64(s.start_timestamp.wrapping_sub(st)));
        (ts, bits, st) = (s.timestamp, s.value.to_bits(), s.start_timestamp);
    }
    buf
}

/// Encodes native histogram samples (in the order given) as one chunk.
pub fn encode_histograms(histograms: &[Histogram]) -> Vec<u8> {
    let mut buf = vec![HISTOGRAMS];
    put_varint(&mut buf, histograms.len() as u64);
    let mut one = Vec::new();
    for h in histograms {
        one.clear();
        histogram::encode(&mut one, h, true);
        put_varint(&mut buf, one.len() as u64);
        buf.extend_from_slice(&one);
    }
    buf
}

/// Encodes exemplars (in the order given) as one chunk.
pub fn encode_exemplars(exemplars: &[Exemplar<'_>]) -> Vec<u8> {
    let mut buf = vec![EXEMPLARS];
    put_varint(&mut buf, exemplars.len() as u64);
    let mut ts = 0i64;
    for e in exemplars {
        put_varint(&mut buf, zigzag64(e.timestamp.wrapping_sub(ts)));
        ts = e.timestamp;
        buf.extend_from_slice(&e.value.to_bits().to_le_bytes());
        put_varint(&mut buf, e.labels.len() as u64);
        for l in &e.labels {
            for text in [&l.name, &l.value] {
                put_varint(&mut buf, text.len() as u64);
                buf.extend_from_slice(text.as_bytes());
            }
        }
    }
    buf
}

/// What a chunk holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Chunk {
    /// Float samples.
    Samples(Vec<Sample>),
    /// Native histogram samples.
    Histograms(Vec<Histogram>),
    /// Exemplars.
    Exemplars(Vec<Exemplar<'static>>),
}

/// Decodes a chunk written by [`encode_samples`], [`encode_histograms`] or
/// [`encode_exemplars`].
///
/// # Errors
/// [`DecodeError::Protobuf`] if the bytes are not a chunk (storage corruption).
pub fn decode(bytes: &[u8]) -> Result<Chunk, DecodeError> {
    let corrupt = |reason| DecodeError::Protobuf { offset: 0, reason };
    let (&kind, rest) = bytes.split_first().ok_or(corrupt("empty chunk"))?;
    let mut r = Reader::new(rest);
    let n = r.varint()? as usize;
    // Every entry takes at least two bytes: a count beyond that is corruption, not a reason to
    // allocate.
    if n > rest.len() {
        return Err(corrupt("chunk count larger than the chunk"));
    }
    match kind {
        FLOATS => {
            let mut out = Vec::with_capacity(n);
            let (mut ts, mut gap, mut bits, mut st) = (0i64, 0i64, 0u64, 0i64);
            for _ in 0..n {
                gap = gap.wrapping_add(unzigzag64(r.varint()?));
                ts = ts.wrapping_add(gap);
                let tz = r.byte()?;
                if tz != SAME {
                    let shifted = r.varint()?;
                    let xor = shifted.checked_shl(u32::from(tz)).filter(|_| tz < 64).ok_or(corrupt("bad XOR shift"))?;
                    bits ^= xor;
                }
                st = st.wrapping_add(unzigzag64(r.varint()?));
                out.push(Sample { value: f64::from_bits(bits), timestamp: ts, start_timestamp: st });
            }
            Ok(Chunk::Samples(out))
        }
        HISTOGRAMS => {
            // Chunks are the store's own bytes, and a read's chunk holds a whole range: no budget.
            let mut budget = Budget::new(&Limits::unlimited());
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let message = r.message()?;
                out.push(histogram::decode(message, true, &mut budget)?);
            }
            Ok(Chunk::Histograms(out))
        }
        EXEMPLARS => {
            let mut out = Vec::with_capacity(n);
            let mut ts = 0i64;
            for _ in 0..n {
                ts = ts.wrapping_add(unzigzag64(r.varint()?));
                let value = f64::from_bits(r.fixed64()?);
                let count = r.varint()? as usize;
                // Each label takes at least two bytes.
                if count > rest.len() {
                    return Err(corrupt("exemplar label count larger than the chunk"));
                }
                let mut labels = Vec::with_capacity(count);
                for _ in 0..count {
                    let name = r.string("exemplar label name")?.to_string();
                    labels.push(Label::new(name, r.string("exemplar label value")?.to_string()));
                }
                out.push(Exemplar { labels, value, timestamp: ts });
            }
            Ok(Chunk::Exemplars(out))
        }
        _ => Err(corrupt("unknown chunk kind")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BucketSpan, Count, STALE_NAN};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn samples_round_trip_bit_for_bit_and_small() {
        let samples: Vec<Sample> = (0..120)
            .map(|i| {
                Sample::new(if i == 7 { STALE_NAN } else { 1000.0 + (i / 3) as f64 }, 1_700_000_000_000 + i * 15_000)
            })
            .chain([Sample::new(f64::NAN, -5), Sample::new(-0.0, i64::MAX), Sample::new(f64::INFINITY, i64::MIN)])
            .chain([Sample { start_timestamp: 1_600_000_000_000, ..Sample::new(3.0, 4) }])
            .collect();
        let bytes = encode_samples(&samples);
        assert_eq!(decode(&bytes).unwrap(), Chunk::Samples(samples[..].to_vec()));
        // Regular scrapes of a slowly moving counter: under 4 bytes a sample (16 raw).
        assert!(encode_samples(&samples[..120]).len() < 120 * 4, "{} bytes", encode_samples(&samples[..120]).len());
    }

    #[test]
    fn histograms_round_trip() {
        let h = Histogram {
            count: Count::Int(5),
            sum: 12.5,
            schema: 3,
            zero_count: Count::Int(1),
            positive_spans: vec![BucketSpan { offset: -2, length: 2 }],
            positive_deltas: vec![3, -2],
            timestamp: 1_700_000_000_123,
            start_timestamp: 1_699_999_000_000,
            ..Histogram::default()
        };
        let f = Histogram { count: Count::Float(2.5), sum: STALE_NAN, timestamp: 9, ..Histogram::default() };
        assert_eq!(decode(&encode_histograms(&[h.clone(), f.clone()])).unwrap(), Chunk::Histograms(vec![h, f]));
    }

    #[test]
    fn exemplars_round_trip() {
        let exemplars = vec![
            Exemplar {
                labels: vec![Label::new("trace_id", "abc"), Label::new("é", "\n")],
                value: 0.25,
                timestamp: 1_700,
            },
            Exemplar { labels: vec![], value: f64::NAN, timestamp: -5 },
            Exemplar { labels: vec![Label::new("span_id", "")], value: -0.0, timestamp: i64::MAX },
        ];
        assert_eq!(decode(&encode_exemplars(&exemplars)).unwrap(), Chunk::Exemplars(exemplars.clone()));
        let bytes = encode_exemplars(&exemplars);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "an exemplar chunk cut at {cut} decoded");
        }
        assert!(decode(&[EXEMPLARS, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]).is_err(), "a label count past the chunk");
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let good = encode_samples(&[Sample::new(1.0, 1), Sample::new(2.0, 2)]);
        // A cut chunk is an error, never a shorter or different chunk.
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "a chunk cut at {cut} of {} decoded", good.len());
        }
        assert!(decode(&[]).is_err());
        assert!(decode(&[9, 0]).is_err());
        assert!(decode(&[FLOATS, 200, 1]).is_err(), "a count larger than the chunk");
        assert!(decode(&[FLOATS, 1, 0, 70, 1, 0]).is_err(), "a shift past 64 bits");
    }
}
