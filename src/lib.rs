//! # edgewrite
//!
//! Prometheus remote write for the edge: one Rust core that encodes, decodes and validates
//! remote-write payloads (protobuf and snappy, spec 1.0 and 2.0), built natively and for
//! `wasm32-unknown-unknown`.
//!
//! The core is sans-I/O: it takes bytes (and, in later layers, time and events) and returns
//! values and decisions. Platform layers (the Cloudflare Worker, the npm package) sit behind
//! cargo features and move bytes and time in and out.
//!
//! ## Floors
//! - [`model`]: the types users work with: [`WriteRequest`], [`Series`], [`Sample`] (stale
//!   markers kept bit-exact), [`Histogram`], [`Exemplar`], metadata.
//! - [`codec`]: bytes to model and back for both versions ([`codec::Decoder`],
//!   [`codec::Encoder`]), snappy with the declared size checked before allocating, and the
//!   content-type rules ([`Version::from_content_type`]).
//! - [`validate`]: the spec's rules and the configured [`Limits`]; every problem with the series
//!   it came from, so a receiver can write the valid part.
//! - [`convert`]: moving metadata between the 1.0 and 2.0 shapes.
//! - [`store`]: the embedded store's logic (chunks, selectors, the read API's JSON) for the
//!   Worker's default backend.
//! - [`compliance`]: the prometheus/compliance receiver suite's cases, with the answers it expects.
//! - [`conformance`]: malformed requests with the status and message a receiver gives them.
//! - [`error::HttpStatus`]: every error maps to the 4xx a receiver returns.
//!
//! ## A receiver in a few lines
//! ```
//! use edgewrite::{codec::{self, Decoder}, error::HttpStatus, validate, Limits, Version};
//!
//! fn receive(content_type: Option<&str>, body: &[u8]) -> (u16, String) {
//!     let version = match Version::from_content_type(content_type) {
//!         Ok(v) => v,
//!         Err(e) => return (e.status(), e.to_string()),
//!     };
//!     let limits = Limits::default();
//!     let mut decoder = Decoder::new(limits.clone());
//!     let mut req = match decoder.decode(body, version) {
//!         Ok(r) => r,
//!         Err(e) => return (e.status(), e.to_string()),
//!     };
//!     let report = validate::validate(&req, version, &limits);
//!     let message = report.message(&req, 10);
//!     report.retain_valid(&mut req);
//!     // ... write req (the valid series) to storage ...
//!     if report.is_valid() { (204, String::new()) } else { (400, message) }
//! }
//!
//! let body = codec::Encoder::new().encode(&edgewrite::synth::realistic_request(10, 1), Version::V1).to_vec();
//! assert_eq!(receive(None, &body).0, 204);
//! assert_eq!(receive(Some("text/plain"), &body).0, 415);
//! assert_eq!(receive(None, b"not snappy").0, 400);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod compliance;
pub mod conformance;
pub mod convert;
pub mod error;
#[cfg(any(feature = "js", feature = "js-rum"))]
pub mod js;
pub mod limits;
pub mod model;
pub mod proto;
pub mod query;
pub mod receiver;
pub mod rum;
pub mod sender;
pub mod store;
pub mod synth;
mod time;
pub mod validate;

/// The RUM wasm's allocator (feature `small-alloc`, which `pkg/build.sh` builds `rum` with):
/// lol_alloc's address-ordered free list, which merges neighbours on free. std's dlmalloc
/// is 8 KiB of the page's wasm, this about 1 KiB; a recorder makes few, small, repeating
/// allocations, where a free list does well. The lock is a spin lock nothing contends.
#[cfg(all(feature = "small-alloc", target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use codec::Version;
pub use limits::Limits;
pub use model::{
    BucketSpan, Count, Counts, Exemplar, Histogram, Label, Metadata, MetricMetadata, MetricType, ResetHint, STALE_NAN,
    STALE_NAN_BITS, Sample, Series, WriteRequest, is_stale_nan,
};
