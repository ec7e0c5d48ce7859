//! Conversion between the shapes of 1.0 and 2.0 requests.
//!
//! Samples, histograms, exemplars and labels mean the same in both versions; what differs is
//! where metadata lives. 1.0 sends one [`MetricMetadata`] per metric family (often in requests
//! of their own); 2.0 attaches [`Metadata`](crate::model::Metadata) to every series. These
//! functions move it between the two places so that a request decoded as one version can be
//! encoded as the other without losing what the target can hold:
//!
//! ```
//! use edgewrite::{codec, convert, Version, Limits};
//! # let v1_body = codec::Encoder::new().encode(&edgewrite::synth::realistic_request(3, 1_700_000_000_000), Version::V1).to_vec();
//! let mut decoder = codec::Decoder::new(Limits::default());
//! let mut req = decoder.decode(&v1_body, Version::V1)?;
//! let lost = convert::to_v2(&mut req);
//! let v2_body = codec::Encoder::new().encode(&req, Version::V2).to_vec();
//! # assert_eq!(lost, 0);
//! # Ok::<(), edgewrite::codec::DecodeError>(())
//! ```

use crate::model::{MetricMetadata, MetricType, WriteRequest};
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// Attaches `req.metadata` (1.0 family metadata) to every series of that family that has no
/// metadata yet, then empties `req.metadata`. A series belongs to a family if its metric name is
/// the family name, or the family name plus a suffix the family's type adds (`_bucket`,
/// `_count` and `_sum` for histograms and summaries, `_total` and `_created` for counters,
/// `_info` for info metrics, ...).
///
/// Returns how many families matched no series: 2.0 has no place for them, so they are gone
/// from the request (1.0 senders such as Prometheus send metadata in requests of their own,
/// which convert to empty 2.0 requests).
pub fn to_v2(req: &mut WriteRequest<'_>) -> usize {
    to_v2_keeping_unused(req).len()
}

/// [`to_v2`], returning the family metadata no series of the request took (Prometheus sends
/// 1.0 metadata in requests of its own), for a caller that keeps it some other way.
pub fn to_v2_keeping_unused<'a>(req: &mut WriteRequest<'a>) -> Vec<MetricMetadata<'a>> {
    if req.metadata.is_empty() {
        return Vec::new();
    }
    // By family name; a family named twice keeps its last entry (the newest).
    let families: FxHashMap<&str, usize> =
        req.metadata.iter().enumerate().map(|(i, m)| (&*m.metric_family_name, i)).collect();
    let mut used = vec![false; req.metadata.len()];
    let mut attach: Vec<(usize, usize)> = Vec::new();
    for (si, s) in req.series.iter().enumerate() {
        if !s.metadata.is_empty() {
            continue;
        }
        let Some(name) = s.metric_name() else { continue };
        let family = families.get(name).copied().or_else(|| {
            series_suffixes().iter().find_map(|suffix| {
                let &mi = families.get(name.strip_suffix(suffix)?)?;
                suffixes_of(req.metadata[mi].metadata.metric_type).contains(suffix).then_some(mi)
            })
        });
        if let Some(mi) = family {
            used[mi] = true;
            attach.push((si, mi));
        }
    }
    for (si, mi) in attach {
        req.series[si].metadata = req.metadata[mi].metadata.clone();
    }
    let mut unused: Vec<usize> = families.values().copied().filter(|&i| !used[i]).collect();
    unused.sort_unstable();
    let mut all: Vec<Option<MetricMetadata<'a>>> = std::mem::take(&mut req.metadata).into_iter().map(Some).collect();
    unused.into_iter().filter_map(|i| all[i].take()).collect()
}

/// Every suffix a series name may add to its family's name.
fn series_suffixes() -> &'static [&'static str] {
    &["_bucket", "_count", "_sum", "_gcount", "_gsum", "_total", "_created", "_info"]
}

/// The suffixes the series of a family of type `t` add to the family name.
fn suffixes_of(t: MetricType) -> &'static [&'static str] {
    match t {
        MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
        MetricType::Summary => &["_count", "_sum", "_created"],
        MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
        MetricType::Counter => &["_total", "_created"],
        MetricType::Info => &["_info"],
        _ => &[],
    }
}

