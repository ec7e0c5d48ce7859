//! A page's calls on its recorder: every push it writes, the edge takes whole.
#![no_main]
libfuzzer_sys::fuzz_target!(|input: edgewrite_fuzz::input::Recording| edgewrite_fuzz::rum_recorder(&input));
