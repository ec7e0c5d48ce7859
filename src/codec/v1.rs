//! Remote write 1.0: `prometheus.WriteRequest`, uncompressed protobuf in and out.
//!
//! Decoding borrows every string from the input. Encoding writes canonical proto3 (fields in
//! number order, defaults omitted, repeated scalars packed), byte for byte what prost and
//! Prometheus write for the same data (except that -0.0 is kept rather than dropped).

use super::error::DecodeError;
use super::histogram;
use super::wire::*;
use crate::model::*;
use std::borrow::Cow;

/// Decodes an uncompressed `prometheus.WriteRequest`, borrowing strings from `buf`.
///
/// Only the wire format is checked here (structure, UTF-8); the spec's rules are
/// [`crate::validate`]'s job.
///
/// # Errors
/// [`DecodeError::Protobuf`] for malformed protobuf, [`DecodeError::InvalidUtf8`] for a string
/// that is not UTF-8.
pub fn decode(buf: &[u8]) -> Result<WriteRequest<'_>, DecodeError> {
    let mut r = Reader::new(buf);
    let mut req = WriteRequest::default();
    // A 2000-series request is ~235 bytes a series; guessing the count saves regrowth.
    req.series.reserve(buf.len() / 256);
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                req.series.push(series(r.message()?)?);
            }
            3 => {
                r.expect(wt, WireType::Len, at)?;
                req.metadata.push(metric_metadata(r.message()?)?);
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(req)
}

fn series(mut r: Reader<'_>) -> Result<Series<'_>, DecodeError> {
    let mut s = Series { labels: Vec::with_capacity(12), ..Series::default() };
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        r.expect(wt, WireType::Len, at)?;
        let m = r.message()?;
        match field {
            1 => s.labels.push(label(m)?),
            2 => s.samples.push(sample(m)?),
            3 => s.exemplars.push(exemplar(m)?),
            4 => s.histograms.push(histogram::decode(m, false)?),
            _ => {}
        }
    }
    Ok(s)
}

#[inline]
fn label(mut r: Reader<'_>) -> Result<Label<'_>, DecodeError> {
    let (mut name, mut value) = ("", "");
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                name = r.string("label name")?;
            }
            2 => {
                r.expect(wt, WireType::Len, at)?;
                value = r.string("label value")?;
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(Label { name: Cow::Borrowed(name), value: Cow::Borrowed(value) })
}

#[inline]
fn sample(mut r: Reader<'_>) -> Result<Sample, DecodeError> {
    let mut s = Sample::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => s.value = r.double(wt, at)?,
            2 => s.timestamp = r.varint_field(wt, at)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(s)
}

fn exemplar(mut r: Reader<'_>) -> Result<Exemplar<'_>, DecodeError> {
    let mut e = Exemplar::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                e.labels.push(label(r.message()?)?);
            }
            2 => e.value = r.double(wt, at)?,
            3 => e.timestamp = r.varint_field(wt, at)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(e)
}

fn metric_metadata(mut r: Reader<'_>) -> Result<MetricMetadata<'_>, DecodeError> {
    let mut m = MetricMetadata::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => m.metadata.metric_type = MetricType::from_wire(r.varint_field(wt, at)? as i32),
            2 => {
                r.expect(wt, WireType::Len, at)?;
                m.metric_family_name = Cow::Borrowed(r.string("metric family name")?);
            }
            4 => {
                r.expect(wt, WireType::Len, at)?;
                m.metadata.help = Cow::Borrowed(r.string("metadata help")?);
            }
            5 => {
                r.expect(wt, WireType::Len, at)?;
                m.metadata.unit = Cow::Borrowed(r.string("metadata unit")?);
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(m)
}

/// Appends `req` as an uncompressed `prometheus.WriteRequest` to `buf`.
///
/// Writes exactly what the request holds: series (labels, samples, exemplars, histograms) and
/// `req.metadata`. 2.0-only data is left out: start timestamps, and per-series
/// [`Series::metadata`] (use [`crate::convert::to_v1`] first to carry it as family metadata).
pub fn encode(req: &WriteRequest<'_>, buf: &mut Vec<u8>) {
    for s in &req.series {
        put_message(buf, 1, |b| encode_series(b, s));
    }
    for m in &req.metadata {
        put_message(buf, 3, |b| {
            put_varint_field(b, 1, m.metadata.metric_type.to_wire() as u64);
            put_string_field(b, 2, &m.metric_family_name);
            put_string_field(b, 4, &m.metadata.help);
            put_string_field(b, 5, &m.metadata.unit);
        });
    }
}

fn encode_series(b: &mut Vec<u8>, s: &Series<'_>) {
    for l in &s.labels {
        put_message(b, 1, |b| put_label(b, l));
    }
    for x in &s.samples {
        put_message(b, 2, |b| {
            put_double_field(b, 1, x.value);
            put_varint_field(b, 2, x.timestamp as u64);
        });
    }
    for e in &s.exemplars {
        put_message(b, 3, |b| {
            for l in &e.labels {
                put_message(b, 1, |b| put_label(b, l));
            }
            put_double_field(b, 2, e.value);
            put_varint_field(b, 3, e.timestamp as u64);
        });
    }
    for h in &s.histograms {
        put_message(b, 4, |b| histogram::encode(b, h, false));
    }
}

#[inline]
fn put_label(b: &mut Vec<u8>, l: &Label<'_>) {
    put_string_field(b, 1, &l.name);
    put_string_field(b, 2, &l.value);
}