/// Moves per-series metadata (2.0) into `req.metadata` (1.0), one entry per metric family,
/// and clears it from the series. The family name is the metric name, less the suffix the
/// metric type adds (`_bucket`, `_count`, `_sum` for histograms and summaries). Families already
/// in `req.metadata` keep their entry.
pub fn to_v1(req: &mut WriteRequest<'_>) {
    let mut seen: FxHashMap<String, ()> = req.metadata.iter().map(|m| (m.metric_family_name.to_string(), ())).collect();
    for s in &mut req.series {
        let metadata = std::mem::take(&mut s.metadata);
        if metadata.is_empty() {
            continue;
        }
        let Some(name) = s.labels.iter().find(|l| l.name == crate::model::METRIC_NAME_LABEL) else { continue };
        let family = family_name(&name.value, metadata.metric_type);
        if seen.insert(family.to_string(), ()).is_none() {
            req.metadata.push(MetricMetadata { metric_family_name: family, metadata });
        }
    }
}

/// The family a series named `name` of type `t` belongs to, when going from 2.0 to 1.0: the name
/// less the suffix its type adds, for histograms and summaries (`_bucket`, `_count`, `_sum`).
/// Counters keep their name (`_total` included), as Prometheus's text format names them.
pub(crate) fn family_of(name: &str, t: MetricType) -> &str {
    let suffixes: &[&str] = match t {
        MetricType::Histogram | MetricType::Summary | MetricType::GaugeHistogram => suffixes_of(t),
        _ => &[],
    };
    suffixes.iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

fn family_name<'a>(name: &Cow<'a, str>, t: MetricType) -> Cow<'a, str> {
    match name {
        Cow::Borrowed(b) => Cow::Borrowed(family_of(b, t)),
        Cow::Owned(o) => Cow::Owned(family_of(o, t).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Metadata, Sample, Series};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn series(name: &str) -> Series<'static> {
        Series { samples: vec![Sample::new(1.0, 1)], ..Series::from_pairs([("__name__", name.to_string())]) }
    }

    fn family(name: &str, t: MetricType) -> MetricMetadata<'static> {
        MetricMetadata {
            metric_family_name: name.to_string().into(),
            metadata: Metadata { metric_type: t, help: format!("help for {name}").into(), unit: "".into() },
        }
    }

    #[test]
    fn attaches_family_metadata_to_every_series_of_the_family() {
        let mut req = WriteRequest {
            series: vec![series("rpc_seconds_bucket"), series("rpc_seconds_sum"), series("up"), series("other")],
            metadata: vec![
                family("rpc_seconds", MetricType::Histogram),
                family("up", MetricType::Gauge),
                family("gone", MetricType::Counter),
            ],
        };
        assert_eq!(to_v2(&mut req), 1);
        assert!(req.metadata.is_empty());
        assert_eq!(req.series[0].metadata.metric_type, MetricType::Histogram);
        assert_eq!(req.series[1].metadata.help, "help for rpc_seconds");
        assert_eq!(req.series[2].metadata.metric_type, MetricType::Gauge);
        assert!(req.series[3].metadata.is_empty());
    }

    #[test]
    fn collects_series_metadata_into_one_entry_per_family() {
        let mut req = WriteRequest {
            series: vec![series("rpc_seconds_bucket"), series("rpc_seconds_count"), series("up")],
            metadata: vec![],
        };
        req.series[0].metadata = family("x", MetricType::Histogram).metadata;
        req.series[1].metadata = family("x", MetricType::Histogram).metadata;
        req.series[2].metadata = family("up", MetricType::Gauge).metadata;
        to_v1(&mut req);
        let names: Vec<_> = req.metadata.iter().map(|m| &*m.metric_family_name).collect();
        assert_eq!(names, ["rpc_seconds", "up"]);
        assert!(req.series.iter().all(|s| s.metadata.is_empty()));
    }
}
