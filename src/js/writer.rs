//! `WasmSender`: the sans-I/O [`Sender`] as a JavaScript class. The JS `RemoteWriter` in
//! `pkg/core.js` drives it with `fetch` and timers.
//!
//! The boundary is designed for bulk numbers: a series' labels cross once (`series()` returns a
//! handle), then samples cross as typed arrays of handles, values and timestamps. Times are
//! `f64` milliseconds (JS numbers, exact to 2^53), never `BigInt`. Stale markers cross as a
//! flag, because a NaN's bits do not survive every JavaScript path.

use crate::codec::Version;
use crate::model::{Counts, Metadata, MetricType, NORMAL_NAN, STALE_NAN, Sample};
use crate::sender::{Collection, Config, DropReason, Event, OnFull, PushError, Response, Sender, SeriesRef};
use wasm_bindgen::prelude::*;

/// The remote-write queue, for JavaScript.
#[wasm_bindgen]
pub struct WasmSender {
    inner: Sender,
    message: String,
}

/// One request to send: `body`, in remote write `version` (1 or 2), try `attempt` (0 first).
/// The JavaScript side sets the headers from these (`Transmit::headers` in Rust), which keeps
/// string arrays off the boundary.
#[wasm_bindgen]
pub struct WasmTransmit {
    id: f64,
    body: Vec<u8>,
    version: u8,
    attempt: u32,
    samples: u32,
}

#[wasm_bindgen]
impl WasmTransmit {
    /// Identifies the request for `handleResponse`.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> f64 {
        self.id
    }
    /// The snappy body (copied into a new `Uint8Array`).
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> Vec<u8> {
        self.body.clone()
    }
    /// The protocol version of the body: 1 or 2.
    #[wasm_bindgen(getter)]
    pub fn version(&self) -> u8 {
        self.version
    }
    /// 0 for a first try, then 1, 2, ... (the `Retry-Attempt` header).
    #[wasm_bindgen(getter)]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Samples, histograms and exemplars in the body.
    #[wasm_bindgen(getter)]
    pub fn samples(&self) -> u32 {
        self.samples
    }
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A push refused: a `TypeError` for a handle that is not (or no longer) registered, as for
/// any misuse of an API; an `Error` otherwise (a full queue, a bad exemplar label).
fn push_err(e: PushError) -> JsValue {
    match e {
        PushError::UnknownSeries(_) => js_sys::TypeError::new(&format!("edgewrite: {e}")).into(),
        _ => js_err(e).into(),
    }
}

pub(crate) fn ms(x: f64) -> i64 {
    x as i64
}

/// A sample from JavaScript numbers: the stale marker from its flag, any other NaN as
/// Prometheus's ordinary NaN (JavaScript does not keep NaN payloads reliably).
pub(crate) fn sample(value: f64, timestamp: f64, stale: bool) -> Sample {
    let value = match () {
        _ if stale => STALE_NAN,
        _ if value.is_nan() => NORMAL_NAN,
        _ => value,
    };
    Sample::new(value, ms(timestamp))
}

/// Samples from parallel columns, checked to have the same length.
fn columns<'a>(
    what: &str,
    series: &'a [u32],
    values: &'a [f64],
    timestamps: &'a [f64],
    stale: &'a [u8],
) -> Result<impl Iterator<Item = (SeriesRef, Sample)> + 'a, JsError> {
    if values.len() != series.len() || timestamps.len() != series.len() {
        return Err(JsError::new(&(what.to_string() + ": series, values and timestamps must have the same length")));
    }
    Ok((0..series.len())
        .map(move |i| (SeriesRef(series[i]), sample(values[i], timestamps[i], stale.get(i).is_some_and(|&f| f != 0)))))
}

fn pairs(flat: &[String]) -> Vec<(&str, &str)> {
    flat.chunks_exact(2).map(|p| (p[0].as_str(), p[1].as_str())).collect()
}

