//! Binary operators over scalars and vectors: arithmetic, comparisons (filtering or `bool`),
//! and the set operators, with Prometheus's vector matching (`on`, `ignoring`, `group_left`,
//! `group_right`) and its rules for which results keep the metric name.

use super::{EvalError, Labels, Value, drop_name};
use crate::query::ast::{BinaryOp, Cardinality, VectorMatching};
use std::collections::BTreeMap;

fn arithmetic(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Atan2 => a.atan2(b),
        _ => f64::NAN,
    }
}

fn compare(op: BinaryOp, a: f64, b: f64) -> bool {
    match op {
        BinaryOp::Eql => a == b,
        BinaryOp::Neq => a != b,
        BinaryOp::Lss => a < b,
        BinaryOp::Lte => a <= b,
        BinaryOp::Gtr => a > b,
        BinaryOp::Gte => a >= b,
        _ => false,
    }
}

/// The labels a series is matched by.
fn signature(l: &Labels, m: &VectorMatching) -> Labels {
    match m.on {
        Some(true) => l.iter().filter(|(n, _)| m.labels.contains(n)).cloned().collect(),
        _ => l.iter().filter(|(n, _)| n != "__name__" && !m.labels.contains(n)).cloned().collect(),
    }
}

pub(super) fn binary(
    op: BinaryOp,
    lhs: Value,
    rhs: Value,
    return_bool: bool,
    matching: Option<&VectorMatching>,
) -> Result<Value, EvalError> {
    // As Prometheus 2.42: arithmetic (not atan2) and `bool` comparisons drop the name.
    let drops_name =
        matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod | BinaryOp::Pow)
            || (op.is_comparison() && return_bool);
    // One element: Some(value) to keep, None to filter out.
    let apply = |a: f64, b: f64, keep: f64| -> Option<f64> {
        if op.is_comparison() {
            let yes = compare(op, a, b);
            if return_bool { Some(if yes { 1.0 } else { 0.0 }) } else { yes.then_some(keep) }
        } else {
            Some(arithmetic(op, a, b))
        }
    };
    Ok(match (lhs, rhs) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(apply(a, b, a).unwrap_or(f64::NAN)),
        (Value::Vector(v), Value::Scalar(b)) => Value::Vector(
            v.into_iter()
                .filter_map(|(l, a)| apply(a, b, a).map(|x| (if drops_name { drop_name(l) } else { l }, x)))
                .collect(),
        ),
        (Value::Scalar(a), Value::Vector(v)) => Value::Vector(
            v.into_iter()
                .filter_map(|(l, b)| apply(a, b, b).map(|x| (if drops_name { drop_name(l) } else { l }, x)))
                .collect(),
        ),
        (Value::Vector(l), Value::Vector(r)) => {
            let m = matching.cloned().unwrap_or_default();
            Value::Vector(match op {
                BinaryOp::And | BinaryOp::Unless => {
                    let right: Vec<Labels> = r.iter().map(|x| signature(&x.0, &m)).collect();
                    l.into_iter().filter(|x| right.contains(&signature(&x.0, &m)) == (op == BinaryOp::And)).collect()
                }
                BinaryOp::Or => {
                    let left: Vec<Labels> = l.iter().map(|x| signature(&x.0, &m)).collect();
                    let mut out = l;
                    out.extend(r.into_iter().filter(|x| !left.contains(&signature(&x.0, &m))));
                    out
                }
                _ => vector_vector(l, r, &m, drops_name, &apply)?,
            })
        }
        _ => return Err(EvalError::Unsupported("a binary operation on this type".into())),
    })
}

fn vector_vector(
    l: Vec<(Labels, f64)>,
    r: Vec<(Labels, f64)>,
    m: &VectorMatching,
    drops_name: bool,
    apply: &dyn Fn(f64, f64, f64) -> Option<f64>,
) -> Result<Vec<(Labels, f64)>, EvalError> {
    // The "one" side, by signature; with group_right it is the left.
    let (many, one, swapped) = match m.card {
        Cardinality::OneToMany => (r, l, true),
        _ => (l, r, false),
    };
    let mut by_sig: BTreeMap<Labels, (Labels, f64)> = BTreeMap::new();
    for (labels, v) in one {
        let sig = signature(&labels, m);
        if let Some((earlier, _)) = by_sig.get(&sig) {
            let side = if swapped { "left" } else { "right" };
            return Err(EvalError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];\
                 many-to-many matching not allowed: matching labels must be unique on one side",
                render_labels(&sig),
                render_labels(&labels),
                render_labels(earlier)
            )));
        }
        by_sig.insert(sig, (labels, v));
    }
    let mut out: Vec<(Labels, f64)> = Vec::new();
    let mut seen: std::collections::BTreeSet<Labels> = std::collections::BTreeSet::new();
    let mut inserted: std::collections::BTreeSet<Labels> = std::collections::BTreeSet::new();
    for (labels, v) in many {
        let sig = signature(&labels, m);
        let Some((other_labels, w)) = by_sig.get(&sig) else { continue };
        let (a, b) = if swapped { (*w, v) } else { (v, *w) };
        let Some(x) = apply(a, b, a) else { continue };
        let mut result = if drops_name { drop_name(labels.clone()) } else { labels.clone() };
        if m.card == Cardinality::OneToOne {
            result = match m.on {
                Some(true) => result.into_iter().filter(|(n, _)| m.labels.contains(n)).collect(),
                _ => result.into_iter().filter(|(n, _)| !m.labels.contains(n)).collect(),
            };
            if seen.contains(&sig) {
                return Err(EvalError::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
            seen.insert(sig);
        } else {
            for name in &m.include {
                result.retain(|(n, _)| n != name);
                if let Some(l) = other_labels.iter().find(|(n, _)| n == name) {
                    result.push(l.clone());
                }
            }
            result.sort();
            if inserted.contains(&result) {
                return Err(EvalError::Execution(
                    "multiple matches for matching labels; many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
            inserted.insert(result.clone());
        }
        out.push((result, x));
    }
    Ok(out)
}

fn render_labels(l: &Labels) -> String {
    let inner: Vec<String> = l.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}
