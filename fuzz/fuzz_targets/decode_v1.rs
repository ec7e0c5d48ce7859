//! Snappy + remote write 1.0 decode: round trip, 4xx refusals, allocation within limits.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgewrite_fuzz::decode(data, edgewrite::Version::V1));
