//! Snappy block format, with the declared size checked before anything is allocated.

use super::error::DecodeError;

/// The stream identifier that starts snappy's framed format, which remote write forbids.
const FRAMED_MAGIC: &[u8] = b"\xff\x06\x00\x00sNaPpY";

/// Decompresses a snappy block into `out` (cleared first, its capacity reused).
///
/// The length header is read and checked against `max_decoded` before `out` grows, so a
/// header that claims gigabytes costs nothing.
///
/// # Errors
/// [`DecodeError::FramedSnappy`] for framed-format input, [`DecodeError::DecodedTooLarge`] when
/// the header declares more than `max_decoded` bytes, [`DecodeError::CorruptSnappy`] otherwise.
pub fn decompress_into(body: &[u8], max_decoded: usize, out: &mut Vec<u8>) -> Result<(), DecodeError> {
    out.clear();
    if body.starts_with(FRAMED_MAGIC) {
        return Err(DecodeError::FramedSnappy);
    }
    let declared = declared_len(body)?;
    if declared > max_decoded as u64 {
        return Err(DecodeError::DecodedTooLarge { declared, limit: max_decoded });
    }
    // Snappy expands at most 64 bytes per 3-byte copy element; a header claiming more than that
    // of this body is corrupt, and must not make us zero-fill memory for it.
    if declared > body.len() as u64 * 22 + 64 {
        return Err(DecodeError::CorruptSnappy {
            reason: format!(
                "length header declares {declared} bytes, more than {} bytes of input can hold",
                body.len()
            ),
        });
    }
    out.resize(declared as usize, 0);
    let written = snap::raw::Decoder::new()
        .decompress(body, out)
        .map_err(|e| DecodeError::CorruptSnappy { reason: e.to_string() })?;
    out.truncate(written);
    Ok(())
}

/// The decompressed length a snappy block declares in its header (a varint of at most 32 bits).
///
/// Read by hand rather than with `snap::raw::decompress_len`, which refuses lengths over its
/// own internal maximum with a generic error; this keeps the declared figure for the message.
///
/// # Errors
/// [`DecodeError::CorruptSnappy`] if the header is missing or not a valid varint.
pub fn declared_len(body: &[u8]) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    for (i, &b) in body.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    let reason = if body.is_empty() { "empty body" } else { "invalid length header" };
    Err(DecodeError::CorruptSnappy { reason: reason.to_string() })
}

/// Compresses `raw` as one snappy block into `out` (cleared first, its capacity reused).
pub fn compress_into(encoder: &mut snap::raw::Encoder, raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.resize(snap::raw::max_compress_len(raw.len()), 0);
    // Cannot fail: the output is sized by max_compress_len. (Matching rather than `expect` keeps
    // snap's error type, and with it Debug formatting, out of the browser's wasm.)
    let Ok(n) = encoder.compress(raw, out) else { unreachable!("output sized by max_compress_len") };
    out.truncate(n);
}

/// The most bytes [`literal_into`] can take and write at most `max_out` bytes: what it adds
/// is the length (at most 5 bytes) and a tag of at most 3 bytes per 64 KiB.
pub fn max_literal_input(max_out: usize) -> usize {
    max_out.saturating_sub(5 + 3 * (max_out >> 16) + 3)
}

/// Writes `raw` as a snappy block of literals only: valid snappy that any decoder reads, not
/// compressed. For the page's RUM wasm, where snap's compressor was 4 KiB of a 28 KiB (gzip)
/// module for pushes of a few KiB (measured in issue 11); snap's decoder is the reference the
/// tests read it back with.
pub fn literal_into(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut n = raw.len();
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    // Literal elements of at most 64 KiB: a tag (length - 1 in its top six bits below 60,
    // else 60 or 61 and the length - 1 in one or two bytes), then the bytes.
    for chunk in raw.chunks(1 << 16) {
        let len = chunk.len() - 1;
        match len {
            0..60 => out.push((len as u8) << 2),
            60..256 => out.extend([60 << 2, len as u8]),
            _ => out.extend([61 << 2, len as u8, (len >> 8) as u8]),
        }
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_literal_block_of_max_literal_input_bytes_is_within_its_size() {
        let mut out = Vec::new();
        for max in (0usize..200).chain([65_535, 65_536, 65_545, 131_072, 131_080, 200_000, 1 << 20]) {
            // (Even an empty block is a byte.)
            for near in [max, max.saturating_sub(1), max + 1, max + 7].into_iter().filter(|&n| n > 0) {
                let raw = vec![7u8; max_literal_input(near)];
                literal_into(&raw, &mut out);
                assert!(out.len() <= near, "{} bytes in, {} out, {near} allowed", raw.len(), out.len());
                // ... and not much less: at most the bytes reserved for the length and tags.
                let reserved = 8 + 3 * (near >> 16);
                assert!(near <= reserved || out.len() + reserved >= near, "{} out, {near} allowed", out.len());
            }
        }
    }

    #[test]
    fn literal_blocks_read_back_with_snap() {
        let mut out = Vec::new();
        for len in [0, 1, 59, 60, 61, 255, 256, 257, 65_535, 65_536, 65_537, 200_000] {
            let raw: Vec<u8> = (0..len as u32).map(|i| (i * 7 % 256) as u8).collect();
            literal_into(&raw, &mut out);
            assert_eq!(snap::raw::Decoder::new().decompress_vec(&out).unwrap(), raw, "{len} bytes");
            assert_eq!(declared_len(&out).unwrap(), len as u64);
        }
    }

    #[test]
    fn round_trips_and_reuses_the_buffer() {
        let raw: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let (mut packed, mut out) = (Vec::new(), Vec::new());
        compress_into(&mut snap::raw::Encoder::new(), &raw, &mut packed);
        decompress_into(&packed, 1 << 20, &mut out).unwrap();
        assert_eq!(out, raw);
        decompress_into(&packed, 1 << 20, &mut out).unwrap();
        assert_eq!(out, raw);
    }

    #[test]
    fn a_header_claiming_4_gib_is_refused_before_allocating() {
        // 0xffffffff as a varint, then garbage.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x01];
        let mut out = Vec::new();
        let err = decompress_into(&body, 32 << 20, &mut out).unwrap_err();
        assert_eq!(err, DecodeError::DecodedTooLarge { declared: 0xffff_ffff, limit: 32 << 20 });
        assert_eq!(out.capacity(), 0);
    }
}
