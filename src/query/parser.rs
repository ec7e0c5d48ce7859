//! A recursive-descent PromQL parser with Prometheus's precedence, type checks and messages.
//! Written by hand because `promql-parser` (the maintained Rust parser) would add 470 KiB gzip
//! to the Worker and 95 ms to a fresh isolate's first query (issue 10's measurement);
//! `tests/promql.rs` holds the two to the same answers.

use super::ast::*;
use super::functions::function;
use super::lexer::{Tok, lex, parse_duration};
use crate::error::HttpStatus;
use crate::store::{Matcher, Op};
use std::fmt;

/// A query that does not parse or type-check (HTTP 400, `bad_data`), with Prometheus's
/// `line:column: parse error: ...` position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (bytes).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(input: &str, at: usize, message: impl Into<String>) -> Self {
        let at = at.min(input.len());
        let before = &input.as_bytes()[..at];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        let column = at - before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1) + 1;
        ParseError { line, column, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: parse error: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

impl HttpStatus for ParseError {
    fn status(&self) -> u16 {
        400
    }
}

/// Deepest expression tree accepted: evaluation recurses over it, and a Worker's stack is small.
pub const MAX_DEPTH: usize = 200;

/// Latest (and, negated, earliest) time a query may name, in ms: about 31,700 years from 1970,
/// far inside `i64`, so that time arithmetic cannot overflow.
pub const MAX_TIME_MS: i64 = 1_000_000_000_000_000;

/// Parses a PromQL expression.
///
/// # Errors
/// [`ParseError`] with the position and Prometheus's message.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = lex(input)?;
    let mut p = Parser { input, tokens, at: 0, depth: 0 };
    if matches!(p.peek(), Tok::Eof) {
        return Err(p.error_here("no expression found in input"));
    }
    let expr = p.expr(0)?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.unexpected("end of input"));
    }
    if depth(&expr) > MAX_DEPTH {
        return Err(p.error_at(0, format!("expression nests deeper than {MAX_DEPTH} levels")));
    }
    Ok(expr)
}

/// What the input leaves open at its end, in the words of Prometheus's lexer: a parenthesis,
/// a bracket, or braces.
fn unclosed(tokens: &[(Tok, usize)]) -> Option<&'static str> {
    let (mut parens, mut bracket, mut braces) = (0i64, false, false);
    for (t, _) in tokens {
        match t {
            Tok::LParen => parens += 1,
            Tok::RParen => parens -= 1,
            Tok::LBracket => bracket = true,
            Tok::RBracket => bracket = false,
            Tok::LBrace => braces = true,
            Tok::RBrace => braces = false,
            _ => {}
        }
    }
    if braces {
        Some("unexpected end of input inside braces")
    } else if bracket {
        Some("unclosed left bracket")
    } else if parens > 0 {
        Some("unclosed left parenthesis")
    } else {
        None
    }
}

/// The depth of the tree, found without recursion (the tree may be deeper than the stack).
fn depth(e: &Expr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, d)) = stack.pop() {
        deepest = deepest.max(d);
        match e {
            Expr::Subquery { expr, .. } | Expr::Negate(expr) | Expr::Paren(expr) => stack.push((expr, d + 1)),
            Expr::Aggregate { expr, param, .. } => {
                stack.push((expr, d + 1));
                if let Some(p) = param {
                    stack.push((p, d + 1));
                }
            }
            Expr::Binary { lhs, rhs, .. } => {
                stack.push((lhs, d + 1));
                stack.push((rhs, d + 1));
            }
            Expr::Call { args, .. } => stack.extend(args.iter().map(|a| (a, d + 1))),
            Expr::Number(_) | Expr::String(_) | Expr::Vector(_) | Expr::Matrix { .. } => {}
        }
    }
    deepest
}

struct Parser<'a> {
    input: &'a str,
    tokens: Vec<(Tok, usize)>,
    at: usize,
    /// Nesting of `expr` calls: bounded, so a query of ten thousand "(" cannot exhaust the stack.
    depth: usize,
}

