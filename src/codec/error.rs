//! Errors from reading a request body.

use crate::error::HttpStatus;
use std::fmt;

/// Why a request body could not be decoded. Every variant is the sender's fault (4xx).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The compressed body is larger than the configured limit (413).
    BodyTooLarge {
        /// Body size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The snappy header declares a decompressed size over the limit (413). Nothing was
    /// allocated for it.
    DecodedTooLarge {
        /// Size declared by the snappy length header.
        declared: u64,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is in snappy's framed (stream) format; remote write requires the block format.
    FramedSnappy,
    /// More series than `Limits::max_series_per_request` (413).
    TooManySeries {
        /// The limit.
        limit: usize,
    },
    /// More data points than `Limits::max_samples_per_request` (413).
    TooManySamples {
        /// The limit.
        limit: usize,
    },
    /// More label strings than `Limits::max_labels_per_request` (413).
    TooManyLabels {
        /// The limit.
        limit: usize,
    },
    /// The snappy block is corrupt or truncated.
    CorruptSnappy {
        /// What the snappy decoder said.
        reason: String,
    },
    /// The protobuf is malformed at this offset of the decompressed message.
    Protobuf {
        /// Byte offset in the decompressed message.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// A string field is not valid UTF-8.
    InvalidUtf8 {
        /// Which field (e.g. "label value").
        what: &'static str,
        /// Byte offset of the string's length prefix in the decompressed message.
        offset: usize,
    },
    /// A 2.0 request whose symbol table does not start with the empty string.
    FirstSymbolNotEmpty,
    /// A 2.0 `labels_refs` list with an odd number of entries (they are name/value pairs).
    OddLabelsRefs {
        /// Index of the time series in the request.
        series: usize,
        /// Number of refs found.
        len: usize,
    },
    /// A 2.0 symbol reference past the end of the symbol table.
    SymbolRefOutOfRange {
        /// Index of the time series in the request.
        series: usize,
        /// The reference.
        reference: u64,
        /// Size of the symbol table.
        symbols: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DecodeError::*;
        match self {
            BodyTooLarge { size, limit } => {
                write!(f, "request body is {size} bytes, over the limit of {limit} bytes; send smaller batches")
            }
            DecodedTooLarge { declared, limit } => write!(
                f,
                "snappy header declares {declared} bytes decompressed, over the limit of {limit} \
                 bytes; send smaller batches"
            ),
            TooManySeries { limit } => {
                write!(f, "request has more than {limit} series; send smaller batches (lower max_samples_per_send)")
            }
            TooManySamples { limit } => write!(
                f,
                "request has more than {limit} samples, histogram buckets, exemplars and metadata \
                 entries; send smaller batches (lower max_samples_per_send)"
            ),
            TooManyLabels { limit } => write!(
                f,
                "request has more than {limit} label strings; send smaller batches (lower \
                 max_samples_per_send)"
            ),
            FramedSnappy => f.write_str(
                "body is snappy framed (stream) format; remote write requires snappy block format \
                 (e.g. Go snappy.Encode, not snappy.NewWriter)",
            ),
            CorruptSnappy { reason } => write!(f, "body is not valid snappy block data: {reason}"),
            Protobuf { offset, reason } => {
                write!(f, "malformed protobuf at byte {offset} of the decompressed body: {reason}")
            }
            InvalidUtf8 { what, offset } => {
                write!(f, "{what} at byte {offset} of the decompressed body is not valid UTF-8")
            }
            FirstSymbolNotEmpty => f.write_str("symbols[0] must be the empty string in a remote write 2.0 request"),
            OddLabelsRefs { series, len } => write!(
                f,
                "time series {series}: labels_refs has {len} entries; it must hold name/value pairs \
                 (an even number)"
            ),
            SymbolRefOutOfRange { series, reference, symbols } => write!(
                f,
                "time series {series}: symbol reference {reference} is out of range (the symbol \
                 table has {symbols} entries)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl HttpStatus for DecodeError {
    fn status(&self) -> u16 {
        match self {
            DecodeError::BodyTooLarge { .. }
            | DecodeError::DecodedTooLarge { .. }
            | DecodeError::TooManySeries { .. }
            | DecodeError::TooManySamples { .. }
            | DecodeError::TooManyLabels { .. } => 413,
            _ => 400,
        }
    }
}
