//! Prints `edgewrite::conformance::bad_requests()` as JSON lines (the body in hex), for tests
//! that send them to a receiver over HTTP: `cargo run --example bad_requests`.
fn main() {
    for r in edgewrite::conformance::bad_requests() {
        let hex: String = r.body.iter().map(|b| format!("{b:02x}")).collect();
        let line = serde_json::json!({
            "what": r.what,
            "contentType": r.content_type,
            "contentEncoding": r.content_encoding,
            "body": hex,
            "status": r.status,
            "message": r.message,
        });
        println!("{line}");
    }
}
