//! Series selectors, as PromQL writes them: `up`, `up{job="api"}`, `{__name__=~"http_.*",
//! code!~"2.."}`, `{"my.dotted.name", "quoted.label"="v"}`. Regexes are fully anchored, as in
//! Prometheus, and a selector needs at least one matcher that does not match the empty string
//! (Prometheus's rule, so `{job=~".*"}` cannot select everything by accident).

use crate::error::HttpStatus;
use crate::model::Label;
use std::fmt;

/// How a matcher compares a label's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

/// One `name op "value"` condition. A label the series lacks has the empty value.
#[derive(Clone, Debug)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The comparison.
    pub op: Op,
    /// The value or the regex, as written.
    pub value: String,
    regex: Option<regex_lite::Regex>,
}

impl Matcher {
    /// A matcher; `=~` and `!~` compile `value` as a fully anchored regex.
    ///
    /// # Errors
    /// [`SelectorError`] for an invalid regex.
    pub fn new(name: impl Into<String>, op: Op, value: impl Into<String>) -> Result<Self, SelectorError> {
        let value = value.into();
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                regex_lite::Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| SelectorError { at: 0, reason: format!("invalid regex {value:?}: {e}") })?,
            ),
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Matcher { name: name.into(), op, value, regex })
    }

    /// Whether a label value (empty if the label is absent) satisfies the matcher.
    pub fn matches_value(&self, v: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Equal, _) => v == self.value,
            (Op::NotEqual, _) => v != self.value,
            (Op::Regex, Some(re)) => re.is_match(v),
            (Op::NotRegex, Some(re)) => !re.is_match(v),
            (_, None) => unreachable!("regex matchers are built with their regex"),
        }
    }
}

impl PartialEq for Matcher {
    /// Equal when they say the same: name, operator and value (the regex follows from them).
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

/// A parsed selector: every matcher must hold.
#[derive(Clone, Debug)]
pub struct Selector {
    /// The matchers, the metric name first when it was written before the braces.
    pub matchers: Vec<Matcher>,
}

/// Why a selector could not be parsed (HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    /// Byte offset in the selector.
    pub at: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad selector at byte {}: {}", self.at, self.reason)
    }
}

impl std::error::Error for SelectorError {}

impl HttpStatus for SelectorError {
    fn status(&self) -> u16 {
        400
    }
}

impl Selector {
    /// Parses a selector.
    ///
    /// # Errors
    /// [`SelectorError`] with the offset of the problem.
    pub fn parse(text: &str) -> Result<Self, SelectorError> {
        let mut p = Parser { s: text, at: 0 };
        let mut matchers = Vec::new();
        p.ws();
        if p.peek().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':') {
            let name = p.ident(true);
            matchers.push(Matcher::new("__name__", Op::Equal, name)?);
            p.ws();
        }
        if p.eat('{') {
            loop {
                p.ws();
                if p.eat('}') {
                    break;
                }
                matchers.push(p.matcher()?);
                p.ws();
                if p.eat('}') {
                    break;
                }
                if !p.eat(',') {
                    return Err(p.error("expected ',' or '}' after a matcher"));
                }
            }
            p.ws();
        }
        if p.at < text.len() {
            return Err(p.error("unexpected text; a selector looks like name{label=\"value\", ...}"));
        }
        if matchers.is_empty() {
            return Err(SelectorError { at: 0, reason: "empty selector".into() });
        }
        if matchers.iter().all(|m| m.matches_value("")) {
            return Err(SelectorError {
                at: 0,
                reason: "a selector must contain at least one matcher that does not match the empty string".into(),
            });
        }
        Ok(Selector { matchers })
    }

    /// Whether a series with these labels (sorted or not) is selected.
    pub fn matches(&self, labels: &[Label<'_>]) -> bool {
        self.matchers.iter().all(|m| {
            let v = labels.iter().find(|l| l.name == m.name).map_or("", |l| &l.value);
            m.matches_value(v)
        })
    }
}

