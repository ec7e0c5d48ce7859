//! The `remote_write` backend's I/O: a shard drives [`edgewrite::sender::forward::Forwarder`]
//! over its SQLite queue. The forwarder decides (what to join, retry, drop, count; the
//! sender's rules, tested natively); this file reads the queue's head, POSTs, and applies each
//! decision in one synchronous step with its counters, so the Durable Object commits them
//! together. Nothing leaves the queue before the upstream has answered for it.

use crate::config::Upstream;
use crate::queue;
use edgewrite::sender::forward::{Decision, Forwarder, Handled, Next, Outgoing, Queued};
use edgewrite::sender::{Event, MAX_ERROR_BODY, Response as Outcome};
use std::cell::{Cell, RefCell};
use worker::*;

/// Most upstream requests one alarm sends before it yields (and sets the next alarm at once).
const SENDS_PER_ALARM: usize = 20;

/// When the head of the queue may be sent again after a failure (ms since the epoch, 0 for
/// now): kept in `meta` (`retry_at`) so that neither new writes nor a restart cut a backoff or
/// a `Retry-After` short.
pub fn retry_at(sql: &SqlStorage) -> Result<i64> {
    Ok(queue::meta(sql, "retry_at")?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Sends the queue upstream, oldest first, until it is empty, a send must wait for a retry,
/// or this run has done its share. Returns when to run again (ms from now), if anything is
/// left. `retry_at` is the shard's copy of [`retry_at`].
pub async fn deliver(
    sql: &SqlStorage,
    upstream: &Upstream,
    forwarder: &RefCell<Forwarder>,
    retry_at: &Cell<i64>,
) -> Result<Option<u64>> {
    let wait = retry_at.get() - Date::now().as_millis() as i64;
    if wait > 0 {
        return Ok(Some(wait as u64));
    }
    for _ in 0..SENDS_PER_ALARM {
        let wanted = forwarder.borrow().batches_wanted();
        let rows = queue::head(sql, wanted)?;
        let head: Vec<Queued<'_>> = rows.iter().map(queue::Row::as_queued).collect();
        let now = Date::now().as_millis() as i64;
        let next = forwarder.borrow_mut().next(&head, now);
        let handled = match next {
            Next::Idle => return Ok(None),
            Next::Settle(handled) => *handled,
            Next::Send(out) => {
                let result = post(upstream, &out).await;
                let now = Date::now().as_millis() as i64;
                let mut fwd = forwarder.borrow_mut();
                match &result {
                    Ok((status, retry_after, written, body)) => {
                        let response =
                            Outcome { status: *status, retry_after: retry_after.as_deref(), written: *written, body };
                        fwd.handle_response(response, now)
                    }
                    Err(e) => fwd.handle_error(&e.to_string(), now),
                }
                .map_err(|e| Error::RustError(e.to_string()))?
            }
        };
        apply(sql, &handled)?;
        log(upstream, &handled);
        if let Decision::RetryLater { delay_ms, .. } = handled.decision {
            let at = Date::now().as_millis() as i64 + delay_ms as i64;
            queue::set_meta(sql, "retry_at", &at.to_string())?;
            retry_at.set(at);
            return Ok(Some(delay_ms));
        }
    }
    // More to do: continue in a fresh alarm.
    Ok(Some(0))
}

/// Applies a decision and its counters in one synchronous step.
fn apply(sql: &SqlStorage, handled: &Handled) -> Result<()> {
    match handled.decision {
        Decision::Remove { first, last } => queue::remove(sql, first, last)?,
        Decision::RetryLater { seq, .. } => queue::count_attempt(sql, seq)?,
        Decision::SendAgain => {}
    }
    let counters = handled.stats.counters();
    let deltas: Vec<(&str, u64)> = counters.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    queue::count(sql, &deltas)
}

fn log(upstream: &Upstream, handled: &Handled) {
    let url = &upstream.url;
    match &handled.event {
        Some(Event::Dropped { reason, status, counts, message }) => console_error!(
            "upstream {url}: dropped {} samples, {} histograms, {} exemplars ({reason:?}, status {status:?}): {message}",
            counts.samples,
            counts.histograms,
            counts.exemplars
        ),
        Some(Event::Retrying { status, attempt, delay_ms, message }) => {
            console_warn!("upstream {url} answered {status:?}; retry {attempt} in {delay_ms} ms: {message}")
        }
        Some(Event::FellBackToV1 { status }) => {
            console_warn!("upstream {url} does not take remote write 2.0 (status {status}): sending 1.0 from now on")
        }
        Some(Event::PartiallyWritten { sent, written }) => {
            console_warn!("upstream {url} wrote {written:?} of {sent:?}")
        }
        None => {}
    }
}

type Answer = (u16, Option<String>, Option<edgewrite::Counts>, Vec<u8>);

/// POSTs a request upstream; returns the status, `Retry-After`, the Written headers and the
/// start of the body.
async fn post(upstream: &Upstream, out: &Outgoing) -> Result<Answer> {
    let headers = Headers::new();
    for (k, v) in out.transmit.headers() {
        headers.set(k, &v)?;
    }
    headers.set("User-Agent", concat!("edgewrite-worker/", env!("CARGO_PKG_VERSION")))?;
    if let Some(auth) = &upstream.authorization {
        headers.set("Authorization", auth)?;
    }
    if upstream.tenant_header {
        headers.set("X-Scope-OrgID", &out.tenant)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(&out.transmit.body[..]).into()));
    let mut response = Fetch::Request(Request::new_with_init(&upstream.url, &init)?).send().await?;
    let h = response.headers();
    let retry_after = h.get("Retry-After")?;
    let written = Outcome::written_from(|name| h.get(name).ok().flatten());
    let mut body = response.bytes().await.unwrap_or_default();
    body.truncate(MAX_ERROR_BODY);
    Ok((response.status_code(), retry_after, written, body))
}
