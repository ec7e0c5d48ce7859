//! Label rules: `__name__` present, names sorted, unique and well formed, limits on count and
//! length.

use super::error::ValidationError;
use crate::limits::Limits;
use crate::model::{Label, METRIC_NAME_LABEL};

/// Whether `name` is a legacy (1.0) metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':')
        && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Whether `name` is a legacy (1.0) label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
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
            if prev == name {
                out.push(ValidationError::DuplicateLabel { name: name.to_string() });
            } else if prev > name {
                out.push(ValidationError::UnsortedLabels { previous: prev.to_string(), name: name.to_string() });
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
