//! What every error in edgewrite shares: an HTTP status that a receiver returns for it.
//!
//! Each layer has its own error enum ([`crate::codec::DecodeError`],
//! [`crate::codec::ContentTypeError`], [`crate::validate::ValidationError`]) whose variants say what went wrong in words a person
//! can act on. All of them map to a 4xx here: bad input must never produce a 5xx, because a 5xx
//! makes senders retry the same bad request forever.

/// The HTTP status a receiver answers with for an error.
pub trait HttpStatus {
    /// The status code: 400 (bad data), 413 (too large) or 415 (unsupported content type or
    /// encoding) for everything the codec and validation report.
    fn status(&self) -> u16;
}
