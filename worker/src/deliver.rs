//! The `remote_write` backend: a shard delivers its queue upstream, oldest batch first, with
//! the sender's retry rules (5xx, 429 and network errors retried with backoff and
//! `Retry-After`; other 4xx dropped, counted, and logged with the upstream's message).
//!
//! Re-batched: one upstream request carries up to [`MAX_BATCHES_PER_SEND`] queued batches and
//! [`MAX_POINTS_PER_SEND`] points, their series one after the other in queue order (a series
//! in two batches appears twice, its samples still in order). A shard has one request in
//! flight, so this is what lets it keep up with an upstream tens of milliseconds away.

use crate::config::Upstream;
use edgewrite::codec::{Encoder, Version};
use edgewrite::sender::retry::{self, Class};
use edgewrite::{WriteRequest, convert};
use worker::*;

/// Most upstream requests one alarm sends before it yields (and sets the next alarm at once).
const SENDS_PER_ALARM: usize = 20;
/// Most queued batches in one upstream request.
pub const MAX_BATCHES_PER_SEND: i64 = 16;
/// Most samples, histograms and exemplars in one upstream request (Prometheus's own sender
/// sends 2000 by default; Mimir and Prometheus take far more than this).
pub const MAX_POINTS_PER_SEND: i64 = 10_000;

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

/// Sends the queue upstream, oldest first, until it is empty, a send must wait for a retry,
/// or this run has done its share.
pub async fn deliver(sql: &SqlStorage, upstream: &Upstream) -> Result<Delivered> {
    let mut done = Delivered::default();
    // After a refusal of several batches at once, they go one by one, so that only the batch
    // the upstream refuses is dropped.
    let mut one_by_one = 0;
    for _ in 0..SENDS_PER_ALARM {
        let limit = if one_by_one > 0 { 1 } else { MAX_BATCHES_PER_SEND };
        let mut rows: Vec<Queued> = sql
            .exec(
                "SELECT seq, tenant, body, attempts, points, raw FROM batches ORDER BY seq LIMIT ?",
                vec![limit.into()],
            )?
            .to_array()?;
        one_by_one = (one_by_one - 1).max(0);
        let Some(first) = rows.first() else { return Ok(done) };
        let mut total = first.points;
        let take = 1 + rows[1..]
            .iter()
            .take_while(|r| {
                total += r.points;
                total <= MAX_POINTS_PER_SEND
            })
            .count();
        rows.truncate(take);
        let (status, retry_after, message) = match send(upstream, &rows).await {
            Ok(r) => r,
            Err(e) => (0, None, e.to_string()),
        };
        let (first, last) = (rows[0].seq, rows[rows.len() - 1].seq);
        let points: u64 = rows.iter().map(|r| r.points as u64).sum();
        let class = if status == 0 { Class::Retry } else { retry::classify(status, true) };
        let mut step = Delivered::default();
        match class {
            Class::Success => (step.batches, step.points) = (rows.len() as u64, points),
            Class::Retry => {
                let now = Date::now().as_millis() as i64;
                let delay = retry_after
                    .as_deref()
                    .and_then(|v| retry::parse_retry_after(v, now))
                    .filter(|&d| d > 0)
                    .unwrap_or_else(|| backoff_ms(rows[0].attempts));
                sql.exec("UPDATE batches SET attempts = attempts + 1 WHERE seq = ?", vec![first.into()])?;
                console_warn!(
                    "upstream {} answered {status}; retrying batches {first}..={last} in {delay} ms: {message}",
                    upstream.url
                );
                done.next_in_ms = Some(delay);
                return Ok(done);
            }
            Class::Unsupported | Class::Fatal if rows.len() > 1 => {
                console_warn!(
                    "upstream {} refused batches {first}..={last} with {status}; sending them one by one: {message}",
                    upstream.url
                );
                one_by_one = rows.len() as i64;
                continue;
            }
            Class::Unsupported | Class::Fatal => {
                (step.dropped_batches, step.dropped_points) = (rows.len() as u64, points);
                console_error!(
                    "upstream {} refused batches {first}..={last} with {status}; dropped: {message}",
                    upstream.url
                );
            }
        }
        sql.exec("DELETE FROM batches WHERE seq BETWEEN ? AND ?", vec![first.into(), last.into()])?;
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

/// POSTs queued batches upstream as one request; returns the status, `Retry-After` and the
/// first KiB of the body.
async fn send(upstream: &Upstream, rows: &[Queued]) -> Result<(u16, Option<String>, String)> {
    // The queue holds 2.0 bodies: their series are joined (as 1.0 for a 1.0 upstream). Series
    // that only carry 1.0 family metadata (no samples) become family metadata for a 1.0
    // upstream; 2.0 has no way to send metadata without samples, so they stay behind there.
    let mut all = WriteRequest::default();
    for row in rows {
        all.series.extend(crate::shard::decode_queued(&row.body, row.raw == 1)?.series);
    }
    if upstream.protocol == Version::V1 {
        convert::to_v1(&mut all);
    }
    all.series.retain(|s| !(s.samples.is_empty() && s.histograms.is_empty() && s.exemplars.is_empty()));
    if all.series.is_empty() && all.metadata.is_empty() {
        return Ok((204, None, String::new()));
    }
    let body = Encoder::new().encode(&all, upstream.protocol).to_vec();
    let headers = Headers::new();
    for (k, v) in upstream.protocol.request_headers() {
        headers.set(k, v)?;
    }
    headers.set("User-Agent", "edgewrite-worker/0.1.0")?;
    if rows[0].attempts > 0 {
        headers.set("Retry-Attempt", &rows[0].attempts.to_string())?;
    }
    if let Some(auth) = &upstream.authorization {
        headers.set("Authorization", auth)?;
    }
    if upstream.tenant_header {
        headers.set("X-Scope-OrgID", &rows[0].tenant)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(js_sys::Uint8Array::from(&body[..]).into()));
    let mut response = Fetch::Request(Request::new_with_init(&upstream.url, &init)?).send().await?;
    let retry_after = response.headers().get("Retry-After")?;
    let text = response.text().await.unwrap_or_default();
    let message: String = text.chars().take(1024).collect();
    Ok((response.status_code(), retry_after, message))
}
