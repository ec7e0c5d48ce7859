//! Protobuf wire primitives: a borrowing reader that knows its absolute offset (for error
//! messages), and writers that append to a `Vec<u8>`.
//!
//! The v1 and v2 codecs walk messages with these instead of prost's generated `Message` impls:
//! prost's decode copies every string into an owned `String`, which measured about 5x slower than
//! borrowing (see BENCHMARKS.md). Varints go through `prost::encoding`.

use super::error::DecodeError;
use super::pool::{Budget, Charge};

/// Protobuf wire types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

/// Reads protobuf fields from `buf[pos..end]`; offsets in errors are from the start of `buf`.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, end: buf.len() }
    }

    pub(crate) fn has_more(&self) -> bool {
        self.pos < self.end
    }

    /// Byte offset of the next read, from the start of the whole buffer.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    pub(crate) fn error(&self, offset: usize, reason: &'static str) -> DecodeError {
        DecodeError::Protobuf { offset, reason }
    }

    /// The next field's number and wire type.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<(u32, WireType), DecodeError> {
        let at = self.pos;
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.error(at, "invalid field number"));
        }
        let wire_type = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            3 | 4 => return Err(self.error(at, "groups (wire types 3 and 4) are not supported")),
            _ => return Err(self.error(at, "invalid wire type")),
        };
        Ok((field as u32, wire_type))
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most varints here (keys, lengths of labels) are one byte.
        if let Some(&b) = self.buf[..self.end].get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    #[cold]
    fn varint_slow(&mut self) -> Result<u64, DecodeError> {
        let at = self.pos;
        let mut rest = &self.buf[self.pos..self.end];
        let before = rest.len();
        let v = prost::encoding::decode_varint(&mut rest).map_err(|_| self.error(at, "invalid or truncated varint"))?;
        self.pos += before - rest.len();
        Ok(v)
    }

    #[inline]
    pub(crate) fn fixed64(&mut self) -> Result<u64, DecodeError> {
        let at = self.pos;
        let bytes = self.take(8).ok_or_else(|| self.error(at, "truncated 64-bit field"))?;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(word))
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.end - self.pos < n {
            return None;
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Some(s)
    }

    /// One raw byte (for formats built on these primitives, such as the store's chunks).
    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        if self.pos >= self.end {
            return Err(self.error(self.pos, "message cut short"));
        }
        self.pos += 1;
        Ok(self.buf[self.pos - 1])
    }

    /// The payload of a length-delimited field, as a reader positioned on it.
    #[inline]
    pub(crate) fn message(&mut self) -> Result<Reader<'a>, DecodeError> {
        let at = self.pos;
        let len = self.varint()?;
        if len > (self.end - self.pos) as u64 {
            return Err(self.error(at, "length-delimited field runs past the end of its message"));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(Reader { buf: self.buf, pos: start, end: self.pos })
    }

    /// The payload of a length-delimited field, as bytes.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let m = self.message()?;
        Ok(&m.buf[m.pos..m.end])
    }

    /// A string field, checked to be UTF-8. `what` names it in the error.
    #[inline]
    pub(crate) fn string(&mut self, what: &'static str) -> Result<&'a str, DecodeError> {
        self.string_in(what, None)
    }

    /// A string field inside `checked`, a stretch of the buffer already validated as UTF-8
    /// (starting at byte `checked.1`), so the field needs no check of its own. Falls back to
    /// checking the field when it is not inside `checked` or not on character boundaries.
    #[inline(always)]
    pub(crate) fn string_in(
        &mut self,
        what: &'static str,
        checked: Option<(&'a str, usize)>,
    ) -> Result<&'a str, DecodeError> {
        let at = self.pos;
        let field = self.message()?;
        if let Some(s) = checked.and_then(|(text, base)| text.get(field.pos.checked_sub(base)?..field.end - base)) {
            return Ok(s);
        }
        std::str::from_utf8(&field.buf[field.pos..field.end]).map_err(|_| DecodeError::InvalidUtf8 { what, offset: at })
    }

    /// The bytes from `start` (an earlier offset of this reader) to the current position, if
    /// they are valid UTF-8. Validating a run of short strings at once is much cheaper than one
    /// by one (the keys and lengths between them are ASCII).
    #[inline]
    pub(crate) fn checked_since(&self, start: usize) -> Option<(&'a str, usize)> {
        std::str::from_utf8(&self.buf[start..self.pos]).ok().map(|text| (text, start))
    }

    /// Skips a field of this wire type.
    pub(crate) fn skip(&mut self, wire_type: WireType) -> Result<(), DecodeError> {
        let at = self.pos;
        match wire_type {
            WireType::Varint => {
                self.varint()?;
            }
            WireType::Fixed64 => {
                self.take(8).ok_or_else(|| self.error(at, "truncated 64-bit field"))?;
            }
            WireType::Fixed32 => {
                self.take(4).ok_or_else(|| self.error(at, "truncated 32-bit field"))?;
            }
            WireType::Len => {
                self.message()?;
            }
        }
        Ok(())
    }

    /// Checks that a known field came with the wire type its declaration implies.
    #[inline]
    pub(crate) fn expect(&self, got: WireType, want: WireType, at: usize) -> Result<(), DecodeError> {
        if got == want { Ok(()) } else { Err(self.error(at, "field has the wrong wire type")) }
    }

    /// A double field.
    #[inline]
    pub(crate) fn double(&mut self, wt: WireType, at: usize) -> Result<f64, DecodeError> {
        self.expect(wt, WireType::Fixed64, at)?;
        Ok(f64::from_bits(self.fixed64()?))
    }

    /// A varint field (int64, uint64, uint32, enum), as its raw 64 bits.
    #[inline]
    pub(crate) fn varint_field(&mut self, wt: WireType, at: usize) -> Result<u64, DecodeError> {
        self.expect(wt, WireType::Varint, at)?;
        self.varint()
    }

    /// Appends the values of a repeated varint field, packed or not, mapped through `f`, each
    /// charged to `budget`.
    pub(crate) fn repeated_varint<T>(
        &mut self,
        wt: WireType,
        at: usize,
        out: &mut Vec<T>,
        f: impl Fn(u64) -> T,
        budget: (&mut Budget, Charge),
    ) -> Result<(), DecodeError> {
        let (budget, charge) = budget;
        match wt {
            WireType::Varint => {
                budget.charge(charge, 1)?;
                out.push(f(self.varint()?));
            }
            WireType::Len => {
                let mut packed = self.message()?;
                while packed.has_more() {
                    budget.charge(charge, 1)?;
                    out.push(f(packed.varint()?));
                }
            }
            _ => return Err(self.error(at, "repeated varint field has the wrong wire type")),
        }
        Ok(())
    }

    /// Appends the values of a repeated double field, packed or not, each charged to
    /// `budget` as a sample.
    pub(crate) fn repeated_double(
        &mut self,
        wt: WireType,
        at: usize,
        out: &mut Vec<f64>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match wt {
            WireType::Fixed64 => {
                budget.charge(Charge::Samples, 1)?;
                out.push(f64::from_bits(self.fixed64()?));
            }
            WireType::Len => {
                let mut packed = self.message()?;
                if (packed.end - packed.pos) % 8 != 0 {
                    return Err(self.error(at, "packed doubles are not a multiple of 8 bytes"));
                }
                budget.charge(Charge::Samples, (packed.end - packed.pos) / 8)?;
                while packed.has_more() {
                    out.push(f64::from_bits(packed.fixed64()?));
                }
            }
            _ => return Err(self.error(at, "repeated double field has the wrong wire type")),
        }
        Ok(())
    }
}

