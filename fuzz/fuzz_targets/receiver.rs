//! A write request through the receiver, headers and all: never a 5xx.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: edgewrite_fuzz::input::Http| edgewrite_fuzz::receive(&input));
