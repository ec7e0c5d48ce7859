//! The Worker's own metrics (`GET /metrics`), in Prometheus text format: what this isolate
//! answered and received, and each shard's queue and delivery counters (durable, kept by the
//! shards themselves). Sans-I/O: the Worker feeds outcomes and shard stats in and serves the
//! text.

use super::Outcome;
use super::rum::RumAccepted;
use crate::model::Counts;
use crate::sender::{Stats, render_stats};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one isolate has seen since it started (Cloudflare runs many isolates; each counts its
/// own, and Prometheus sums them by `instance` as it does for any replicated service).
#[derive(Clone, Debug, Default)]
pub struct WorkerMetrics {
    requests: BTreeMap<u16, u64>,
    written: Counts,
    refused: Counts,
    bytes: u64,
    rum_pushes: BTreeMap<u16, u64>,
    rum_taken: u64,
    rum_refused: u64,
    wasm_memory_bytes: Option<u64>,
}

/// One RUM aggregator's state, as it reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AggregatorStats {
    /// The tenant.
    pub tenant: String,
    /// The metric it aggregates.
    pub metric: String,
    /// Series it keeps totals of.
    pub series: u64,
    /// Label values it turned into `other` (durable).
    pub folded: u64,
}

/// One shard's state, as the shard reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// The tenant the shard belongs to.
    pub tenant: String,
    /// The shard number.
    pub shard: u32,
    /// How many shards its layout has (`SHARD_COUNT` when it was written to).
    pub layout: u32,
    /// Batches waiting in the queue.
    pub queued_batches: u64,
    /// Samples, histograms and exemplars waiting in the queue.
    pub queued_points: u64,
    /// Bytes waiting in the queue (against `MAX_QUEUE_BYTES`).
    pub queued_bytes: u64,
    /// How long the oldest queued batch has waited, in milliseconds (0 if none).
    pub oldest_pending_ms: u64,
    /// The linear memory of the WebAssembly instance that serves the shard, in bytes (0 if
    /// unknown): it grows and never shrinks, and counts toward its isolate's memory limit.
    pub wasm_memory_bytes: u64,
    /// Durable counters: `stored_points` (embedded), `reorder_refused_points` (reorder
    /// window), and with `remote_write` the forwarder's [`Stats`] by their counter names
    /// ([`Stats::for_each_counter`]).
    pub counters: BTreeMap<String, u64>,
}

impl WorkerMetrics {
    /// Counts a request: its status, and what it wrote or had refused.
    pub fn observe(&mut self, status: u16, body_bytes: usize, outcome: Option<&Outcome>) {
        *self.requests.entry(status).or_default() += 1;
        self.bytes += body_bytes as u64;
        if let Some(Outcome::Accept(a)) = outcome
            && (status < 300 || status == 400)
        {
            self.written += a.written;
            self.refused += a.refused;
        }
    }

    /// Counts a RUM push: its status, and the samples taken or refused when it was
    /// `accepted`.
    pub fn observe_rum(&mut self, status: u16, accepted: Option<&RumAccepted>) {
        *self.rum_pushes.entry(status).or_default() += 1;
        if let Some(a) = accepted
            && (status < 300 || status == 400)
        {
            self.rum_taken += a.written;
            self.rum_refused += a.refused;
        }
    }

    /// Notes the linear memory of this isolate's WebAssembly instance, in bytes.
    pub fn observe_memory(&mut self, wasm_memory_bytes: u64) {
        self.wasm_memory_bytes = Some(wasm_memory_bytes);
    }

