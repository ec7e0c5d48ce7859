//! Synthetic but realistic requests: what a Prometheus server scraping Kubernetes services
//! sends by default (2000 series of one sample each, ten labels with values like real targets).
//! Used by the benchmarks, the demo and load generators; deterministic for a given input.

use crate::model::{Label, Metadata, MetricMetadata, MetricType, Sample, Series, WriteRequest};

const NAMES: &[(&str, MetricType, &str)] = &[
    ("http_request_duration_seconds_bucket", MetricType::Histogram, "Latency of HTTP requests."),
    ("http_requests_total", MetricType::Counter, "HTTP requests served."),
    ("http_response_size_bytes_bucket", MetricType::Histogram, "Size of HTTP responses."),
    ("grpc_server_handled_total", MetricType::Counter, "RPCs completed on the server."),
    ("process_cpu_seconds_total", MetricType::Counter, "Total user and system CPU time spent in seconds."),
    ("process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes."),
    ("go_goroutines", MetricType::Gauge, "Number of goroutines that currently exist."),
    ("node_network_receive_bytes_total", MetricType::Counter, "Network device statistic receive_bytes."),
];
const CODES: &[&str] = &["200", "201", "204", "301", "400", "404", "500", "503"];
const JOBS: &[&str] = &["api", "checkout", "payments", "search", "frontend", "inventory"];
const LE: &[&str] = &["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE"];
const NAMESPACES: &[&str] = &["production", "staging", "kube-system", "monitoring"];

/// SplitMix64: a tiny deterministic generator, enough to vary label values.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// The labels of series `i` of a realistic request (sorted by name, ten labels).
pub fn realistic_labels(i: usize) -> Vec<Label<'static>> {
    let mut r = Mix(i as u64);
    let (name, _, _) = NAMES[i % NAMES.len()];
    let job = r.pick(JOBS);
    let suffix: String = (0..5).map(|_| (b'a' + (r.next() % 26) as u8) as char).collect();
    let pairs = [
        ("__name__", name.to_string()),
        ("code", r.pick(CODES).to_string()),
        ("instance", format!("10.0.{}.{}:9100", (i / 250) % 256, i % 250 + 1)),
        ("job", job.to_string()),
        ("le", r.pick(LE).to_string()),
        ("method", r.pick(METHODS).to_string()),
        ("namespace", r.pick(NAMESPACES).to_string()),
        ("pod", format!("{job}-7d9f8b42-{suffix}")),
        ("route", format!("/api/v1/items/{}", i % 97)),
        ("service", format!("{job}-svc")),
    ];
    pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect()
}

/// A realistic request: `series` series of one sample each at `timestamp_ms`, with 1.0 family
/// metadata for the metric names used.
pub fn realistic_request(series: usize, timestamp_ms: i64) -> WriteRequest<'static> {
    let series_list = (0..series)
        .map(|i| Series {
            labels: realistic_labels(i),
            samples: vec![Sample::new((i as f64) * 1.5 + 0.25, timestamp_ms)],
            ..Series::default()
        })
        .collect();
    let metadata = NAMES
        .iter()
        .take(series.min(NAMES.len()))
        .map(|&(name, t, help)| MetricMetadata {
            metric_family_name: name.trim_end_matches("_bucket").to_string().into(),
            metadata: Metadata { metric_type: t, help: help.into(), unit: "".into() },
        })
        .collect();
    WriteRequest { series: series_list, metadata }
}
