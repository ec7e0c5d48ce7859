//! Bytes in, model out, and back: remote write 1.0 and 2.0, snappy block format, content-type
//! negotiation.
//!
//! Most users want [`Decoder`] and [`Encoder`], which handle snappy and reuse their buffers
//! across requests:
//!
//! ```
//! use edgewrite::{codec::{Decoder, Encoder}, Limits, Series, Sample, Version, WriteRequest};
//! let mut req = WriteRequest::default();
//! req.series.push(Series {
//!     samples: vec![Sample::new(42.0, 1_700_000_000_000)],
//!     ..Series::from_pairs([("__name__", "up"), ("job", "api")])
//! });
//! let body = Encoder::new().encode(&req, Version::V2).to_vec();
//!
//! let version = Version::from_content_type(Some(Version::V2.content_type())).unwrap();
//! let mut decoder = Decoder::new(Limits::default());
//! let decoded = decoder.decode(&body, version)?;
//! assert_eq!(decoded, req);
//! # Ok::<(), edgewrite::codec::DecodeError>(())
//! ```
//!
//! The version modules ([`v1`], [`v2`]) work on uncompressed protobuf, and [`snappy`] on the
//! compression alone, for callers that need the steps apart.

mod content_type;
mod error;
pub(crate) mod histogram;
pub(crate) mod pool;
pub(crate) mod sample;
pub mod snappy;
pub mod symbols;
pub mod v1;
pub mod v2;
pub(crate) mod wire;

pub use content_type::{
    CONTENT_ENCODING, ContentTypeError, EXEMPLARS_WRITTEN_HEADER, HISTOGRAMS_WRITTEN_HEADER, MEDIA_TYPE,
    SAMPLES_WRITTEN_HEADER, VERSION_HEADER, Version, check_content_encoding,
};
pub use error::DecodeError;

use crate::limits::Limits;
use crate::model::WriteRequest;
use pool::Pool;

/// Decodes snappy-compressed request bodies, reusing one decompression buffer. Decoded
/// requests borrow their strings from that buffer, so each lives until the next `decode`.
///
/// [`Decoder::decode_with`] also reuses the vectors of every decoded request: the fastest way
/// to decode many requests (no allocation once warm).
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    pool: Pool,
}

impl Decoder {
    /// A decoder enforcing `limits` (body size and decompressed size).
    pub fn new(limits: Limits) -> Self {
        Decoder { limits, buf: Vec::new(), pool: Pool::default() }
    }

