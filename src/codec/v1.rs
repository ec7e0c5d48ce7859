//! Remote write 1.0: `prometheus.WriteRequest`, uncompressed protobuf in and out.
//!
//! Decoding borrows every string from the input. Encoding writes canonical proto3 (fields in
//! number order, defaults omitted, repeated scalars packed), byte for byte what prost and
//! Prometheus write for the same data (except that -0.0 is kept rather than dropped).

use super::error::DecodeError;
use super::histogram;
use super::pool::{Budget, Charge, Pool};
use super::sample;
use super::wire::*;
use crate::model::*;
use std::borrow::Cow;

/// Decodes an uncompressed `prometheus.WriteRequest`, borrowing strings from `buf`.
///
/// Only the wire format is checked here (structure, UTF-8); the spec's rules are
/// [`crate::validate`]'s job.
///
/// The request-wide counts of `limits` are enforced as it goes (see [`crate::Limits`]).
///
/// # Errors
/// [`DecodeError::Protobuf`] for malformed protobuf, [`DecodeError::InvalidUtf8`] for a string
/// that is not UTF-8, [`DecodeError::TooManySeries`], [`DecodeError::TooManySamples`] and
/// [`DecodeError::TooManyLabels`] for a request over the limits.
pub fn decode<'a>(buf: &'a [u8], limits: &crate::Limits) -> Result<WriteRequest<'a>, DecodeError> {
    decode_pooled(buf, limits, &mut Pool::default())
}

/// [`decode`], drawing vectors from `pool`.
pub(crate) fn decode_pooled<'a>(
    buf: &'a [u8],
    limits: &crate::Limits,
    pool: &mut Pool,
) -> Result<WriteRequest<'a>, DecodeError> {
    let count = count_series(buf)?;
    if count > limits.max_series_per_request {
        return Err(DecodeError::TooManySeries { limit: limits.max_series_per_request });
    }
    let mut budget = Budget::new(limits);
    let mut req = WriteRequest { series: pool.series(count), metadata: Vec::new() };
    let mut r = Reader::new(buf);
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                req.series.push(series(r.message()?, pool, &mut budget)?);
            }
            3 => {
                r.expect(wt, WireType::Len, at)?;
                budget.charge(Charge::Samples, 1)?;
                req.metadata.push(metric_metadata(r.message()?)?);
            }
            _ => r.skip(wt)?,
        }
    }
    Ok(req)
}

/// Counts the time series fields (cheap: a key and a length each), so the series vector is
/// allocated once at its final size.
fn count_series(buf: &[u8]) -> Result<usize, DecodeError> {
    let mut r = Reader::new(buf);
    let mut n = 0;
    while r.has_more() {
        let (field, wt) = r.key()?;
        n += usize::from(field == 1);
        r.skip(wt)?;
    }
    Ok(n)
}

fn series<'a>(mut r: Reader<'a>, pool: &mut Pool, budget: &mut Budget) -> Result<Series<'a>, DecodeError> {
    let mut s = Series { labels: pool.labels(), samples: pool.samples(), ..Series::default() };
    let checked = label_run(r);
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        if !(1..=4).contains(&field) {
            r.skip(wt)?;
            continue;
        }
        r.expect(wt, WireType::Len, at)?;
        let m = r.message()?;
        match field {
            1 => {
                budget.charge(Charge::Labels, 1)?;
                push_label(m, checked, &mut s.labels)?;
            }
            2 => {
                budget.charge(Charge::Samples, 1)?;
                s.samples.push(sample::decode(m, false)?);
            }
            3 => {
                budget.charge(Charge::Samples, 1)?;
                s.exemplars.push(exemplar(m, budget)?);
            }
            _ => s.histograms.push(histogram::decode(m, false, budget)?),
        }
    }
    Ok(s)
}

/// The run of label fields a series starts with, as one UTF-8-checked string (see
/// [`Reader::checked_since`]); `None` if it is not valid UTF-8 as a whole.
#[inline]
fn label_run(mut r: Reader<'_>) -> Option<(&str, usize)> {
    let start = r.offset();
    while r.has_more() {
        let before = r;
        match r.key() {
            Ok((1, WireType::Len)) if r.message().is_ok() => {}
            _ => {
                r = before;
                break;
            }
        }
    }
    r.checked_since(start)
}

/// Decodes one label and pushes it onto `out`.
///
/// Pushed here rather than returned: returning the 48-byte `Result<Label>` through memory cost a
/// store-forwarding stall per label, a fifth of v1 decode time (seen with `perf annotate`).
#[inline(always)]
fn push_label<'a>(
    mut r: Reader<'a>,
    checked: Option<(&'a str, usize)>,
    out: &mut Vec<Label<'a>>,
) -> Result<(), DecodeError> {
    let (mut name, mut value) = ("", "");
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                name = r.string_in("label name", checked)?;
            }
            2 => {
                r.expect(wt, WireType::Len, at)?;
                value = r.string_in("label value", checked)?;
            }
            _ => r.skip(wt)?,
        }
    }
    out.push(Label { name: Cow::Borrowed(name), value: Cow::Borrowed(value) });
    Ok(())
}

fn exemplar<'a>(mut r: Reader<'a>, budget: &mut Budget) -> Result<Exemplar<'a>, DecodeError> {
    let mut e = Exemplar::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => {
                r.expect(wt, WireType::Len, at)?;
                budget.charge(Charge::Labels, 1)?;
                push_label(r.message()?, None, &mut e.labels)?;
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
    put_labels_and_samples(b, s.labels.iter().map(|l| (&*l.name, &*l.value)), &s.samples);
    for e in &s.exemplars {
        put_message(b, 3, |b| {
            for l in &e.labels {
                put_label_message(b, &l.name, &l.value);
            }
            put_double_field(b, 2, e.value);
            put_varint_field(b, 3, e.timestamp as u64);
        });
    }
    for h in &s.histograms {
        put_message(b, 4, |b| histogram::encode(b, h, false));
    }
}

/// Appends one `WriteRequest.timeseries` entry of labels (in order) and plain samples: what
/// [`encode`] writes for a series without exemplars or histograms. The RUM recorder writes its
/// pushes with this alone, so the page's wasm carries no histogram encoder.
pub(crate) fn put_plain_series<'a>(
    buf: &mut Vec<u8>,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    samples: &[Sample],
) {
    put_message(buf, 1, |b| put_labels_and_samples(b, labels, samples));
}

fn put_labels_and_samples<'a>(
    b: &mut Vec<u8>,
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    samples: &[Sample],
) {
    for (name, value) in labels {
        put_label_message(b, name, value);
    }
    for x in samples {
        sample::encode(b, 2, x, false);
    }
}

/// Appends one `TimeSeries.labels` entry (field 1, a `Label` message): how a sender encodes a
/// series' labels once and reuses the bytes for every request.
#[inline]
pub(crate) fn put_label_message(b: &mut Vec<u8>, name: &str, value: &str) {
    put_message(b, 1, |b| {
        put_string_field(b, 1, name);
        put_string_field(b, 2, value);
    });
}