const KEYWORDS: &[&str] =
    &["and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"];

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at.min(self.tokens.len() - 1)].0
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.tokens[(self.at + k).min(self.tokens.len() - 1)].0
    }

    fn pos(&self) -> usize {
        self.tokens[self.at.min(self.tokens.len() - 1)].1
    }

    /// The token at the cursor, and the cursor past it (past `Eof` too, so that stepping back
    /// with `self.at -= 1` always returns to it).
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.at += 1;
        t
    }

    fn error_at(&self, at: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.input, at, message)
    }

    fn error_here(&self, message: impl Into<String>) -> ParseError {
        self.error_at(self.pos(), message)
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        let what = match self.peek() {
            Tok::Error(message) => return self.error_here(*message),
            // Prometheus's lexer refuses the end of an input with something left open, before
            // its parser can say what it expected there.
            Tok::Eof => match unclosed(&self.tokens) {
                Some(message) => return self.error_here(message),
                None => "unexpected end of input".to_string(),
            },
            t => format!("unexpected {}", t.describe()),
        };
        self.error_here(format!("{what}, expected {wanted}"))
    }

    fn expect(&mut self, tok: Tok, wanted: &str) -> Result<(), ParseError> {
        if *self.peek() == tok {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    /// The keyword at the cursor, lower-cased, if the token is one.
    fn keyword(&self) -> Option<String> {
        match self.peek() {
            Tok::Ident { name, colon: false } => {
                let lower = name.to_ascii_lowercase();
                KEYWORDS.contains(&lower.as_str()).then_some(lower)
            }
            _ => None,
        }
    }

    fn binary_op(&self) -> Option<BinaryOp> {
        match self.peek() {
            Tok::Op(op) => BinaryOp::from_text(op),
            _ => BinaryOp::from_text(&self.keyword()?),
        }
    }

    /// Binary operations whose operators bind at least as tightly as `min`.
    fn expr(&mut self, min: u8) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_here(format!("expression nests deeper than {MAX_DEPTH} levels")));
        }
        let e = self.expr_inner(min);
        self.depth -= 1;
        e
    }

    fn expr_inner(&mut self, min: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.binary_op().filter(|op| op.precedence() >= min) {
            let op_at = self.pos();
            self.next();
            let (return_bool, matching) = self.bin_modifiers(op)?;
            // `^` is right-associative, the others left.
            let next = if op == BinaryOp::Pow { op.precedence() } else { op.precedence() + 1 };
            let rhs = self.expr(next)?;
            lhs = self.binary(op, lhs, rhs, return_bool, matching, op_at)?;
        }
        Ok(lhs)
    }

    /// `-x` and `+x`: tighter than `*`, looser than `^` (so `-2^2` is -4), as in Prometheus.
    fn unary(&mut self) -> Result<Expr, ParseError> {
        let sign = match self.peek() {
            Tok::Op("-") => -1.0,
            Tok::Op("+") => 1.0,
            _ => return self.postfix(),
        };
        let at = self.pos();
        self.next();
        let e = self.expr(BinaryOp::Pow.precedence())?;
        match e.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            t => {
                return Err(self.error_at(
                    at,
                    format!(
                        "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                        t.name()
                    ),
                ));
            }
        }
        Ok(match (sign < 0.0, e) {
            (false, e) => e,
            (true, Expr::Number(n)) => Expr::Number(-n),
            (true, e) => Expr::Negate(Box::new(e)),
        })
    }

    /// `bool`, `on (...)` / `ignoring (...)`, `group_left (...)` / `group_right (...)`.
    fn bin_modifiers(&mut self, op: BinaryOp) -> Result<(bool, Option<VectorMatching>), ParseError> {
        let mut return_bool = false;
        if self.keyword().as_deref() == Some("bool") {
            if !op.is_comparison() {
                return Err(self.error_here("bool modifier can only be used on comparison operators"));
            }
            self.next();
            return_bool = true;
        }
        let mut m = VectorMatching::default();
        let mut any = false;
        if let Some(k) = self.keyword().filter(|k| k == "on" || k == "ignoring") {
            self.next();
            m.on = Some(k == "on");
            m.labels = self.label_list()?;
            any = true;
            if let Some(g) = self.keyword().filter(|k| k == "group_left" || k == "group_right") {
                let g_at = self.pos();
                self.next();
                m.card = if g == "group_left" { Cardinality::ManyToOne } else { Cardinality::OneToMany };
                if matches!(self.peek(), Tok::LParen) {
                    m.include = self.label_list()?;
                }
                if op.is_set() {
                    return Err(self.error_at(g_at, format!("no grouping allowed for \"{}\" operation", op.as_str())));
                }
                if m.on == Some(true)
                    && let Some(l) = m.include.iter().find(|l| m.labels.contains(l))
                {
                    return Err(
                        self.error_at(g_at, format!("label \"{l}\" must not occur in ON and GROUP clause at once"))
                    );
                }
            }
        }
        if op.is_set() {
            m.card = Cardinality::ManyToMany;
            any = true;
        }
        Ok((return_bool, any.then_some(m)))
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: Expr,
        rhs: Expr,
        return_bool: bool,
        matching: Option<VectorMatching>,
        at: usize,
    ) -> Result<Expr, ParseError> {
        let (lt, rt) = (lhs.value_type(), rhs.value_type());
        for t in [lt, rt] {
            if t != ValueType::Scalar && t != ValueType::Vector {
                return Err(self.error_at(at, "binary expression must contain only scalar and instant vector types"));
            }
        }
        let vectors = lt == ValueType::Vector && rt == ValueType::Vector;
        if op.is_comparison() && !return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
            return Err(self.error_at(at, "comparisons between scalars must use BOOL modifier"));
        }
        if op.is_set() && !vectors {
            return Err(
                self.error_at(at, format!("set operator \"{}\" not allowed in binary scalar expression", op.as_str()))
            );
        }
        let explicit = matching.as_ref().is_some_and(|m| m.on.is_some() || m.card != Cardinality::OneToOne);
        if !vectors && explicit && !op.is_set() {
            return Err(self.error_at(at, "vector matching only allowed between instant vectors"));
        }
        let matching = if vectors { Some(matching.unwrap_or_default()) } else { None };
        Ok(Expr::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs), return_bool, matching })
    }

    /// `(label, ...)`, trailing comma allowed.
    fn label_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(Tok::LParen, "\"(\"")?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                Tok::RParen => return Ok(out),
                Tok::Ident { name, colon: false } => out.push(name),
                Tok::Str(name) => out.push(name),
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("label name or \")\""));
                }
            }
            match self.next() {
                Tok::RParen => return Ok(out),
                Tok::Comma => {}
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("\",\" or \")\""));
                }
            }
        }
    }

    /// A primary expression and its `[range]`, `[range:step]`, `offset` and `@`.
    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        loop {
            let at = self.pos();
            match self.peek() {
                Tok::LBracket => {
                    self.next();
                    let range = self.duration("range")?;
                    if matches!(self.peek(), Tok::Colon) {
                        self.next();
                        let step =
                            if matches!(self.peek(), Tok::RBracket) { None } else { Some(self.duration("step")?) };
                        self.expect(Tok::RBracket, "\"]\"")?;
                        if e.value_type() != ValueType::Vector {
                            return Err(self.error_at(
                                at,
                                format!("subquery is only allowed on instant vector, got {}", e.value_type().name()),
                            ));
                        }
                        e = Expr::Subquery {
                            expr: Box::new(e),
                            range_ms: range,
                            step_ms: step,
                            offset_ms: 0,
                            at: None,
                        };
                    } else {
                        self.expect(Tok::RBracket, "\"]\" or \":\"")?;
                        e = match e {
                            Expr::Vector(s) if s.offset_ms != 0 || s.at.is_some() => {
                                return Err(self.error_at(at, "no offset or @ modifiers allowed before range"));
                            }
                            Expr::Vector(selector) => Expr::Matrix { selector, range_ms: range },
                            _ => return Err(self.error_at(at, "ranges only allowed for vector selectors")),
                        };
                    }
                }
                Tok::Ident { name, colon: false } if name.eq_ignore_ascii_case("offset") => {
                    self.next();
                    let negative = matches!(self.peek(), Tok::Op("-"));
                    if negative || matches!(self.peek(), Tok::Op("+")) {
                        self.next();
                    }
                    let d = self.duration("offset")?;
                    let d = if negative { -d } else { d };
                    let slot = self.modifiable(&mut e, at, "offset")?;
                    if *slot.0 != 0 {
                        return Err(self.error_at(at, "offset may not be set multiple times"));
                    }
                    *slot.0 = d;
                }
                Tok::At => {
                    self.next();
                    let when = self.at_time()?;
                    let slot = self.modifiable(&mut e, at, "@")?;
                    if slot.1.is_some() {
                        return Err(self.error_at(at, "@ <timestamp> may not be set multiple times"));
                    }
                    *slot.1 = Some(when);
                }
                _ => return Ok(e),
            }
        }
    }

    /// The offset and `@` of what a modifier applies to.
    fn modifiable<'e>(
        &self,
        e: &'e mut Expr,
        at: usize,
        what: &str,
    ) -> Result<(&'e mut i64, &'e mut Option<At>), ParseError> {
        match e {
            Expr::Vector(s) | Expr::Matrix { selector: s, .. } => Ok((&mut s.offset_ms, &mut s.at)),
            Expr::Subquery { offset_ms, at: when, .. } => Ok((offset_ms, when)),
            _ => Err(self.error_at(
                at,
                format!("{what} modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
            )),
        }
    }

    fn duration(&mut self, what: &str) -> Result<i64, ParseError> {
        let at = self.pos();
        let d = self.duration_unbounded(what)?;
        if d > MAX_TIME_MS {
            return Err(self.error_at(at, format!("{what} duration is out of bounds")));
        }
        Ok(d)
    }

    fn duration_unbounded(&mut self, what: &str) -> Result<i64, ParseError> {
        match self.next() {
            Tok::Duration(ms) if ms > 0 || what == "offset" => Ok(ms),
            // A number where a duration goes is seconds (as in Prometheus 3).
            Tok::Number(s) if s.is_finite() && (s > 0.0 || what == "offset" && s >= 0.0) => {
                Ok((s * 1000.0).round() as i64)
            }
            Tok::Duration(_) => {
                Err(self.error_at(self.tokens[self.at - 1].1, format!("{what} duration must be greater than 0")))
            }
            _ => {
                self.at -= 1;
                Err(self.unexpected(&format!("{what} duration")))
            }
        }
    }

    /// After `@`: Unix seconds, `start()` or `end()`.
    fn at_time(&mut self) -> Result<At, ParseError> {
        let at = self.pos();
        let negative = matches!(self.peek(), Tok::Op("-"));
        if negative || matches!(self.peek(), Tok::Op("+")) {
            self.next();
        }
        match self.next() {
            Tok::Number(n) => {
                let n = if negative { -n } else { n };
                if !n.is_finite() || (n * 1000.0).abs() > MAX_TIME_MS as f64 {
                    return Err(self.error_at(at, format!("timestamp out of bounds for @ modifier: {n}")));
                }
                Ok(At::Time((n * 1000.0).round() as i64))
            }
            Tok::Ident { name, .. } if !negative && (name == "start" || name == "end") => {
                self.expect(Tok::LParen, "\"(\"")?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(if name == "start" { At::Start } else { At::End })
            }
            _ => {
                self.at -= 1;
                Err(self.unexpected("timestamp, start() or end() after @"))
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let at = self.pos();
        match self.peek().clone() {
            Tok::Number(n) => {
                self.next();
                Ok(Expr::Number(n))
            }
            Tok::Str(s) => {
                self.next();
                Ok(Expr::String(s))
            }
            Tok::LParen => {
                self.next();
                let e = self.expr(0)?;
                self.expect(Tok::RParen, "\")\"")?;
                Ok(Expr::Paren(Box::new(e)))
            }
            Tok::LBrace => self.selector(None, at),
            Tok::Ident { name, colon } => {
                let lower = name.to_ascii_lowercase();
                // An aggregator followed by "(", "by" or "without"; alone, it names a metric.
                let opens = match self.peek_at(1) {
                    Tok::LParen => true,
                    Tok::Ident { name: k, .. } => k.eq_ignore_ascii_case("by") || k.eq_ignore_ascii_case("without"),
                    _ => false,
                };
                if !colon
                    && opens
                    && let Some(op) = AggregateOp::from_name(&lower)
                {
                    self.next();
                    return self.aggregate(op, at);
                }
                // Some keywords may name a metric (Prometheus's grammar lets them); these may not.
                if !colon && ["on", "ignoring", "group_left", "group_right", "bool", "atan2"].contains(&lower.as_str())
                {
                    return Err(self.unexpected("expression"));
                }
                if matches!(self.peek_at(1), Tok::LParen) {
                    self.next();
                    return self.call(&name, at);
                }
                self.next();
                self.selector(Some(name), at)
            }
            // A duration where a number goes is its seconds (as in Prometheus 3).
            Tok::Duration(ms) => {
                self.next();
                Ok(Expr::Number(ms as f64 / 1000.0))
            }
            _ => Err(self.unexpected("expression")),
        }
    }

    /// One or more comma-separated arguments and the closing ")" (the "(" is taken).
    fn args(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        loop {
            args.push(self.expr(0)?);
            match self.next() {
                Tok::Comma if matches!(self.peek(), Tok::RParen) => {
                    return Err(self.error_here("trailing commas not allowed in function call args"));
                }
                Tok::Comma => {}
                Tok::RParen => return Ok(args),
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("\",\" or \")\""));
                }
            }
        }
    }

    fn call(&mut self, name: &str, at: usize) -> Result<Expr, ParseError> {
        self.expect(Tok::LParen, "\"(\"")?;
        let args = if matches!(self.peek(), Tok::RParen) {
            self.next();
            Vec::new()
        } else {
            self.args()?
        };
        // Known or not, the call is read first: Prometheus checks the name once it has it
        // whole, so `foo(` is an unclosed parenthesis and `foo(x)` an unknown function.
        let func = function(name).ok_or_else(|| self.error_at(at, format!("unknown function with name \"{name}\"")))?;
        let n = args.len();
        let (min, max) = match func.optional {
            Some(k) => (func.args.len() - k, func.args.len()),
            None => (func.args.len() - 1, usize::MAX),
        };
        if n < min || n > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("at most {max}")
            };
            return Err(
                self.error_at(at, format!("expected {expected} argument(s) in call to \"{}\", got {n}", func.name))
            );
        }
        for (i, arg) in args.iter().enumerate() {
            let want = func.args[i.min(func.args.len() - 1)];
            let got = arg.value_type();
            if got != want {
                return Err(self.error_at(
                    at,
                    format!("expected type {} in call to function \"{}\", got {}", want.name(), func.name, got.name()),
                ));
            }
        }
        Ok(Expr::Call { func, args })
    }

    fn aggregate(&mut self, op: AggregateOp, at: usize) -> Result<Expr, ParseError> {
        let grouping = |p: &mut Self| -> Result<Option<Grouping>, ParseError> {
            match p.keyword().as_deref() {
                Some("by") => {
                    p.next();
                    Ok(Some(Grouping::By(p.label_list()?)))
                }
                Some("without") => {
                    p.next();
                    Ok(Some(Grouping::Without(p.label_list()?)))
                }
                _ => Ok(None),
            }
        };
        let before = grouping(self)?;
        self.expect(Tok::LParen, "\"(\"")?;
        let mut args = self.args()?;
        let after = grouping(self)?;
        if before.is_some() && after.is_some() {
            return Err(self.error_at(at, "aggregation may have one by or without clause"));
        }
        let name = format!("{op:?}").to_ascii_lowercase();
        let wanted = if op.param_type().is_some() { 2 } else { 1 };
        if args.len() != wanted {
            return Err(self.error_at(
                at,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {wanted}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = args.pop().expect("counted");
        if expr.value_type() != ValueType::Vector {
            return Err(self.error_at(
                at,
                format!("expected type instant vector in aggregation expression, got {}", expr.value_type().name()),
            ));
        }
        let param = args.pop().map(Box::new);
        if let (Some(p), Some(want)) = (&param, op.param_type())
            && p.value_type() != want
        {
            return Err(self.error_at(
                at,
                format!(
                    "expected type {} in aggregation parameter of {name}, got {}",
                    want.name(),
                    p.value_type().name()
                ),
            ));
        }
        Ok(Expr::Aggregate { op, expr: Box::new(expr), param, grouping: before.or(after) })
    }

    /// `name`, `name{...}` or `{...}`.
    fn selector(&mut self, name: Option<String>, at: usize) -> Result<Expr, ParseError> {
        let mut matchers = Vec::new();
        if let Some(n) = &name {
            matchers.push(self.matcher("__name__", Op::Equal, n.clone(), at)?);
        }
        if matches!(self.peek(), Tok::LBrace) {
            self.next();
            loop {
                let label_at = self.pos();
                let (label, quoted) = match self.next() {
                    Tok::RBrace => break,
                    Tok::Ident { name, colon: false } => (name, false),
                    Tok::Str(name) => (name, true),
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected("label matching"));
                    }
                };
                if quoted && matches!(self.peek(), Tok::Comma | Tok::RBrace) {
                    // A quoted name alone is the metric name (`{"my.metric"}`).
                    matchers.push(self.matcher("__name__", Op::Equal, label, label_at)?);
                } else {
                    let op = match self.next() {
                        Tok::Assign => Op::Equal,
                        Tok::Op("!=") => Op::NotEqual,
                        Tok::RegexMatch => Op::Regex,
                        Tok::RegexNoMatch => Op::NotRegex,
                        _ => {
                            self.at -= 1;
                            return Err(self.unexpected("label matching operator"));
                        }
                    };
                    let value = match self.next() {
                        Tok::Str(v) => v,
                        _ => {
                            self.at -= 1;
                            return Err(self.unexpected("string"));
                        }
                    };
                    matchers.push(self.matcher(&label, op, value, label_at)?);
                }
                match self.next() {
                    Tok::RBrace => break,
                    Tok::Comma => {}
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected("\",\" or \"}\""));
                    }
                }
            }
        }
        if name.is_some() && matchers.iter().skip(1).any(|m| m.name == "__name__") {
            let other =
                matchers.iter().skip(1).find(|m| m.name == "__name__").map(|m| m.value.clone()).unwrap_or_default();
            return Err(self.error_at(
                at,
                format!(
                    "metric name must not be set twice: \"{}\" or \"{other}\"",
                    name.as_deref().unwrap_or_default()
                ),
            ));
        }
        if !matchers.iter().any(|m| !m.matches_value("")) {
            return Err(self.error_at(at, "vector selector must contain at least one non-empty matcher"));
        }
        Ok(Expr::Vector(VectorSelector { name, matchers, offset_ms: 0, at: None }))
    }

    fn matcher(&self, name: &str, op: Op, value: String, at: usize) -> Result<Matcher, ParseError> {
        Matcher::new(name, op, value).map_err(|e| self.error_at(at, e.reason))
    }
}

/// A duration as PromQL writes it, in ms (for `step` and `timeout` parameters too).
pub fn duration_ms(text: &str) -> Option<i64> {
    parse_duration(text)
}