    /// Decompresses `body` and decodes it as `version`.
    ///
    /// # Errors
    /// Size limits first ([`DecodeError::BodyTooLarge`], [`DecodeError::DecodedTooLarge`],
    /// checked before allocating), then snappy and protobuf errors, and the request-wide
    /// counts ([`DecodeError::TooManySeries`], [`DecodeError::TooManySamples`],
    /// [`DecodeError::TooManyLabels`]), checked as the request is decoded.
    pub fn decode(&mut self, body: &[u8], version: Version) -> Result<WriteRequest<'_>, DecodeError> {
        self.decompress(body)?;
        match version {
            Version::V1 => v1::decode_pooled(&self.buf, &self.limits, &mut self.pool),
            Version::V2 => v2::decode_pooled(&self.buf, &self.limits, &mut self.pool),
        }
    }

    /// Decodes `body` as `version`, hands the request to `f`, and keeps the request's
    /// allocations for the next decode. Returns what `f` returns.
    ///
    /// ```
    /// # use edgewrite::{codec::{Decoder, Encoder}, Limits, Version};
    /// # let body = Encoder::new().encode(&edgewrite::synth::realistic_request(10, 1), Version::V1).to_vec();
    /// let mut decoder = Decoder::new(Limits::default());
    /// let samples = decoder.decode_with(&body, Version::V1, |req| req.counts().samples)?;
    /// assert_eq!(samples, 10);
    /// # Ok::<(), edgewrite::codec::DecodeError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Decoder::decode`]; `f` is not called then.
    pub fn decode_with<R>(
        &mut self,
        body: &[u8],
        version: Version,
        f: impl FnOnce(&mut WriteRequest<'_>) -> R,
    ) -> Result<R, DecodeError> {
        self.decompress(body)?;
        let mut req = match version {
            Version::V1 => v1::decode_pooled(&self.buf, &self.limits, &mut self.pool)?,
            Version::V2 => v2::decode_pooled(&self.buf, &self.limits, &mut self.pool)?,
        };
        let out = f(&mut req);
        self.pool.recycle(req);
        Ok(out)
    }

    /// Decompresses `body` into the decoder's buffer and returns it (the raw protobuf), with the
    /// same limits as [`Decoder::decode`].
    ///
    /// # Errors
    /// As [`Decoder::decode`], less the protobuf errors.
    pub fn decompress(&mut self, body: &[u8]) -> Result<&[u8], DecodeError> {
        if body.len() > self.limits.max_body_bytes {
            return Err(DecodeError::BodyTooLarge { size: body.len(), limit: self.limits.max_body_bytes });
        }
        snappy::decompress_into(body, self.limits.max_decoded_bytes, &mut self.buf)?;
        Ok(&self.buf)
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Encodes requests to snappy-compressed bodies, reusing its buffers.
pub struct Encoder {
    raw: Vec<u8>,
    scratch: Vec<u8>,
    out: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("capacity", &self.out.capacity()).finish()
    }
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Self {
        Encoder { raw: Vec::new(), scratch: Vec::new(), out: Vec::new(), snappy: snap::raw::Encoder::new() }
    }

    /// Encodes `req` as `version` and compresses it: the body to POST with
    /// [`Version::request_headers`]. Valid until the next call.
    ///
    /// Writes what the version can hold; see [`v1::encode`] and [`v2::encode`], and
    /// [`crate::convert`] to move metadata between the two shapes first.
    pub fn encode(&mut self, req: &WriteRequest<'_>, version: Version) -> &[u8] {
        self.encode_uncompressed(req, version);
        snappy::compress_into(&mut self.snappy, &self.raw, &mut self.out);
        &self.out
    }

    /// Encodes `series` as a remote write 2.0 request, raw protobuf (not compressed), without
    /// copying them into a request first: the receiver encodes each shard's share of a request
    /// this way, and leaves compression to whoever forwards it ([`Encoder::compress`]).
    pub fn encode_v2_series_uncompressed<'a, 'b: 'a, I>(&mut self, series: I) -> &[u8]
    where
        I: IntoIterator<Item = &'a crate::model::Series<'b>>,
        I::IntoIter: ExactSizeIterator,
    {
        self.raw.clear();
        v2::encode_series_list(series, &mut self.raw, &mut self.scratch);
        &self.raw
    }

    /// Compresses a raw protobuf request into a body to POST (snappy block format).
    pub fn compress(&mut self, raw: &[u8]) -> &[u8] {
        snappy::compress_into(&mut self.snappy, raw, &mut self.out);
        &self.out
    }

    /// Encodes `req` as `version` without compressing it (the raw protobuf).
    pub fn encode_uncompressed(&mut self, req: &WriteRequest<'_>, version: Version) -> &[u8] {
        self.raw.clear();
        match version {
            Version::V1 => v1::encode(req, &mut self.raw),
            Version::V2 => v2::encode(req, &mut self.raw, &mut self.scratch),
        }
        &self.raw
    }
}

/// Decodes a snappy-compressed body into a request that owns its strings (convenient, but it
/// copies every string; prefer [`Decoder`] on hot paths).
///
/// # Errors
/// As [`Decoder::decode`].
pub fn decode_owned(body: &[u8], version: Version, limits: &Limits) -> Result<WriteRequest<'static>, DecodeError> {
    let mut d = Decoder::new(limits.clone());
    Ok(d.decode(body, version)?.into_owned())
}
