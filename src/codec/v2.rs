//! Remote write 2.0: `io.prometheus.write.v2.Request`, uncompressed protobuf in and out.
//!
//! Decoding resolves every symbol reference (checking it is in range and that `labels_refs`
//! holds pairs) and borrows the strings from the input. Encoding builds a fresh symbol table per
//! request, `""` at index 0, each string once.

use super::error::DecodeError;
use super::histogram;
use super::pool::{Budget, Charge, Pool};
use super::sample;
use super::symbols::{SymbolTable, resolve};
use super::wire::*;
use crate::model::*;
use std::borrow::Cow;

/// Decodes an uncompressed `io.prometheus.write.v2.Request`, borrowing strings from `buf`.
///
/// # Errors
/// [`DecodeError::Protobuf`], [`DecodeError::InvalidUtf8`],
/// [`DecodeError::FirstSymbolNotEmpty`], [`DecodeError::OddLabelsRefs`],
/// [`DecodeError::SymbolRefOutOfRange`], and [`DecodeError::TooManySeries`],
/// [`DecodeError::TooManySamples`] and [`DecodeError::TooManyLabels`] for a request over the
/// request-wide counts of `limits` (enforced as it goes, see [`crate::Limits`]).
pub fn decode<'a>(buf: &'a [u8], limits: &crate::Limits) -> Result<WriteRequest<'a>, DecodeError> {
    decode_pooled(buf, limits, &mut Pool::default())
}

/// [`decode`], drawing vectors from `pool`.
pub(crate) fn decode_pooled<'a>(
    buf: &'a [u8],
    limits: &crate::Limits,
    pool: &mut Pool,
) -> Result<WriteRequest<'a>, DecodeError> {
    let mut budget = Budget::new(limits);
    // Fields may come in any order, so collect the symbols first, then read the series.
    let mut symbols: Vec<&str> = Vec::new();
    let mut r = Reader::new(buf);
    let mut series_count = 0usize;
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            4 => {
                r.expect(wt, WireType::Len, at)?;
                budget.charge(Charge::Labels, 1)?;
                symbols.push(r.string("symbol")?);
            }
            5 => {
                r.expect(wt, WireType::Len, at)?;
                r.message()?;
                series_count += 1;
            }
            _ => r.skip(wt)?,
        }
    }
    if symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(DecodeError::FirstSymbolNotEmpty);
    }
    if series_count > limits.max_series_per_request {
        return Err(DecodeError::TooManySeries { limit: limits.max_series_per_request });
    }
    let mut req = WriteRequest { series: pool.series(series_count), metadata: Vec::new() };
    let mut r = Reader::new(buf);
    let mut refs = Vec::with_capacity(32);
    while r.has_more() {
        let (field, wt) = r.key()?;
        if field == 5 {
            let index = req.series.len();
            req.series.push(series(r.message()?, &symbols, index, &mut refs, pool, &mut budget)?);
        } else {
            r.skip(wt)?;
        }
    }
    Ok(req)
}

fn series<'a>(
    mut r: Reader<'a>,
    symbols: &[&'a str],
    index: usize,
    refs: &mut Vec<u64>,
    pool: &mut Pool,
    budget: &mut Budget,
) -> Result<Series<'a>, DecodeError> {
    let mut s = Series { samples: pool.samples(), ..Series::default() };
    refs.clear();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => r.repeated_varint(wt, at, refs, |v| v, (&mut *budget, Charge::Labels))?,
            2 => {
                r.expect(wt, WireType::Len, at)?;
                budget.charge(Charge::Samples, 1)?;
                s.samples.push(sample::decode(r.message()?, true)?);
            }
            3 => {
                r.expect(wt, WireType::Len, at)?;
                s.histograms.push(histogram::decode(r.message()?, true, budget)?);
            }
            4 => {
                r.expect(wt, WireType::Len, at)?;
                budget.charge(Charge::Samples, 1)?;
                s.exemplars.push(exemplar(r.message()?, symbols, index, budget)?);
            }
            5 => {
                r.expect(wt, WireType::Len, at)?;
                s.metadata = metadata(r.message()?, symbols, index)?;
            }
            _ => r.skip(wt)?,
        }
    }
    s.labels = pool.labels();
    resolve_labels(refs, symbols, index, &mut s.labels)?;
    Ok(s)
}

