//! The float sample message, the same in 1.0 and 2.0 (2.0 adds `start_timestamp`, field 3).

use super::error::DecodeError;
use super::wire::*;
use crate::model::Sample;

/// Decodes one `Sample` message. `v2` enables field 3 (`start_timestamp`).
#[inline]
pub(crate) fn decode(mut r: Reader<'_>, v2: bool) -> Result<Sample, DecodeError> {
    let mut s = Sample::default();
    while r.has_more() {
        let at = r.offset();
        let (field, wt) = r.key()?;
        match field {
            1 => s.value = r.double(wt, at)?,
            2 => s.timestamp = r.varint_field(wt, at)? as i64,
            3 if v2 => s.start_timestamp = r.varint_field(wt, at)? as i64,
            _ => r.skip(wt)?,
        }
    }
    Ok(s)
}

/// Appends one `Sample` message as field `field`. `v2` writes `start_timestamp`.
#[inline]
pub(crate) fn encode(buf: &mut Vec<u8>, field: u32, s: &Sample, v2: bool) {
    put_message(buf, field, |b| {
        put_double_field(b, 1, s.value);
        put_varint_field(b, 2, s.timestamp as u64);
        if v2 {
            put_varint_field(b, 3, s.start_timestamp as u64);
        }
    });
}
