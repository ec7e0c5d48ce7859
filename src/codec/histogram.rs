//! The native histogram message, the same in 1.0 and 2.0 (2.0 adds `start_timestamp`, field 17).

use super::error::DecodeError;
use super::pool::{Budget, Charge};
use super::wire::*;
use crate::model::{BucketSpan, Count, Histogram, ResetHint};

/// What a histogram itself costs in the decode budget, besides one per bucket entry and span
/// (it is ten times the size of a sample).
const HISTOGRAM_CHARGE: usize = 8;

/// Decodes one `Histogram` message. `v2` enables field 17 (`start_timestamp`).
pub(crate) fn decode(mut r: Reader<'_>, v2: bool, budget: &mut Budget) -> Result<Histogram, DecodeError> {
    budget.charge(Charge::Samples, HISTOGRAM_CHARGE)?;
    let mut h = Histogram::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => h.count = Count::Int(r.varint_field(wt, at)?),
            2 => h.count = Count::Float(r.double(wt, at)?),
            3 => h.sum = r.double(wt, at)?,
            4 => h.schema = unzigzag32(r.varint_field(wt, at)?),
            5 => h.zero_threshold = r.double(wt, at)?,
            6 => h.zero_count = Count::Int(r.varint_field(wt, at)?),
            7 => h.zero_count = Count::Float(r.double(wt, at)?),
            8 => h.negative_spans.push(span(&mut r, wt, at, budget)?),
            9 => r.repeated_varint(wt, at, &mut h.negative_deltas, unzigzag64, (budget, Charge::Samples))?,
            10 => r.repeated_double(wt, at, &mut h.negative_counts, budget)?,
            11 => h.positive_spans.push(span(&mut r, wt, at, budget)?),
            12 => r.repeated_varint(wt, at, &mut h.positive_deltas, unzigzag64, (budget, Charge::Samples))?,
            13 => r.repeated_double(wt, at, &mut h.positive_counts, budget)?,
            14 => h.reset_hint = reset_hint(r.varint_field(wt, at)?),
            15 => h.timestamp = r.varint_field(wt, at)? as i64,
            16 => r.repeated_double(wt, at, &mut h.custom_values, budget)?,
            17 if v2 => h.start_timestamp = r.varint_field(wt, at)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(h)
}

fn span(r: &mut Reader<'_>, wt: WireType, at: usize, budget: &mut Budget) -> Result<BucketSpan, DecodeError> {
    r.expect(wt, WireType::Len, at)?;
    budget.charge(Charge::Samples, 1)?;
    let mut m = r.message()?;
    let mut s = BucketSpan::default();
    while m.has_more() {
        let at = m.offset();
        let (field, wt) = m.key()?;
        match field {
            1 => s.offset = unzigzag32(m.varint_field(wt, at)?),
            2 => s.length = m.varint_field(wt, at)? as u32,
            _ => m.skip(wt)?,
        }
    }
    Ok(s)
}

/// sint32: zigzag over the low 32 bits (what protobuf decoders do with wider varints).
fn unzigzag32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ -((v & 1) as i32)
}

fn reset_hint(v: u64) -> ResetHint {
    match v {
        1 => ResetHint::Yes,
        2 => ResetHint::No,
        3 => ResetHint::Gauge,
        _ => ResetHint::Unknown,
    }
}

/// Encodes one `Histogram` message's fields (not its key). `v2` writes `start_timestamp`.
pub(crate) fn encode(buf: &mut Vec<u8>, h: &Histogram, v2: bool) {
    match h.count {
        Count::Int(n) => {
            put_key(buf, 1, WireType::Varint);
            put_varint(buf, n);
        }
        Count::Float(n) => put_double_always(buf, 2, n),
    }
    put_double_field(buf, 3, h.sum);
    put_varint_field(buf, 4, zigzag32(h.schema));
    put_double_field(buf, 5, h.zero_threshold);
    match h.zero_count {
        Count::Int(n) => {
            put_key(buf, 6, WireType::Varint);
            put_varint(buf, n);
        }
        Count::Float(n) => put_double_always(buf, 7, n),
    }
    put_spans(buf, 8, &h.negative_spans);
    put_packed_varints(buf, 9, h.negative_deltas.iter().map(|&d| zigzag64(d)));
    put_packed_doubles(buf, 10, &h.negative_counts);
    put_spans(buf, 11, &h.positive_spans);
    put_packed_varints(buf, 12, h.positive_deltas.iter().map(|&d| zigzag64(d)));
    put_packed_doubles(buf, 13, &h.positive_counts);
    put_varint_field(buf, 14, h.reset_hint as u64);
    put_varint_field(buf, 15, h.timestamp as u64);
    put_packed_doubles(buf, 16, &h.custom_values);
    if v2 {
        put_varint_field(buf, 17, h.start_timestamp as u64);
    }
}

fn put_spans(buf: &mut Vec<u8>, field: u32, spans: &[BucketSpan]) {
    for s in spans {
        put_message(buf, field, |b| {
            put_varint_field(b, 1, zigzag32(s.offset));
            put_varint_field(b, 2, u64::from(s.length));
        });
    }
}

fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}
