//! Snappy + remote write 2.0 decode: round trip, 4xx refusals, allocation within limits.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewrite_fuzz::decode(data, edgewrite::Version::V2));
