//! `WasmSender`: the sans-I/O [`Sender`] as a JavaScript class. The JS `RemoteWriter` in
//! `pkg/core.js` drives it with `fetch` and timers.
//!
//! The boundary is designed for bulk numbers: a series' labels cross once (`series()` returns a
//! handle), then samples cross as typed arrays of handles, values and timestamps. Times are
//! `f64` milliseconds (JS numbers, exact to 2^53), never `BigInt`. Stale markers cross as a
//! flag, because a NaN's bits do not survive every JavaScript path.

use crate::codec::Version;
use crate::model::{Counts, Metadata, MetricType, NORMAL_NAN, STALE_NAN, Sample};
use crate::sender::{Collection, Config, DropReason, Event, OnFull, Response, Sender, SeriesRef, Stats};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

/// The remote-write queue, for JavaScript.
#[wasm_bindgen]
pub struct WasmSender {
    inner: Sender,
}

/// One request to send: `body` with `headers` (name, value, name, value, ...).
#[wasm_bindgen]
pub struct WasmTransmit {
    id: f64,
    body: Vec<u8>,
    headers: Vec<String>,
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
    /// Headers, flattened: name, value, name, value, ...
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Vec<String> {
        self.headers.clone()
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
            ..Config::default()
        };
        Ok(WasmSender { inner: Sender::new(config, seed as u64).map_err(js_err)? })
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
    pub fn push(&mut self, series: u32, value: f64, timestamp: f64, stale: bool, now: f64) -> Result<(), JsError> {
        self.inner.push(SeriesRef(series), sample(value, timestamp, stale), ms(now)).map_err(js_err)
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
    ) -> Result<(), JsError> {
        for (r, s) in columns("pushMany", series, values, timestamps, stale)? {
            self.inner.push(r, s, ms(now)).map_err(js_err)?;
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
    ) -> Result<(), JsError> {
        self.inner.push_exemplar(SeriesRef(series), &pairs(&labels), value, ms(timestamp), ms(now)).map_err(js_err)
    }

    /// Queues a collection (sent whole, as one request): arrays as for `pushMany`.
    pub fn write_collection(
        &mut self,
        series: &[u32],
        values: &[f64],
        timestamps: &[f64],
        stale: &[u8],
        now: f64,
    ) -> Result<(), JsError> {
        let mut c = Collection::new();
        for (r, s) in columns("writeCollection", series, values, timestamps, stale)? {
            c.sample(r, s);
        }
        self.inner.write_collection(c, ms(now)).map_err(js_err)
    }

    /// Sends everything queued as soon as possible.
    pub fn flush(&mut self) {
        self.inner.flush();
    }

    /// The next request due now, if any.
    pub fn poll_transmit(&mut self, now: f64) -> Option<WasmTransmit> {
        let t = self.inner.poll_transmit(ms(now))?;
        let headers = t.headers().into_iter().flat_map(|(k, v)| [k.to_string(), v]).collect();
        let c = t.counts;
        Some(WasmTransmit {
            id: t.id as f64,
            headers,
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

    /// The next event as an object `{ type, ... }`, or undefined.
    pub fn poll_event(&mut self) -> Option<Object> {
        self.inner.poll_event().map(|e| event_object(&e))
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

    /// The sender's metrics as an object.
    pub fn stats(&self) -> Object {
        stats_object(&self.inner.stats())
    }
}

pub(crate) fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    let _ = Reflect::set(o, &JsValue::from_str(k), &v.into());
}

fn counts_object(c: Counts) -> Object {
    let o = Object::new();
    set(&o, "samples", c.samples as f64);
    set(&o, "histograms", c.histograms as f64);
    set(&o, "exemplars", c.exemplars as f64);
    o
}

fn event_object(e: &Event) -> Object {
    let o = Object::new();
    match e {
        Event::Dropped { reason, status, counts, message } => {
            let reason = match reason {
                DropReason::Rejected => "rejected",
                DropReason::TooOld => "too_old",
                DropReason::QueueFull => "queue_full",
            };
            set(&o, "type", "dropped");
            set(&o, "reason", reason);
            set(&o, "status", status.map_or(JsValue::UNDEFINED, JsValue::from));
            set(&o, "counts", counts_object(*counts));
            set(&o, "message", message.as_str());
        }
        Event::PartiallyWritten { sent, written } => {
            set(&o, "type", "partial");
            set(&o, "sent", counts_object(*sent));
            set(&o, "written", counts_object(*written));
        }
        Event::Retrying { status, attempt, delay_ms, message } => {
            set(&o, "type", "retry");
            set(&o, "status", status.map_or(JsValue::UNDEFINED, JsValue::from));
            set(&o, "attempt", *attempt);
            set(&o, "delayMs", *delay_ms as f64);
            set(&o, "message", message.as_str());
        }
        Event::FellBackToV1 { status } => {
            set(&o, "type", "fallback");
            set(&o, "status", *status);
        }
    }
    o
}

fn stats_object(s: &Stats) -> Object {
    let o = Object::new();
    for (name, k) in [("samples", &s.samples), ("histograms", &s.histograms), ("exemplars", &s.exemplars)] {
        let x = Object::new();
        set(&x, "total", k.total as f64);
        set(&x, "failed", k.failed as f64);
        set(&x, "retried", k.retried as f64);
        set(&x, "droppedTooOld", k.dropped_too_old as f64);
        set(&x, "droppedQueueFull", k.dropped_queue_full as f64);
        set(&x, "pending", k.pending as f64);
        set(&o, name, x);
    }
    set(&o, "metadataTotal", s.metadata_total as f64);
    set(&o, "bytesTotal", s.bytes_total as f64);
    set(&o, "collectionsSplitTotal", s.collections_split_total as f64);
    set(&o, "protocolFallbacksTotal", s.protocol_fallbacks_total as f64);
    set(&o, "requestsSucceeded", s.requests_succeeded as f64);
    set(&o, "requestsRetried", s.requests_retried as f64);
    set(&o, "requestsFailed", s.requests_failed as f64);
    let buckets: js_sys::Array = s.batch_duration_buckets.iter().map(|&n| JsValue::from(n as f64)).collect();
    set(&o, "batchDurationBuckets", buckets);
    set(&o, "batchDurationCount", s.batch_duration_count as f64);
    set(&o, "batchDurationSumMs", s.batch_duration_sum_ms as f64);
    o
}
