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
    /// Visits every counter (not the `pending` gauges) with a stable name, e.g.
    /// `samples_total`, `bytes_total`, `batch_duration_bucket_5000`: what a platform that keeps
    /// the counters durably (the Worker's shards) stores them by.
    pub fn for_each_counter(&mut self, mut f: impl FnMut(&str, &mut u64)) {
        for (kind, k) in
            [("samples", &mut self.samples), ("histograms", &mut self.histograms), ("exemplars", &mut self.exemplars)]
        {
            f(&format!("{kind}_total"), &mut k.total);
            f(&format!("{kind}_failed_total"), &mut k.failed);
            f(&format!("{kind}_retried_total"), &mut k.retried);
            f(&format!("{kind}_dropped_too_old_total"), &mut k.dropped_too_old);
            f(&format!("{kind}_dropped_queue_full_total"), &mut k.dropped_queue_full);
        }
        f("metadata_total", &mut self.metadata_total);
        f("bytes_total", &mut self.bytes_total);
        f("collections_split_total", &mut self.collections_split_total);
        f("protocol_fallbacks_total", &mut self.protocol_fallbacks_total);
        f("requests_succeeded_total", &mut self.requests_succeeded);
        f("requests_retried_total", &mut self.requests_retried);
        f("requests_failed_total", &mut self.requests_failed);
        for (bound, n) in DURATION_BUCKETS_MS.iter().zip(&mut self.batch_duration_buckets) {
            f(&format!("batch_duration_bucket_{bound}"), n);
        }
        f("batch_duration_count", &mut self.batch_duration_count);
        f("batch_duration_sum_ms", &mut self.batch_duration_sum_ms);
    }

    /// The non-zero counters by name (see [`Stats::for_each_counter`]).
    pub fn counters(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        self.clone().for_each_counter(|name, v| {
            if *v > 0 {
                out.push((name.to_string(), *v));
            }
        });
        out
    }

    /// Adds `n` to the counter `name`; false if there is no such counter.
    pub fn add_counter(&mut self, name: &str, n: u64) -> bool {
        let mut found = false;
        self.for_each_counter(|c, v| {
            if c == name {
                *v += n;
                found = true;
            }
        });
        found
    }

    /// Adds every counter of `other` (not the `pending` gauges).
    pub fn add(&mut self, other: &Stats) {
        for (name, n) in other.counters() {
            self.add_counter(&name, n);
        }
    }

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
        render(&[(labels, self)], true)
    }
}

/// Several queues' metrics in one Prometheus text exposition, each family declared once: each
/// entry is the queue's labels (e.g. `shard="0"`; may be empty) and its stats. `pending` adds
/// the `*_pending` gauges (for queues whose pending counts the stats know).
pub fn render(queues: &[(&str, &Stats)], pending: bool) -> String {
    let mut out = String::new();
    let counter = |out: &mut String, name: &str, help: &str, value: &dyn Fn(&Stats) -> Vec<(&'static str, u64)>| {
        let _ = writeln!(out, "# HELP prometheus_remote_storage_{name} {help}");
        let _ = writeln!(out, "# TYPE prometheus_remote_storage_{name} counter");
        for (labels, stats) in queues {
            for (extra, v) in value(stats) {
                let all = [*labels, extra].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(",");
                let _ = writeln!(out, "prometheus_remote_storage_{name}{{{all}}} {v}");
            }
        }
    };
    type Kind = fn(&Stats) -> &KindStats;
    let kinds: [(&str, Kind); 3] =
        [("samples", |s| &s.samples), ("histograms", |s| &s.histograms), ("exemplars", |s| &s.exemplars)];
    for (kind, k) in kinds {
        let help = |what: &str| format!("{kind} {what}");
        counter(&mut out, &format!("{kind}_total"), &help("delivered to remote storage."), &|s| vec![("", k(s).total)]);
        counter(&mut out, &format!("{kind}_failed_total"), &help("refused for good by remote storage."), &|s| {
            vec![("", k(s).failed)]
        });
        counter(&mut out, &format!("{kind}_retried_total"), &help("sent again after a retryable failure."), &|s| {
            vec![("", k(s).retried)]
        });
        counter(&mut out, &format!("{kind}_dropped_total"), &help("dropped before delivery, by reason."), &|s| {
            vec![("reason=\"too_old\"", k(s).dropped_too_old), ("reason=\"queue_full\"", k(s).dropped_queue_full)]
        });
        if pending {
            let _ = writeln!(out, "# HELP prometheus_remote_storage_{kind}_pending {kind} queued or in flight.");
            let _ = writeln!(out, "# TYPE prometheus_remote_storage_{kind}_pending gauge");
            for (labels, stats) in queues {
                let _ = writeln!(out, "prometheus_remote_storage_{kind}_pending{{{labels}}} {}", k(stats).pending);
            }
        }
    }
    counter(&mut out, "metadata_total", "Metadata entries delivered.", &|s| vec![("", s.metadata_total)]);
    counter(&mut out, "bytes_total", "Compressed bytes sent, retries included.", &|s| vec![("", s.bytes_total)]);
    counter(&mut out, "collections_split_total", "Collections too large for one request.", &|s| {
        vec![("", s.collections_split_total)]
    });
    counter(&mut out, "protocol_fallbacks_total", "Times remote write 2.0 fell back to 1.0.", &|s| {
        vec![("", s.protocol_fallbacks_total)]
    });
    let name = "prometheus_remote_storage_sent_batch_duration_seconds";
    let _ = writeln!(out, "# HELP {name} Duration of send calls to remote storage.");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (labels, s) in queues {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in DURATION_BOUNDS.iter().zip(s.batch_duration_buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", s.batch_duration_count);
        let (secs, ms) = (s.batch_duration_sum_ms / 1000, s.batch_duration_sum_ms % 1000);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {secs}.{ms:03}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", s.batch_duration_count);
    }
    out
}
