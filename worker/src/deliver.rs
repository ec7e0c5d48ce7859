//! The `remote_write` backend: a shard delivers its queue upstream, oldest batch first, with
//! the sender's retry rules (5xx, 429 and network errors retried with backoff and
//! `Retry-After`; other 4xx dropped, counted, and logged with the upstream's message).

use crate::config::Upstream;
use edgewrite::codec::{Decoder, Encoder, Version};
use edgewrite::sender::retry::{self, Class};
use edgewrite::{Limits, convert};
use worker::*;

/// Most batches one alarm delivers before it yields (and sets the next alarm at once).
const BATCHES_PER_ALARM: usize = 50;

#[derive(serde::Deserialize)]
struct Queued {
    seq: i64,
    tenant: String,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    attempts: i64,
    points: i64,
    raw: i64,
}

/// What one delivery run did (also added to the shard's counters as it goes).
#[derive(Default)]
pub struct Delivered {
    /// Batches (and their samples) the upstream accepted.
    pub batches: u64,
    /// Samples, histograms and exemplars in them.
    pub points: u64,
    /// Batches the upstream refused for good (4xx other than 429), and their points.
    pub dropped_batches: u64,
    /// Points in the dropped batches.
    pub dropped_points: u64,
    /// When to run again (ms from now), if anything is left.
    pub next_in_ms: Option<u64>,
}

/// Sends the queue upstream, oldest first, until it is empty, a batch must wait for a retry,
/// or this run has done its share.
pub async fn deliver(sql: &SqlStorage, upstream: &Upstream) -> Result<Delivered> {
    let mut done = Delivered::default();
    for _ in 0..BATCHES_PER_ALARM {
        let rows: Vec<Queued> = sql
            .exec("SELECT seq, tenant, body, attempts, points, raw FROM batches ORDER BY seq LIMIT 1", None)?
            .to_array()?;
        let Some(row) = rows.into_iter().next() else { return Ok(done) };
        let (status, retry_after, message) = match send(upstream, &row).await {
            Ok(r) => r,
            Err(e) => (0, None, e.to_string()),
        };
        let class = if status == 0 { Class::Retry } else { retry::classify(status, true) };
        let mut step = Delivered::default();
        match class {
            Class::Success => (step.batches, step.points) = (1, row.points as u64),
            Class::Retry => {
                let now = Date::now().as_millis() as i64;
                let delay = retry_after
                    .as_deref()
                    .and_then(|v| retry::parse_retry_after(v, now))
                    .filter(|&d| d > 0)
                    .unwrap_or_else(|| backoff_ms(row.attempts));
                sql.exec("UPDATE batches SET attempts = attempts + 1 WHERE seq = ?", vec![row.seq.into()])?;
                console_warn!(
                    "upstream {} answered {status}; retrying batch {} in {delay} ms: {message}",
                    upstream.url,
                    row.seq
                );
                done.next_in_ms = Some(delay);
                return Ok(done);
            }
            Class::Unsupported | Class::Fatal => {
                (step.dropped_batches, step.dropped_points) = (1, row.points as u64);
                console_error!("upstream {} refused batch {} with {status}; dropped: {message}", upstream.url, row.seq);
            }
        }
        sql.exec("DELETE FROM batches WHERE seq = ?", vec![row.seq.into()])?;
        // Counted in the same synchronous step as the delete, so the two commit together.
        crate::shard::count(
            sql,
            &[
                ("forwarded_batches", step.batches),
                ("forwarded_points", step.points),
                ("dropped_batches", step.dropped_batches),
                ("dropped_points", step.dropped_points),
            ],
        )?;
        done.batches += step.batches;
        done.points += step.points;
        done.dropped_batches += step.dropped_batches;
        done.dropped_points += step.dropped_points;
    }
    // More to do: continue in a fresh alarm.
    done.next_in_ms = Some(0);
    Ok(done)
}

/// Exponential backoff with jitter, 30 ms to 5 s, as the sender's defaults.
fn backoff_ms(attempts: i64) -> u64 {
    let step = (30u64 << attempts.clamp(0, 20)).min(5000);
    step / 2 + (step as f64 / 2.0 * js_sys::Math::random()) as u64
}

/// POSTs one batch upstream; returns the status, `Retry-After` and the first KiB of the body.
async fn send(upstream: &Upstream, row: &Queued) -> Result<(u16, Option<String>, String)> {
    let mut encoder = Encoder::new();
    let body = match upstream.protocol {
        Version::V2 if row.raw == 1 => encoder.compress(&row.body).to_vec(),
        Version::V2 => row.body.clone(),
        Version::V1 => {
            // The queue holds 2.0 bodies; a 1.0 upstream gets the same series as 1.0.
            let mut decoder = Decoder::new(Limits::default());
            let mut req = crate::shard::decode_queued(&mut decoder, &row.body, row.raw == 1)?;
            convert::to_v1(&mut req);
            encoder.encode(&req, Version::V1).to_vec()
        }
    };
    let headers = Headers::new();
    for (k, v) in upstream.protocol.request_headers() {
        headers.set(k, v)?;
    }
    headers.set("User-Agent", "edgewrite-worker/0.1.0")?;
    if row.attempts > 0 {
        headers.set("Retry-Attempt", &row.attempts.to_string())?;
    }
    if let Some(auth) = &upstream.authorization {
        headers.set("Authorization", auth)?;
    }
    if upstream.tenant_header {
        headers.set("X-Scope-OrgID", &row.tenant)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(js_sys::Uint8Array::from(&body[..]).into()));
    let mut response = Fetch::Request(Request::new_with_init(&upstream.url, &init)?).send().await?;
    let retry_after = response.headers().get("Retry-After")?;
    let text = response.text().await.unwrap_or_default();
    let message: String = text.chars().take(1024).collect();
    Ok((response.status_code(), retry_after, message))
}
