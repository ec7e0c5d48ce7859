//! A page's push through the RUM endpoint and the aggregator: never a 5xx, flushes valid.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: edgewrite_fuzz::input::RumPush| edgewrite_fuzz::rum(&input));
