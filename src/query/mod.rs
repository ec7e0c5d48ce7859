//! PromQL for the query API (issue 10), sans-I/O: the parser (this module's [`parse`]), the
//! expression tree ([`ast`]) and the functions it knows ([`functions`]). The evaluator comes
//! next, over the data the shards return for pushed-down selectors.
//!
//! ```
//! use edgewrite::query::{Expr, parse};
//!
//! let e = parse(r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))"#).unwrap();
//! assert!(matches!(e, Expr::Aggregate { .. }));
//! let err = parse("rate(x)").unwrap_err();
//! assert_eq!(err.to_string(), "1:1: parse error: expected type range vector in call to function \"rate\", got instant vector");
//! ```

pub mod ast;
pub mod functions;
mod lexer;
mod parser;

pub use ast::*;
pub use parser::{ParseError, duration_ms, parse};
