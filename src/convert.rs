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

/// Suffixes that series of one family add to the family name (`foo_bucket` of histogram `foo`).
const FAMILY_SUFFIXES: &[&str] = &["_bucket", "_count", "_sum", "_gcount", "_gsum", "_created", "_total", "_info"];

/// Attaches `req.metadata` (1.0 family metadata) to every series of that family that has no
/// metadata yet, then empties `req.metadata`. A series belongs to a family if its metric name is
/// the family name, or the family name plus one of the suffixes its type adds (`_bucket`,
/// `_count`, `_sum`, `_total`, ...).
///
/// Returns how many metadata entries matched no series: 2.0 has no place for them, so they are
/// gone from the request (1.0 senders such as Prometheus send metadata in requests of their own,
/// which convert to empty 2.0 requests).
pub fn to_v2(req: &mut WriteRequest<'_>) -> usize {
    if req.metadata.is_empty() {
        return 0;
    }
    let families: FxHashMap<&str, usize> =
        req.metadata.iter().enumerate().map(|(i, m)| (&*m.metric_family_name, i)).collect();
    let mut used = vec![false; req.metadata.len()];
    let mut attach: Vec<(usize, usize)> = Vec::new();
    for (si, s) in req.series.iter().enumerate() {
        if !s.metadata.is_empty() {
            continue;
        }
        let Some(name) = s.metric_name() else { continue };
        let family = families.get(name).or_else(|| {
            FAMILY_SUFFIXES.iter().find_map(|suffix| name.strip_suffix(suffix).and_then(|f| families.get(f)))
        });
        if let Some(&mi) = family {
            used[mi] = true;
            attach.push((si, mi));
        }
    }
    for (si, mi) in attach {
        req.series[si].metadata = req.metadata[mi].metadata.clone();
    }
    req.metadata.clear();
    used.iter().filter(|u| !**u).count()
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

/// The family a series named `name` of type `t` belongs to.
fn family_name<'a>(name: &Cow<'a, str>, t: MetricType) -> Cow<'a, str> {
    let suffixes: &[&str] = match t {
        MetricType::Histogram | MetricType::Summary => &["_bucket", "_count", "_sum"],
        MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
        _ => &[],
    };
    for suffix in suffixes {
        if let Some(family) = name.strip_suffix(suffix) {
            return match name {
                Cow::Borrowed(b) => Cow::Borrowed(&b[..family.len()]),
                Cow::Owned(_) => Cow::Owned(family.to_string()),
            };
        }
    }
    name.clone()
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
