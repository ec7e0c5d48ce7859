//! Every fuzz target's property on stable, over its seeds (`seeds/<target>/`) and every input
//! a fuzzer ever failed on (`regressions/<target>/`, kept as found, minimized): what once
//! broke stays fixed, without nightly or libFuzzer.
//!
//! `cargo test --manifest-path fuzz/Cargo.toml -- --ignored write_seeds` writes the seeds again.

use arbitrary::{Arbitrary, Unstructured};
use edgewrite::Version;
use edgewrite_fuzz::input::{ChunkInput, Http, Recording, RumPush};
use std::path::{Path, PathBuf};

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target)
}

/// The files of a target's seeds and regressions.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(dir(kind, target)) else { continue };
        for e in entries.flatten() {
            out.push((e.path(), std::fs::read(e.path()).expect("readable")));
        }
    }
    out
}

/// Runs `check` on every input of `target`, as libFuzzer hands them over; at least `seeds`.
fn replay(target: &str, seeds: usize, check: impl Fn(&[u8])) {
    let all = inputs(target);
    assert!(all.len() >= seeds, "{target}: {} inputs, seeds missing (write_seeds)", all.len());
    for (path, bytes) in all {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(result.is_ok(), "{target} fails on {}", path.display());
    }
}

/// [`replay`] for a target whose input is typed, read as `fuzz_target!` reads it
/// (`arbitrary_take_rest`; bytes that are not one are skipped, as libFuzzer skips them).
fn replay_typed<T: for<'a> Arbitrary<'a>>(target: &str, check: impl Fn(&T)) {
    replay(target, 0, |b| {
        if let Ok(input) = T::arbitrary_take_rest(Unstructured::new(b)) {
            check(&input);
        }
    });
}

#[test]
fn decode_v1() {
    replay("decode_v1", 4, |b| edgewrite_fuzz::decode(b, Version::V1));
}

#[test]
fn decode_v2() {
    replay("decode_v2", 3, |b| edgewrite_fuzz::decode(b, Version::V2));
}

#[test]
fn validate() {
    replay("validate", 7, |b| {
        if let Some((&first, body)) = b.split_first() {
            edgewrite_fuzz::validate(body, if first & 1 == 0 { Version::V1 } else { Version::V2 });
        }
    });
}

#[test]
fn receiver() {
    replay_typed::<Http>("receiver", edgewrite_fuzz::receive);
}

#[test]
fn rum() {
    replay_typed::<RumPush>("rum", edgewrite_fuzz::rum);
}

#[test]
fn rum_recorder() {
    replay_typed::<Recording>("rum_recorder", edgewrite_fuzz::rum_recorder);
}

#[test]
fn promql() {
    let store = edgewrite_fuzz::store();
    replay("promql", 20, |b| {
        if let Ok(q) = std::str::from_utf8(b) {
            edgewrite_fuzz::promql(q, &store);
        }
    });
}

#[test]
fn chunk() {
    replay_typed::<ChunkInput>("chunk", edgewrite_fuzz::chunk);
}

/// The properties hold on bodies built here too, whatever the seeds on disk.
#[test]
fn the_properties_hold_on_realistic_requests() {
    let request = edgewrite::synth::realistic_request(50, 1_700_000_000_000);
    for version in [Version::V1, Version::V2] {
        let body = edgewrite::codec::Encoder::new().encode(&request, version).to_vec();
        edgewrite_fuzz::decode(&body, version);
        edgewrite_fuzz::validate(&body, version);
    }
    // (1.0's metadata is per family, 2.0's per series: only 1.0 carries this one as it is.)
    edgewrite_fuzz::roundtrip(&request, Version::V1);
}

/// The checks can fail: the round trip notices a change (1.0 cannot carry a start
/// timestamp), and the allocator counts what is held. (A body whose snappy header claims
/// 4 GiB is refused with a 4xx without allocating it: the first call.)
#[test]
fn the_checks_can_fail() {
    edgewrite_fuzz::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00], Version::V1);
    let mut request = edgewrite::synth::realistic_request(1, 1_700_000_000_000);
    request.series[0].samples[0].start_timestamp = 1;
    let changed = std::panic::catch_unwind(|| edgewrite_fuzz::roundtrip(&request, Version::V1));
    assert!(changed.is_err(), "a round trip that loses a field fails");
    let (_, peak) = edgewrite_fuzz::alloc::peak_during(|| vec![0u8; 1 << 20]);
    assert!(peak >= 1 << 20, "the allocator counts: {peak}");
}

/// Writes the seeds: the captured Prometheus requests, realistic requests of both versions,
/// the PromQL of the comparison with Prometheus.
#[test]
#[ignore]
fn write_seeds() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(dir("seeds", target)).unwrap();
        std::fs::write(dir("seeds", target).join(name), bytes).unwrap();
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/prometheus-2.42");
    let mut captured: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    captured.sort();
    for p in captured.iter().take(4) {
        let bytes = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_str().unwrap();
        write("decode_v1", name, &bytes);
        write("validate", name, &[[0u8].as_slice(), &bytes].concat());
    }
    for (i, n) in [1, 20, 200].into_iter().enumerate() {
        let request = edgewrite::synth::realistic_request(n, 1_700_000_000_000);
        let v2 = edgewrite::codec::Encoder::new().encode(&request, Version::V2).to_vec();
        write("decode_v2", &format!("synth-{n}.bin"), &v2);
        write("validate", &format!("synth-v2-{i}.bin"), &[[1u8].as_slice(), &v2].concat());
    }
    let queries =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js/promql-queries.mjs")).unwrap();
    let mut n = 0;
    for line in queries.lines() {
        let line = line.trim();
        if let Some(q) = line.strip_prefix('\'').and_then(|l| l.strip_suffix("',")) {
            write("promql", &format!("q{n:03}"), q.replace("\\'", "'").as_bytes());
            n += 1;
        }
    }
    assert!(n >= 20, "{n} queries");
}
