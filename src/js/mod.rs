//! The wasm-bindgen facade behind the npm package: the sender as a class
//! ([`writer::WasmSender`], feature `js`), the low-level `encode` / `decode` (`js-codec`), and
//! the page's RUM recorder ([`rum::Rum`], `js-rum`, built alone). JavaScript in `pkg/` drives
//! it; nothing here does I/O.

#[cfg(feature = "js-codec")]
pub mod codec;
#[cfg(feature = "js-rum")]
pub mod rum;
#[cfg(feature = "js")]
pub mod writer;
