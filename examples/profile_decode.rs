//! Profiling aid: `perf record target/release/examples/profile_decode [v1|v2] [decode|validate]`.
use edgewrite::codec::{Decoder, Encoder};
use edgewrite::{Limits, Version, convert, synth, validate};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let version = if args.get(1).map(String::as_str) == Some("v2") { Version::V2 } else { Version::V1 };
    let with_validate = args.get(2).map(String::as_str) != Some("decode");
    let mut req = synth::realistic_request(2000, 1_764_000_000_000);
    convert::to_v2(&mut req);
    let body = Encoder::new().encode(&req, version).to_vec();
    let mut d = Decoder::new(Limits::default());
    let limits = Limits::default();
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..2000 {
        n += d
            .decode_with(&body, version, |r| {
                r.series.len()
                    + if with_validate { validate::validate(r, version, &limits).problems().len() } else { 0 }
            })
            .unwrap();
    }
    println!("{version:?} validate={with_validate} {n} {:?}/iter", t.elapsed() / 2000);
}
