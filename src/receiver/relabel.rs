//! The edge's label rules, applied to each series before validation.

use super::settings::{Settings, TenantPlacement};
use crate::model::Label;
use std::borrow::Cow;

/// Applies the rules to one series' labels: labels in `drop_labels` go, and so do any labels a
/// client sent under the names the edge sets (edge labels, the tenant label), which are then
/// added with the edge's values. An edge label valued `$colo` or `$country` takes the value of
/// `place` (the Cloudflare location and the client's country), and is left out when that is
/// unknown. Labels stay sorted.
///
/// # Errors
/// The name of a label in `refuse_labels` that the series carries.
pub fn apply(
    labels: &mut Vec<Label<'_>>,
    settings: &Settings,
    tenant: &str,
    place: (Option<&str>, Option<&str>),
) -> Result<(), String> {
    if let Some(l) = labels.iter().find(|l| settings.refuse_labels.iter().any(|r| *r == l.name)) {
        return Err(l.name.to_string());
    }
    let tenant_label = match &settings.tenant {
        TenantPlacement::Label(name) => Some(name.as_str()),
        TenantPlacement::Header => None,
    };
    let edge_names = settings.edge_labels.iter().map(|(n, _)| n.as_str()).chain(tenant_label);
    let set_by_edge = |name: &str| edge_names.clone().any(|n| n == name);
    let before = labels.len();
    labels.retain(|l| !settings.drop_labels.iter().any(|d| *d == l.name) && !set_by_edge(&l.name));
    let value = |v: &'_ str| -> Option<String> {
        match v {
            "$colo" => place.0.map(str::to_string),
            "$country" => place.1.map(str::to_string),
            v => Some(v.to_string()),
        }
    };
    let added = settings
        .edge_labels
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), value(v)?)))
        .chain(tenant_label.map(|n| (n, tenant.to_string())));
    let mut changed = labels.len() != before;
    for (name, value) in added {
        labels.push(Label { name: Cow::Owned(name.to_string()), value: Cow::Owned(value) });
        changed = true;
    }
    if changed {
        labels.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_edge_sets_its_labels_and_a_client_cannot_forge_them() {
        let settings = Settings {
            edge_labels: vec![
                ("region".into(), "eu".into()),
                ("colo".into(), "$colo".into()),
                ("country".into(), "$country".into()),
            ],
            drop_labels: vec!["session_id".into()],
            refuse_labels: vec!["user_email".into()],
            ..Settings::default()
        };
        let mut labels = vec![
            Label::new("__name__", "lcp_seconds"),
            Label::new("country", "forged"),
            Label::new("region", "forged"),
            Label::new("session_id", "abc"),
            Label::new("tenant", "someone-else"),
        ];
        apply(&mut labels, &settings, "team-a", (Some("FRA"), None)).unwrap();
        let pairs: Vec<(&str, &str)> = labels.iter().map(|l| (&*l.name, &*l.value)).collect();
        // colo from the request; country unknown, so left out (and the forged one gone).
        assert_eq!(pairs, [("__name__", "lcp_seconds"), ("colo", "FRA"), ("region", "eu"), ("tenant", "team-a")]);
        let mut refused = vec![Label::new("__name__", "x"), Label::new("user_email", "a@b")];
        assert_eq!(apply(&mut refused, &settings, "t", (None, None)), Err("user_email".into()));
    }
}