struct Parser<'a> {
    s: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.at..].chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.at += c.len_utf8();
        }
        hit
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.at += c.len_utf8();
        }
    }

    fn error(&self, reason: &str) -> SelectorError {
        SelectorError { at: self.at, reason: reason.into() }
    }

    /// A bare metric (`colons`) or label name.
    fn ident(&mut self, colons: bool) -> String {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':')) {
            self.at += 1;
        }
        self.s[start..self.at].to_string()
    }

    /// `name op "value"`, or a lone quoted string: the metric name.
    fn matcher(&mut self) -> Result<Matcher, SelectorError> {
        let start = self.at;
        let name = match self.peek() {
            Some('"' | '\'' | '`') => self.string()?,
            Some(c) if c.is_ascii_alphabetic() || c == '_' => self.ident(false),
            _ => return Err(self.error("expected a label name")),
        };
        self.ws();
        let op = if self.s[self.at..].starts_with("=~") {
            Op::Regex
        } else if self.s[self.at..].starts_with("!~") {
            Op::NotRegex
        } else if self.s[self.at..].starts_with("!=") {
            Op::NotEqual
        } else if self.s[self.at..].starts_with('=') {
            Op::Equal
        } else if matches!(self.s.as_bytes()[start], b'"' | b'\'' | b'`') {
            return Matcher::new("__name__", Op::Equal, name);
        } else {
            return Err(self.error("expected one of = != =~ !~"));
        };
        self.at += if op == Op::Equal { 1 } else { 2 };
        self.ws();
        let value_at = self.at;
        let value = self.string()?;
        Matcher::new(name, op, value).map_err(|e| SelectorError { at: value_at, ..e })
    }

    /// A quoted string: "..." or '...' with Go's escapes, or `raw`.
    fn string(&mut self) -> Result<String, SelectorError> {
        let Some(quote) = self.peek().filter(|c| matches!(c, '"' | '\'' | '`')) else {
            return Err(self.error("expected a quoted string"));
        };
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(SelectorError { at: start, reason: "unterminated string".into() });
            };
            self.at += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\\' if quote != '`' => {
                    let e = self.peek().ok_or_else(|| self.error("unterminated escape"))?;
                    self.at += e.len_utf8();
                    out.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '\\' | '"' | '\'' => e,
                        'u' => {
                            let hex = self.s.get(self.at..self.at + 4).ok_or_else(|| self.error("short \\u escape"))?;
                            self.at += 4;
                            u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| self.error("bad \\u escape"))?
                        }
                        _ => return Err(self.error("unknown escape")),
                    });
                }
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn labels(pairs: &[(&'static str, &'static str)]) -> Vec<Label<'static>> {
        pairs.iter().map(|&(n, v)| Label::new(n, v)).collect()
    }

    #[test]
    fn selects_as_promql_does() {
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
            let sel = Selector::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let got = [sel.matches(&up), sel.matches(&http), sel.matches(&dotted)];
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn bad_selectors_say_where_and_why() {
        for (text, at, reason) in [
            ("", 0, "empty selector"),
            ("{}", 0, "empty selector"),
            ("{job=~\".*\"}", 0, "does not match the empty string"),
            ("up{job=\"a\"", 10, "expected ',' or '}'"),
            ("up{job:\"a\"}", 6, "expected one of"),
            ("up{job=\"a}", 7, "unterminated string"),
            ("up{job=~\"(\"}", 8, "invalid regex"),
            ("up{job=\"a\\q\"}", 11, "unknown escape"),
            ("up job", 3, "unexpected text"),
            ("{9=\"a\"}", 1, "expected a label name"),
        ] {
            let e = Selector::parse(text).expect_err(text);
            assert!(e.reason.contains(reason) && e.at == at, "{text}: {e}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn unicode_whitespace_and_newlines_are_handled() {
        // A no-break space (two bytes) after the name: skipped as whitespace, no panic.
        assert!(Selector::parse("up\u{a0}").is_ok());
        assert!(Selector::parse("up{\u{3000}job=\"a\"}").is_ok());
        // As in Prometheus, `.` matches a newline.
        let sel = Selector::parse("{__name__=~\"a.b\"}").unwrap();
        assert!(sel.matches(&labels(&[("__name__", "a\nb")])));
    }

    #[test]
    fn escapes_decode() {
        let sel = Selector::parse(r#"{a="x\"y\\z\n\u00e9", __name__="m"}"#).unwrap();
        assert_eq!(sel.matchers[0].value, "x\"y\\z\né");
    }
}
