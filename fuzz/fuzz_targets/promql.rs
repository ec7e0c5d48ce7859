//! PromQL parsing and evaluation over a small fixed store: statuses 400, 422 or 503.
#![no_main]
use std::sync::LazyLock;
static STORE: LazyLock<Vec<edgewrite::query::eval::Series>> = LazyLock::new(edgewrite_fuzz::store);
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        edgewrite_fuzz::promql(query, &STORE);
    }
});
