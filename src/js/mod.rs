//! The wasm-bindgen facade behind the npm package (feature `js`): the sender as a class
//! ([`writer::WasmSender`]) and the low-level `encode` / `decode`. JavaScript in `pkg/` drives
//! it; nothing here does I/O.

#[cfg(feature = "js-codec")]
pub mod codec;
pub mod writer;
