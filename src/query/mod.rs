//! PromQL for the query API (issue 10), sans-I/O: the parser (this module's [`parse`]), the
//! expression tree ([`ast`]), the functions it knows ([`functions`]) and the evaluator
//! ([`eval`]) over the data the shards return for pushed-down selectors.
//!
//! ```
//! use edgewrite::query::{Expr, parse};
//!
//! let e = parse(r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))"#).unwrap();
//! assert!(matches!(e, Expr::Aggregate { .. }));
//! let err = parse("rate(x)").unwrap_err();
//! assert_eq!(err.to_string(), "1:1: parse error: expected type range vector in call to function \"rate\", got instant vector");
//! ```

pub mod api;
pub mod ast;
pub mod eval;
pub mod exemplars;
pub mod functions;
mod lexer;
pub mod lookup;
mod parser;

pub use ast::*;
pub use parser::{ParseError, duration_ms, parse};

use crate::store::Selector;

/// Parses a series selector as Prometheus parses `match[]`: a PromQL vector selector
/// (`up`, `up{job="api"}`, `{__name__=~"http_.*"}`) without `offset` or `@`.
///
/// # Errors
/// [`ParseError`] (400), as for a query.
pub fn parse_selector(text: &str) -> Result<Selector, ParseError> {
    match parse(text)? {
        Expr::Vector(VectorSelector { matchers, offset_ms: 0, at: None, .. }) => Ok(Selector { matchers }),
        _ => Err(ParseError { line: 1, column: 1, message: "expected a series selector, e.g. up{job=\"api\"}".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Label;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn labels(pairs: &[(&'static str, &'static str)]) -> Vec<Label<'static>> {
        pairs.iter().map(|&(n, v)| Label::new(n, v)).collect()
    }

    #[test]
    fn selectors_select_as_promql_does() {
        let up = labels(&[("__name__", "up"), ("instance", "a:9090"), ("job", "prometheus")]);
        let http = labels(&[("__name__", "http_requests_total"), ("code", "503"), ("job", "api")]);
        let dotted = labels(&[("__name__", "my.metric"), ("le.x", "1")]);
        let cases: &[(&str, [bool; 3])] = &[
            ("up", [true, false, false]),
            ("  up { job = \"prometheus\" , } ", [true, false, false]),
            ("{job=~\"api|prometheus\"}", [true, true, false]),
            ("{__name__=~\"http_.*\", code!~\"2..\"}", [false, true, false]),
            ("{job!=\"api\", job=~'.+'}", [true, false, false]),
            ("{__name__=~\"up|http\"}", [true, false, false]),
            ("{\"my.metric\"}", [false, false, true]),
            ("{\"my.metric\", \"le.x\"=`1`}", [false, false, true]),
            ("{job=\"\", __name__=~\".+\"}", [false, false, true]),
        ];
        for (text, want) in cases {
            let sel = parse_selector(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = [sel.matches(&up), sel.matches(&http), sel.matches(&dotted)];
            assert_eq!(&got, want, "{text}");
        }
        let sel = parse_selector(r#"{a="x\"y\\z\n\u00e9\u0001", __name__=~"m|n", "odd.name"!="v"}"#).unwrap();
        assert_eq!(sel.matchers[0].value, "x\"y\\z\né\u{1}");
        // Written back as PromQL, it reads back the same (the shards get selectors as text).
        let text = sel.to_string();
        assert_eq!(text, r#"{a="x\"y\\z\né\u0001",__name__=~"m|n","odd.name"!="v"}"#);
        assert_eq!(parse_selector(&text).unwrap(), sel);
    }

    #[test]
    fn bad_selectors_say_where_and_why() {
        for (text, says) in [
            ("", "1:1: parse error: no expression found in input"),
            ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            ("{job=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
            ("up{job=\"a\"", "1:11: parse error: unexpected end of input inside braces"),
            ("up{job:\"a\"}", "1:4: parse error: unexpected identifier \"job:\""),
            ("up{job=\"a}", "1:8: parse error: unterminated quoted string"),
            ("up{job=~\"(\"}", "1:4: parse error: invalid regex"),
            ("up{job=\"a\\q\"}", "1:11: parse error: unknown escape sequence 'q'"),
            ("up job", "1:4: parse error: unexpected identifier \"job\", expected end of input"),
            ("up\u{a0}", "1:3: parse error: unexpected character: '\\u{a0}'"),
            ("rate(up[5m])", "1:1: parse error: expected a series selector"),
            ("up offset 5m", "1:1: parse error: expected a series selector"),
        ] {
            let e = parse_selector(text).expect_err(text).to_string();
            assert!(e.starts_with(says), "{text}: {e}");
        }
    }
}
