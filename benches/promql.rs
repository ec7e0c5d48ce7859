//! `cargo bench --bench promql`: the PromQL evaluator natively (`edgewrite::query::api::range`,
//! what the Worker runs once the shards answered) on the workload: 1,000 counter
//! series and a 1,000-series classic histogram (100 instances x 10 buckets) over 6 hours at a
//! 15 s scrape interval, range queries over the 6 hours at a 15 s step:
//! - `sum by (job) (rate(x[5m]))`;
//! - `histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))`.
//!
//! `node benches/js/promql.mjs` runs the same queries over HTTP against the Worker and
//! Prometheus 2.42 in one run. Figures: BENCHMARKS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use edgewrite::Sample;
use edgewrite::query::api;
use edgewrite::query::eval::Series;
use std::hint::black_box;

const STEP: i64 = 15_000;
const HOURS: i64 = 6;
const END: i64 = 1_764_000_000_000;
const START: i64 = END - HOURS * 3_600_000;

fn labels(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    let mut l: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    l.sort();
    l
}

/// The workload's series: counters growing by a little each scrape, and cumulative buckets.
fn data() -> Vec<Series> {
    let times: Vec<i64> = (0..=(END - START + 300_000) / STEP).map(|i| START - 300_000 + i * STEP).collect();
    let mut out = Vec::new();
    for i in 0..1000 {
        let l = labels(&[("__name__", "x".into()), ("job", format!("job-{}", i % 10)), ("instance", format!("i-{i}"))]);
        let samples = times.iter().enumerate().map(|(k, &t)| Sample::new((k * (1 + i % 7)) as f64, t)).collect();
        out.push(Series { labels: l, samples, histograms: Vec::new() });
    }
    let bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
    for i in 0..100 {
        for (j, le) in bounds.iter().enumerate() {
            let l = labels(&[("__name__", "h_bucket".into()), ("instance", format!("i-{i}")), ("le", le.to_string())]);
            let samples =
                times.iter().enumerate().map(|(k, &t)| Sample::new((k * (j + 1) * (1 + i % 3)) as f64, t)).collect();
            out.push(Series { labels: l, samples, histograms: Vec::new() });
        }
    }
    out
}

fn eval(c: &mut Criterion) {
    let data = data();
    let mut g = c.benchmark_group("promql_6h_15s");
    g.sample_size(10);
    for (name, metric, query) in [
        ("sum_rate", "x", "sum by (job) (rate(x[5m]))"),
        ("histogram_quantile", "h_bucket", "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))"),
    ] {
        let expr = api::prepare(query, START, END, STEP).unwrap();
        // What the shards would return for the query's selector.
        let selected: Vec<Series> = data.iter().filter(|s| s.labels[0].1 == metric).cloned().collect();
        g.bench_function(name, |b| {
            b.iter(|| api::range(&expr, black_box(&selected), START, END, STEP, api::budget(None)).unwrap().len())
        });
    }
    g.finish();
}

criterion_group!(benches, eval);
criterion_main!(benches);