fn resolve_labels<'a>(
    refs: &[u64],
    symbols: &[&'a str],
    series: usize,
    out: &mut Vec<Label<'a>>,
) -> Result<(), DecodeError> {
    if !refs.len().is_multiple_of(2) {
        return Err(DecodeError::OddLabelsRefs { series, len: refs.len() });
    }
    for pair in refs.chunks_exact(2) {
        out.push(Label {
            name: Cow::Borrowed(resolve(symbols, pair[0], series)?),
            value: Cow::Borrowed(resolve(symbols, pair[1], series)?),
        });
    }
    Ok(())
}

fn exemplar<'a>(
    mut r: Reader<'a>,
    symbols: &[&'a str],
    series: usize,
    budget: &mut Budget,
) -> Result<Exemplar<'a>, DecodeError> {
    let mut e = Exemplar::default();
    let mut refs = Vec::new();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => r.repeated_varint(wt, at, &mut refs, |v| v, (&mut *budget, Charge::Labels))?,
            2 => e.value = r.double(wt, at)?,
            3 => e.timestamp = r.varint_field(wt, at)? as i64,
            _ => r.skip(wt)?,
        }
    }
    resolve_labels(&refs, symbols, series, &mut e.labels)?;
    Ok(e)
}

fn metadata<'a>(mut r: Reader<'a>, symbols: &[&'a str], series: usize) -> Result<Metadata<'a>, DecodeError> {
    let mut m = Metadata::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => m.metric_type = MetricType::from_wire(r.varint_field(wt, at)? as i32),
            3 => m.help = Cow::Borrowed(resolve(symbols, r.varint_field(wt, at)?, series)?),
            4 => m.unit = Cow::Borrowed(resolve(symbols, r.varint_field(wt, at)?, series)?),
            _ => r.skip(wt)?,
        }
    }
    Ok(m)
}

/// Appends `req` as an uncompressed `io.prometheus.write.v2.Request` to `buf`. `scratch` is a
/// reusable buffer for the series while the symbol table fills (it is cleared).
///
/// Writes series with their labels, samples (with start timestamps), histograms, exemplars and
/// per-series metadata. `req.metadata` (1.0 family metadata) is not written: use
/// [`crate::convert::to_v2`] first to attach it to the series.
pub fn encode(req: &WriteRequest<'_>, buf: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    encode_series_list(&req.series, buf, scratch);
}

/// [`encode`] for a list of series (a request without 1.0 family metadata).
pub fn encode_series_list<'a, 'b: 'a, I>(series: I, buf: &mut Vec<u8>, scratch: &mut Vec<u8>)
where
    I: IntoIterator<Item = &'a Series<'b>>,
    I::IntoIter: ExactSizeIterator,
{
    let series = series.into_iter();
    // Realistic requests hold a few distinct strings per series.
    let mut table = SymbolTable::with_capacity(16 + series.len() * 4);
    scratch.clear();
    for s in series {
        put_message(scratch, 5, |b| encode_series(b, s, &mut table));
    }
    for sym in table.symbols() {
        put_key(buf, 4, WireType::Len);
        put_varint(buf, sym.len() as u64);
        buf.extend_from_slice(sym.as_bytes());
    }
    buf.extend_from_slice(scratch);
}

fn encode_series<'a>(b: &mut Vec<u8>, s: &'a Series<'_>, table: &mut SymbolTable<'a>) {
    put_label_refs(b, 1, &s.labels, table);
    for x in &s.samples {
        sample::encode(b, 2, x, true);
    }
    for h in &s.histograms {
        put_message(b, 3, |b| histogram::encode(b, h, true));
    }
    for e in &s.exemplars {
        put_message(b, 4, |b| {
            put_label_refs(b, 1, &e.labels, table);
            put_double_field(b, 2, e.value);
            put_varint_field(b, 3, e.timestamp as u64);
        });
    }
    if !s.metadata.is_empty() {
        let m = &s.metadata;
        let (help, unit) = (table.intern(&m.help), table.intern(&m.unit));
        put_message(b, 5, |b| {
            put_varint_field(b, 1, m.metric_type.to_wire() as u64);
            put_varint_field(b, 3, u64::from(help));
            put_varint_field(b, 4, u64::from(unit));
        });
    }
}

fn put_label_refs<'a>(b: &mut Vec<u8>, field: u32, labels: &'a [Label<'_>], table: &mut SymbolTable<'a>) {
    if labels.is_empty() {
        return;
    }
    put_message(b, field, |b| {
        for l in labels {
            put_varint(b, u64::from(table.intern(&l.name)));
            put_varint(b, u64::from(table.intern(&l.value)));
        }
    });
}
