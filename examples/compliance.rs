//! Prints `edgewrite::compliance::receiver_cases(now)` as JSON lines (the body in hex), for
//! tests that send them to a receiver over HTTP: `cargo run --example compliance [NOW_MS]`
//! (default: the clock's time).
fn main() {
    let now = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    });
    for case in edgewrite::compliance::receiver_cases(now) {
        let hex: String = case.body.iter().map(|b| format!("{b:02x}")).collect();
        let (status, counts) = match case.expect {
            edgewrite::compliance::Expect::Written(c) => (204, c),
            edgewrite::compliance::Expect::Refused(status, c) => (status, c),
        };
        let line = serde_json::json!({
            "name": case.name,
            "contentType": case.content_type,
            "contentEncoding": case.content_encoding,
            "body": hex,
            "status": status,
            "written": { "samples": counts.samples, "exemplars": counts.exemplars, "histograms": counts.histograms },
        });
        println!("{line}");
    }
}
