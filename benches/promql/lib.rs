//! One PromQL parser behind one export: `parse(query)` is whether it parses.
use wasm_bindgen::prelude::*;

/// Whether `query` parses.
#[wasm_bindgen]
pub fn parse(query: &str) -> bool {
    #[cfg(feature = "ours")]
    return edgewrite::query::parse(query).is_ok();
    #[cfg(feature = "reference")]
    return promql_parser::parser::parse(query).is_ok();
}
