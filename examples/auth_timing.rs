//! Times the bearer-token check (`Settings::tenant_of`) for presented tokens that differ from
//! the real one at the first byte, in the middle, at the last byte, by length, and for the
//! real one: a check that stops at the first difference would take longer the later the
//! difference. Prints the median of many rounds in ns. RELIABILITY.md records a run:
//!
//!     cargo run --release --example auth_timing
use edgewrite::receiver::{Auth, Settings, Token};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let secret = "3q2+7w8LZxQkVb1mN4pR6sT9uW0yA2cE5gH8jK1lM3nP5qS7=";
    let tokens = (0..8)
        .map(|i| Token {
            secret: if i == 3 { secret.into() } else { format!("{i}{}", &secret[1..]) },
            tenant: format!("t{i}"),
        })
        .collect();
    let settings = Settings { auth: Auth::Tokens(tokens), ..Settings::default() };
    let flip = |at: usize| {
        let mut b = secret.as_bytes().to_vec();
        b[at] ^= 0x01;
        String::from_utf8(b).expect("ASCII")
    };
    let tries = [
        ("differs at the first byte", flip(0)),
        ("differs in the middle", flip(secret.len() / 2)),
        ("differs at the last byte", flip(secret.len() - 1)),
        ("one byte short", secret[..secret.len() - 1].to_string()),
        ("the real token", secret.to_string()),
    ];
    for (what, token) in &tries {
        let header = format!("Bearer {token}");
        let mut rounds: Vec<f64> = (0..201)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..2_000 {
                    black_box(settings.tenant_of(black_box(Some(header.as_str()))));
                }
                start.elapsed().as_nanos() as f64 / 2_000.0
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        println!("{what:28} {:7.1} ns (median of 201 rounds of 2000)", rounds[100]);
    }
}