    /// The Prometheus text exposition of this isolate's counters and of `shards`; with
    /// `forwarding` (`remote_write`), each shard's upstream queue as Prometheus's
    /// `prometheus_remote_storage_*` with the shard's labels.
    /// `aggregators` are the RUM aggregators' states.
    pub fn render(&self, shards: &[ShardStats], aggregators: &[AggregatorStats], forwarding: bool) -> String {
        let mut out = String::new();
        family(&mut out, "edgewrite_requests_total", "counter", "Write requests answered by this isolate, by status.");
        for (status, n) in &self.requests {
            let _ = writeln!(out, "edgewrite_requests_total{{status=\"{status}\"}} {n}");
        }
        family(&mut out, "edgewrite_request_bytes_total", "counter", "Compressed bytes of write requests received.");
        let _ = writeln!(out, "edgewrite_request_bytes_total {}", self.bytes);
        family(&mut out, "edgewrite_received_total", "counter", "Points accepted and stored for delivery, by kind.");
        for (kind, n) in kinds(self.written) {
            let _ = writeln!(out, "edgewrite_received_total{{kind=\"{kind}\"}} {n}");
        }
        family(
            &mut out,
            "edgewrite_rejected_total",
            "counter",
            "Points of decodable requests refused (invalid series or refused labels), by kind and reason.",
        );
        for (kind, n) in kinds(self.refused) {
            let _ = writeln!(out, "edgewrite_rejected_total{{kind=\"{kind}\",reason=\"invalid\"}} {n}");
        }
        type Gauge = (&'static str, &'static str, fn(&ShardStats) -> String);
        if let Some(bytes) = self.wasm_memory_bytes {
            family(
                &mut out,
                "edgewrite_wasm_memory_bytes",
                "gauge",
                "Linear memory of this isolate's WebAssembly instance (it grows, never shrinks).",
            );
            let _ = writeln!(out, "edgewrite_wasm_memory_bytes {bytes}");
        }
        let gauges: [Gauge; 5] = [
            ("edgewrite_shard_queue_batches", "Batches waiting in the shard's queue.", |s| {
                s.queued_batches.to_string()
            }),
            ("edgewrite_shard_queue_points", "Points waiting in the shard's queue.", |s| s.queued_points.to_string()),
            ("edgewrite_shard_queue_bytes", "Bytes waiting in the shard's queue (at most MAX_QUEUE_BYTES).", |s| {
                s.queued_bytes.to_string()
            }),
            ("edgewrite_shard_oldest_pending_seconds", "Age of the oldest batch in the shard's queue.", |s| {
                crate::store::render::format_value(s.oldest_pending_ms as f64 / 1000.0)
            }),
            (
                "edgewrite_shard_wasm_memory_bytes",
                "Linear memory of the WebAssembly instance serving the shard (it grows, never shrinks).",
                |s| s.wasm_memory_bytes.to_string(),
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, name, "gauge", help);
            for s in shards {
                let _ = writeln!(out, "{name}{} {}", shard_labels(s), value(s));
            }
        }
        let counters = [
            ("stored_points", "Points compacted into the embedded store."),
            ("reorder_refused_points", "Points the reorder window refused in a release round (too late to order)."),
        ];
        for (counter, help) in counters {
            let name = format!("edgewrite_shard_{counter}_total");
            family(&mut out, &name, "counter", help);
            for s in shards {
                let _ = writeln!(out, "{name}{} {}", shard_labels(s), s.counters.get(counter).copied().unwrap_or(0));
            }
        }
        family(&mut out, "edgewrite_rum_pushes_total", "counter", "RUM pushes answered by this isolate, by status.");
        for (status, n) in &self.rum_pushes {
            let _ = writeln!(out, "edgewrite_rum_pushes_total{{status=\"{status}\"}} {n}");
        }
        family(
            &mut out,
            "edgewrite_rum_samples_total",
            "counter",
            "Samples of RUM pushes taken or refused (by the schema or validation).",
        );
        let _ = writeln!(out, "edgewrite_rum_samples_total{{result=\"taken\"}} {}", self.rum_taken);
        let _ = writeln!(out, "edgewrite_rum_samples_total{{result=\"refused\"}} {}", self.rum_refused);
        family(&mut out, "edgewrite_rum_series", "gauge", "Series a RUM aggregator keeps totals of.");
        for a in aggregators {
            let _ = writeln!(out, "edgewrite_rum_series{} {}", aggregator_labels(a), a.series);
        }
        family(
            &mut out,
            "edgewrite_rum_folded_total",
            "counter",
            "Label values a RUM aggregator turned into \"other\" (past RUM_MAX_VALUES, or every label of a series past RUM_MAX_SERIES).",
        );
        for a in aggregators {
            let _ = writeln!(out, "edgewrite_rum_folded_total{} {}", aggregator_labels(a), a.folded);
        }
        if forwarding {
            let queues: Vec<(String, Stats)> = shards
                .iter()
                .map(|s| {
                    let mut stats = Stats::default();
                    for (name, &n) in &s.counters {
                        stats.add_counter(name, n);
                    }
                    let labels = shard_labels(s);
                    (labels[1..labels.len() - 1].to_string(), stats)
                })
                .collect();
            let queues: Vec<(&str, &Stats)> = queues.iter().map(|(l, s)| (l.as_str(), s)).collect();
            out.push_str(&render_stats(&queues, false));
        }
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn kinds(c: Counts) -> [(&'static str, u64); 3] {
    [("samples", c.samples), ("histograms", c.histograms), ("exemplars", c.exemplars)]
}

/// A label value as the text format writes it: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn shard_labels(s: &ShardStats) -> String {
    format!("{{tenant=\"{}\",shard=\"{}\",layout=\"{}\"}}", escape(&s.tenant), s.shard, s.layout)
}

fn aggregator_labels(a: &AggregatorStats) -> String {
    format!("{{tenant=\"{}\",metric=\"{}\"}}", escape(&a.tenant), escape(&a.metric))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::{Receiver, Request, Settings};
    use crate::{Version, codec::Encoder, synth};
    #[cfg(all(target_family = "wasm", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn counts_requests_points_and_shards() {
        let mut rx = Receiver::new(Settings::default());
        let body = Encoder::new().encode(&synth::realistic_request(10, 1_700_000_000_000), Version::V1).to_vec();
        let req = Request { method: "POST", ..Request::default() };
        let mut m = WorkerMetrics::default();
        let outcome = rx.receive(&req, &body);
        m.observe(204, body.len(), Some(&outcome));
        m.observe(415, 3, Some(&rx.receive(&Request { content_type: Some("text/plain"), ..req }, b"abc")));
        let shard = ShardStats {
            tenant: "a\"b".into(),
            shard: 2,
            layout: 4,
            queued_batches: 3,
            queued_points: 30,
            queued_bytes: 4096,
            oldest_pending_ms: 1500,
            wasm_memory_bytes: 3 << 20,
            counters: [("samples_total".to_string(), 7), ("reorder_refused_points".to_string(), 2)].into(),
        };
        let rum = crate::rum::RumSettings::default();
        let page = Request { method: "POST", content_type: Some("text/plain"), ..Request::default() };
        let views = crate::model::Series {
            samples: vec![crate::model::Sample::new(2.0, 1)],
            ..crate::model::Series::from_pairs([("__name__", "rum_page_views_total"), ("route", "/")])
        };
        let push = Encoder::new()
            .encode(&crate::model::WriteRequest { series: vec![views], metadata: Vec::new() }, Version::V1)
            .to_vec();
        let crate::receiver::rum::RumOutcome::Accept(accepted) = rx.receive_rum(&rum, &page, &push) else {
            panic!("refused")
        };
        m.observe_rum(204, Some(&accepted));
        m.observe_memory(2 << 20);
        let aggregator = AggregatorStats { tenant: "web".into(), metric: "rum_cls".into(), series: 3, folded: 5 };
        let text = m.render(&[shard], &[aggregator], true);
        for line in [
            "edgewrite_requests_total{status=\"204\"} 1",
            "edgewrite_requests_total{status=\"415\"} 1",
            "edgewrite_received_total{kind=\"samples\"} 10",
            "edgewrite_rejected_total{kind=\"samples\",reason=\"invalid\"} 0",
            "edgewrite_shard_queue_batches{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 3",
            "edgewrite_shard_oldest_pending_seconds{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 1.5",
            "edgewrite_shard_queue_bytes{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 4096",
            "edgewrite_shard_wasm_memory_bytes{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 3145728",
            "edgewrite_wasm_memory_bytes 2097152",
            "prometheus_remote_storage_samples_total{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 7",
            "prometheus_remote_storage_samples_failed_total{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 0",
            "edgewrite_shard_reorder_refused_points_total{tenant=\"a\\\"b\",shard=\"2\",layout=\"4\"} 2",
            &format!("edgewrite_request_bytes_total {}", body.len() + 3),
            "edgewrite_rum_pushes_total{status=\"204\"} 1",
            "edgewrite_rum_samples_total{result=\"taken\"} 1",
            "edgewrite_rum_series{tenant=\"web\",metric=\"rum_cls\"} 3",
            "edgewrite_rum_folded_total{tenant=\"web\",metric=\"rum_cls\"} 5",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Every sample line belongs to a family declared before it.
        let mut declared = Vec::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                let family = declared.last().expect("declared");
                let suffix = name.strip_prefix(family.as_str());
                assert!(matches!(suffix, Some("" | "_bucket" | "_sum" | "_count")), "{l} after {family}");
            }
        }
    }
}