/// Zigzag-decodes a sint64.
#[inline]
pub(crate) fn unzigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Zigzag-encodes a sint64.
#[inline]
pub(crate) fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends a varint.
#[inline]
pub(crate) fn put_varint(buf: &mut Vec<u8>, v: u64) {
    prost::encoding::encode_varint(v, buf);
}

/// Appends a field key.
#[inline]
pub(crate) fn put_key(buf: &mut Vec<u8>, field: u32, wt: WireType) {
    let code = match wt {
        WireType::Varint => 0,
        WireType::Fixed64 => 1,
        WireType::Len => 2,
        WireType::Fixed32 => 5,
    };
    put_varint(buf, (u64::from(field) << 3) | code);
}

/// Appends a varint field unless it is 0 (proto3 default).
#[inline]
pub(crate) fn put_varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_key(buf, field, WireType::Varint);
        put_varint(buf, v);
    }
}

/// Appends a double field unless it is +0.0 (proto3 default; -0.0 and NaNs are kept bit-exact).
#[inline]
pub(crate) fn put_double_field(buf: &mut Vec<u8>, field: u32, v: f64) {
    if v.to_bits() != 0 {
        put_double_always(buf, field, v);
    }
}

/// Appends a double field even when it is 0 (members of a oneof).
#[inline]
pub(crate) fn put_double_always(buf: &mut Vec<u8>, field: u32, v: f64) {
    put_key(buf, field, WireType::Fixed64);
    buf.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Appends a string field unless it is empty.
#[inline]
pub(crate) fn put_string_field(buf: &mut Vec<u8>, field: u32, s: &str) {
    if !s.is_empty() {
        put_key(buf, field, WireType::Len);
        put_varint(buf, s.len() as u64);
        buf.extend_from_slice(s.as_bytes());
    }
}

/// Appends a length-delimited field whose payload `body` writes. Always written, even if empty
/// (an empty element of a repeated message field still counts).
#[inline]
pub(crate) fn put_message(buf: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    put_key(buf, field, WireType::Len);
    // Reserve one length byte (enough below 128 bytes, the common case for labels and samples);
    // longer payloads are moved right to make room for the longer varint.
    buf.push(0);
    let start = buf.len();
    body(buf);
    let len = buf.len() - start;
    if len < 0x80 {
        buf[start - 1] = len as u8;
        return;
    }
    let mut prefix = [0u8; 10];
    let mut p = &mut prefix[..];
    prost::encoding::encode_varint(len as u64, &mut p);
    let prefix_len = 10 - p.len();
    let extra = prefix_len - 1;
    buf.resize(buf.len() + extra, 0);
    buf.copy_within(start..start + len, start + extra);
    buf[start - 1..start - 1 + prefix_len].copy_from_slice(&prefix[..prefix_len]);
}

/// Appends a packed repeated varint field unless `values` is empty.
pub(crate) fn put_packed_varints(buf: &mut Vec<u8>, field: u32, values: impl Iterator<Item = u64> + Clone) {
    let mut values = values.peekable();
    if values.peek().is_none() {
        return;
    }
    put_message(buf, field, |b| values.for_each(|v| put_varint(b, v)));
}

/// Appends a packed repeated double field unless `values` is empty.
pub(crate) fn put_packed_doubles(buf: &mut Vec<u8>, field: u32, values: &[f64]) {
    if values.is_empty() {
        return;
    }
    put_key(buf, field, WireType::Len);
    put_varint(buf, values.len() as u64 * 8);
    for v in values {
        buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn zigzag_round_trips_extremes() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag64(zigzag64(v)), v);
        }
        assert_eq!(zigzag64(-1), 1);
        assert_eq!(zigzag64(1), 2);
    }

    #[test]
    fn long_messages_get_a_longer_length_prefix() {
        for len in [0usize, 127, 128, 16_383, 16_384, 300_000] {
            let mut buf = vec![0xAA];
            put_message(&mut buf, 1, |b| b.extend(std::iter::repeat_n(7u8, len)));
            let mut r = Reader::new(&buf[1..]);
            assert_eq!(r.key().unwrap(), (1, WireType::Len));
            let payload = r.string("payload").unwrap().as_bytes();
            assert_eq!(payload.len(), len);
            assert!(payload.iter().all(|&b| b == 7));
            assert!(!r.has_more());
        }
    }

    #[test]
    fn truncated_length_is_reported_with_its_offset() {
        // field 1, LEN, claims 5 bytes, has 2
        let buf = [0x0a, 0x05, 1, 2];
        let mut r = Reader::new(&buf);
        r.key().unwrap();
        let err = r.string("payload").unwrap_err();
        assert!(err.to_string().contains("byte 1"), "{err}");
    }
}
