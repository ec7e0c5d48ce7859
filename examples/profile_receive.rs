//! Profiling aid: `perf record target/release/examples/profile_receive`: the Worker's Rust work
//! per write (`Receiver::receive` on the realistic 2000-series request, 4 shards).
use edgewrite::codec::Encoder;
use edgewrite::receiver::{Outcome, Receiver, Request, Settings};
use edgewrite::{Version, synth};
fn main() {
    let body = Encoder::new().encode(&synth::realistic_request(2000, 1_764_000_000_000), Version::V1).to_vec();
    let mut rx = Receiver::new(Settings::default());
    let req = Request { method: "POST", ..Request::default() };
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..1000 {
        if let Outcome::Accept(a) = rx.receive(&req, &body) {
            n += a.batches.len();
        }
    }
    println!("{n} batches, {:?}/request", t.elapsed() / 1000);
}