#[wasm_bindgen]
impl WasmSender {
    /// A sender. `protocol` is 1 or 2; `on_full` 0 (reject) or 1 (drop oldest); times in ms.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        protocol: u8,
        shards: u32,
        max_samples_per_send: u32,
        batch_send_deadline_ms: f64,
        capacity: u32,
        on_full: u8,
        min_backoff_ms: f64,
        max_backoff_ms: f64,
        retry_on_429: bool,
        sample_age_limit_ms: f64,
        detect_v1_receivers: bool,
        max_samples_per_request: u32,
        metadata_interval_ms: f64,
        max_retry_after_ms: f64,
        seed: f64,
    ) -> Result<WasmSender, JsError> {
        let config = Config {
            protocol: if protocol == 2 { Version::V2 } else { Version::V1 },
            shards: shards as usize,
            max_samples_per_send: max_samples_per_send as usize,
            batch_send_deadline_ms: batch_send_deadline_ms as u64,
            capacity: capacity as usize,
            on_full: if on_full == 1 { OnFull::DropOldest } else { OnFull::Reject },
            min_backoff_ms: min_backoff_ms as u64,
            max_backoff_ms: max_backoff_ms as u64,
            retry_on_429,
            sample_age_limit_ms: sample_age_limit_ms as u64,
            detect_v1_receivers,
            max_samples_per_request: max_samples_per_request as usize,
            metadata_interval_ms: metadata_interval_ms as u64,
            max_retry_after_ms: max_retry_after_ms as u64,
        };
        Ok(WasmSender { inner: Sender::new(config, seed as u64).map_err(js_err)?, message: String::new() })
    }

    /// Registers a series from flattened labels (name, value, ...) and optional metadata;
    /// returns its handle.
    pub fn series(&mut self, labels: Vec<String>, metric_type: &str, help: &str, unit: &str) -> Result<u32, JsError> {
        let metadata =
            Metadata { metric_type: MetricType::from_name(metric_type), help: help.into(), unit: unit.into() };
        let r = self.inner.series_with_metadata(&pairs(&labels), metadata).map_err(js_err)?;
        Ok(r.0)
    }

    /// Forgets a series handle.
    pub fn release(&mut self, series: u32) {
        self.inner.release(SeriesRef(series));
    }

    /// Queues one sample.
    pub fn push(&mut self, series: u32, value: f64, timestamp: f64, stale: bool, now: f64) -> Result<(), JsValue> {
        self.inner.push(SeriesRef(series), sample(value, timestamp, stale), ms(now)).map_err(push_err)
    }

    /// Queues many samples: handles, values, timestamps and stale flags (empty for none), all
    /// the same length. Stops at the first error; the samples before it stay queued.
    pub fn push_many(
        &mut self,
        series: &[u32],
        values: &[f64],
        timestamps: &[f64],
        stale: &[u8],
        now: f64,
    ) -> Result<(), JsValue> {
        for (r, s) in columns("pushMany", series, values, timestamps, stale)? {
            self.inner.push(r, s, ms(now)).map_err(push_err)?;
        }
        Ok(())
    }

    /// Queues an exemplar with flattened labels.
    pub fn push_exemplar(
        &mut self,
        series: u32,
        labels: Vec<String>,
        value: f64,
        timestamp: f64,
        now: f64,
    ) -> Result<(), JsValue> {
        self.inner.push_exemplar(SeriesRef(series), &pairs(&labels), value, ms(timestamp), ms(now)).map_err(push_err)
    }

    /// Queues a collection (sent whole, as one request): arrays as for `pushMany`.
    pub fn write_collection(
        &mut self,
        series: &[u32],
        values: &[f64],
        timestamps: &[f64],
        stale: &[u8],
        now: f64,
    ) -> Result<(), JsValue> {
        let mut c = Collection::new();
        for (r, s) in columns("writeCollection", series, values, timestamps, stale)? {
            c.sample(r, s);
        }
        self.inner.write_collection(c, ms(now)).map_err(push_err)
    }

    /// Sends everything queued as soon as possible; returns a marker for `flushed`.
    pub fn flush(&mut self) -> Vec<f64> {
        self.inner.flush();
        self.inner.flush_marker().into_iter().map(|x| x as f64).collect()
    }

    /// Whether everything queued before `marker` (from `flush`) was delivered or dropped.
    pub fn flushed(&self, marker: &[f64]) -> bool {
        let marker: Vec<u64> = marker.iter().map(|&x| x as u64).collect();
        self.inner.flushed(&marker)
    }

    /// The next request due now, if any.
    pub fn poll_transmit(&mut self, now: f64) -> Option<WasmTransmit> {
        let t = self.inner.poll_transmit(ms(now))?;
        let c = t.counts;
        Some(WasmTransmit {
            version: if t.version == Version::V2 { 2 } else { 1 },
            attempt: t.attempt,
            id: t.id as f64,
            samples: (c.samples + c.histograms + c.exemplars) as u32,
            body: t.body,
        })
    }

    /// When to poll again at the latest (ms), or undefined.
    pub fn poll_timeout(&self) -> Option<f64> {
        self.inner.poll_timeout().map(|t| t as f64)
    }

    /// Reports a response. `written` holds the three Written header values (samples,
    /// histograms, exemplars) or is empty when none was present or visible.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_response(
        &mut self,
        id: f64,
        status: u16,
        retry_after: Option<String>,
        written: &[f64],
        body: &[u8],
        now: f64,
    ) {
        let written = (written.len() == 3).then(|| Counts {
            samples: written[0] as u64,
            histograms: written[1] as u64,
            exemplars: written[2] as u64,
        });
        let response = Response { status, retry_after: retry_after.as_deref(), written, body };
        self.inner.handle_response(id as u64, response, ms(now));
    }

    /// Reports a request that failed without a response.
    pub fn handle_error(&mut self, id: f64, message: &str, now: f64) {
        self.inner.handle_error(id as u64, message, ms(now));
    }

    /// The next event, as numbers (`pkg/core.js` turns them into an object): kind (0 dropped,
    /// 1 partial write, 2 retry, 3 fallback), drop reason (0 rejected, 1 too old, 2 queue
    /// full), HTTP status (-1 for none), then for a drop its samples, histograms, exemplars;
    /// for a partial write sent and written counts; for a retry the attempt and delay (ms).
    /// Its message is then in `event_message`.
    pub fn poll_event(&mut self) -> Option<Vec<f64>> {
        let status = |s: Option<u16>| s.map_or(-1.0, f64::from);
        let counts = |c: Counts| [c.samples as f64, c.histograms as f64, c.exemplars as f64];
        let (numbers, message) = match self.inner.poll_event()? {
            Event::Dropped { reason, status: st, counts: c, message } => {
                let reason = match reason {
                    DropReason::Rejected => 0.0,
                    DropReason::TooOld => 1.0,
                    DropReason::QueueFull => 2.0,
                    DropReason::Corrupt => 3.0,
                };
                ([&[0.0, reason, status(st)][..], &counts(c)].concat(), message)
            }
            Event::PartiallyWritten { sent, written } => {
                ([&[1.0, 0.0, -1.0][..], &counts(sent), &counts(written)].concat(), String::new())
            }
            Event::Retrying { status: st, attempt, delay_ms, message } => {
                (vec![2.0, 0.0, status(st), f64::from(attempt), delay_ms as f64], message)
            }
            Event::FellBackToV1 { status: st } => (vec![3.0, 0.0, f64::from(st)], String::new()),
        };
        self.message = message;
        Some(numbers)
    }

    /// The message of the event `poll_event` returned last.
    pub fn event_message(&self) -> String {
        self.message.clone()
    }

    /// Whether nothing is queued or in flight.
    pub fn is_idle(&self) -> bool {
        self.inner.is_idle()
    }

    /// The protocol in use: 1 or 2.
    pub fn protocol(&self) -> u8 {
        match self.inner.protocol() {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }

    /// The sender's metrics as Prometheus text (`prometheus_remote_storage_*`), each with
    /// `labels`, from Rust's renderer (the Worker's `/metrics` uses it too). Only in the full
    /// build: the browser's writer renders in `pkg/core.js` (text formatting would add 2.7 KiB
    /// gzip to its wasm), and `tests/js/boundary.test.mjs` holds the two renderers and the
    /// numbers' layout equal.
    #[cfg(feature = "js-codec")]
    pub fn metrics_text(&self, labels: &str) -> String {
        self.inner.stats().to_prometheus_text(labels)
    }

    /// The sender's metrics as numbers, in the order `pkg/core.js` names them (`STATS_FIELDS`):
    /// per kind (samples, histograms, exemplars) total, failed, retried, dropped too old,
    /// dropped queue full, pending; then metadata, bytes, collections split, protocol
    /// fallbacks, requests succeeded, retried, failed; batch duration count, sum in ms, and the
    /// 15 bucket counts. (Numbers cross in one array; building the object in JavaScript keeps
    /// that code out of the browser's wasm.)
    pub fn stats(&self) -> Vec<f64> {
        let s = self.inner.stats();
        let mut v = Vec::with_capacity(40);
        for k in [&s.samples, &s.histograms, &s.exemplars] {
            v.extend(
                [k.total, k.failed, k.retried, k.dropped_too_old, k.dropped_queue_full, k.pending].map(|x| x as f64),
            );
        }
        v.extend(
            [
                s.metadata_total,
                s.bytes_total,
                s.collections_split_total,
                s.protocol_fallbacks_total,
                s.requests_succeeded,
                s.requests_retried,
                s.requests_failed,
                s.batch_duration_count,
                s.batch_duration_sum_ms,
            ]
            .map(|x| x as f64),
        );
        v.extend(s.batch_duration_buckets.map(|x| x as f64));
        v
    }
}
