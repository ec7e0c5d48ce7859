//! The embedded store's chunks: corrupt ones refused, written ones read back bit for bit.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: edgewrite_fuzz::input::ChunkInput| edgewrite_fuzz::chunk(&input));
