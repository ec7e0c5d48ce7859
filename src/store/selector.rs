//! Series selectors: the matchers of a PromQL vector selector (`up{job="api"}`), and whether a
//! series' labels satisfy them. Regexes are fully anchored, as in Prometheus. Parsing is
//! PromQL's (`crate::query::parse_selector`), so `match[]` reads as Prometheus reads it.

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
#[derive(Clone, Debug, PartialEq)]
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

impl fmt::Display for Selector {
    /// As PromQL writes it, `{__name__="up",job=~"a|b"}`: what `query::parse_selector` reads
    /// back (label names outside the legacy rules are quoted).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("{");
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if crate::validate::is_legacy_label_name(&m.name) {
                out.push_str(&m.name);
            } else {
                super::render::json_string(&mut out, &m.name);
            }
            out.push_str(match m.op {
                Op::Equal => "=",
                Op::NotEqual => "!=",
                Op::Regex => "=~",
                Op::NotRegex => "!~",
            });
            super::render::json_string(&mut out, &m.value);
        }
        out.push('}');
        f.write_str(&out)
    }
}

impl Selector {
    /// Whether a series with these labels (sorted or not) is selected.
    pub fn matches(&self, labels: &[Label<'_>]) -> bool {
        self.matchers.iter().all(|m| {
            let v = labels.iter().find(|l| l.name == m.name).map_or("", |l| &l.value);
            m.matches_value(v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn matchers_compare_as_promql_does() {
        let m = |op, v: &str| Matcher::new("job", op, v).unwrap();
        assert!(m(Op::Equal, "a").matches_value("a") && !m(Op::Equal, "a").matches_value("b"));
        assert!(m(Op::NotEqual, "a").matches_value("") && !m(Op::NotEqual, "a").matches_value("a"));
        assert!(m(Op::Regex, "a|b").matches_value("b") && !m(Op::Regex, "a|b").matches_value("ab"), "anchored");
        assert!(m(Op::NotRegex, "2..").matches_value("500") && !m(Op::NotRegex, "2..").matches_value("200"));
        assert!(m(Op::Regex, "a.b").matches_value("a\nb"), "`.` matches a newline, as in Prometheus");
        let e = Matcher::new("job", Op::Regex, "(").unwrap_err();
        assert!(e.reason.contains("invalid regex") && e.status() == 400, "{e}");
        let sel = Selector { matchers: vec![m(Op::Equal, "a"), Matcher::new("code", Op::NotEqual, "200").unwrap()] };
        assert!(sel.matches(&[Label::new("job", "a"), Label::new("code", "500")]));
        assert!(!sel.matches(&[Label::new("job", "a"), Label::new("code", "200")]));
        assert!(!sel.matches(&[Label::new("code", "500")]), "a missing label is the empty value");
    }
}
