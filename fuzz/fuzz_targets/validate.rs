//! Validation of decoded requests (either version): what it keeps is valid.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else { return };
    let version = if first & 1 == 0 { edgewrite::Version::V1 } else { edgewrite::Version::V2 };
    edgewrite_fuzz::validate(body, version);
});
