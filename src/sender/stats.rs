//! The sender's own metrics, named after Prometheus's `prometheus_remote_storage_*`, readable as
//! a struct and as Prometheus text.

use crate::model::Counts;
use std::fmt::Write as _;

/// Counters for one kind of data (samples, histograms or exemplars).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Delivered: the receiver answered 2xx (less what a 2.0 receiver said it did not write).
    pub total: u64,
    /// Refused by the receiver for good (a 4xx other than 429, or short 2.0 Written counts).
    pub failed: u64,
    /// Sent again after a retryable failure (counted per retry).
    pub retried: u64,
    /// Dropped before delivery because they were older than `sample_age_limit`.
    pub dropped_too_old: u64,
    /// Dropped or refused because the queue was full.
    pub dropped_queue_full: u64,
    /// Queued or in flight now.
    pub pending: u64,
}

/// Upper bounds of the batch duration histogram, in ms (Prometheus's DefBuckets and 25, 60,
/// 120, 300 seconds).
pub const DURATION_BUCKETS_MS: [u64; 15] =
    [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 60_000, 120_000, 300_000];

/// The same bounds as the text format writes them (seconds), so that rendering needs no float
/// formatting (which would add about 16 KB to the browser's wasm).
const DURATION_BOUNDS: [&str; 15] =
    ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "25", "60", "120", "300"];

/// Everything a sender counts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// Float samples.
    pub samples: KindStats,
    /// Native histograms.
    pub histograms: KindStats,
    /// Exemplars.
    pub exemplars: KindStats,
    /// Metadata entries delivered (1.0 requests).
    pub metadata_total: u64,
    /// Compressed bytes sent, retries included.
    pub bytes_total: u64,
    /// Collections too large for one request, sent split.
    pub collections_split_total: u64,
    /// Times a 2.0 writer fell back to 1.0.
    pub protocol_fallbacks_total: u64,
    /// Requests whose responses were handled, by outcome: 2xx, retried, dropped.
    pub requests_succeeded: u64,
    /// Requests answered with a retryable failure (5xx, 429, network error).
    pub requests_retried: u64,
    /// Requests answered with a non-retryable failure.
    pub requests_failed: u64,
    /// Cumulative counts of request durations per [`DURATION_BUCKETS_MS`] bound.
    pub batch_duration_buckets: [u64; 15],
    /// Number of request durations observed.
    pub batch_duration_count: u64,
    /// Sum of request durations, ms.
    pub batch_duration_sum_ms: u64,
}

impl Stats {
    pub(crate) fn kind_mut(&mut self, f: impl Fn(&mut KindStats, u64), counts: Counts) {
        f(&mut self.samples, counts.samples);
        f(&mut self.histograms, counts.histograms);
        f(&mut self.exemplars, counts.exemplars);
    }

    pub(crate) fn observe_duration(&mut self, ms: i64) {
        let ms = ms.max(0) as u64;
        for (bucket, bound) in self.batch_duration_buckets.iter_mut().zip(DURATION_BUCKETS_MS) {
            if ms <= bound {
                *bucket += 1;
            }
        }
        self.batch_duration_count += 1;
        self.batch_duration_sum_ms += ms;
    }

    /// The metrics in the Prometheus text format, each with `labels` (e.g. `url="..."`; may be
    /// empty).
    pub fn to_prometheus_text(&self, labels: &str) -> String {
        let mut out = String::new();
        let sep = if labels.is_empty() { "" } else { "," };
        let kinds = [("samples", &self.samples), ("histograms", &self.histograms), ("exemplars", &self.exemplars)];
        let counter = |out: &mut String, name: &str, help: &str, values: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP prometheus_remote_storage_{name} {help}");
            let _ = writeln!(out, "# TYPE prometheus_remote_storage_{name} counter");
            for (extra, v) in values {
                let all = [labels, extra].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(",");
                let _ = writeln!(out, "prometheus_remote_storage_{name}{{{all}}} {v}");
            }
        };
        for (kind, k) in kinds {
            counter(
                &mut out,
                &format!("{kind}_total"),
                &format!("{kind} delivered to remote storage."),
                &[("", k.total)],
            );
            counter(
                &mut out,
                &format!("{kind}_failed_total"),
                &format!("{kind} refused for good by remote storage."),
                &[("", k.failed)],
            );
            counter(
                &mut out,
                &format!("{kind}_retried_total"),
                &format!("{kind} sent again after a retryable failure."),
                &[("", k.retried)],
            );
            counter(
                &mut out,
                &format!("{kind}_dropped_total"),
                &format!("{kind} dropped before delivery, by reason."),
                &[("reason=\"too_old\"", k.dropped_too_old), ("reason=\"queue_full\"", k.dropped_queue_full)],
            );
            let _ = writeln!(out, "# HELP prometheus_remote_storage_{kind}_pending {kind} queued or in flight.");
            let _ = writeln!(out, "# TYPE prometheus_remote_storage_{kind}_pending gauge");
            let _ = writeln!(out, "prometheus_remote_storage_{kind}_pending{{{labels}}} {}", k.pending);
        }
        counter(&mut out, "metadata_total", "Metadata entries delivered.", &[("", self.metadata_total)]);
        counter(&mut out, "bytes_total", "Compressed bytes sent, retries included.", &[("", self.bytes_total)]);
        counter(
            &mut out,
            "collections_split_total",
            "Collections too large for one request.",
            &[("", self.collections_split_total)],
        );
        counter(
            &mut out,
            "protocol_fallbacks_total",
            "Times remote write 2.0 fell back to 1.0.",
            &[("", self.protocol_fallbacks_total)],
        );
        let name = "prometheus_remote_storage_sent_batch_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Duration of send calls to remote storage.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, n) in DURATION_BOUNDS.iter().zip(self.batch_duration_buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.batch_duration_count);
        let (secs, ms) = (self.batch_duration_sum_ms / 1000, self.batch_duration_sum_ms % 1000);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {secs}.{ms:03}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.batch_duration_count);
        out
    }
}
