//! `cargo bench --bench receiver`: the Rust work of the Worker, natively (wasm32 costs about
//! 1.2x, BENCHMARKS.md), on the realistic 2000-series request:
//! - `receive`: what the Worker's fetch handler does per write: decode, validate, label rules,
//!   route to 4 shards, encode each shard's batch as 2.0;
//! - `compact`: what a shard's compaction does per request it received: decode the queued
//!   batches, group them by series, encode one chunk per series (here 30 requests' worth, as
//!   30 s of one request a second).
//!
//! Figures: BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgewrite::codec::{Encoder, v2};
use edgewrite::receiver::{Outcome, Receiver, Request, Settings};
use edgewrite::store::{Grouper, chunk};
use edgewrite::{Limits, Version, synth};
use std::hint::black_box;

const T0: i64 = 1_764_000_000_000;

fn v1_body(ts: i64) -> Vec<u8> {
    Encoder::new().encode(&synth::realistic_request(2000, ts), Version::V1).to_vec()
}

fn receive(c: &mut Criterion) {
    let body = v1_body(T0);
    let mut rx = Receiver::new(Settings::default());
    let req = Request { method: "POST", content_type: Some("application/x-protobuf"), ..Request::default() };
    let mut g = c.benchmark_group("receiver");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("receive_v1_2000_series_4_shards", |b| {
        b.iter(|| match rx.receive(&req, black_box(&body)) {
            Outcome::Accept(a) => a.batches.len(),
            Outcome::Reply(r) => panic!("{}", r.body),
        })
    });
    g.finish();
}

fn compact(c: &mut Criterion) {
    // Shard 0's batches of 30 consecutive requests.
    let mut rx = Receiver::new(Settings::default());
    let req = Request { method: "POST", ..Request::default() };
    let batches: Vec<Vec<u8>> = (0..30)
        .map(|i| match rx.receive(&req, &v1_body(T0 + i * 1000)) {
            Outcome::Accept(a) => a.batches.into_iter().find(|b| b.shard == 0).expect("shard 0 has series").body,
            Outcome::Reply(r) => panic!("{}", r.body),
        })
        .collect();
    let limits = Limits::default();
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(30));
    g.bench_function("compact_30_batches_of_one_shard", |b| {
        b.iter(|| {
            let mut grouper = Grouper::default();
            for body in &batches {
                grouper.add(&v2::decode(black_box(body), &limits).expect("decodes"));
            }
            grouper.finish().iter().map(|s| chunk::encode_samples(&s.samples).len()).sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, receive, compact);
criterion_main!(benches);
