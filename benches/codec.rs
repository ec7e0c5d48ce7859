//! `cargo bench --bench codec`: encode and decode of a realistic request (2000 series of one
//! sample, ten labels each) in both versions, beside the floors and the baseline they are
//! measured against in the same run:
//! - snappy alone (the floor of any decoder),
//! - naive decode: snappy + prost into owned `String`s (the baseline the 3x target is set by),
//! - prost encode from owned structs + snappy.
//!
//! Figures and targets: BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgewrite::codec::{Decoder, Encoder};
use edgewrite::proto::v1 as pb1;
use edgewrite::{Limits, Version, convert, synth, validate};
use prost::Message;
use std::hint::black_box;

fn payloads() -> (edgewrite::WriteRequest<'static>, Vec<u8>, Vec<u8>) {
    let req = synth::realistic_request(2000, 1_764_000_000_000);
    let mut enc = Encoder::new();
    let v1 = enc.encode(&req, Version::V1).to_vec();
    let mut v2_req = req.clone();
    convert::to_v2(&mut v2_req);
    let v2 = enc.encode(&v2_req, Version::V2).to_vec();
    (v2_req, v1, v2)
}

fn decode(c: &mut Criterion) {
    let (_, v1, v2) = payloads();
    let limits = Limits::default();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(2000));
    let mut out = Vec::new();
    g.bench_function("snappy_decompress_only", |b| {
        b.iter(|| edgewrite::codec::snappy::decompress_into(black_box(&v1), 32 << 20, &mut out).unwrap())
    });
    g.bench_function("baseline_prost_naive_v1", |b| {
        b.iter(|| {
            let raw = snap::raw::Decoder::new().decompress_vec(black_box(&v1)).unwrap();
            pb1::WriteRequest::decode(&raw[..]).unwrap()
        })
    });
    let mut d = Decoder::new(limits.clone());
    g.bench_function("edgewrite_v1_unpooled", |b| {
        b.iter(|| d.decode(black_box(&v1), Version::V1).unwrap().series.len())
    });
    for (name, body, version) in [("v1", &v1, Version::V1), ("v2", &v2, Version::V2)] {
        g.bench_function(format!("edgewrite_{name}"), |b| {
            b.iter(|| d.decode_with(black_box(body), version, |req| req.series.len()).unwrap())
        });
        g.bench_function(format!("edgewrite_{name}_validate"), |b| {
            b.iter(|| {
                d.decode_with(black_box(body), version, |req| validate::validate(req, version, &limits).is_valid())
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let (req, v1, _) = payloads();
    let raw = snap::raw::Decoder::new().decompress_vec(&v1).unwrap();
    let owned = pb1::WriteRequest::decode(&raw[..]).unwrap();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Elements(2000));
    let mut snappy = snap::raw::Encoder::new();
    let mut out = Vec::new();
    g.bench_function("snappy_compress_only", |b| {
        b.iter(|| edgewrite::codec::snappy::compress_into(&mut snappy, black_box(&raw), &mut out))
    });
    g.bench_function("baseline_prost_v1", |b| {
        b.iter(|| snap::raw::Encoder::new().compress_vec(&black_box(&owned).encode_to_vec()).unwrap())
    });
    let mut enc = Encoder::new();
    g.bench_function("edgewrite_v1", |b| b.iter(|| enc.encode(black_box(&req), Version::V1).len()));
    g.bench_function("edgewrite_v2", |b| b.iter(|| enc.encode(black_box(&req), Version::V2).len()));
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
