//! Label rules: `__name__` present, names sorted, unique and well formed, limits on count and
//! length.

use super::error::ValidationError;
use crate::limits::Limits;
use crate::model::{Label, METRIC_NAME_LABEL};

/// Character classes of the legacy name rules, one bit each, by byte.
const LABEL_START: u8 = 1;
const LABEL_REST: u8 = 2;
const METRIC_START: u8 = 4;
const METRIC_REST: u8 = 8;
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        let colon = c == b':';
        t[b] = (alpha as u8 * LABEL_START)
            | ((alpha || digit) as u8 * LABEL_REST)
            | ((alpha || colon) as u8 * METRIC_START)
            | ((alpha || digit || colon) as u8 * METRIC_REST);
        b += 1;
    }
    t
};

/// A table lookup per byte: this runs for every label of every 1.0 series, where a chain of
/// `is_ascii_*` comparisons measured about 5 ns a name.
#[inline]
fn matches(name: &str, start: u8, rest: u8) -> bool {
    match name.as_bytes().split_first() {
        Some((&first, tail)) => {
            CLASSES[first as usize] & start != 0 && tail.iter().all(|&c| CLASSES[c as usize] & rest != 0)
        }
        None => false,
    }
}

/// Whether `name` is a legacy (1.0) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_legacy_metric_name(name: &str) -> bool {
    matches(name, METRIC_START, METRIC_REST)
}

/// Whether `name` is a legacy (1.0) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(name: &str) -> bool {
    matches(name, LABEL_START, LABEL_REST)
}

/// Checks a series' labels, pushing every problem found onto `out`.
pub(crate) fn check(labels: &[Label<'_>], legacy_names: bool, limits: &Limits, out: &mut Vec<ValidationError>) {
    if labels.len() > limits.max_labels_per_series {
        out.push(ValidationError::TooManyLabels { count: labels.len(), limit: limits.max_labels_per_series });
    }
    let mut has_name = false;
    let mut previous: Option<&str> = None;
    for l in labels {
        let (name, value) = (&*l.name, &*l.value);
        if let Some(prev) = previous {
            match order(prev, name) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => out.push(ValidationError::DuplicateLabel { name: name.to_string() }),
                std::cmp::Ordering::Greater => {
                    out.push(ValidationError::UnsortedLabels { previous: prev.to_string(), name: name.to_string() })
                }
            }
        }
        previous = Some(name);
        if name.is_empty() {
            out.push(ValidationError::EmptyLabelName);
            continue;
        }
        if name.len() > limits.max_label_name_length {
            out.push(ValidationError::LabelNameTooLong {
                name: truncate(name, 64).to_string(),
                length: name.len(),
                limit: limits.max_label_name_length,
            });
        } else if legacy_names && !is_legacy_label_name(name) {
            out.push(ValidationError::InvalidLabelName { name: name.to_string() });
        }
        if value.len() > limits.max_label_value_length {
            out.push(ValidationError::LabelValueTooLong {
                name: truncate(name, 64).to_string(),
                length: value.len(),
                limit: limits.max_label_value_length,
            });
        }
        if name == METRIC_NAME_LABEL {
            has_name = true;
            if legacy_names && !value.is_empty() && !is_legacy_metric_name(value) {
                out.push(ValidationError::InvalidMetricName { name: truncate(value, 256).to_string() });
            }
        }
        if value.is_empty() {
            out.push(ValidationError::EmptyLabelValue { name: name.to_string() });
        }
    }
    if !has_name {
        out.push(ValidationError::MissingMetricName);
    }
}

/// `a.cmp(b)`, deciding by the first byte when it differs (as it does for most neighbouring
/// label names) without a call to `memcmp`.
#[inline]
fn order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.as_bytes().first(), b.as_bytes().first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a.cmp(b),
    }
}

/// The first `max` bytes of `s`, cut at a character boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn legacy_name_rules() {
        assert!(is_legacy_metric_name("http_requests_total"));
        assert!(is_legacy_metric_name(":recording:rule"));
        assert!(!is_legacy_metric_name("9lives"));
        assert!(!is_legacy_metric_name("http.requests"));
        assert!(!is_legacy_metric_name(""));
        assert!(is_legacy_label_name("_private"));
        assert!(!is_legacy_label_name("a:b"));
        assert!(!is_legacy_label_name("ünï"));
    }

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("ünï", 2), "ü");
        assert_eq!(truncate("ünï", 1), "");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
