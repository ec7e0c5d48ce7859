//! `label_replace` and `label_join`, as Prometheus 2.42 runs them: regexes fully anchored,
//! replacements expanded as Go's `regexp.Expand` does (`$1`, `${1}`, `$name`, `$$`), and a
//! label set to the empty string removed.

use super::{EvalError, Labels};
use crate::query::lookup::valid_label_name as valid_name;

fn value<'l>(labels: &'l Labels, name: &str) -> &'l str {
    labels.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

/// Sets `name` to `value` in sorted labels; an empty value removes the label.
pub(super) fn set(labels: &mut Labels, name: &str, value: String) {
    match labels.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
        Ok(i) if value.is_empty() => {
            labels.remove(i);
        }
        Ok(i) => labels[i].1 = value,
        Err(_) if value.is_empty() => {}
        Err(i) => labels.insert(i, (name.to_string(), value)),
    }
}

/// `label_replace(v, dst, replacement, src, regex)` over one vector.
///
/// # Errors
/// [`EvalError::Execution`] for an invalid regex or destination label name.
pub(super) fn replace(
    input: Vec<(Labels, f64)>,
    dst: &str,
    replacement: &str,
    src: &str,
    regex: &str,
) -> Result<Vec<(Labels, f64)>, EvalError> {
    // Anchored as Prometheus 2.42 anchors it (`.` does not match a newline).
    let re = regex_lite::Regex::new(&format!("^(?:{regex})$"))
        .map_err(|e| EvalError::Execution(format!("invalid regular expression in label_replace(): {regex}: {e}")))?;
    if !valid_name(dst) {
        return Err(EvalError::Execution(format!("invalid destination label name in label_replace(): {dst}")));
    }
    Ok(input
        .into_iter()
        .map(|(mut labels, v)| {
            if let Some(caps) = re.captures(value(&labels, src)) {
                let new = expand(replacement, &re, &caps);
                set(&mut labels, dst, new);
            }
            (labels, v)
        })
        .collect())
}

/// `label_join(v, dst, separator, src...)` over one vector.
///
/// # Errors
/// [`EvalError::Execution`] for an invalid label name.
pub(super) fn join(
    input: Vec<(Labels, f64)>,
    dst: &str,
    separator: &str,
    sources: &[String],
) -> Result<Vec<(Labels, f64)>, EvalError> {
    for name in sources.iter().map(String::as_str).chain([dst]) {
        if !valid_name(name) {
            return Err(EvalError::Execution(format!("invalid label name in label_join(): {name}")));
        }
    }
    Ok(input
        .into_iter()
        .map(|(mut labels, v)| {
            let joined = sources.iter().map(|s| value(&labels, s)).collect::<Vec<_>>().join(separator);
            set(&mut labels, dst, joined);
            (labels, v)
        })
        .collect())
}

/// Go's `Regexp.Expand`: `$name` or `${name}` is the group of that name or number (empty
/// when there is none), the name being the longest run of letters, digits and `_`; `$$` is
/// a `$`; a `$` that starts nothing of these is kept as it is.
fn expand(template: &str, re: &regex_lite::Regex, caps: &regex_lite::Captures<'_>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let (name, after) = if let Some(braced) = rest.strip_prefix('{') {
            match braced.find('}') {
                Some(end) if end > 0 && braced[..end].chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    (&braced[..end], &braced[end + 1..])
                }
                _ => ("", rest),
            }
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() {
            out.push('$');
            continue;
        }
        // A number (no leading zero, as Go reads it) is a group's index, else its name.
        let number = name.parse::<usize>().ok().filter(|_| !(name.len() > 1 && name.starts_with('0')));
        let group = match number.ok_or(()) {
            Ok(n) => caps.get(n),
            Err(_) => re.capture_names().position(|n| n == Some(name)).and_then(|i| caps.get(i)),
        };
        out.push_str(group.map_or("", |m| m.as_str()));
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    #[test]
    fn replacements_expand_as_go_does() {
        let re = regex_lite::Regex::new("^(?s:(?P<host>[a-z]+):(\\d+))$").unwrap();
        let caps = re.captures("web:8080").unwrap();
        for (template, want) in [
            ("$1", "web"),
            ("${1}x", "webx"),
            ("$1x", ""),
            ("$host-$2", "web-8080"),
            ("${host}_$2", "web_8080"),
            ("$$1", "$1"),
            ("$", "$"),
            ("a$-b", "a$-b"),
            ("$9", ""),
            ("${nope}", ""),
            ("$01", ""),
        ] {
            assert_eq!(expand(template, &re, &caps), want, "{template}");
        }
    }

    #[test]
    fn replace_sets_removes_and_refuses() {
        let input = vec![(labels(&[("__name__", "up"), ("instance", "web:8080")]), 1.0)];
        let out = replace(input.clone(), "host", "$1", "instance", "(.*):.*").unwrap();
        assert_eq!(out[0].0, labels(&[("__name__", "up"), ("host", "web"), ("instance", "web:8080")]));
        // No match: unchanged. A match expanding to nothing removes the label.
        assert_eq!(replace(input.clone(), "host", "$1", "instance", "db:.*").unwrap(), input);
        let gone = replace(input.clone(), "instance", "", "instance", ".*").unwrap();
        assert_eq!(gone[0].0, labels(&[("__name__", "up")]));
        // Anchored: a partial match is no match.
        assert_eq!(replace(input.clone(), "host", "x", "instance", "web").unwrap(), input);
        assert!(matches!(replace(input.clone(), "host", "", "instance", "("), Err(EvalError::Execution(_))));
        assert!(matches!(replace(input, "1host", "", "instance", ".*"), Err(EvalError::Execution(_))));
    }

    #[test]
    fn join_joins_in_argument_order() {
        let input = vec![(labels(&[("a", "1"), ("b", "2")]), 1.0)];
        let out = join(input.clone(), "c", "-", &["b".into(), "a".into(), "z".into()]).unwrap();
        assert_eq!(out[0].0, labels(&[("a", "1"), ("b", "2"), ("c", "2-1-")]));
        let none = join(input.clone(), "a", ",", &[]).unwrap();
        assert_eq!(none[0].0, labels(&[("b", "2")]));
        assert!(join(input, "c", "", &["a-b".into()]).is_err());
    }
}
